"""Pure figure builders: arrays in, ``plotly.graph_objects.Figure`` out. Nothing here calls Streamlit.

The Cell stepper's animated figure lives in ``timeline.py`` and the cell diagram in ``diagram.py``; this
module holds the shared layout and the line figures of the other pages.
"""

from __future__ import annotations

import functools
import textwrap

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from rnnviz.figures.theme import FONT_SIZE, MODEL_COLORS, MODEL_DASH, MODEL_NAMES, MODEL_SYMBOLS

# Every figure's template, named once for the whole app: Plotly applies the default by name when a figure is
# made, while passing the template object to each figure made it validate and copy the whole template every
# time (30 ms a figure, most of a rerun on the Gradient flow page's four figures).
pio.templates.default = "plotly_white"


@functools.cache
def _template_json() -> dict:
    return go.Figure().to_dict()["layout"]["template"]


def _base_entries(height: int, title: str | None = None, margin: dict | None = None) -> dict:
    """The layout every figure starts from: its height, type sizes, margins (room for a title when it has one)
    and left-aligned title."""
    entries = dict(
        height=height,
        font=dict(size=FONT_SIZE),
        margin=margin or dict(l=70, r=30, t=60 if title else 30, b=50),
        hoverlabel=dict(font=dict(size=FONT_SIZE)),
    )
    if title:
        entries["title"] = dict(text=title, x=0.0, xanchor="left")
    return entries


def spec_layout(height: int, margin: dict | None = None) -> dict:
    """What :func:`base_layout` sets, as layout entries for a figure built as Plotly's JSON without go.Figure
    (stepper.timeline_spec), the default template included as go.Figure writes it. The template is one
    dictionary shared by every such figure: nothing may change it."""
    return {"template": _template_json(), **_base_entries(height, margin=margin)}


def plain_figure(data: list[dict], layout: dict, frames: list[dict] | None = None) -> dict:
    """A figure as Plotly's JSON, as go.Figure's ``to_dict`` would write it: without the layout's empty lists of
    images, annotations or shapes (Plotly leaves them out), with ``frames`` when it has any."""
    layout = {k: v for k, v in layout.items() if not (k in ("images", "annotations", "shapes") and not v)}
    return {"data": data, "layout": layout, **({"frames": frames} if frames is not None else {})}


def figure_spec(data: list[dict], layout: dict, height: int, title: str | None = None) -> dict:
    """``base_layout(go.Figure(dict(data=data, layout=layout)), height, title)`` as Plotly's JSON, built without
    go.Figure's validation (a page sends it as it is; tests/test_figure_sending.py checks that validating it
    changes nothing). ``go.Figure(figure_spec(...))`` is the Figure."""
    return plain_figure(data, {**layout, "template": _template_json(), **_base_entries(height, title)})


def base_layout(fig: go.Figure, height: int, title: str | None = None) -> go.Figure:
    fig.update_layout({"title": None, **_base_entries(height, title)})  # None: a figure without a title has none
    return fig


PHONE_TITLE_CHARS = 26  # a title's characters per line on a phone (plot about 350 px wide, title type 24 px)


def phone_layout(fig: go.Figure, update: dict) -> go.Figure:
    """Add ``update`` (a Plotly.relayout update) to ``fig``'s phone layout, ``layout.meta.phone``: rnnviz/app/ui.py
    applies it in the browser while the plot is under 480 px wide. On a wider screen nothing changes."""
    meta = dict(fig.layout.meta) if fig.layout.meta else {}
    fig.update_layout(meta={**meta, "phone": {**meta.get("phone", {}), **update}})
    return fig


def phone_titles(fig: go.Figure, **axis_titles: str) -> go.Figure:
    """Add to ``fig``'s phone layout its title wrapped to PHONE_TITLE_CHARS characters a line (in smaller type, the
    top margin grown to fit) and the given axes' titles (``xaxis="short title"``) replaced by shorter ones. The
    wrapped title is an annotation: Plotly anchors a title of several lines by its first line, so the others ran
    into the plot (or the first off the top)."""
    update: dict = {f"{axis}.title.text": text for axis, text in axis_titles.items()}
    title = fig.layout.title.text
    if title and len(title) > PHONE_TITLE_CHARS and "<br>" not in title:
        lines = textwrap.wrap(title, PHONE_TITLE_CHARS)
        left = fig.layout.margin.l if fig.layout.margin.l is not None else 70
        update["title.text"] = ""
        update[f"annotations[{len(fig.layout.annotations)}]"] = dict(
            text="<br>".join(lines),
            xref="paper",
            x=0,
            xanchor="left",
            xshift=4 - left,  # from the figure's left edge, as the title was
            yref="paper",
            y=1,
            yanchor="bottom",
            yshift=8,
            align="left",
            showarrow=False,
            font=dict(size=FONT_SIZE + 2),
        )
        update["margin.t"] = max(fig.layout.margin.t or 0, 24 * len(lines) + 20)
    return phone_layout(fig, update)


# --------------------------------------------------------------------------------------------------
# Line figures shared by several pages


def lines_figure(
    series: dict[str, tuple],
    *,
    x_title: str,
    y_title: str,
    log_y: bool = False,
    title: str | None = None,
    height: int = 420,
) -> go.Figure:
    """Named lines: ``{name: (x, y, color, dash)}`` or ``(x, y, color, dash, marker symbol)`` (a third cue
    beside colour and dash, drawn at a dozen points). Non-finite and (on a log axis) non-positive points are
    left out, so an overflowing curve simply stops where it overflowed."""
    fig = go.Figure()
    for name, (xs, ys, color, dash, *symbol) in series.items():
        ys = np.asarray(ys, dtype=float)
        keep = np.isfinite(ys) & ((ys > 0) if log_y else True)
        fig.add_trace(
            go.Scatter(
                x=np.asarray(xs)[keep],
                y=ys[keep],
                name=name,
                mode="lines+markers" if symbol else "lines",
                line=dict(color=color, dash=dash, width=4),
                marker=dict(symbol=symbol[0], size=11, maxdisplayed=12) if symbol else None,
            )
        )
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title, type="log" if log_y else "linear", exponentformat="power")
    if log_y:
        fig.update_yaxes(dtick=log_dtick([trace.y for trace in fig.data]), minorloglabels="none")
    fig.update_layout(legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
    return base_layout(fig, height=height, title=title)


# A log axis gets at most this many grid lines; how many decades each spans is pinned by ``log_dtick``
# (left to Plotly, it depends on the chart's height in pixels, and no sentence could name it).
MAX_LOG_GRIDLINES = 7


def log_dtick(curves) -> int:
    """Decades per grid line for a log axis showing ``curves``: 1 (a factor of 10) when the finite, positive
    values span at most MAX_LOG_GRIDLINES decades, else the smallest whole number that keeps the grid lines
    to that many."""
    values = np.concatenate([np.ravel(np.asarray(c, dtype=float)) for c in curves]) if len(curves) else []
    values = np.asarray(values)[np.isfinite(values) & (np.asarray(values) > 0)]
    if not values.size:
        return 1
    decades = np.ceil(np.log10(values.max())) - np.floor(np.log10(values.min()))
    return max(1, int(np.ceil(decades / MAX_LOG_GRIDLINES)))


# --------------------------------------------------------------------------------------------------
# Reading a figure's JSON back (``fig.to_dict()``), so a sentence about a figure is made from what it draws

DASH_WORDS = {
    "solid": "solid",
    "dot": "dotted",
    "dash": "dashed",
    "longdash": "long-dashed",
    "dashdot": "dash-dotted",
    "longdashdot": "long-dash-dotted",
}
THICK = 3  # a line this wide or wider reads as "thick"; the thin ones are 1.5 to 2.5


def grid_factor(spec: dict, axis: str = "yaxis") -> int:
    """How many times smaller each grid line down a log axis is than the one above (10 ** dtick)."""
    layout = spec["layout"][axis]
    if layout.get("type") != "log" or not isinstance(layout.get("dtick"), int):
        raise ValueError(f"{axis} is not a log axis with whole decades per grid line: {layout}")
    return 10 ** layout["dtick"]


def line_words(line: dict) -> str:
    """A trace's or a shape's line in words, as a student would name it: "thick dashed", "thin dotted"."""
    dash = DASH_WORDS[line.get("dash") or "solid"]
    width = line.get("width")
    if width is None:
        return dash
    return f"{'thick' if width >= THICK else 'thin'} {dash}"


def trace_named(spec: dict, name: str) -> dict:
    """The one trace of a figure's JSON with this name."""
    (trace,) = [t for t in spec["data"] if t.get("name") == name]
    return trace


def model_style(kind: str) -> tuple[str, str]:
    return MODEL_COLORS[kind], MODEL_DASH[kind]


def model_marks(kind: str) -> tuple[str, str, str]:
    """Colour, dash and marker symbol: every pair of models differs in all three."""
    return MODEL_COLORS[kind], MODEL_DASH[kind], MODEL_SYMBOLS[kind]


def model_name(kind: str) -> str:
    return MODEL_NAMES[kind]


# Helpers shared by the gradient figures (rnnviz.figures.gradient_flow) and the training figures below.


def _curve(xs, ys, log_y: bool) -> tuple[np.ndarray, np.ndarray]:
    """Points that can be drawn: finite, and positive on a log axis (an overflowed curve just stops)."""
    xs, ys = np.asarray(xs), np.asarray(ys, dtype=float)
    keep = np.isfinite(ys) & ((ys > 0) if log_y else True)
    return xs[keep], ys[keep]


def _side_by_side(titles: list[str]) -> dict:
    """Layout of two subplots in one row, with their titles, built directly (make_subplots is slow)."""
    return dict(
        xaxis=dict(domain=[0.0, 0.44], anchor="y"),
        yaxis=dict(anchor="x"),
        xaxis2=dict(domain=[0.56, 1.0], anchor="y2"),
        yaxis2=dict(anchor="x2", side="right", automargin=True),  # in the gap, its labels ran into the left panel
        annotations=[
            dict(
                text=text,
                x=x,
                xref="paper",
                xanchor="center",
                y=1.0,
                yref="paper",
                yanchor="bottom",
                yshift=6,  # clear of a tick label at the top of the axis
                showarrow=False,
                font=dict(size=FONT_SIZE),
            )
            for text, x in zip(titles, (0.22, 0.78), strict=True)
        ],
    )


def _hline(
    y: float, axis: str, color: str, dash: str, label: str, position: str = "bottom", log: bool = False
) -> tuple[dict, dict]:
    """A horizontal reference line across one subplot, and its label. On a log axis Plotly places shapes
    in data units but annotations in log10 units, so the label's y is converted."""
    suffix = axis[1:]
    shape = dict(
        type="line",
        xref=f"x{suffix} domain",
        x0=0,
        x1=1,
        yref=f"y{suffix}",
        y0=y,
        y1=y,
        line=dict(color=color, dash=dash, width=2),
    )
    note = dict(
        text=label,
        xref=f"x{suffix} domain",
        x=1,
        xanchor="right",
        yref=f"y{suffix}",
        y=float(np.log10(y)) if log else y,
        yanchor="top" if position == "bottom" else "bottom",
        showarrow=False,
        font=dict(size=FONT_SIZE - 2, color=color),
    )
    return shape, note
