"""Equations in LaTeX, and the same equations with one unit's live numbers at one step.

Numbers come from the trace (states and gates) and from the cell's parameters (pre-activations), so a
learner can redo the arithmetic and land on the value the heatmap shows.
"""

from __future__ import annotations

import numpy as np

from rnnviz.cells import Cell
from rnnviz.theme import TEXT_COLORS

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
    "gru": [
        r"r_t = \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr})",
        r"z_t = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz})",
        r"n_t = \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn}))",
        r"h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}",
    ],
}

# LaTeX colour per quantity: the readable text shade of rnnviz.theme's colour (KaTeX takes hex colours).
_TEX = {name: rf"\color{{{TEXT_COLORS[name]}}}" for name in TEXT_COLORS}


def _c(quantity: str, text: str) -> str:
    return "{" + _TEX[quantity] + " " + text + "}"


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
    """Everything one unit computed at step t, unbatched arrays in: states, gates, and pre-activations
    (``a_<gate>``; for the GRU also ``a_in`` and ``a_hn``, the two halves of n's argument)."""
    T, H = h.shape
    if not (0 <= t < T and 0 <= unit < H):
        raise ValueError(f"step must be in 0..{T - 1} and unit in 0..{H - 1}, got step {t}, unit {unit}")
    h_prev = h[t - 1] if t > 0 else (np.zeros(H) if h0 is None else np.asarray(h0))
    p = cell.params
    G = p["weight_hh"].shape[0] // H
    rows = [k * H + unit for k in range(G)]
    a_x = p["weight_ih"][rows] @ x[t] + p["bias_ih"][rows]  # (G,)
    a_h = p["weight_hh"][rows] @ h_prev + p["bias_hh"][rows]
    values = {"x": float(np.mean(x[t])), "h_prev": float(h_prev[unit]), "h": float(h[t, unit])}
    values.update({name: float(v[t, unit]) for name, v in gates.items()})
    if cell.kind == "lstm":
        c_prev = c[t - 1] if t > 0 else (np.zeros(H) if c0 is None else np.asarray(c0))
        values.update(c_prev=float(c_prev[unit]), c=float(c[t, unit]))
        for k, name in enumerate(("input", "forget", "cell", "output")):
            values["a_" + name] = float(a_x[k] + a_h[k])
    elif cell.kind == "gru":
        values.update(
            a_reset=float(a_x[0] + a_h[0]), a_update=float(a_x[1] + a_h[1]), a_in=float(a_x[2]), a_hn=float(a_h[2])
        )
    else:
        values["a"] = float(a_x[0] + a_h[0])
    return values


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
    if kind == "lstm":
        out = []
        for name, sym, fn in (
            ("input", "i_t", r"\sigma"),
            ("forget", "f_t", r"\sigma"),
            ("cell", "g_t", r"\tanh"),
            ("output", "o_t", r"\sigma"),
        ):
            line = EQUATIONS["lstm"][("input", "forget", "cell", "output").index(name)]
            out.append((line, rf"{_c(name, sym)} = {fn}({_n(v['a_' + name])}) = {_c(name, _n(v[name]))}"))
        out.append(
            (
                EQUATIONS["lstm"][4],
                rf"{_c('c', 'c_t')} = {_c('forget', _n(v['forget']))} \times {_c('c', _n(v['c_prev']))}"
                rf" + {_c('input', _n(v['input']))} \times {_c('cell', _n(v['cell']))} = {_c('c', _n(v['c']))}",
            )
        )
        out.append(
            (
                EQUATIONS["lstm"][5],
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
