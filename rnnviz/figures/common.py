"""Pure figure builders: arrays in, ``plotly.graph_objects.Figure`` out. Nothing here calls Streamlit.

The Cell stepper's animated figure lives in ``timeline.py`` and the cell diagram in ``diagram.py``; this
module holds the shared layout and the line figures of the other pages.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from rnnviz.figures.theme import FONT_SIZE, MODEL_COLORS, MODEL_DASH, MODEL_NAMES, MODEL_SYMBOLS

# Every figure's template, named once for the whole app: Plotly applies the default by name when a figure is
# made, while passing the template object to each figure made it validate and copy the whole template every
# time (30 ms a figure, most of a rerun on the Gradient flow page's four figures).
pio.templates.default = "plotly_white"


def base_layout(fig: go.Figure, height: int, title: str | None = None) -> go.Figure:
    fig.update_layout(
        height=height,
        title=dict(text=title, x=0.0, xanchor="left") if title else None,
        font=dict(size=FONT_SIZE),
        margin=dict(l=70, r=30, t=60 if title else 30, b=50),
        hoverlabel=dict(font_size=FONT_SIZE),
    )
    return fig


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
    fig.update_layout(legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
    return base_layout(fig, height=height, title=title)


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
        yaxis2=dict(anchor="x2"),
        annotations=[
            dict(
                text=text,
                x=x,
                xref="paper",
                xanchor="center",
                y=1.0,
                yref="paper",
                yanchor="bottom",
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
