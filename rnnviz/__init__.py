"""rnnviz: see why LSTMs and GRUs remember what plain RNNs forget.

The engine (NumPy only) lives in ``rnnviz.engine``; the names below are its public face, loaded on first use
(PEP 562) so that importing a subpackage loads nothing it does not need: the app's and the CLI's first lines
import ``rnnviz.engine.blas`` to set the BLAS threads, and that must happen before NumPy loads.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for type checkers and editors: the same names, imported eagerly
    from rnnviz.engine.cells import GATE_NAMES, KINDS, Cell, Grads, GRUCell, LSTMCell, RNNCell, Trace, sigmoid
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
_WEIGHTS = {"from_state_dict", "infer_kind", "init_cell", "load_npz", "save_npz"}  # the rest are in cells


def __getattr__(name: str):
    if name not in __all__:
        raise AttributeError(f"module 'rnnviz' has no attribute {name!r}")
    module = importlib.import_module("rnnviz.engine.weights" if name in _WEIGHTS else "rnnviz.engine.cells")
    value = getattr(module, name)
    globals()[name] = value  # the next lookup is an ordinary one
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
