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

Every number comes from :class:`rnnviz.engine.backward.BackwardRecord`; the lines of equations are made by
rnnviz/figures/backward_equations.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rnnviz.engine.backward import BackwardRecord
from rnnviz.figures import colormaps, diagram
from rnnviz.figures.backward_equations import equation_lines, sup
from rnnviz.figures.common import plain_figure, spec_layout
from rnnviz.figures.stepper import (
    DETAIL_PX,
    ROW_PX,
    AnimatedFigure,
    _input_traces,
    _line_trace,
    _marker,
    _row_title,
    narrow_layout,
    play_controls,
    stacked_rows,
)
from rnnviz.figures.theme import FONT_SIZE, LABELS, LINE_COLORS, MODEL_NAMES, TEXT_COLORS

GRADIENT_SCALE = "BrBG"  # diverging, colour-blind safe, and unlike the states' red-blue: a gradient is not a value
DECADES = 8  # powers of ten the colour scale spans below the largest gradient
ROWS = ("h", "c", "input", "forget", "cell", "output", "reset", "update", "new")  # the forward view's row names
BOX_PX = 38  # the diagram's boxes hold a number like −3e-6 (the equations give three digits); with their 3 px
# outlines, two gates 1.8 units apart (about 44 px at 1280 px wide) then leave a gap (44 px boxes overlapped)
CANVAS_X = (-0.2, 13.4)  # the forward diagram's canvas, with room on the right for what arrives from step t+1
# On a phone (rnnviz/app/player.py applies the traces' meta.narrow): the canvas is about 21 px a unit across and
# 18 up, so two gates 1.8 units apart, and a gate and the operation above it, leave room for a box of 31 px with a
# number like −3e-6 in 12 px type; the eleven lines of equations (up to 60 characters) take 14 px each in 11 px type.
PHONE_BOX = {"marker.size": 31, "marker.line.width": 3, "textfont.size": FONT_SIZE - 4}
PHONE_TEXT = FONT_SIZE - 5
PHONE_LINE_PX = 14


# --------------------------------------------------------------------------------------------------
# Numbers


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
        Arrow("d_dc_dh", "c", 9.9, 2.0, 9.9, 5.5, (11.35, 4.5)),
        Arrow("d_c", "c", 10.45, 6.0, 3.3, 6.0),
        Arrow("d_c_prev", "c", 2.3, 6.0, 1.65, 6.0),
        Arrow("d_forget", "forget", 2.8, 5.5, 2.8, 3.65),
        Arrow("d_input", "input", 5.3, 5.5, 4.75, 3.65),
        Arrow("d_cell", "cell", 5.7, 5.5, 6.25, 3.65),
        Arrow("d_output", "output", 9.4, 3.0, 8.95, 3.0),
        Arrow("d_h_prev", "h", 8.2, 1.5, 1.65, 1.5, (5.0, 1.0)),
    ],
    "lstm1997": [  # no forget gate: dc runs straight from the + back to c_{t-1}, times 1
        Arrow("d_h", "h", 13.35, 1.5, 12.15, 1.5),
        Arrow("d_c_next", "c", 13.35, 6.0, 12.15, 6.0, (12.75, 6.75)),
        Arrow("d_dc_dh", "c", 9.9, 2.0, 9.9, 5.5, (11.35, 4.5)),
        Arrow("d_c", "c", 10.45, 6.0, 6.0, 6.0),
        Arrow("d_c_prev", "c", 5.0, 6.0, 1.65, 6.0, (3.2, 6.75)),
        Arrow("d_input", "input", 5.3, 5.5, 4.75, 3.65),
        Arrow("d_cell", "cell", 5.7, 5.5, 6.25, 3.65),
        Arrow("d_output", "output", 9.4, 3.0, 8.95, 3.0),
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
    "lstm1997": ("d_c_prev", "d_c", "d_input", "d_cell", "d_output", "d_h_prev", "d_x", "d_h"),
    "gru": ("part_direct", "d_h", "d_update", "d_reset", "d_new", "part_weights", "d_x"),
}
BOX_NAMES = {"d_a": "da", "part_direct": "via z", "part_weights": "via W"}


def diagram_values(record: BackwardRecord, t: int, unit: int) -> dict[str, float]:
    """``record.at(t, unit)`` and what the diagram adds: dL/dx_t (first input feature), the share of d_c_t that
    comes through h_t, and (GRU) the share of d_h_prev that passes the weights."""
    v = record.at(t, unit)
    v["d_x"] = float(np.ravel(record.grads.x[t])[0])
    if record.d_c is not None:
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
        marker=dict(size=10, opacity=0, maxdisplayed=1),  # hover reads the data: one drawn point (figures.stepper)
        xaxis=f"x{suffix}",
        yaxis=f"y{suffix}",
        name=f"pick:{pick}" if pick else title,
        hovertemplate=f"{title}<br>t=%{{x}}, unit %{{y}}<br>%{{customdata:.3g}}<extra></extra>",
    )


def backward_figure(records: dict[str, BackwardRecord], rows: list[str], **options) -> AnimatedFigure:
    """:func:`backward_spec`'s figure, validated by Plotly (the Cell stepper sends the dictionary itself; a test
    checks that validation changes nothing in it)."""
    return AnimatedFigure.of(backward_spec(records, rows, **options))


def backward_spec(
    records: dict[str, BackwardRecord],
    rows: list[str],
    *,
    detail: str,
    unit: int,
    step: int | None = None,
    overview: bool = True,
    with_detail: bool = True,
    detail_px: int = DETAIL_PX,
    projector: bool = False,
) -> dict:
    """The input on top, one heatmap row per gradient, and the ``detail`` model's cell diagram and equations for
    ``unit``; frames run from the last step to the first (``step``: where the slider starts, default the last).
    On a projector the rows (``overview``) and the detail (``with_detail``, ``detail_px`` tall) take turns, and
    (``projector``) the detail's sub- and superscripts are Unicode letters, which keep the text's size
    (diagram.plain_scripts); the colours stay those of the rows' scale either way."""
    record = records[detail]
    x = np.asarray(record.trace.x, dtype=float)
    T = x.shape[0]
    step = T - 1 if step is None else int(np.clip(step, 0, T - 1))
    rows = list(rows) or ["h"]
    every = panels(records, rows, LogScale(0))
    scale = LogScale.fitted(*[p[2] for p in every])
    shown = every if overview else []
    right = 0.9
    n_rows = 1 + len(shown)
    heat_px = 45 + ROW_PX * len(shown)
    under = detail_px + 40 if with_detail else 50
    height = 130 + heat_px + under
    bottom = (detail_px + 40) / (heat_px + detail_px + 40) if with_detail else 0.0
    layout, domains = stacked_rows(T, len(shown), right, bottom)
    data: list[dict] = []
    layout["annotations"].append(_row_title(LABELS["x"], "x", domains[0][1], right))
    data += _input_traces(x)
    lo, hi = float(np.min(x[:, :4])) - 0.1, float(np.max(x[:, :4])) + 0.1
    layout["yaxis"].update(range=[lo, hi], nticks=2)  # the short input row: two ticks (three touched at 1280 px)
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
    if shown:  # the colour bar belongs to the rows
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
    if with_detail:
        gap = 95 if projector else 70  # px under the last row for its ticks and "time step t" (larger type)
        top = bottom - gap / (heat_px + under)
        animated += _detail(data, layout, record, unit, step, scale, n_rows + 1, top, brief=projector)
    arrows = ARROWS[record.kind]
    values = {t: diagram_values(record, t, unit) for t in range(T)} if with_detail else {}
    plain = diagram.plain_scripts if projector else (lambda text: text)
    if projector and with_detail:
        for k in animated[len(spans) + len(arrows) :]:  # the boxes, the wires' numbers, the equations
            data[k]["text"] = [plain(t) for t in data[k]["text"]]
    frames = []
    for t in reversed(range(T)):  # Play goes back in time
        frame_data = [dict(type="scatter", x=[t, t]) for _ in spans]
        if with_detail:
            v = values[t]
            frame_data += [dict(type="scatter", **_arrow_style(a, v[a.value], scale)) for a in arrows]
            style = _box_style(record, v, scale)
            frame_data.append(  # colours and texts only: the sizes stay the trace's (smaller on a phone)
                dict(
                    type="scatter",
                    marker={"color": style["color"]},
                    text=[plain(text) for text in style["text"]],
                    textfont={"color": style["ink"]},
                )
            )
            frame_data.append(dict(type="scatter", text=_labels(record, v)))
            lines = equation_lines(record, t, unit, brief=projector)
            frame_data.append(dict(type="scatter", text=[plain(line) for line in lines]))
        frames.append(dict(name=str(t), traces=animated, data=frame_data))
    layout.update(showlegend=False, hovermode="closest", dragmode=False, **play_controls(T, step, right))
    layout["updatemenus"][0]["buttons"][0]["label"] = "◀ Play backwards"
    layout.update(spec_layout(height, margin=dict(l=70, r=20, t=125, b=20)))
    lines = len(equation_lines(record, step, unit, brief=projector)) if with_detail else 0
    boxes_px = (BOX_PX, PHONE_BOX["marker.size"])
    narrow = narrow_layout(layout, n_rows + 1 if with_detail else None, lines, line_px=PHONE_LINE_PX, boxes=boxes_px)
    narrow["updatemenus[0].buttons[0].label"] = "◀ Play"  # the slider's readout then clears Pause
    layout["meta"] = {"narrow": narrow}
    return plain_figure(data, layout, frames)


def _detail(
    data: list, layout: dict, record: BackwardRecord, unit: int, step: int, scale, n: int, top: float, brief: bool
):
    """The detail under the rows, added to ``data`` and ``layout`` on axes ``n`` and ``n + 1``: the diagram
    (left) and the equations (right; ``brief``: equation_lines'). Returns the indices of its traces, which the
    frames update."""
    dx, dy, ex, ey = f"x{n}", f"y{n}", f"x{n + 1}", f"y{n + 1}"
    n_lines = len(equation_lines(record, step, unit, brief))
    layout[f"xaxis{n}"] = dict(domain=[0.0, 0.5], anchor=dy, visible=False, range=list(CANVAS_X), fixedrange=True)
    layout[f"yaxis{n}"] = dict(
        domain=[0.0, top], anchor=dx, visible=False, range=list(diagram.CANVAS_Y), fixedrange=True
    )
    layout[f"xaxis{n + 1}"] = dict(domain=[0.52, 1.0], anchor=ey, visible=False, range=[0, 1], fixedrange=True)
    layout[f"yaxis{n + 1}"] = dict(
        domain=[0.0, top], anchor=ex, visible=False, range=[0.3, n_lines + 0.7], fixedrange=True
    )
    shapes, notes = diagram.fixed_parts(record.kind, dx, dy, record.nonlinearity, box_px=BOX_PX)
    for s in shapes:  # the forward wires, faint: the arrows drawn over them carry the gradients
        if s["type"] == "line":
            s["line"] = dict(color="#DDDDDD", width=3)
    for note in notes:
        if note.get("showarrow"):
            note.update(arrowcolor="#DDDDDD", arrowwidth=3, arrowhead=0)
    layout["shapes"] += shapes
    layout["annotations"] += notes
    values = {t: diagram_values(record, t, unit) for t in range(record.steps)}
    arrows = ARROWS[record.kind]
    first = len(data)
    for a in arrows:
        data.append(_arrow_trace(a, _arrow_style(a, values[step][a.value], scale), dx, dy))
    data.append(diagram.box_trace(record.kind, _box_style(record, values[step], scale), dx, dy, size=BOX_PX))
    data[-1]["textfont"]["size"] = FONT_SIZE - 4
    data[-1]["meta"] = {"narrow": PHONE_BOX}
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
            meta={"narrow": {"textfont.size": PHONE_TEXT}},
        )
    )
    data.append(_line_trace(equation_lines(record, step, unit, brief), ex, ey))
    data[-1]["textfont"]["size"] = FONT_SIZE - 3  # longer lines than the forward view's
    data[-1]["meta"] = {"narrow": {"textfont.size": PHONE_TEXT}}
    return list(range(first, len(data)))
