"""The Cell stepper's figure: the overview (heatmaps of every unit at every step) and the detail (one unit on
the cell diagram, with its equations' numbers), driven by one Play button and one slider, in the browser.

Why it is built this way (checked in Chromium, see tests/test_browser.py): Plotly erases heatmap traces when
an animation frame updates other traces of the same figure (plotly.js #4491), and ignores layout changes in
frames drawn without a full redraw. So the pictures are layout images (PNGs made here, on the heatmaps'
pinned or fitted colour scales), which frames never touch; transparent heatmap traces on top keep the hover
values (hover reads Plotly's data, not the erased image); and each frame updates only scatter traces: the
step markers, the diagram's boxes (colour and label) and the lines of numbers. A transparent scatter layer
over the hidden-state rows is what a click selects (Streamlit reports selections of scatter points, not of
heatmaps), so the page can show the clicked step and unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go

from rnnviz.figures import colormaps, diagram, equations
from rnnviz.figures.common import plain_figure, spec_layout
from rnnviz.figures.theme import COLORS, FONT_SIZE, LABELS, MODEL_NAMES, TEXT_COLORS

MAX_INPUT_LINES = 4  # an uploaded model may read many features: draw the first few, and say so
DETAIL_PX = 360  # height of the diagram and its numbers, under the heatmaps
CONTROLS_PX = 99  # the top margin Play/Pause and the step slider take (a figure shown without them gives it back)
ROW_PX = 85  # one heatmap row: Play and the h, c and forget rows fit 1280x720 at 150% zoom


@dataclass(frozen=True)
class Panel:
    """One heatmap row: ``values`` is (T, H); ``quantity`` colours the title; ``pick`` names the model whose
    step and unit a click on this row selects (None: the row is not clickable)."""

    title: str
    quantity: str
    values: np.ndarray
    scale: colormaps.Scale
    pick: str | None = None


@dataclass(frozen=True)
class Detail:
    """One unit of one model, for the diagram: ``series`` from :func:`equations.unit_series`; ``scales`` gives
    each box quantity the colour scale of its heatmap."""

    kind: str
    unit: int
    series: dict[str, np.ndarray]
    nonlinearity: str = "tanh"
    scales: dict[str, colormaps.Scale] = field(default_factory=dict)

    def at(self, t: int) -> dict[str, float]:
        return {k: float(v[t]) for k, v in self.series.items()}


class AnimatedFigure(go.Figure):
    """A figure whose frames are kept as the plain dictionaries they were built as. Plotly validates data and
    layout as usual, but validating 200 frames one property at a time took most of the build (1.3 of 1.7 s
    at the stepper's defaults); the frames are sent as built (``to_dict``), and a test validates a whole
    figure once (tests/test_ui_pieces.py)."""

    def __init__(self, figure: dict, frames: list[dict]):
        super().__init__(figure)
        self._built_frames = frames

    @classmethod
    def of(cls, spec: dict) -> AnimatedFigure:
        """The validated figure of a dictionary built as Plotly's JSON (:func:`timeline_spec`)."""
        return cls({"data": spec["data"], "layout": spec["layout"]}, spec["frames"])

    @property
    def built_frames(self) -> list[dict]:
        return self._built_frames

    def to_dict(self) -> dict:
        return {**super().to_dict(), "frames": self._built_frames}

    def to_plotly_json(self) -> dict:
        return self.to_dict()


def _stacked_domains(heights: list[float], gap: float) -> list[tuple[float, float]]:
    """Vertical paper domains, top to bottom, for rows of the given relative heights."""
    usable = 1.0 - gap * (len(heights) - 1)
    domains, top = [], 1.0
    for h in heights:
        size = usable * h / sum(heights)
        domains.append((max(top - size, 0.0), min(top, 1.0)))  # clamp float rounding (e.g. -1e-16)
        top -= size + gap
    return domains


def play_controls(n_frames: int, active: int, right: float, duration: int = 120) -> dict:
    """Play/Pause buttons and, under them, a step slider above the figure, driving frames named "0" .. "n-1";
    the slider shows its step at its right end."""
    still = dict(frame=dict(duration=0, redraw=False), mode="immediate", transition=dict(duration=0))
    play = dict(frame=dict(duration=duration, redraw=False), transition=dict(duration=0), fromcurrent=True)
    return dict(
        updatemenus=[
            dict(
                type="buttons",
                direction="left",
                x=0.0,
                y=1.0,
                xanchor="left",
                yanchor="bottom",
                pad=dict(b=66, r=6),  # above the slider: a button never covers the slider or its label
                showactive=False,
                font=dict(size=FONT_SIZE),
                buttons=[
                    dict(label="▶ Play", method="animate", args=[None, play]),
                    dict(label="❚❚ Pause", method="animate", args=[[None], still]),
                ],
            )
        ],
        sliders=[
            dict(
                active=active,
                x=0.0,
                len=right,
                y=1.0,
                yanchor="bottom",
                pad=dict(t=0, b=24),  # the slider's numbers clear the input row's title
                currentvalue=dict(prefix="step t = ", xanchor="right", font=dict(size=FONT_SIZE)),
                font=dict(size=FONT_SIZE - 4),
                steps=[dict(label=str(k), method="animate", args=[[str(k)], still]) for k in range(n_frames)],
            )
        ],
    )


def _two_lines(text: str) -> str:
    """A colour bar's title broken at its middle space: written along a short bar, a title as long as
    "effect on state" ran into the next bar's."""
    words = text.split(" ")
    if len(text) <= 8 or len(words) < 2:
        return text
    cut = min(range(1, len(words)), key=lambda i: abs(len(" ".join(words[:i])) - len(text) / 2))
    return " ".join(words[:cut]) + "<br>" + " ".join(words[cut:])


def _row_title(text: str, quantity: str, top: float, right: float) -> dict:
    return dict(
        text=f"<b>{text}</b>",
        x=0,
        xref="paper",
        xanchor="left",
        y=top,
        yref="paper",
        yanchor="bottom",
        showarrow=False,
        font=dict(size=FONT_SIZE, color=TEXT_COLORS.get(quantity, "#000000")),
    )


def _input_traces(x: np.ndarray, step_labels=()) -> list[dict]:
    """The input's lines (the first MAX_INPUT_LINES features); ``step_labels`` (one per step: a character, a
    date) join the step number on hover."""
    t = np.arange(x.shape[0])
    labelled = len(step_labels) == x.shape[0]
    hover = "t=%{x} (%{text})<br>x=%{y:.3f}<extra></extra>" if labelled else "t=%{x}<br>x=%{y:.3f}<extra></extra>"
    return [
        dict(
            type="scatter",
            x=t,
            y=np.round(x[:, d], 4),
            mode="lines",
            xaxis="x",
            yaxis="y",
            line=dict(color=COLORS["x"], width=3),
            name=f"x[{d}]",
            hovertemplate=hover,
            **({"text": [str(label) for label in step_labels]} if labelled else {}),
        )
        for d in range(min(x.shape[1], MAX_INPUT_LINES))
    ]


def _panel_traces(panel: Panel, suffix: str) -> list[dict]:
    """The transparent hover layer of one heatmap row, and its click layer when it has one."""
    values = np.asarray(panel.values, dtype=float)
    T, H = values.shape
    big = float(np.finfo(np.float32).max)  # an overflowing relu RNN's states go beyond float32: hover shows the limit
    shown = np.clip(np.round(values, 3), -big, big).astype(np.float32)
    if not panel.pick:  # a clickable row's hover comes from its click layer
        return [
            dict(
                type="heatmap",
                z=shown.T,
                x=np.arange(T),
                y=np.arange(H),
                xaxis=f"x{suffix}",
                yaxis=f"y{suffix}",
                opacity=0,
                showscale=False,
                hovertemplate=f"{panel.title}<br>t=%{{x}}, unit %{{y}}<br>value %{{z:.3f}}<extra></extra>",
            )
        ]
    tt, uu = np.meshgrid(np.arange(T), np.arange(H))
    return [
        dict(
            type="scatter",
            x=tt.ravel().astype(np.uint8 if T <= 256 else np.int16),  # small integer types: a smaller JSON
            y=uu.ravel().astype(np.uint8 if H <= 256 else np.int16),
            customdata=shown.T.ravel(),
            mode="markers",
            # hover and clicks read the data, not drawn points: draw one (T x H invisible SVG points took
            # most of the browser's first drawing at 200 steps, 32 units and three cells)
            marker=dict(size=10, opacity=0, maxdisplayed=1),
            xaxis=f"x{suffix}",
            yaxis=f"y{suffix}",
            name=f"pick:{panel.pick}",
            hovertemplate=f"{panel.title}<br>t=%{{x}}, unit %{{y}}<br>value %{{customdata:.3f}}"
            "<extra>click to show this step and unit</extra>",
        )
    ]


def _marker(step: int, lo: float, hi: float, suffix: str) -> dict:
    return dict(
        type="scatter",
        x=[step, step],
        y=[lo, hi],
        mode="lines",
        xaxis=f"x{suffix}",
        yaxis=f"y{suffix}",
        line=dict(color="#222222", width=3),
        hoverinfo="skip",
        showlegend=False,
    )


def _detail_lines(detail: Detail, t: int) -> list[str]:
    v = detail.at(t)
    head = f"<b>{MODEL_NAMES[detail.kind]} unit {detail.unit} at step t = {t}</b>"
    return [head, *equations.number_lines(detail.kind, v, detail.nonlinearity)]


def _line_trace(lines: list[str], xaxis: str, yaxis: str) -> dict:
    return dict(
        type="scatter",
        x=[0.0] * len(lines),
        y=list(range(len(lines), 0, -1)),
        mode="text",
        text=lines,
        textposition="middle right",
        textfont=dict(size=FONT_SIZE - 1, color="#000000"),
        xaxis=xaxis,
        yaxis=yaxis,
        hoverinfo="skip",
        showlegend=False,
        cliponaxis=False,
    )


def stacked_rows(T: int, panels: int, right: float, bottom: float) -> tuple[dict, list]:
    """The axes of the overview: the input's row on top, then ``panels`` heatmap rows, sharing one time axis
    (ticks and title on the lowest row only) from the paper's ``bottom`` fraction up, ``right`` wide. Returns
    the layout (with empty images, annotations and shapes to fill) and each row's (low, high) domain."""
    rows = 1 + panels
    domains = [
        (bottom + (1 - bottom) * a, bottom + (1 - bottom) * b)
        for a, b in _stacked_domains([0.55] + [1.0] * panels, gap=min(0.07, 0.3 / rows))
    ]
    layout: dict = {"images": [], "annotations": [], "shapes": []}
    for r in range(1, rows + 1):
        suffix = "" if r == 1 else str(r)
        layout[f"xaxis{suffix}"] = dict(
            domain=[0, right],
            anchor=f"y{suffix}",
            range=[-0.5, T - 0.5],
            showticklabels=r == rows,
            **({} if r == 1 else {"matches": "x"}),
            **({"title": {"text": "time step t"}} if r == rows else {}),
        )
        layout[f"yaxis{suffix}"] = dict(domain=list(domains[r - 1]), anchor=f"x{suffix}", fixedrange=True)
    return layout, domains


def timeline_figure(x: np.ndarray, panels: list[Panel], **options) -> AnimatedFigure:
    """:func:`timeline_spec`'s figure, validated by Plotly (a Figure to read or change: tests, lessons, the
    presenter's copy). The Cell stepper sends the dictionary itself: validating it took a third of a new view's
    server time, and a test checks that validation changes nothing in it (tests/test_figure_sending.py)."""
    return AnimatedFigure.of(timeline_spec(x, panels, **options))


def timeline_spec(
    x: np.ndarray,
    panels: list[Panel],
    *,
    step: int = 0,
    detail: Detail | None = None,
    title: str | None = None,
    detail_px: int = DETAIL_PX,
    step_labels=(),
    projector: bool = False,
) -> dict:
    """The input on top, one heatmap row per panel, and (with ``detail``) the cell diagram and its numbers on
    the right; Play and the slider move the step marker on every row and redraw the detail for each step.
    Heatmaps keep their colour scales fixed while playing; the figure is built as one dictionary and
    validated once (adding 200 frames one object at a time costs Plotly several times longer). ``detail_px``
    is the detail's height (smaller on a projector's 720 px). ``step_labels``: one per step (a character, a date)
    for the input's hover, as a model handed over from another page has them. ``projector``: the diagram's
    labels with Unicode subscripts (diagram.plain_scripts), which keep the text's size on a projector."""
    x = np.asarray(x, dtype=float)
    T = x.shape[0]
    step = int(np.clip(step, 0, T - 1))
    right = 0.9  # where the heatmaps end; their colour bars sit just beyond
    rows = 1 + len(panels)
    heat_px = 45 + ROW_PX * len(panels)  # the overview's height in pixels; the detail takes detail_px below it
    height = 130 + heat_px + (detail_px + 40 if detail else 50)
    bottom = (detail_px + 40) / (heat_px + detail_px + 40) if detail else 0.0  # paper fraction under the rows
    layout, domains = stacked_rows(T, len(panels), right, bottom)
    data: list[dict] = []
    spans = []
    features = x.shape[1]
    input_title = LABELS["x"] + (
        f" (first {MAX_INPUT_LINES} of {features} features)" if features > MAX_INPUT_LINES else ""
    )
    layout["annotations"].append(_row_title(input_title, "x", domains[0][1], right))
    data += _input_traces(x, step_labels)
    lo, hi = float(np.min(x[:, :MAX_INPUT_LINES])) - 0.1, float(np.max(x[:, :MAX_INPUT_LINES])) + 0.1
    layout["yaxis"]["range"] = [lo, hi]
    spans.append((lo, hi))
    scales: list[colormaps.Scale] = []
    for r, panel in enumerate(panels, start=2):
        suffix = str(r)
        values = np.asarray(panel.values, dtype=float)
        H = values.shape[1]
        layout[f"yaxis{suffix}"].update(title={"text": "unit"}, range=[-0.5, H - 0.5])
        layout["images"].append(
            dict(
                source=colormaps.heatmap_png(values, panel.scale),
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
        layout["annotations"].append(_row_title(panel.title, panel.quantity, domains[r - 1][1], right))
        data += _panel_traces(panel, suffix)
        spans.append((-0.5, H - 0.5))
        if panel.scale not in scales:
            scales.append(panel.scale)
    # colour bars: one invisible point per scale carries its colour axis
    for k, scale in enumerate(scales, start=1):
        axis = "coloraxis" if k == 1 else f"coloraxis{k}"
        length = (1 - bottom) * 0.85 / max(len(scales), 1)
        layout[axis] = scale.coloraxis(y=1.0 - (k - 1) * (length + 0.04), length=length, x=right + 0.01)
        layout[axis]["colorbar"]["title"]["text"] = _two_lines(scale.title)  # stacked bars: titles stay apart
        data.append(
            dict(
                type="scatter",
                x=[0],
                y=[lo],
                mode="markers",
                xaxis="x",
                yaxis="y",
                hoverinfo="skip",
                marker=dict(size=0.1, color=[scale.lo], coloraxis=axis),
                showlegend=False,
            )
        )
    marker_ids = list(range(len(data), len(data) + rows))
    for r, (a, b) in enumerate(spans, start=1):
        data.append(_marker(step, a, b, "" if r == 1 else str(r)))
    animated = list(marker_ids)
    if detail is not None:
        n = rows + 1
        dx, dy, ex, ey = f"x{n}", f"y{n}", f"x{n + 1}", f"y{n + 1}"
        gap = 95 if projector else 70  # px under the last row for its ticks and "time step t" (larger type)
        top = bottom - gap / (heat_px + detail_px + 40)
        n_lines = len(_detail_lines(detail, step))
        layout[f"xaxis{n}"] = dict(domain=[0.0, 0.52], anchor=dy, visible=False, range=list(diagram.CANVAS_X))
        layout[f"yaxis{n}"] = dict(domain=[0.0, top], anchor=dx, visible=False, range=list(diagram.CANVAS_Y))
        layout[f"xaxis{n + 1}"] = dict(domain=[0.55, 1.0], anchor=ey, visible=False, range=[0, 1])
        layout[f"yaxis{n + 1}"] = dict(domain=[0.0, top], anchor=ex, visible=False, range=[0.3, n_lines + 0.7])
        for axis in (f"xaxis{n}", f"yaxis{n}", f"xaxis{n + 1}", f"yaxis{n + 1}"):
            layout[axis]["fixedrange"] = True
        shapes, notes = diagram.fixed_parts(detail.kind, dx, dy, detail.nonlinearity)
        layout["shapes"] += shapes
        layout["annotations"] += notes
        box_id = len(data)
        styles = diagram.box_styles(detail.kind, detail.series, detail.scales)
        if projector:
            styles = [{**style, "text": [diagram.plain_scripts(t) for t in style["text"]]} for style in styles]
        data.append(diagram.box_trace(detail.kind, styles[step], dx, dy))
        data.append(_line_trace(_detail_lines(detail, step), ex, ey))
        animated += [box_id, box_id + 1]
    frames = []
    for k in range(T):
        frame_data = [dict(type="scatter", x=[k, k]) for _ in spans]  # a frame's data merges into its trace
        if detail is not None:
            style = styles[k]
            # colours and texts only: the sizes stay the trace's (smaller on a phone)
            ink = {"color": style["ink"]}
            frame_data.append(dict(type="scatter", marker={"color": style["color"]}, text=style["text"], textfont=ink))
            frame_data.append(dict(type="scatter", text=_detail_lines(detail, k)))
        frames.append(dict(name=str(k), traces=animated, data=frame_data))
    layout.update(showlegend=False, hovermode="closest", dragmode=False, **play_controls(T, step, right))
    layout["yaxis"]["nticks"] = 2  # the short input row: two ticks (three touched at 1280 px)
    top_margin = CONTROLS_PX + (30 if title is None else 60)
    layout.update(spec_layout(height, margin=dict(l=70, r=20, t=top_margin, b=20)))
    if title:
        layout["title"] = dict(text=title, x=0.0, xanchor="left", y=1.0, yanchor="top", pad=dict(t=8))
    lines = len(_detail_lines(detail, step)) if detail is not None else 0
    layout["meta"] = {"narrow": narrow_layout(layout, rows + 1 if detail is not None else None, lines)}
    return plain_figure(data, layout, frames)


PHONE_RIGHT = 0.78  # where the heatmaps end on a phone: their colour bars' numbers then fit in the figure
PHONE_TITLE_CHARS = 30  # a row title's characters on a phone's one line (bold, about 9 px each, in 280 px)


def _phone_title(text: str) -> str:
    """A row title (``<b>...</b>``) on a phone: without its " − same cell fed zeros", and without its closing
    parenthesis when still too long for the line ("dL/dh_t (total, through every path)" ran past the figure)."""
    inner = text.removeprefix("<b>").removesuffix("</b>").split(" − ")[0]
    if len(inner) > PHONE_TITLE_CHARS and " (" in inner:
        inner = inner.split(" (")[0]
    return f"<b>{inner}</b>"


def narrow_layout(
    layout: dict,
    detail_axes: int | None = None,
    lines: int = 0,
    line_px: float | None = None,
    boxes: tuple[float, float] = (diagram.BOX_PX, diagram.PHONE_BOX["marker.size"]),
) -> dict:
    """The ``Plotly.relayout`` update that lays the figure out for a phone (under 480 px wide; applied in the
    browser by rnnviz/app/player.py, which sees the width). Streamlit keeps the chart's height, so the detail's
    area (axes ``detail_axes`` and the next, ``lines`` lines of numbers) is shared differently: the diagram over
    its numbers, both at the full width (side by side, the diagram's box labels ran into each other and the
    numbers were cut at the right); ``line_px``: the numbers' lines get that many pixels each (else about 19 px,
    and at most half the area); ``boxes``: the diagram's box size in pixels, wide and on a phone (the arrows'
    standoffs from the boxes follow it). The heatmaps end at ``PHONE_RIGHT`` so that their colour bars fit inside the
    figure (beyond it they widened the right margin to 60 px and the diagram lost 15 % of its width: its boxes
    touched). Row titles lose their "− same cell fed zeros" (:func:`_phone_title`) and the colour bars their
    titles (they ran into each other, and the bars took a third of the width); the slider's step readout is
    shorter ("t = 7") and smaller, so it clears Pause at the slider's right end (hidden, Plotly left the text it
    had drawn behind, on the slider); the short input row keeps two ticks. The backward view
    (rnnviz/figures/backward.py) takes the same update."""
    update: dict = {"yaxis.nticks": 2}
    right = layout["xaxis"]["domain"][1]  # the heatmaps' right edge on a wide screen
    if layout.get("sliders"):  # the slider (and the buttons over it) higher: clear the first row's title
        lift = 12
        update["margin.t"] = layout["margin"]["t"] + lift
        update["sliders[0].pad.b"] = layout["sliders"][0]["pad"]["b"] + lift
        update["updatemenus[0].pad.b"] = layout["updatemenus"][0]["pad"]["b"] + lift
        update["sliders[0].len"] = PHONE_RIGHT
        update["sliders[0].currentvalue.prefix"] = "t = "
        update["sliders[0].currentvalue.font.size"] = FONT_SIZE - 3
    ratio = diagram.edge_px(boxes[1]) / diagram.edge_px(boxes[0])
    for k, note in enumerate(layout["annotations"]):
        if note.get("yref") == "paper" and (short := _phone_title(note["text"])) != note["text"]:
            update[f"annotations[{k}].text"] = short
        for end in ("standoff", "startstandoff"):  # an arrow kept off a box: off the phone's smaller box
            if end in note:
                update[f"annotations[{k}].{end}"] = round(note[end] * ratio, 1)
        if note.get("showarrow") and detail_axes is not None and note.get("xref") == f"x{detail_axes}":
            # thinner, with smaller heads: a head 24 px long overran the 9 px from a gate's box to its operation
            update[f"annotations[{k}].arrowwidth"] = round(note["arrowwidth"] * 2 / 3, 1)
            update[f"annotations[{k}].arrowsize"] = 0.5
    detail = {f"xaxis{detail_axes}", f"xaxis{detail_axes + 1}"} if detail_axes is not None else set()
    for name in layout:
        if name.startswith("xaxis") and name not in detail and layout[name].get("domain") == [0, right]:
            update[f"{name}.domain"] = [0, PHONE_RIGHT]
        if name.startswith("yaxis") and layout[name].get("title", {}).get("text") == "unit":
            update[f"{name}.tickfont.size"] = FONT_SIZE - 4  # four ticks in a short row: 17 px boxes touched
        if name.startswith("coloraxis"):
            update[f"{name}.colorbar.title.text"] = ""
            update[f"{name}.colorbar.thickness"] = 10
            update[f"{name}.colorbar.x"] = PHONE_RIGHT + 0.01
    if detail_axes is not None:  # the diagram over its numbers, both at the full width, in the detail's area
        n = detail_axes
        low, high = layout[f"yaxis{n}"]["domain"]
        split = low + (high - low) * min(0.5, 0.05 * (lines + 1))  # the numbers' lines: about 19 px each
        if line_px is not None:  # the lines' axis spans lines + 0.4 of them (stepper._line_trace's range)
            plot_px = layout["height"] - update.get("margin.t", layout["margin"]["t"]) - layout["margin"]["b"]
            split = low + 0.01 + (lines + 0.4) * line_px / plot_px
        update |= {"margin.l": 45, f"xaxis{n}.domain": [0.0, 1.0], f"yaxis{n}.domain": [split, high]}
        update |= {f"xaxis{n + 1}.domain": [0.0, 1.0], f"yaxis{n + 1}.domain": [low, split - 0.01]}
    return update


def trace_panels(
    kind: str, h: np.ndarray, c: np.ndarray | None, gates: dict[str, np.ndarray], *, prefix: str = "", pick: bool = True
) -> list[Panel]:
    """The rows for one cell's values: h (clickable), then c on a scale fitted to it (values beyond are
    marked), then the gates in PyTorch order on the pinned gate scale (the candidates g, n on the state one)."""
    panels = [Panel(prefix + LABELS["h"], "h", h, colormaps.STATE, pick=kind if pick else None)]
    if c is not None:
        panels.append(Panel(prefix + LABELS["c"], "c", c, cell_scale(c)))
    for name, values in gates.items():
        scale = colormaps.STATE if name in ("cell", "new") else colormaps.GATE
        panels.append(Panel(prefix + LABELS[name], name, values, scale))
    return panels


def cell_scale(c: np.ndarray) -> colormaps.Scale:
    """The cell state's colour range: at least ±1 (the states' range), wider when c_t grows beyond it."""
    return colormaps.fitted("cell state c", c, floor=1.0)
