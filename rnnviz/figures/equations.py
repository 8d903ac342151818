"""Equations in LaTeX, and the same equations with one unit's live numbers at one step.

Numbers come from the trace (states and gates) and from the cell's parameters (pre-activations), so a
learner can redo the arithmetic and land on the value the heatmap shows.
"""

from __future__ import annotations

import numpy as np

from rnnviz.engine.cells import Cell
from rnnviz.figures.theme import TEXT_COLORS

EQUATIONS = {
    "rnn": [r"h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})"],
    "lstm": [
        r"i_t = \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi})",
        r"f_t = \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf})",
        r"g_t = \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg})",
        r"o_t = \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho})",
        r"c_t = f_t \odot c_{t-1} + i_t \odot g_t",
        r"h_t = o_t \odot \tanh(c_t)",
    ],
    "lstm1997": [  # Hochreiter & Schmidhuber (1997): no forget gate, the cell state only accumulates
        r"i_t = \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi})",
        r"g_t = \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg})",
        r"o_t = \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho})",
        r"c_t = c_{t-1} + i_t \odot g_t",
        r"h_t = o_t \odot \tanh(c_t)",
    ],
    "gru": [
        r"r_t = \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr})",
        r"z_t = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz})",
        r"n_t = \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn}))",
        r"h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}",
    ],
}

LSTM_GATES = {"lstm": ("input", "forget", "cell", "output"), "lstm1997": ("input", "cell", "output")}  # row order
_SYMBOLS = {"input": ("i", r"\sigma", "σ"), "forget": ("f", r"\sigma", "σ"), "cell": ("g", r"\tanh", "tanh")}
_SYMBOLS["output"] = ("o", r"\sigma", "σ")

# LaTeX colour per quantity: the readable text shade of rnnviz.figures.theme's colour (KaTeX takes hex colours).
_TEX = {name: rf"\color{{{TEXT_COLORS[name]}}}" for name in TEXT_COLORS}


def _c(quantity: str, text: str) -> str:
    return "{" + _TEX[quantity] + " " + text + "}"


def unit_series(
    cell: Cell,
    x: np.ndarray,
    h: np.ndarray,
    c: np.ndarray | None,
    gates: dict[str, np.ndarray],
    unit: int,
    h0=None,
    c0=None,
) -> dict[str, np.ndarray]:
    """Everything one unit computed at every step, unbatched arrays in (``x`` is (T, D), ``h`` (T, H)):
    states, gates, and pre-activations (``a_<gate>``; for the GRU also ``a_in`` and ``a_hn``, the two halves
    of n's argument), each a (T,) array. ``h_prev``/``c_prev`` are the states each step started from."""
    T, H = h.shape
    if not 0 <= unit < H:
        raise ValueError(f"unit must be in 0..{H - 1}, got {unit}")
    h_prev = np.vstack([np.zeros((1, H)) if h0 is None else np.asarray(h0, dtype=float)[None], h[:-1]])  # (T, H)
    p = cell.params
    G = p["weight_hh"].shape[0] // H
    rows = [k * H + unit for k in range(G)]
    a_x = x @ p["weight_ih"][rows].T + p["bias_ih"][rows]  # (T, G)
    a_h = h_prev @ p["weight_hh"][rows].T + p["bias_hh"][rows]  # (T, G)
    series = {"x": np.mean(x, axis=1), "h_prev": h_prev[:, unit], "h": h[:, unit]}
    series.update({name: v[:, unit] for name, v in gates.items()})
    if cell.kind in LSTM_GATES:
        c_prev = np.vstack([np.zeros((1, H)) if c0 is None else np.asarray(c0, dtype=float)[None], c[:-1]])
        series.update(c_prev=c_prev[:, unit], c=c[:, unit])
        for k, name in enumerate(LSTM_GATES[cell.kind]):
            series["a_" + name] = a_x[:, k] + a_h[:, k]
    elif cell.kind == "gru":
        series.update(a_reset=a_x[:, 0] + a_h[:, 0], a_update=a_x[:, 1] + a_h[:, 1], a_in=a_x[:, 2], a_hn=a_h[:, 2])
    else:
        series["a"] = a_x[:, 0] + a_h[:, 0]
    return {k: np.asarray(v, dtype=float) for k, v in series.items()}


def unit_values(
    cell: Cell,
    x: np.ndarray,
    h: np.ndarray,
    c: np.ndarray | None,
    gates: dict[str, np.ndarray],
    t: int,
    unit: int,
    h0=None,
    c0=None,
) -> dict[str, float]:
    """What one unit computed at step t: :func:`unit_series` at one step, as floats."""
    T, H = h.shape
    if not (0 <= t < T and 0 <= unit < H):
        raise ValueError(f"step must be in 0..{T - 1} and unit in 0..{H - 1}, got step {t}, unit {unit}")
    return {k: float(v[t]) for k, v in unit_series(cell, x, h, c, gates, unit, h0, c0).items()}


def _n(v: float) -> str:
    return f"{v:.3f}"


def equations_with_numbers(kind: str, v: dict[str, float], nonlinearity: str = "tanh") -> list[tuple[str, str]]:
    """Pairs (equation, the same line with numbers) for one unit at one step."""
    if kind == "rnn":
        act = r"\tanh" if nonlinearity == "tanh" else r"\mathrm{relu}"
        return [
            (
                EQUATIONS["rnn"][0].replace(r"\tanh", act),
                rf"{_c('h', 'h_t')} = {act}({_n(v['a'])}) = {_c('h', _n(v['h']))}",
            )
        ]
    if kind in LSTM_GATES:
        lines = EQUATIONS[kind]
        out = []
        for k, name in enumerate(LSTM_GATES[kind]):
            sym, fn = _SYMBOLS[name][0] + "_t", _SYMBOLS[name][1]
            out.append((lines[k], rf"{_c(name, sym)} = {fn}({_n(v['a_' + name])}) = {_c(name, _n(v[name]))}"))
        keep = rf"{_c('forget', _n(v['forget']))} \times " if kind == "lstm" else ""  # the 1997 cell keeps all of c
        out.append(
            (
                lines[-2],
                rf"{_c('c', 'c_t')} = {keep}{_c('c', _n(v['c_prev']))}"
                rf" + {_c('input', _n(v['input']))} \times {_c('cell', _n(v['cell']))} = {_c('c', _n(v['c']))}",
            )
        )
        out.append(
            (
                lines[-1],
                rf"{_c('h', 'h_t')} = {_c('output', _n(v['output']))} \times \tanh({_c('c', _n(v['c']))})"
                rf" = {_c('h', _n(v['h']))}",
            )
        )
        return out
    if kind == "gru":
        return [
            (
                EQUATIONS["gru"][0],
                rf"{_c('reset', 'r_t')} = \sigma({_n(v['a_reset'])}) = {_c('reset', _n(v['reset']))}",
            ),
            (
                EQUATIONS["gru"][1],
                rf"{_c('update', 'z_t')} = \sigma({_n(v['a_update'])}) = {_c('update', _n(v['update']))}",
            ),
            (
                EQUATIONS["gru"][2],
                rf"{_c('new', 'n_t')} = \tanh({_n(v['a_in'])} + {_c('reset', _n(v['reset']))} \times ({_n(v['a_hn'])}))"
                rf" = {_c('new', _n(v['new']))}",
            ),
            (
                EQUATIONS["gru"][3],
                rf"{_c('h', 'h_t')} = (1 - {_c('update', _n(v['update']))}) \times {_c('new', _n(v['new']))}"
                rf" + {_c('update', _n(v['update']))} \times {_c('h', _n(v['h_prev']))} = {_c('h', _n(v['h']))}",
            ),
        ]
    raise ValueError(f"unknown cell kind {kind!r}")


# --------------------------------------------------------------------------------------------------
# The same numbers as plain lines for a figure (Plotly text takes a little HTML, not LaTeX), so that an
# animation frame can carry each step's arithmetic.


def _q(quantity: str, text: str) -> str:
    return f"<span style='color:{TEXT_COLORS[quantity]}'>{text}</span>"


def _f(v: float) -> str:
    return f"{v:.3f}".replace("-", "−")


def number_lines(kind: str, v: dict[str, float], nonlinearity: str = "tanh") -> list[str]:
    """One line per equation with this unit's numbers at one step; the lines recombine to the trace."""
    if kind == "rnn":
        act = "tanh" if nonlinearity == "tanh" else "relu"
        return [f"{_q('h', 'h')} = {act}({_f(v['a'])}) = {_q('h', _f(v['h']))}"]
    if kind in LSTM_GATES:
        lines = [
            f"{_q(name, _SYMBOLS[name][0])} = {_SYMBOLS[name][2]}({_f(v['a_' + name])}) = {_q(name, _f(v[name]))}"
            for name in LSTM_GATES[kind]
        ]
        keep = f"{_q('forget', _f(v['forget']))}×" if kind == "lstm" else ""  # the 1997 cell keeps all of c
        lines.append(
            f"{_q('c', 'c')} = {keep}{_q('c', _f(v['c_prev']))}"
            f" + {_q('input', _f(v['input']))}×{_q('cell', _f(v['cell']))} = {_q('c', _f(v['c']))}"
        )
        lines.append(
            f"{_q('h', 'h')} = {_q('output', _f(v['output']))}×tanh({_q('c', _f(v['c']))}) = {_q('h', _f(v['h']))}"
        )
        return lines
    if kind == "gru":
        return [
            f"{_q('reset', 'r')} = σ({_f(v['a_reset'])}) = {_q('reset', _f(v['reset']))}",
            f"{_q('update', 'z')} = σ({_f(v['a_update'])}) = {_q('update', _f(v['update']))}",
            f"{_q('new', 'n')} = tanh({_f(v['a_in'])} + {_q('reset', _f(v['reset']))}×{_f(v['a_hn'])})"
            f" = {_q('new', _f(v['new']))}",
            f"{_q('h', 'h')} = (1 − {_q('update', _f(v['update']))})×{_q('new', _f(v['new']))}"
            f" + {_q('update', _f(v['update']))}×{_q('h', _f(v['h_prev']))} = {_q('h', _f(v['h']))}",
        ]
    raise ValueError(f"unknown cell kind {kind!r}")
