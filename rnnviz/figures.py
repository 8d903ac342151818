"""Pure figure builders: arrays in, ``plotly.graph_objects.Figure`` out. Nothing here calls Streamlit.

The Cell stepper's animated figure lives in ``timeline.py`` and the cell diagram in ``diagram.py``; this
module holds the shared layout and the line figures of the other pages.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from rnnviz.theme import COLORS, FONT_SIZE, MODEL_COLORS, MODEL_DASH, MODEL_NAMES

_TEMPLATE = pio.templates["plotly_white"]  # resolved once: looking it up by name on every figure costs more


def base_layout(fig: go.Figure, height: int, title: str | None = None) -> go.Figure:
    fig.update_layout(
        height=height,
        title=dict(text=title, x=0.0, xanchor="left") if title else None,
        font=dict(size=FONT_SIZE),
        margin=dict(l=70, r=30, t=60 if title else 30, b=50),
        template=_TEMPLATE,
        hoverlabel=dict(font_size=FONT_SIZE),
    )
    return fig


# --------------------------------------------------------------------------------------------------
# Line figures shared by several pages


def lines_figure(
    series: dict[str, tuple[np.ndarray, np.ndarray, str, str]],
    *,
    x_title: str,
    y_title: str,
    log_y: bool = False,
    title: str | None = None,
    height: int = 420,
) -> go.Figure:
    """Named lines: ``{name: (x, y, color, dash)}``. Non-finite and (on a log axis) non-positive points
    are left out, so an overflowing curve simply stops where it overflowed."""
    fig = go.Figure()
    for name, (xs, ys, color, dash) in series.items():
        ys = np.asarray(ys, dtype=float)
        keep = np.isfinite(ys) & ((ys > 0) if log_y else True)
        fig.add_trace(
            go.Scatter(
                x=np.asarray(xs)[keep], y=ys[keep], name=name, mode="lines", line=dict(color=color, dash=dash, width=4)
            )
        )
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title, type="log" if log_y else "linear", exponentformat="power")
    fig.update_layout(legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
    return base_layout(fig, height=height, title=title)


def model_style(kind: str) -> tuple[str, str]:
    return MODEL_COLORS[kind], MODEL_DASH[kind]


def model_name(kind: str) -> str:
    return MODEL_NAMES[kind]


# Helpers shared by the gradient figures (rnnviz.gradient_figures) and the training figures below.


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


# --------------------------------------------------------------------------------------------------
# Training


def learning_curves(
    histories: dict[str, list], metric: str, baseline: float, threshold: float, show_train: bool = False
) -> go.Figure:
    """Test metric (and, with ``show_train``, the training metric) and the gradient norm against the
    update step, one colour and dash per model. ``histories``: {kind: [Progress, ...]}."""
    layout = _side_by_side([f"held-out test {metric}", "gradient norm (before clipping)"])
    data = []
    for kind, history in histories.items():
        if not history:
            continue
        steps = [p.step for p in history]
        color, dash = MODEL_COLORS[kind], MODEL_DASH[kind]
        data.append(
            dict(
                type="scatter",
                x=steps,
                y=[p.test_metric for p in history],
                name=f"{MODEL_NAMES[kind]} test",
                mode="lines+markers",
                line=dict(color=color, dash=dash, width=4),
                legendgroup=kind,
            )
        )
        if show_train:
            data.append(
                dict(
                    type="scatter",
                    x=steps,
                    y=[p.train_metric for p in history],
                    name=f"{MODEL_NAMES[kind]} train",
                    mode="lines",
                    opacity=0.7,
                    legendgroup=kind,
                    line=dict(color=color, dash="dot", width=2),
                )
            )
        xs, ys = _curve(steps, [p.grad_norm for p in history], log_y=True)
        data.append(
            dict(
                type="scatter",
                x=xs,
                y=ys,
                name=MODEL_NAMES[kind],
                mode="lines",
                xaxis="x2",
                yaxis="y2",
                line=dict(color=color, dash=dash, width=3),
                legendgroup=kind,
                showlegend=False,
            )
        )
    log = metric == "MSE"
    lines = [
        _hline(baseline, "y", COLORS["theory"], "dot", "input-blind baseline", "top", log=log),
        _hline(threshold, "y", "#009E73", "dash", "solved", "bottom", log=log),
    ]
    layout["shapes"] = [shape for shape, _ in lines]
    layout["annotations"] += [note for _, note in lines]
    if log:
        layout["yaxis"].update(type="log", exponentformat="power", dtick=1)  # decades only
    else:
        layout["yaxis"].update(range=[0, 1.02])
    layout["yaxis2"].update(type="log", exponentformat="power", dtick=1)
    for axis in ("xaxis", "xaxis2"):
        layout[axis].update(title=dict(text="update step"))
    layout["legend"] = dict(orientation="h", yanchor="bottom", y=1.1, x=0)
    return base_layout(go.Figure(dict(data=data, layout=layout)), height=460)


def sweep_figure(
    lengths: list[int], rates: dict[str, list[float]], n_seeds: int, title: str | None = None
) -> go.Figure:
    """Share of seeds solved against sequence length, one line per model."""
    fig = go.Figure()
    for kind, values in rates.items():
        fig.add_trace(
            go.Scatter(
                x=lengths,
                y=values,
                name=MODEL_NAMES[kind],
                mode="lines+markers",
                line=dict(color=MODEL_COLORS[kind], dash=MODEL_DASH[kind], width=4),
                marker=dict(size=12, symbol={"rnn": "circle", "lstm": "square", "gru": "diamond"}[kind]),
                hovertemplate=f"{MODEL_NAMES[kind]}<br>length %{{x}}<br>%{{y:.0%}} solved<extra></extra>",
            )
        )
    fig.update_xaxes(title_text="sequence length (the lag)", type="log", tickvals=lengths)
    fig.update_yaxes(title_text=f"share of {n_seeds} seeds solved", range=[-0.05, 1.05], tickformat=".0%")
    fig.update_layout(legend=dict(orientation="h", yanchor="bottom", y=1.02, x=1, xanchor="right"))
    return base_layout(fig, height=440, title=title)
