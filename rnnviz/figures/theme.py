"""One colour per quantity, on every page: Okabe-Ito for the LSTM's gates and the states, Paul Tol's
colour-blind-safe colours for what Okabe-Ito runs out of.

Three uses, one vocabulary. ``COLORS`` are the mark colours: fills, heatmaps, the cell diagram. Several of
them are too light to read as text or to see as a thin line on white (sky blue, orange, Tol's yellow), so
``TEXT_COLORS`` (at least 4.5:1 against the white background, WCAG AA for text) and ``LINE_COLORS`` (at
least 3:1, WCAG for graphics) are derived from them: the same hue, darkened only as far as needed.
Figures never rely on colour alone: every trace has a label, and the models differ in line dash and in
marker symbol as well as colour.
"""

from __future__ import annotations

BACKGROUND = "#FFFFFF"  # every figure and the page are drawn on white
TEXT_CONTRAST = 4.5  # WCAG 2 AA, normal text
LINE_CONTRAST = 3.0  # WCAG 2 non-text contrast: lines, markers, outlines

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
    "reset": "#DDAA33",  # Tol's dark yellow
    "update": "#882255",  # wine
    "new": "#44AA99",  # teal
    # theory curves
    "theory": "#666666",
}

MODEL_COLORS = {"rnn": "#332288", "lstm": "#117733", "gru": "#AA4499"}  # Tol indigo, green, purple
MODEL_DASH = {"rnn": "solid", "lstm": "dash", "gru": "dot"}
MODEL_SYMBOLS = {"rnn": "circle", "lstm": "square", "gru": "diamond"}  # a third cue beside colour and dash
MODEL_NAMES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}
# The 1997 LSTM (no forget gate; engine.cells.ALL_KINDS), drawn beside the three on the Papers page: Tol olive,
# apart in hue from the indigo, green and purple of the three
MODEL_COLORS["lstm1997"] = "#999933"
MODEL_DASH["lstm1997"] = "dashdot"
MODEL_SYMBOLS["lstm1997"] = "triangle-up"
MODEL_NAMES["lstm1997"] = "LSTM (1997)"

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
REACH_SCALE = "PuOr"  # diverging, centred on "as large as at the loss": orange smaller, purple larger
FONT_SIZE = 16  # readable from the back of a classroom


# --------------------------------------------------------------------------------------------------
# Contrast (WCAG 2: relative luminance of sRGB colours)


def _rgb(color: str) -> tuple[float, float, float]:
    color = color.lstrip("#")
    if len(color) != 6:
        raise ValueError(f"colours are #RRGGBB, got {color!r}")
    return tuple(int(color[i : i + 2], 16) / 255 for i in (0, 2, 4))


def luminance(color: str) -> float:
    """WCAG relative luminance of a #RRGGBB colour: 0 for black, 1 for white."""

    def linear(v: float) -> float:
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(v) for v in _rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(color: str, background: str = BACKGROUND) -> float:
    """WCAG contrast ratio, 1 (none) to 21 (black on white)."""
    hi, lo = sorted((luminance(color), luminance(background)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def readable(color: str, ratio: float, background: str = BACKGROUND) -> str:
    """``color`` darkened (towards black, so the hue stays) just enough to reach ``ratio`` against
    ``background``; unchanged if it already does."""
    r, g, b = _rgb(color)
    for step in range(101):
        scale = 1 - step / 100
        candidate = "#{:02X}{:02X}{:02X}".format(*(round(v * scale * 255) for v in (r, g, b)))
        if contrast(candidate, background) >= ratio:
            return candidate
    raise ValueError(f"no darker shade of {color} reaches {ratio}:1")  # unreachable: black is 21:1 on white


TEXT_COLORS = {name: readable(c, TEXT_CONTRAST) for name, c in COLORS.items()}
LINE_COLORS = {name: readable(c, LINE_CONTRAST) for name, c in COLORS.items()}
MODEL_TEXT_COLORS = {kind: readable(c, TEXT_CONTRAST) for kind, c in MODEL_COLORS.items()}
