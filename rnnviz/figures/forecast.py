"""Pure figure builders of the Forecast lab: the series with its split, the learning curves, the forecasts
over the test part beside the truth, and the error at each step ahead. Nothing here calls Streamlit.

Models keep the app's colours, dashes and marker symbols (rnnviz.figures.theme); the three baselines get
colours of their own (Tol's high-contrast set and a grey, all at least 3:1 on white) and a dash and a marker
each, so no line is told apart by colour alone. The truth is black.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from rnnviz.figures.common import base_layout, phone_titles
from rnnviz.figures.theme import FONT_SIZE, MODEL_COLORS, MODEL_DASH, MODEL_NAMES, MODEL_SYMBOLS

BASELINE_STYLE = {  # colour, dash, marker
    "persistence": ("#767676", "dashdot", "x"),
    "seasonal naive": ("#997700", "longdash", "triangle-up"),
    "linear AR": ("#BB5566", "longdashdot", "star"),
}
PART_FILL = {
    "training": "rgba(0, 114, 178, 0.07)",
    "validation": "rgba(230, 159, 0, 0.13)",
    "test": "rgba(0, 0, 0, 0.07)",
}
TRUTH = "#000000"


def method_style(method: str) -> tuple[str, str, str, str]:
    """Name on screen, colour, dash and marker symbol of a model ("rnn", ...) or a baseline."""
    if method in MODEL_COLORS:
        return MODEL_NAMES[method], MODEL_COLORS[method], MODEL_DASH[method], MODEL_SYMBOLS[method]
    return (method, *BASELINE_STYLE[method])


def _time_axis(fig: go.Figure, n: int, labels, title: str) -> None:
    """Ticks at about eight places, written with the series' own time labels when it has them."""
    ticks = np.unique(np.linspace(0, n - 1, 8).round().astype(int))
    if labels is not None:
        fig.update_xaxes(tickvals=ticks, ticktext=[str(labels[i]) for i in ticks], title_text=title)
    else:
        fig.update_xaxes(title_text=title)


def _parts(split) -> list[tuple[str, int, int]]:
    return [
        ("training", 0, split.train_end),
        ("validation", split.train_end, split.val_end),
        ("test", split.val_end, split.n),
    ]


def series_figure(values: np.ndarray, split, labels=None, unit: str = "", title: str | None = None) -> go.Figure:
    """The whole series, with the chronological split drawn on it as three labelled bands."""
    x = np.arange(len(values))
    fig = go.Figure(
        go.Scatter(
            x=x,
            y=values,
            mode="lines",
            name="series",
            line=dict(color=TRUTH, width=2),
            customdata=list(labels) if labels is not None else None,
            hovertemplate=("%{customdata}" if labels is not None else "step %{x}") + ": %{y:.4g}<extra></extra>",
        )
    )
    for name, lo, hi in _parts(split):
        fig.add_vrect(
            x0=lo - 0.5,
            x1=hi - 0.5,
            fillcolor=PART_FILL[name],
            line_width=0,
            layer="below",
            annotation_text=f"{name} ({hi - lo})",
            # the last band's label at the bottom: the two short bands' labels ran into each other on a phone
            annotation_position="bottom left" if name == "test" else "top left",
            annotation_font_size=FONT_SIZE - 2,
        )
    _time_axis(fig, len(values), labels, "time")
    fig.update_yaxes(title_text=unit or "value")
    fig.update_layout(showlegend=False)
    return base_layout(fig, height=320, title=title)


def learning_curves(models: dict, title: str | None = None, budget: int | None = None) -> go.Figure:
    """One-step MSE (scaled units) against the update: validation thick, training thin with open markers;
    a large marker at the update whose parameters are kept (the lowest validation error). ``budget``: the
    x axis is pinned to 0 .. budget updates, so live curves grow into a fixed frame."""
    fig = go.Figure()
    for kind, model in models.items():
        name, color, dash, symbol = method_style(kind)
        updates = [p.update for p in model.history]
        val = [p.val_mse for p in model.history]
        fig.add_trace(
            go.Scatter(
                x=updates,
                y=[p.train_mse for p in model.history],
                name=f"{name} training",
                legendgroup=kind,
                showlegend=False,
                mode="lines+markers",
                line=dict(color=color, dash=dash, width=1.5),
                marker=dict(symbol=f"{symbol}-open", size=7, maxdisplayed=15),
            )
        )
        fig.add_trace(
            go.Scatter(
                x=updates,
                y=val,
                name=name,
                legendgroup=kind,
                mode="lines+markers",
                line=dict(color=color, dash=dash, width=4),
                marker=dict(symbol=symbol, size=8, maxdisplayed=15),
            )
        )
        best = updates.index(model.best_update)
        fig.add_trace(
            go.Scatter(
                x=[model.best_update],
                y=[val[best]],
                name=f"{name} kept (update {model.best_update})",
                legendgroup=kind,
                mode="markers",
                showlegend=False,
                marker=dict(symbol=symbol, size=18, color=color, line=dict(color="#FFFFFF", width=2)),
                hovertemplate=f"{name}: parameters kept from update %{{x}}<extra></extra>",
            )
        )
    fig.update_xaxes(title_text="update", range=[0, budget * 1.02] if budget else None)
    fig.update_yaxes(title_text="one-step MSE (scaled)", type="log", exponentformat="power", dtick=1)
    fig.update_layout(legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
    return base_layout(fig, height=400, title=title)


def forecast_figure(values: np.ndarray, result, methods, labels=None, unit: str = "", title: str | None = None):
    """The truth over the end of the validation part and the whole test part, and each method's recursive
    K-step forecasts from origins K steps apart (each path starts at its origin with a marker), so the paths
    tile the test part and show how errors grow with the steps ahead."""
    K, s = result.config.horizon, result.split
    lo = max(s.val_end - 3 * K, 0)
    x = np.arange(lo, s.n)
    fig = go.Figure(
        go.Scatter(
            x=x,
            y=values[lo:],
            name="truth",
            mode="lines",
            line=dict(color=TRUTH, width=3),
            customdata=list(labels[lo:]) if labels is not None else None,
            hovertemplate=("%{customdata}" if labels is not None else "step %{x}") + ": %{y:.4g}<extra>truth</extra>",
        )
    )
    every, next_start = [], -1  # origins at least K apart (all of them are K apart unless a long test part
    for i, t in enumerate(result.origins):  # was thinned to evenly spread origins)
        if t >= next_start:
            every.append(i)
            next_start = t + K
    for method in methods:
        name, color, dash, symbol = method_style(method)
        xs, ys = [], []
        for i in every:
            t = int(result.origins[i])
            xs += list(range(t, t + K)) + [None]
            ys += list(result.forecasts[method][i]) + [None]
        starts = [int(result.origins[i]) for i in every]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                name=name,
                legendgroup=method,
                mode="lines",
                connectgaps=False,
                line=dict(color=color, dash=dash, width=3),
            )
        )
        fig.add_trace(
            go.Scatter(
                x=starts,
                y=[result.forecasts[method][i][0] for i in every],
                name=f"{name} origins",
                legendgroup=method,
                showlegend=False,
                mode="markers",
                marker=dict(symbol=symbol, size=10, color=color),
            )
        )
    fig.add_vline(x=s.val_end - 0.5, line=dict(color="#444444", width=2, dash="dot"))
    fig.add_annotation(
        x=s.val_end - 0.5,
        y=0,
        yref="paper",
        text=" test part →",
        showarrow=False,
        xanchor="left",
        yanchor="bottom",
        font=dict(size=FONT_SIZE - 2),
    )
    _time_axis(fig, s.n, labels, "time")
    if labels is not None:  # keep only the ticks inside the drawn range
        ticks = np.unique(np.linspace(lo, s.n - 1, 6).round().astype(int))
        fig.update_xaxes(tickvals=ticks, ticktext=[str(labels[i]) for i in ticks])
    fig.update_yaxes(title_text=unit or "value")
    fig.update_layout(legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
    return base_layout(fig, height=440, title=title)


def horizon_figure(result, methods, unit: str = "", title: str | None = None) -> go.Figure:
    """Mean absolute error over the test origins at each step ahead, 1 .. K: which method is best where."""
    fig = go.Figure()
    steps = np.arange(1, result.config.horizon + 1)
    for method in methods:
        name, color, dash, symbol = method_style(method)
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=result.errors[method]["mae_by_step"],
                name=name,
                mode="lines+markers",
                line=dict(color=color, dash=dash, width=3),
                marker=dict(symbol=symbol, size=10),
            )
        )
    fig.update_xaxes(title_text="steps ahead", dtick=1 if len(steps) <= 12 else None)
    fig.update_yaxes(title_text=f"mean absolute error{f' ({unit})' if unit else ''}", rangemode="tozero")
    fig.update_layout(legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
    return base_layout(fig, height=380, title=title)


def window_figure(windows, medians: dict, ranges: dict, season: int | None, unit: str = "", title=None) -> go.Figure:
    """Test MAE against the window (the window study): per method its median over seeds, the networks with a
    bar from the lowest to the highest seed; the baselines that do not read a window as flat lines; a
    dotted vertical line at one season."""
    fig = go.Figure()
    for method, y in medians.items():
        name, color, dash, symbol = method_style(method)
        low_high = ranges.get(method)
        error_y = None
        if low_high is not None:
            low, high = low_high
            error_y = dict(type="data", array=high - y, arrayminus=y - low, color=color, thickness=2, width=6)
        fig.add_trace(
            go.Scatter(
                x=list(windows),
                y=y,
                name=name,
                mode="lines+markers",
                line=dict(color=color, dash=dash, width=3 if method in MODEL_COLORS else 2),
                marker=dict(symbol=symbol, size=10),
                error_y=error_y,
            )
        )
    if season:
        fig.add_vline(x=season, line=dict(color="#000000", dash="dot", width=2))
        label = f" one season ({season})"
        fig.add_annotation(x=season, y=0, yref="paper", text=label, showarrow=False, xanchor="left", yanchor="bottom")
    fig.update_xaxes(title_text="window W (past values the model reads)", tickvals=list(windows))
    fig.update_yaxes(title_text=f"test MAE{f' ({unit})' if unit else ''}", rangemode="tozero")
    fig.update_layout(legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
    return phone_titles(base_layout(fig, height=400, title=title), xaxis="window W")  # the long title is cut at 390 px
