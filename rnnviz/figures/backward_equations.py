"""The backward view's words and numbers: the backward equations of one unit at one step with its live numbers,
the running products, and the caption, all from :class:`rnnviz.engine.backward.BackwardRecord`.

Each equation is kept as numbers (an :class:`Equation`: products of factors that add up to a result) before it
becomes a line of text, so a test can check both that the unrounded numbers hold and that the shown ones multiply
back. The factors are shown themselves (o(1 - o), 1 - tanh^2 c, ...), not the values they come from, so a learner
can redo the arithmetic with what is on screen. The names follow ``LSTMCell.step_backward`` and its siblings in
rnnviz/engine/cells.py: d_ + the quantity, da_ + the gate for a pre-activation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rnnviz.engine.backward import LOSSES, BackwardRecord
from rnnviz.figures.theme import MODEL_NAMES, TEXT_COLORS


def sup(n: int) -> str:
    """An integer in superscript digits: 10 + sup(-3) reads 10⁻³."""
    return str(n).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


def fmt(v: float) -> str:
    """Three significant digits (so a line fits beside the diagram at 1280 px; a product of three shown numbers
    lands within 2% of its shown result); powers of ten outside 0.01 .. 1000; a true minus sign in front."""
    if v == 0 or not math.isfinite(v):
        return "0" if v == 0 else str(v)
    a = abs(v)
    text = f"{a:.3g}" if 0.01 <= a < 1000 else f"{a:.2e}".replace("e-0", "e-").replace("e+0", "e")
    return ("−" if v < 0 else "") + text


# --------------------------------------------------------------------------------------------------
# The equations, one line per equation, with one unit's numbers at one step


def _q(quantity: str, text: str) -> str:
    return f"<span style='color:{TEXT_COLORS[quantity]}'>{text}</span>"


def _sum(terms: list[list[float]], colours: list[str] | None = None) -> str:
    """Products of numbers joined by +: [[a, b], [c]] -> "a×b + c"."""
    out = []
    for k, term in enumerate(terms):
        text = "×".join(fmt(v) if j == 0 or v >= 0 else f"({fmt(v)})" for j, v in enumerate(term))
        out.append(_q(colours[k], text) if colours and colours[k] else text)
    return " + ".join(out)


@dataclass(frozen=True)
class Equation:
    """One backward equation at one step for one unit: ``name`` (HTML, coloured as ``quantity``) = the sum of the
    products ``terms`` = ``result``; ``colours`` names a quantity per term (or None)."""

    name: str
    quantity: str | None
    terms: list[list[float]]
    result: float
    colours: list[str] | None = None

    def line(self) -> str:
        name = _q(self.quantity, self.name) if self.quantity else self.name
        return f"{name} = {_sum(self.terms, self.colours)} = {fmt(self.result)}"


def backward_equations(record: BackwardRecord, t: int, unit: int) -> list[Equation]:
    """The equations of step t that multiply numbers, in the engine's order (``LSTMCell.step_backward`` and its
    siblings), each with the factors themselves: o(1 - o), 1 - tanh^2 c, ... The last one splits d_h_prev by
    the weight block it passes (and the GRU's direct path)."""
    v = record.at(t, unit)
    last = t == record.steps - 1
    if record.kind == "rnn":
        slope = (1.0 if v["h"] > 0 else 0.0) if record.nonlinearity == "relu" else 1.0 - v["h"] ** 2
        return [Equation("da<sub>t</sub>", None, [[v["d_h"], slope]], v["d_a"])]
    if record.kind in ("lstm", "lstm1997"):
        # the cell-state path's factors are the engine's dc_t/dc_{t-1} (record.c_factor): f_t, or 1 in the 1997 cell
        o, i, g = v["output"], v["input"], v["cell"]
        from_later = [] if last else [[v["d_c_after"], v["forget_next"]]]
        gates = ["input", "forget", "cell", "output"] if record.kind == "lstm" else ["input", "cell", "output"]
        forget = []
        if record.kind == "lstm":
            f = v["forget"]
            forget = [Equation("da<sub>f</sub>", "forget", [[v["d_c"], v["c_prev"], f * (1 - f)]], v["d_forget"])]
        return [
            Equation("dc<sub>t</sub>", "c", [[v["d_h"], o, 1.0 - v["tanh_c"] ** 2], *from_later], v["d_c"]),
            Equation("da<sub>o</sub>", "output", [[v["d_h"], v["tanh_c"], o * (1 - o)]], v["d_output"]),
            Equation("da<sub>i</sub>", "input", [[v["d_c"], g, i * (1 - i)]], v["d_input"]),
            *forget,
            Equation("da<sub>g</sub>", "cell", [[v["d_c"], i, 1 - g * g]], v["d_cell"]),
            Equation("dh<sub>t−1</sub>", "h", [[v["part_" + q]] for q in gates], v["d_h_prev"], gates),
            Equation("dc<sub>t−1</sub>", "c", [[v["d_c"], v["c_factor"]]], v["d_c_prev"]),
        ]
    r, z, n = v["reset"], v["update"], v["new"]
    paths = ["direct", "reset", "update", "new"]
    return [
        Equation("da<sub>n</sub>", "new", [[v["d_h"], 1 - z, 1 - n * n]], v["d_new"]),
        Equation("da<sub>z</sub>", "update", [[v["d_h"], v["h_prev"] - n, z * (1 - z)]], v["d_update"]),
        Equation("da<sub>r</sub>", "reset", [[v["d_new"], v["hn"], r * (1 - r)]], v["d_reset"]),
        Equation("dh<sub>t−1</sub>", "h", [[v["part_" + q]] for q in paths], v["d_h_prev"], ["h", *paths[1:]]),
    ]


def equation_lines(record: BackwardRecord, t: int, unit: int, brief: bool = False) -> list[str]:
    """The detail's lines for step t and ``unit``: a heading, what arrives at h_t, one line per equation
    ("name = products of shown numbers = result"), and the running products. ``brief`` (a projector's short
    screen) keeps the lines that carry the gradient back (dc_t, dh_t-1, dc_t-1) and leaves out the gates'
    pre-activations, whose numbers the diagram's boxes show."""
    v = record.at(t, unit)
    kind = record.kind
    arrives = "from the loss" if t == record.steps - 1 else "from step t+1"
    lines = [
        f"<b>{MODEL_NAMES[kind]} unit {unit} at step t = {t}</b>",
        f"{_q('h', 'dh<sub>t</sub>')} = {fmt(v['d_h'])}  ← {arrives}",
    ]
    kept = [e for e in backward_equations(record, t, unit) if not (brief and kind != "rnn" and e.name.startswith("da"))]
    lines += [e.line() for e in kept]
    if kind == "rnn":
        weights = f"(W<sub>hh</sub><sup>T</sup>da<sub>t</sub>)[{unit}]"
        lines.append(f"{_q('h', 'dh<sub>t−1</sub>')} = {weights} = {fmt(v['d_h_prev'])}")
    return lines + [e.line() for e in running_products(record, t, unit)]


def running_products(record: BackwardRecord, t: int, unit: int) -> list[Equation]:
    """How much of the gradient at the loss is left at step t, as this step's factor times the product so far:
    through h (measured, all units: ||dh_t|| / ||dh_T||) and along the LSTM's cell state (the GRU's direct path)
    for ``unit``, the product of its forget (update) gates after t. At the last step there is no factor yet."""
    later = t + 1 < record.steps
    h_factor = record.h_left[t] / record.h_left[t + 1] if later else None
    out = [
        Equation(
            "h path: ‖dh<sub>t</sub>‖ / ‖dh<sub>T</sub>‖", None, _step(h_factor, record.h_left, t), record.h_left[t]
        )
    ]
    if record.keep_product is not None:
        name = {
            "lstm": "c path: f<sub>t+1</sub>⋯f<sub>T</sub>",
            "lstm1997": "c path: (∂c<sub>t+1</sub>/∂c<sub>t</sub>)⋯(∂c<sub>T</sub>/∂c<sub>T−1</sub>)",
            "gru": "z path: z<sub>t+1</sub>⋯z<sub>T</sub>",
        }[record.kind]
        keep = record.keep_product[:, unit]
        gate = record.c_factor[:, unit] if record.c_factor is not None else record.trace.gates["update"][:, unit]
        out.append(Equation(name, None, _step(gate[t + 1] if later else None, keep, t), keep[t]))
    return out


def _step(factor: float | None, totals: np.ndarray, t: int) -> list[list[float]]:
    """[[this step's factor, the total one step later]], or [[the total]] at the last step."""
    return [[float(totals[t])]] if factor is None else [[float(factor), float(totals[t + 1])]]


def caption(records: dict[str, BackwardRecord], unit: int) -> str:
    """What the backward view shows at these settings, from its numbers: the size of the gradient through h at
    the first step against its size at the loss (each model), and what the keep gates' product multiplies by."""
    parts = []
    for kind, record in records.items():
        name = MODEL_NAMES[kind]
        if record.trace.overflowed:
            parts.append(f"the {name}'s state overflowed in the forward pass, so its loss has no finite gradient")
            continue
        said = f"the {name}'s gradient through h is {_power(float(record.h_left[0]))} of its size at the loss"
        if kind == "lstm1997":
            said += ", and " + carousel(record)
        elif record.keep_product is not None:
            gates, path = ("forget gates", "its cell state") if kind == "lstm" else ("update gates", "its path z·h")
            product = _power(float(record.keep_product[0, unit]))
            said += f", and unit {unit}'s {gates} multiply what enters {path} by {product} on the way back"
        parts.append(said)
    if not parts:
        return ""
    first = next(iter(records.values()))
    loss = LOSSES[first.loss].split(",")[0]
    if first.steps == 1:
        return f"Loss: {loss}. A sequence of one step has no earlier step for the gradient to reach."
    return f"Loss: {loss}. After {first.steps - 1} steps back, " + "; ".join(parts) + "."


def carousel(record: BackwardRecord) -> str:
    """The 1997 cell's constant error carousel, read from the engine's factors dc_t/dc_{t-1} (``c_factor``): how
    far the furthest of them, over every step and unit, is from 1."""
    factors = record.c_factor[1:]  # the steps the gradient passes on its way back (step 0 hands it to c0)
    if factors.size == 0:
        return "its cell state has no earlier step to pass the gradient to"
    off = float(np.max(np.abs(factors - 1.0)))
    if off == 0:
        how = "exactly 1"
    elif off < 1e-12:
        how = f"1 to within {_power(off)}"
    else:
        return f"its cell state's factor per step is not 1 here (up to {_power(off)} away): not a carousel"
    return (
        f"its cell state passes dL/dc back with a factor of {how} at every one of the {factors.shape[0]} steps and "
        f"{factors.shape[1]} units (the engine's dc_t/dc_t−1): with no forget gate nothing is lost along c, the "
        "constant error carousel"
    )


def _power(v: float) -> str:
    """0.37 as "0.37", 2.1e-5 as "2.1·10⁻⁵"."""
    if not math.isfinite(v):
        return "not finite"
    if v == 0:
        return "0"
    if 0.01 <= v < 100:
        return f"{v:.2g}"
    mantissa, exponent = f"{v:.1e}".split("e")
    return f"{mantissa}·10{sup(int(exponent))}"


# The backward equations in symbols (LaTeX), for the page's fold-out; the figure shows them with numbers.
EQUATIONS = {
    "rnn": [
        r"da_t = dh_t \odot (1 - h_t^2)",
        r"dh_{t-1} = W_{hh}^\top da_t",
    ],
    "lstm": [
        r"dc_t = dh_t \odot o_t \odot (1 - \tanh^2 c_t) + dc_{t+1} \odot f_{t+1}",
        r"da_o = dh_t \odot \tanh c_t \odot o_t (1 - o_t)",
        r"da_i = dc_t \odot g_t \odot i_t (1 - i_t)",
        r"da_f = dc_t \odot c_{t-1} \odot f_t (1 - f_t)",
        r"da_g = dc_t \odot i_t \odot (1 - g_t^2)",
        r"dh_{t-1} = W_{hi}^\top da_i + W_{hf}^\top da_f + W_{hg}^\top da_g + W_{ho}^\top da_o",
        r"dc_{t-1} = dc_t \odot f_t",
    ],
    "lstm1997": [
        r"dc_t = dh_t \odot o_t \odot (1 - \tanh^2 c_t) + dc_{t+1} \cdot 1",
        r"da_o = dh_t \odot \tanh c_t \odot o_t (1 - o_t)",
        r"da_i = dc_t \odot g_t \odot i_t (1 - i_t)",
        r"da_g = dc_t \odot i_t \odot (1 - g_t^2)",
        r"dh_{t-1} = W_{hi}^\top da_i + W_{hg}^\top da_g + W_{ho}^\top da_o",
        r"dc_{t-1} = dc_t \cdot \partial c_t / \partial c_{t-1} = dc_t \cdot 1",
    ],
    "gru": [
        r"da_n = dh_t \odot (1 - z_t) \odot (1 - n_t^2)",
        r"da_z = dh_t \odot (h_{t-1} - n_t) \odot z_t (1 - z_t)",
        r"da_r = da_n \odot (W_{hn} h_{t-1} + b_{hn}) \odot r_t (1 - r_t)",
        r"dh_{t-1} = dh_t \odot z_t + W_{hr}^\top da_r + W_{hz}^\top da_z + W_{hn}^\top (r_t \odot da_n)",
    ],
}
