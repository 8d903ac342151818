"""Pure figure builders for the Papers view: summary rows (from :func:`rnnviz.engine.paper_runs.summarise`) in,
``plotly.graph_objects.Figure`` out, our measurement and the paper's figures on the same axes."""

from __future__ import annotations

import math

import plotly.graph_objects as go

from rnnviz.engine.cells import ALL_KINDS
from rnnviz.figures.common import base_layout
from rnnviz.figures.theme import COLORS, FONT_SIZE, MODEL_COLORS, MODEL_DASH, MODEL_NAMES, MODEL_SYMBOLS

SYMBOLS = MODEL_SYMBOLS
BIAS_DASH = {0.0: "dot", 1.0: "dash", 3.0: "solid"}


def _legend_on_top(fig: go.Figure) -> None:
    fig.update_layout(legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0, xanchor="left"))


def success_against_length(rows: list[dict], title: str | None = None, note: str | None = None) -> go.Figure:
    """Share of seeds that succeeded against sequence length, one line per model (the latch curve)."""
    fig = go.Figure()
    for kind in ALL_KINDS:
        mine = sorted((r for r in rows if r["model"] == kind), key=lambda r: r["length"])
        if not mine:
            continue
        fig.add_trace(
            go.Scatter(
                x=[r["length"] for r in mine],
                y=[r["success_rate"] for r in mine],
                customdata=[[r["succeeded"], r["runs"]] for r in mine],
                name=f"{MODEL_NAMES[kind]} (ours)",
                mode="lines+markers",
                line=dict(color=MODEL_COLORS[kind], dash=MODEL_DASH[kind], width=4),
                marker=dict(size=12, symbol=SYMBOLS[kind]),
                hovertemplate=f"{MODEL_NAMES[kind]}<br>length %{{x}}<br>%{{customdata[0]}} of %{{customdata[1]}} "
                "seeds succeeded<extra></extra>",
            )
        )
    lengths = sorted({r["length"] for r in rows})
    fig.update_xaxes(title_text="sequence length T", tickvals=lengths)
    fig.update_yaxes(title_text="share of seeds that succeeded", range=[-0.05, 1.1], tickformat=".0%")
    if note:
        fig.add_annotation(
            text=note,
            xref="paper",
            yref="paper",
            x=1,
            y=0.02,
            xanchor="right",
            yanchor="bottom",
            showarrow=False,
            align="right",
            font=dict(size=FONT_SIZE - 2, color=COLORS["theory"]),
        )
    _legend_on_top(fig)
    return base_layout(fig, height=440, title=title)


def sequences_against_length(
    rows: list[dict], paper: dict[int, dict], paper_label: str, title: str | None = None
) -> go.Figure:
    """Training sequences to success against T: our mean over the seeds that succeeded, with their range,
    per model (open markers at the cap where no seed succeeded), and the paper's LSTM (means over its trials)
    as large grey stars on the same axes."""
    fig = go.Figure()
    for kind in ALL_KINDS:
        mine = sorted((r for r in rows if r["model"] == kind), key=lambda r: r["length"])
        if not mine:
            continue
        won = [r for r in mine if r["succeeded"]]
        if won:
            fig.add_trace(
                go.Scatter(
                    x=[r["length"] for r in won],
                    y=[r["sequences_mean"] for r in won],
                    error_y=dict(
                        type="data",
                        symmetric=False,
                        array=[r["sequences_max"] - r["sequences_mean"] for r in won],
                        arrayminus=[r["sequences_mean"] - r["sequences_min"] for r in won],
                        thickness=3,
                        width=8,
                    ),
                    customdata=[[r["succeeded"], r["runs"]] for r in won],
                    name=f"{MODEL_NAMES[kind]} (ours, mean and range)",
                    mode="lines+markers",
                    line=dict(color=MODEL_COLORS[kind], dash=MODEL_DASH[kind], width=4),
                    marker=dict(size=13, symbol=SYMBOLS[kind]),
                    hovertemplate=f"{MODEL_NAMES[kind]}<br>T %{{x}}<br>mean %{{y:,.0f}} sequences<br>"
                    "%{customdata[0]} of %{customdata[1]} seeds succeeded<extra></extra>",
                )
            )
        lost = [r for r in mine if not r["succeeded"]]
        if lost:
            fig.add_trace(
                go.Scatter(
                    x=[r["length"] for r in lost],
                    y=[r["cap"] for r in lost],
                    name=f"{MODEL_NAMES[kind]}: no seed within the cap",
                    mode="markers+text",
                    # one label over the row of open markers (one per marker ran into the next marker's)
                    text=["not within cap"] + [""] * (len(lost) - 1),
                    textposition="top right",
                    textfont=dict(color=MODEL_COLORS[kind]),
                    marker=dict(size=15, symbol=f"{SYMBOLS[kind]}-open", color=MODEL_COLORS[kind], line=dict(width=3)),
                    hovertemplate=f"{MODEL_NAMES[kind]}<br>T %{{x}}<br>no seed succeeded within %{{y:,}} "
                    "sequences<extra></extra>",
                )
            )
    points = sorted((T, p["sequences"]) for T, p in paper.items() if "sequences" in p)
    if points:
        fig.add_trace(
            go.Scatter(
                x=[T for T, _ in points],
                y=[s for _, s in points],
                name=paper_label,
                mode="markers+text",
                text=[f"{s:,}" for _, s in points],
                textposition="top center",
                marker=dict(size=20, symbol="star", color=COLORS["theory"], line=dict(width=2, color="black")),
                hovertemplate="paper<br>T %{x}<br>%{y:,} sequences (mean of its trials)<extra></extra>",
            )
        )
    ticks = sorted({r["length"] for r in rows} | {T for T, _ in points})
    fig.update_xaxes(title_text="minimal sequence length T", type="log", tickvals=ticks)
    ys = [y for trace in fig.data for y in trace.y if y]
    # room for the labels above the highest marker (a number over a star) and under the lowest
    y_range = [math.log10(min(ys)) - 0.15, math.log10(max(ys)) + 0.5] if ys else None
    fig.update_yaxes(
        title_text="sequences to success",
        type="log",
        exponentformat="power",
        range=y_range,
        automargin=True,
        dtick=1,  # decades only: Plotly's 2..9 between them overlap each other on a short axis
        minorloglabels="none",
    )
    _legend_on_top(fig)
    return base_layout(fig, height=480, title=title)


def forget_bias_figure(rows: list[dict], title: str | None = None) -> go.Figure:
    """Share of LSTM seeds that succeeded, per forget-gate bias at initialisation, against length."""
    fig = go.Figure()
    biases = sorted({r["forget_bias"] for r in rows})
    for bias in biases:
        mine = sorted((r for r in rows if r["forget_bias"] == bias), key=lambda r: r["length"])
        median = [f"{r['sequences_median']:,.0f}" if r["succeeded"] else "-" for r in mine]
        fig.add_trace(
            go.Bar(
                x=[f"T = {r['length']}" for r in mine],
                y=[r["success_rate"] for r in mine],
                name=f"forget bias {bias:g}",
                text=[f"{r['succeeded']}/{r['runs']}" for r in mine],
                textposition="outside",
                customdata=median,
                marker=dict(
                    color=COLORS["forget"],
                    opacity=0.35 + 0.65 * (biases.index(bias) / max(len(biases) - 1, 1)),
                    pattern=dict(shape=["/", "", "x"][biases.index(bias) % 3]),
                    line=dict(color="black", width=1),
                ),
                hovertemplate=f"forget bias {bias:g}<br>%{{x}}<br>%{{text}} seeds succeeded<br>median "
                "%{customdata} sequences<extra></extra>",
            )
        )
    # room above 100 % for the bars' "n/N" labels, but no tick past 100 %: a share never exceeds it
    fig.update_yaxes(
        title_text="share of LSTM seeds that succeeded",
        range=[0, 1.15],
        tickvals=[0, 0.25, 0.5, 0.75, 1],
        tickformat=".0%",
    )
    fig.update_layout(barmode="group")
    _legend_on_top(fig)
    return base_layout(fig, height=420, title=title)
