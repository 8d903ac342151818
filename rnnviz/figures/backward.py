"""The Cell stepper's backward view: a loss at the last step, and Play runs backwards in time from it.

Built like the forward view (rnnviz/figures/stepper.py, whose module docstring says why): the heatmaps are layout
images that frames never touch, transparent traces on top keep hover and click, and each frame updates scatter
traces only. Here those are the step markers, the diagram's boxes (each a gradient, coloured on the heatmaps'
scale), one arrow per wire whose width follows the magnitude it carries, the numbers beside the arrows and the
lines of the backward equations. The frames are listed from the last step to the first, so Play goes back in
time; the slider keeps time running left to right and its knob walks to the left.

Gradients span many powers of ten, so colour shows a signed logarithm: sign(g) * log10(|g| / floor), with
``floor`` a fixed number of decades below the largest magnitude (anything smaller is drawn as zero), on a
diverging scale whose colour bar is labelled in powers of ten.

Every number comes from :class:`rnnviz.engine.backward.BackwardRecord`; the equation lines show the factors
themselves (o(1 - o), 1 - tanh^2 c, ...) so that each line multiplies back to its result from what is shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rnnviz.engine.backward import LOSSES, BackwardRecord
from rnnviz.figures import colormaps, diagram
from rnnviz.figures.common import base_layout
from rnnviz.figures.stepper import (
    DETAIL_PX,
    ROW_PX,
    AnimatedFigure,
    _input_traces,
    _line_trace,
    _marker,
    _row_title,
    _stacked_domains,
    play_controls,
)
from rnnviz.figures.theme import FONT_SIZE, LABELS, LINE_COLORS, MODEL_NAMES, TEXT_COLORS

GRADIENT_SCALE = "BrBG"  # diverging, colour-blind safe, and unlike the states' red-blue: a gradient is not a value
DECADES = 8  # powers of ten the colour scale spans below the largest gradient
ROWS = ("h", "c", "input", "forget", "cell", "output", "reset", "update", "new")  # the forward view's row names
BOX_PX = 44  # the diagram's boxes hold a number like −3e-6 (the equations give three digits)
CANVAS_X = (-0.2, 13.4)  # the forward diagram's canvas, with room on the right for what arrives from step t+1


# --------------------------------------------------------------------------------------------------
# Numbers


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


def short(v: float) -> str:
    """One or two significant digits, for the diagram's boxes and wires: 0.24, −3e-6."""
    if v == 0 or not math.isfinite(v):
        return "0" if v == 0 else str(v)
    a = abs(v)
    text = f"{a:.2g}" if 0.01 <= a < 100 else f"{a:.0e}".replace("e-0", "e-").replace("e+0", "e")
    return ("−" if v < 0 else "") + text


@dataclass(frozen=True)
class LogScale:
    """Signed log magnitude: g -> sign(g) * log10(|g| / floor), clipped to [-decades, decades]; ``top`` is the
    power of ten at or above the largest |g|, ``floor`` = top / 10^decades."""

    top_exponent: int
    decades: int = DECADES

    @classmethod
    def fitted(cls, *arrays: np.ndarray, decades: int = DECADES) -> LogScale:
        finite = [np.abs(a[np.isfinite(a)]) for a in arrays if a is not None]
        top = max((float(a.max()) for a in finite if a.size), default=0.0)
        return cls(int(math.ceil(math.log10(top))) if top > 0 else 0, decades)

    @property
    def floor_exponent(self) -> int:
        return self.top_exponent - self.decades

    def mapped(self, g) -> np.ndarray:
        g = np.nan_to_num(np.asarray(g, dtype=float), nan=0.0, posinf=1e308, neginf=-1e308)
        with np.errstate(divide="ignore"):
            level = np.log10(np.abs(g)) - self.floor_exponent
        return np.sign(g) * np.clip(level, 0.0, self.decades)

    def fraction(self, g) -> np.ndarray:
        """|mapped| / decades: 0 at or below the floor, 1 at the top (the arrows' width)."""
        return np.abs(self.mapped(g)) / self.decades

    @property
    def scale(self) -> colormaps.Scale:
        return colormaps.Scale("gradient", GRADIENT_SCALE, -float(self.decades), float(self.decades))

    def coloraxis(self, y: float, length: float, x: float, px: float = 400) -> dict:
        """The colour bar, labelled in powers of ten: every second one, or fewer on a bar of ``px`` pixels too
        short for them to stay apart (20 px a label)."""
        axis = self.scale.coloraxis(y=y, length=length, x=x)
        step = next((k for k in (2, 4) if px / (2 * self.decades / k + 1) >= 20), self.decades)
        ticks = list(range(-self.decades, self.decades + 1, step))
        text = ["0" if k == 0 else ("−" if k < 0 else "") + "10" + sup(self.floor_exponent + abs(k)) for k in ticks]
        axis["colorbar"].update(tickvals=ticks, ticktext=text, title=dict(text="gradient", side="right"))
        return axis

    def colors(self, values) -> list[str]:
        return self.scale.colors(self.mapped(values))

    def inks(self, values) -> list[str]:
        return self.scale.inks(self.mapped(values))


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
    if record.kind == "lstm":
        o, i, f, g = v["output"], v["input"], v["forget"], v["cell"]
        from_later = [] if last else [[v["d_c_after"], v["forget_next"]]]
        gates = ["input", "forget", "cell", "output"]
        return [
            Equation("dc<sub>t</sub>", "c", [[v["d_h"], o, 1.0 - v["tanh_c"] ** 2], *from_later], v["d_c"]),
            Equation("da<sub>o</sub>", "output", [[v["d_h"], v["tanh_c"], o * (1 - o)]], v["d_output"]),
            Equation("da<sub>i</sub>", "input", [[v["d_c"], g, i * (1 - i)]], v["d_input"]),
            Equation("da<sub>f</sub>", "forget", [[v["d_c"], v["c_prev"], f * (1 - f)]], v["d_forget"]),
            Equation("da<sub>g</sub>", "cell", [[v["d_c"], i, 1 - g * g]], v["d_cell"]),
            Equation("dh<sub>t−1</sub>", "h", [[v["part_" + q]] for q in gates], v["d_h_prev"], gates),
            Equation("dc<sub>t−1</sub>", "c", [[v["d_c"], f]], v["d_c_prev"]),
        ]
    r, z, n = v["reset"], v["update"], v["new"]
    paths = ["direct", "reset", "update", "new"]
    return [
        Equation("da<sub>n</sub>", "new", [[v["d_h"], 1 - z, 1 - n * n]], v["d_new"]),
        Equation("da<sub>z</sub>", "update", [[v["d_h"], v["h_prev"] - n, z * (1 - z)]], v["d_update"]),
        Equation("da<sub>r</sub>", "reset", [[v["d_new"], v["hn"], r * (1 - r)]], v["d_reset"]),
        Equation("dh<sub>t−1</sub>", "h", [[v["part_" + q]] for q in paths], v["d_h_prev"], ["h", *paths[1:]]),
    ]


def equation_lines(record: BackwardRecord, t: int, unit: int) -> list[str]:
    """The detail's lines for step t and ``unit``: a heading, what arrives at h_t, one line per equation
    ("name = products of shown numbers = result"), and the running products."""
    v = record.at(t, unit)
    kind = record.kind
    arrives = "from the loss" if t == record.steps - 1 else "from step t+1"
    lines = [
        f"<b>{MODEL_NAMES[kind]} unit {unit} at step t = {t}</b>",
        f"{_q('h', 'dh<sub>t</sub>')} = {fmt(v['d_h'])}  ← {arrives}",
    ]
    lines += [e.line() for e in backward_equations(record, t, unit)]
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
        name = (
            "c path: f<sub>t+1</sub>⋯f<sub>T</sub>"
            if record.kind == "lstm"
            else "z path: z<sub>t+1</sub>⋯z<sub>T</sub>"
        )
        keep = record.keep_product[:, unit]
        gate = record.trace.gates["forget" if record.kind == "lstm" else "update"][:, unit]
        out.append(Equation(name, None, _step(gate[t + 1] if later else None, keep, t), keep[t]))
    return out


def _step(factor: float | None, totals: np.ndarray, t: int) -> list[list[float]]:
    """[[this step's factor, the total one step later]], or [[the total]] at the last step."""
    return [[float(totals[t])]] if factor is None else [[float(factor), float(totals[t + 1])]]


# --------------------------------------------------------------------------------------------------
# The diagram: boxes hold gradients, arrows point back in time


@dataclass(frozen=True)
class Arrow:
    """A wire carrying ``value`` (a key of ``BackwardRecord.at``) from (x0, y0) to (x1, y1); ``label_at`` places
    its number (None: the box at its end shows it)."""

    value: str
    quantity: str
    x0: float
    y0: float
    x1: float
    y1: float
    label_at: tuple[float, float] | None = None


ARROWS = {
    "rnn": [
        Arrow("d_h", "h", 13.35, 3.5, 12.15, 3.5),
        Arrow("d_h", "h", 10.45, 3.5, 6.55, 3.5),
        Arrow("d_a", "h", 5.45, 3.5, 1.65, 3.5, (3.5, 4.0)),
    ],
    "lstm": [
        Arrow("d_h", "h", 13.35, 1.5, 12.15, 1.5),
        Arrow("d_c_next", "c", 13.35, 6.0, 12.15, 6.0, (12.75, 6.75)),
        Arrow("d_dc_dh", "c", 9.8, 2.0, 9.8, 5.5, (11.35, 4.5)),
        Arrow("d_c", "c", 10.45, 6.0, 3.5, 6.0),
        Arrow("d_c_prev", "c", 2.5, 6.0, 1.65, 6.0),
        Arrow("d_forget", "forget", 3.0, 5.5, 3.0, 3.65),
        Arrow("d_input", "input", 5.2, 5.5, 4.75, 3.65),
        Arrow("d_cell", "cell", 5.6, 5.5, 6.05, 3.65),
        Arrow("d_output", "output", 9.3, 3.0, 8.95, 3.0),
        Arrow("d_h_prev", "h", 8.2, 1.5, 1.65, 1.5, (5.0, 1.0)),
    ],
    "gru": [
        Arrow("d_h", "h", 13.35, 6.0, 12.15, 6.0),
        Arrow("d_h", "h", 10.45, 6.0, 4.5, 6.0),
        Arrow("part_direct", "h", 3.5, 6.0, 1.65, 6.0),
        Arrow("d_new", "new", 8.2, 5.5, 8.2, 3.65),
        Arrow("d_update", "update", 4.0, 5.5, 4.0, 3.65),
        Arrow("d_reset", "reset", 7.45, 3.0, 6.75, 3.0),
        Arrow("part_weights", "h", 8.2, 1.5, 1.65, 1.5, (5.0, 1.0)),
    ],
}

# what each box of diagram.boxes(kind) shows, in its order
BOX_VALUES = {
    "rnn": ("d_h_prev", "d_x", "d_h"),
    "lstm": ("d_c_prev", "d_c", "d_forget", "d_input", "d_cell", "d_output", "d_h_prev", "d_x", "d_h"),
    "gru": ("part_direct", "d_h", "d_update", "d_reset", "d_new", "part_weights", "d_x"),
}
BOX_NAMES = {"d_a": "da", "part_direct": "via z", "part_weights": "via W"}


def diagram_values(record: BackwardRecord, t: int, unit: int) -> dict[str, float]:
    """``record.at(t, unit)`` and what the diagram adds: dL/dx_t (first input feature), the share of d_c_t that
    comes through h_t, and (GRU) the share of d_h_prev that passes the weights."""
    v = record.at(t, unit)
    v["d_x"] = float(np.ravel(record.grads.x[t])[0])
    if record.kind == "lstm":
        v["d_dc_dh"] = v["d_c"] - v["d_c_next"]
    if record.kind == "gru":
        v["part_weights"] = v["d_h_prev"] - v["part_direct"]
    return v


def _box_style(record: BackwardRecord, v: dict, scale: LogScale) -> dict:
    nodes = diagram.boxes(record.kind)
    values = [v[key] for key in BOX_VALUES[record.kind]]
    labels = [BOX_NAMES.get(key, "d" + n.label) for key, n in zip(BOX_VALUES[record.kind], nodes, strict=True)]
    return {
        "color": scale.colors(values),
        "text": [f"{label}<br>{short(x)}" for label, x in zip(labels, values, strict=True)],
        "ink": scale.inks(values),
    }


def _arrow_style(arrow: Arrow, value: float, scale: LogScale) -> dict:
    width = 1.5 + 9.0 * float(scale.fraction(value))
    return dict(
        line=dict(
            color=LINE_COLORS.get(arrow.quantity, "#444444"), width=width, dash="solid" if width > 1.6 else "dot"
        ),
        marker=dict(size=[0, 10 + 1.6 * width], color=LINE_COLORS.get(arrow.quantity, "#444444")),
    )


def _arrow_trace(arrow: Arrow, style: dict, xaxis: str, yaxis: str) -> dict:
    return dict(
        type="scatter",
        x=[arrow.x0, arrow.x1],
        y=[arrow.y0, arrow.y1],
        mode="lines+markers",
        xaxis=xaxis,
        yaxis=yaxis,
        line=style["line"],
        marker=dict(symbol=["circle", "arrow"], angleref="previous", **style["marker"]),
        hoverinfo="skip",
        showlegend=False,
        cliponaxis=False,
    )


def _labels(record: BackwardRecord, v: dict) -> list[str]:
    return [short(v[a.value]) for a in ARROWS[record.kind] if a.label_at]


# --------------------------------------------------------------------------------------------------
# The figure


def panels(
    records: dict[str, BackwardRecord], rows: list[str], scale: LogScale
) -> list[tuple[str, str, np.ndarray, str]]:
    """(title, quantity, (T, H) gradient, model) for each heatmap row: dL/dh_t, dL/dc_t, then the gates'
    pre-activation gradients, for each model, in the forward view's row order."""
    out = []
    for kind, record in records.items():
        prefix = f"{MODEL_NAMES[kind]}: " if len(records) > 1 else ""
        for q in ROWS:
            if q not in rows:
                continue
            if q == "h":
                out.append((prefix + "dL/dh_t (total, through every path)", "h", record.d_h, kind))
            elif q == "c" and record.d_c is not None:
                out.append((prefix + "dL/dc_t (cell state)", "c", record.d_c, kind))
            elif q in record.d_gates:
                out.append((prefix + f"dL/da of the {LABELS[q]} (pre-activation)", q, record.d_gates[q], kind))
    return out


def _hover_trace(title: str, values: np.ndarray, suffix: str, pick: str | None) -> dict:
    """Transparent points over a heatmap row: hover shows the gradient; on the dL/dh row a click picks the step
    and unit (the page reads traces named "pick:<model>")."""
    T, H = values.shape
    tt, uu = np.meshgrid(np.arange(T), np.arange(H))
    big = float(np.finfo(np.float32).max)
    return dict(
        type="scatter",
        x=tt.ravel().astype(np.int16),
        y=uu.ravel().astype(np.int16),
        customdata=np.clip(np.nan_to_num(values.T.ravel()), -big, big).astype(np.float32),
        mode="markers",
        marker=dict(size=10, opacity=0),
        xaxis=f"x{suffix}",
        yaxis=f"y{suffix}",
        name=f"pick:{pick}" if pick else title,
        hovertemplate=f"{title}<br>t=%{{x}}, unit %{{y}}<br>%{{customdata:.3g}}<extra></extra>",
    )


def backward_figure(
    records: dict[str, BackwardRecord], rows: list[str], *, detail: str, unit: int, step: int | None = None
) -> AnimatedFigure:
    """The input on top, one heatmap row per gradient, and the ``detail`` model's cell diagram and equations for
    ``unit``; frames run from the last step to the first (``step``: where the slider starts, default the last)."""
    record = records[detail]
    x = np.asarray(record.trace.x, dtype=float)
    T = x.shape[0]
    step = T - 1 if step is None else int(np.clip(step, 0, T - 1))
    rows = list(rows) or ["h"]
    shown = panels(records, rows, LogScale(0))
    scale = LogScale.fitted(*[p[2] for p in shown])
    right = 0.9
    n_rows = 1 + len(shown)
    heat_px = 45 + ROW_PX * len(shown)
    height = 130 + heat_px + DETAIL_PX + 40
    bottom = (DETAIL_PX + 40) / (heat_px + DETAIL_PX + 40)
    domains = [
        (bottom + (1 - bottom) * a, bottom + (1 - bottom) * b)
        for a, b in _stacked_domains([0.55] + [1.0] * len(shown), gap=min(0.07, 0.3 / n_rows))
    ]
    layout: dict = {"images": [], "annotations": [], "shapes": []}
    data: list[dict] = []
    for r in range(1, n_rows + 1):
        suffix = "" if r == 1 else str(r)
        layout[f"xaxis{suffix}"] = dict(
            domain=[0, right],
            anchor=f"y{suffix}",
            range=[-0.5, T - 0.5],
            showticklabels=r == n_rows,
            **({} if r == 1 else {"matches": "x"}),
            **({"title": {"text": "time step t"}} if r == n_rows else {}),
        )
        layout[f"yaxis{suffix}"] = dict(domain=list(domains[r - 1]), anchor=f"x{suffix}", fixedrange=True)
    layout["annotations"].append(_row_title(LABELS["x"], "x", domains[0][1], right))
    data += _input_traces(x)
    lo, hi = float(np.min(x[:, :4])) - 0.1, float(np.max(x[:, :4])) + 0.1
    layout["yaxis"]["range"] = [lo, hi]
    spans = [(lo, hi)]
    for r, (title, quantity, values, kind) in enumerate(shown, start=2):
        suffix = str(r)
        H = values.shape[1]
        layout[f"yaxis{suffix}"].update(title={"text": "unit"}, range=[-0.5, H - 0.5])
        layout["images"].append(
            dict(
                source=colormaps.heatmap_png(scale.mapped(values), scale.scale),
                xref=f"x{suffix}",
                yref=f"y{suffix}",
                x=-0.5,
                y=H - 0.5,
                sizex=T,
                sizey=H,
                sizing="stretch",
                xanchor="left",
                yanchor="top",
                layer="below",
            )
        )
        layout["annotations"].append(_row_title(title, quantity, domains[r - 1][1], right))
        data.append(_hover_trace(title, values, suffix, kind if quantity == "h" else None))
        spans.append((-0.5, H - 0.5))
    bar = (1 - bottom) * 0.85
    layout["coloraxis"] = scale.coloraxis(y=1.0, length=bar, x=right + 0.01, px=bar * (height - 145))
    data.append(
        dict(
            type="scatter",
            x=[0],
            y=[lo],
            mode="markers",
            hoverinfo="skip",
            marker=dict(size=0.1, color=[0.0], coloraxis="coloraxis"),
            showlegend=False,
        )
    )
    animated = list(range(len(data), len(data) + n_rows))
    for r, (a, b) in enumerate(spans, start=1):
        data.append(_marker(step, a, b, "" if r == 1 else str(r)))
    # the detail: diagram (left) and equations (right)
    n = n_rows + 1
    dx, dy, ex, ey = f"x{n}", f"y{n}", f"x{n + 1}", f"y{n + 1}"
    top = bottom - 70 / (heat_px + DETAIL_PX + 40)
    n_lines = len(equation_lines(record, step, unit))
    layout[f"xaxis{n}"] = dict(domain=[0.0, 0.48], anchor=dy, visible=False, range=list(CANVAS_X), fixedrange=True)
    layout[f"yaxis{n}"] = dict(
        domain=[0.0, top], anchor=dx, visible=False, range=list(diagram.CANVAS_Y), fixedrange=True
    )
    layout[f"xaxis{n + 1}"] = dict(domain=[0.5, 1.0], anchor=ey, visible=False, range=[0, 1], fixedrange=True)
    layout[f"yaxis{n + 1}"] = dict(
        domain=[0.0, top], anchor=ex, visible=False, range=[0.3, n_lines + 0.7], fixedrange=True
    )
    shapes, notes = diagram.fixed_parts(record.kind, dx, dy, record.nonlinearity)
    for s in shapes:  # the forward wires, faint: the arrows drawn over them carry the gradients
        if s["type"] == "line":
            s["line"] = dict(color="#DDDDDD", width=3)
    for note in notes:
        if note.get("showarrow"):
            note.update(arrowcolor="#DDDDDD", arrowwidth=3, arrowhead=0)
    layout["shapes"] += shapes
    layout["annotations"] += notes
    values = {t: diagram_values(record, t, unit) for t in range(T)}
    arrows = ARROWS[record.kind]
    first = len(data)
    for a in arrows:
        data.append(_arrow_trace(a, _arrow_style(a, values[step][a.value], scale), dx, dy))
    data.append(diagram.box_trace(record.kind, _box_style(record, values[step], scale), dx, dy, size=BOX_PX))
    data[-1]["textfont"]["size"] = FONT_SIZE - 4
    labelled = [a for a in arrows if a.label_at]
    data.append(
        dict(
            type="scatter",
            x=[a.label_at[0] for a in labelled],
            y=[a.label_at[1] for a in labelled],
            mode="text",
            text=_labels(record, values[step]),
            textfont=dict(size=FONT_SIZE - 2, color=[TEXT_COLORS.get(a.quantity, "#000000") for a in labelled]),
            xaxis=dx,
            yaxis=dy,
            hoverinfo="skip",
            showlegend=False,
            cliponaxis=False,
        )
    )
    data.append(_line_trace(equation_lines(record, step, unit), ex, ey))
    data[-1]["textfont"]["size"] = FONT_SIZE - 3  # longer lines than the forward view's
    animated += list(range(first, len(data)))
    boxes = data[first + len(arrows)]
    frames = []
    for t in reversed(range(T)):  # Play goes back in time
        v = values[t]
        frame_data = [dict(type="scatter", x=[t, t]) for _ in spans]
        frame_data += [dict(type="scatter", **_arrow_style(a, v[a.value], scale)) for a in arrows]
        style = _box_style(record, v, scale)
        frame_data.append(
            dict(
                type="scatter",
                marker={k: m for k, m in boxes["marker"].items() if k != "line"} | {"color": style["color"]},
                text=style["text"],
                textfont={**boxes["textfont"], "color": style["ink"]},
            )
        )
        frame_data.append(dict(type="scatter", text=_labels(record, v)))
        frame_data.append(dict(type="scatter", text=equation_lines(record, t, unit)))
        frames.append(dict(name=str(t), traces=animated, data=frame_data))
    layout.update(showlegend=False, hovermode="closest", dragmode=False, **play_controls(T, step, right))
    layout["updatemenus"][0]["buttons"][0]["label"] = "◀ Play backwards"
    fig = base_layout(AnimatedFigure(dict(data=data, layout=layout), frames), height=height)
    fig.update_layout(margin=dict(l=70, r=20, t=125, b=20))
    return fig


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
        if record.keep_product is not None:
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
    "gru": [
        r"da_n = dh_t \odot (1 - z_t) \odot (1 - n_t^2)",
        r"da_z = dh_t \odot (h_{t-1} - n_t) \odot z_t (1 - z_t)",
        r"da_r = da_n \odot (W_{hn} h_{t-1} + b_{hn}) \odot r_t (1 - r_t)",
        r"dh_{t-1} = dh_t \odot z_t + W_{hr}^\top da_r + W_{hz}^\top da_z + W_{hn}^\top (r_t \odot da_n)",
    ],
}
