"""rnnviz: see why LSTMs and GRUs remember what plain RNNs forget.

The engine (NumPy only) lives here; the Streamlit pages live in ``pages/``.
"""

from rnnviz.engine.cells import (
    GATE_NAMES,
    KINDS,
    Cell,
    Grads,
    GRUCell,
    LSTMCell,
    RNNCell,
    Trace,
    sigmoid,
)
from rnnviz.engine.weights import from_state_dict, infer_kind, init_cell, load_npz, save_npz

__all__ = [
    "GATE_NAMES",
    "KINDS",
    "Cell",
    "GRUCell",
    "Grads",
    "LSTMCell",
    "RNNCell",
    "Trace",
    "from_state_dict",
    "infer_kind",
    "init_cell",
    "load_npz",
    "save_npz",
    "sigmoid",
]
