"""One colour per quantity, on every page: Okabe-Ito for the LSTM's gates and the states, Paul Tol's
colour-blind-safe colours for what Okabe-Ito runs out of. Figures never rely on colour alone: every
trace also has a label, and the models differ in line dash too."""

from __future__ import annotations

COLORS = {
    # LSTM gates and states (Okabe-Ito)
    "input": "#56B4E9",  # sky blue
    "forget": "#D55E00",  # vermillion
    "cell": "#009E73",  # bluish green: the candidate g_t
    "output": "#CC79A7",  # reddish purple
    "c": "#E69F00",  # orange: the cell state
    "h": "#0072B2",  # blue: the hidden state
    "x": "#000000",  # black: the input
    # GRU gates (Tol)
    "reset": "#DDAA33",  # Tol's dark yellow, readable on white
    "update": "#882255",  # wine
    "new": "#44AA99",  # teal
    # theory curves
    "theory": "#777777",
}

MODEL_COLORS = {"rnn": "#332288", "lstm": "#117733", "gru": "#AA4499"}  # Tol indigo, green, purple
MODEL_DASH = {"rnn": "solid", "lstm": "dash", "gru": "dot"}
MODEL_NAMES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}

# What each trace quantity is called on screen, with its symbol.
LABELS = {
    "x": "input x_t",
    "h": "hidden state h_t",
    "c": "cell state c_t",
    "input": "input gate i_t",
    "forget": "forget gate f_t",
    "cell": "candidate g_t",
    "output": "output gate o_t",
    "reset": "reset gate r_t",
    "update": "update gate z_t",
    "new": "candidate n_t",
}

STATE_SCALE = "RdBu_r"  # diverging, centred on zero, for h and c (-1 .. 1)
GATE_SCALE = "Cividis"  # sequential, 0 .. 1, for sigmoid gates
FONT_SIZE = 16  # readable from the back of a classroom
