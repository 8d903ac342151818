"""Pure figure builders of the Training lab: learning curves while and after training, and the lag sweep.
Nothing here calls Streamlit."""

from __future__ import annotations

import math
import textwrap

import plotly.graph_objects as go

from rnnviz.figures.common import _curve, _hline, _side_by_side, base_layout, phone_layout
from rnnviz.figures.theme import COLORS, MODEL_COLORS, MODEL_DASH, MODEL_NAMES, MODEL_SYMBOLS


def learning_curves(
    histories: dict[str, list],
    metric: str,
    baseline: float,
    threshold: float,
    show_train: bool = False,
    budget: int | None = None,
) -> go.Figure:
    """Left: the held-out test metric (and, with ``show_train``, the training metric, thin with open markers),
    right: the gradient norm, against the update step; one colour, dash and marker per model.
    ``histories``: {kind: [Progress, ...]}; ``budget`` fixes the x-axis to the whole budget, so a run that
    stopped early visibly ends early."""
    # short panel titles (the right one in two lines): longer ones ran into each other at 1280 px
    left = f"{metric}: test (thick), training (thin)" if show_train else f"held-out test {metric}"
    layout = _side_by_side([left, "gradient norm<br>(before clipping)"])
    data = []
    for kind, history in histories.items():
        if not history:
            continue
        steps = [p.step for p in history]
        color, dash, symbol = MODEL_COLORS[kind], MODEL_DASH[kind], MODEL_SYMBOLS[kind]
        data.append(
            dict(
                type="scatter",
                x=steps,
                y=[p.test_metric for p in history],
                name=f"{MODEL_NAMES[kind]} test",
                mode="lines+markers",
                line=dict(color=color, dash=dash, width=4),
                marker=dict(symbol=symbol, size=8),
                legendgroup=kind,
            )
        )
        if show_train:
            data.append(
                dict(
                    type="scatter",
                    x=steps,
                    y=[p.train_metric for p in history],
                    name=f"{MODEL_NAMES[kind]} training",
                    mode="lines+markers",
                    legendgroup=kind,
                    line=dict(color=color, dash=dash, width=1.5),
                    marker=dict(symbol=f"{symbol}-open", size=7),
                )
            )
        xs, ys = _curve(steps, [p.grad_norm for p in history], log_y=True)
        data.append(
            dict(
                type="scatter",
                x=xs,
                y=ys,
                name=MODEL_NAMES[kind],
                mode="lines+markers",
                marker=dict(symbol=symbol, size=6),
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
        if budget:
            layout[axis].update(range=[0, budget * 1.02])
    layout["legend"] = dict(orientation="h", yanchor="bottom", y=1.16, x=0)
    fig = base_layout(go.Figure(dict(data=data, layout=layout)), height=460)
    # on a phone the panels are 130 px wide: their titles in lines that fit, the legend (two rows) under the plots
    lines = textwrap.wrap(left, 14)
    phone = {"annotations[0].text": "<br>".join(lines), "margin.t": 20 + 20 * max(len(lines), 2)}
    return phone_layout(fig, phone | {"legend.y": -0.45, "legend.yanchor": "top"})


def sweep_figure(
    lengths: list[int], rates: dict[str, list[float]], n_seeds: int | None, title: str | None = None
) -> go.Figure:
    """Share of seeds solved against sequence length, one line per model (a gap where no run finished).
    ``n_seeds`` None: a partial sweep, where each point is the share of the seeds that finished."""
    fig = go.Figure()
    for kind, values in rates.items():
        fig.add_trace(
            go.Scatter(
                x=lengths,
                y=[None if math.isnan(v) else v for v in values],
                name=MODEL_NAMES[kind],
                mode="lines+markers",
                line=dict(color=MODEL_COLORS[kind], dash=MODEL_DASH[kind], width=4),
                marker=dict(size=12, symbol=MODEL_SYMBOLS[kind]),
                hovertemplate=f"{MODEL_NAMES[kind]}<br>length %{{x}}<br>%{{y:.0%}} solved<extra></extra>",
            )
        )
    fig.update_xaxes(title_text="sequence length (the lag)", type="log", tickvals=lengths)
    seeds = f"{n_seeds} seeds" if n_seeds else "finished seeds"
    fig.update_yaxes(title_text=f"share of {seeds} solved", range=[-0.05, 1.05], tickformat=".0%")
    fig.update_layout(legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))  # right-aligned, it met the title
    base_layout(fig, height=440, title=title)
    if title:  # the legend under the title, not on it
        fig.update_layout(margin=dict(t=90))
    return fig


# --------------------------------------------------------------------------------------------------
# Captions: what a figure's numbers were measured under


def timing_caption(other_runs: int) -> str:
    """The caption under milliseconds per update shown side by side: whether they were timed alone on the
    server or while ``other_runs`` other training runs took turns on its cores (which slows every update,
    and not every model alike), so a student does not compare times taken under load as if quiet."""
    if other_runs < 0:
        raise ValueError(f"other_runs counts runs, got {other_runs}")
    if other_runs == 0:
        return "Timed alone on the server."
    runs = "run" if other_runs == 1 else "runs"
    return (
        f"Timed while sharing the server with {other_runs} other {runs}: every update waited its turn for a "
        "core, so these times are longer than alone and can differ between models by more than their cost."
    )


def replay_caption(made_on: dict | None) -> str:
    """The caption under a replayed (shipped) run: where it was made, and that a rerun here may differ in its
    last digits (another CPU's BLAS rounds differently) while its result holds. ``made_on``: the shipped
    file's record of its machine (cpu, blas_kernel, numpy); None when the file has none."""
    if not made_on:
        return "Replayed from a recorded run. Trained again here, it may differ in its last digits."
    return (
        f"Replayed from a run made on an {made_on['cpu']} "
        f"(OpenBLAS {made_on['blas_kernel']} kernel, NumPy {made_on['numpy']}). "
        "Trained again on another machine it may differ in its last digits; its result holds."
    )
