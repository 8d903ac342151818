"""Three lessons that walk through the newer views: the backward pass (the Cell stepper's backward view), one
real series (the Forecast lab) and one cell found in a trained model (the Text lab).

As in ``lessons.py``: each lesson measures with the engine at pinned settings (``measure_*``), draws one figure
from the measurement (``figure_*``) and answers its question from the same measurement (``reveal_*``, which
returns the option's index and the text: ``lessons.py`` wraps them). Every number a reveal prints is a value the
figure draws (tests/test_lessons_labs.py reads each one back out of the figure's JSON). Nothing is stored: the
backward pass is computed (milliseconds), the forecaster trained (about a second, cached by the page) and the
shipped text model read. Kept apart from ``lessons.py`` only for length; nothing here imports streamlit.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import plotly.graph_objects as go

from rnnviz.content import DATA
from rnnviz.engine import analysis, studies
from rnnviz.engine import backward as engine_backward
from rnnviz.engine import forecast as fc
from rnnviz.engine import text as tx
from rnnviz.figures import common
from rnnviz.figures import forecast as forecast_figures
from rnnviz.figures import text as text_figures
from rnnviz.figures.theme import COLORS, MODEL_NAMES

# A trace with this meta stays drawn before the student predicts (lessons.veil hides every other one).
SHOWN_BEFORE = "shown before the prediction"


def fmt(v: float) -> str:
    """A measured size as the lessons print it (2 significant digits)."""
    return f"{v:.2g}" if 1e-2 <= abs(v) < 1e3 else f"{v:.1e}"


def bin_of(value: float, bins: tuple) -> int:
    """The index of the (low, high) bin holding ``value`` (high None: no upper end)."""
    return next(i for i, (lo, hi) in enumerate(bins) if value >= lo and (hi is None or value < hi))


# --------------------------------------------------------------------------------------------------
# The backward pass: where does the RNN's gradient fall below a thousandth?

# Spectral radius 1 and forget bias 4: the RNN's gradient fades at its own pace (tens of steps), while the
# LSTM's cell path carries its share through (forget gates near 0.98): the two curves part within the figure.
BACKWARD = studies.CellConfig(
    kind="rnn", hidden_size=16, length=100, preset="pulse_noise", seed=0, spectral_radius=1.0, forget_bias=4.0
)
BACKWARD_KINDS = ("rnn", "lstm")
BACKWARD_LOSS = "all"  # the Gradient flow page's loss: all units equally
BACKWARD_SHOWN = "rnn_lstm"  # the Cell stepper's cell choice that shows these two, side by side
BACKWARD_BINS = ((1, 10), (10, 30), (30, 60), (60, None))
BACKWARD_OPTIONS = (
    "within 10 steps back",
    "between 10 and 30 steps back",
    "between 30 and 60 steps back",
    f"60 or more steps back, or never within the {BACKWARD.length} steps",
)
SETTLED = BACKWARD_BINS[0][1]  # the LSTM's curve is read from here on (its first steps fall fast, then it holds)
BACKWARD_NAME = "{}"  # each curve is ‖∂L/∂h_(T−k)‖ / ‖∂L/∂h_T‖ of one model (the y axis says so)


def backward_records() -> dict[str, engine_backward.BackwardRecord]:
    """The Cell stepper's backward view at the lesson's settings: the engine's backward pass of each cell."""
    records = {}
    for kind in BACKWARD_KINDS:
        config = replace(BACKWARD, kind=kind)
        cell = config.make_cell()
        run = studies.run(cell, config.make_input())
        records[kind] = engine_backward.backward_pass(cell, run.x, BACKWARD_LOSS, 0)
    return records


def first_below(values: np.ndarray, fraction: float = analysis.VANISHED) -> int | None:
    """The first index whose value is below ``fraction`` of the value at index 0 (None: never)."""
    values = np.asarray(values, dtype=float)
    below = np.flatnonzero(values < fraction * values[0])
    return int(below[0]) if below.size else None


def measure_backward(data: dict) -> dict:
    records = backward_records()
    left = {k: r.h_left[::-1].copy() for k, r in records.items()}  # index k = k steps back from the loss
    lag = first_below(left["rnn"])
    forget_mean = float(np.mean(records["lstm"].trace.gates["forget"]))
    return {"records": records, "left": left, "lag": lag, "steps": BACKWARD.length, "forget_mean": forget_mean}


def figure_backward(m: dict) -> go.Figure:
    series = {
        BACKWARD_NAME.format(MODEL_NAMES[k]): (np.arange(len(v)), v, *common.model_marks(k))
        for k, v in m["left"].items()
    }
    fig = common.lines_figure(
        series, x_title="k: steps back from the loss", y_title="‖∂L/∂h_(T−k)‖ / ‖∂L/∂h_T‖", log_y=True
    )
    fig.add_hline(y=analysis.VANISHED, line=dict(color=COLORS["theory"], dash="dot", width=2))
    fig.add_annotation(
        x=len(m["left"]["rnn"]) - 1,
        y=np.log10(analysis.VANISHED),
        text="1/1000",
        showarrow=False,
        xanchor="right",
        yanchor="bottom",
    )
    return fig


def reveal_backward(m: dict) -> tuple[int, str]:
    lag, left, T = m["lag"], m["left"], m["steps"]
    last = T - 1
    if lag is None:
        return len(BACKWARD_OPTIONS) - 1, (
            f"Measured: the RNN's gradient never falls below 1/1000 of its size at the loss within {last} steps "
            f"back (it ends at {fmt(left['rnn'][last])}); the LSTM's ends at {fmt(left['lstm'][last])}."
        )
    rnn, lstm = float(left["rnn"][lag]), float(left["lstm"][lag])
    text = (
        f"Measured by the engine's backward pass: the RNN's ‖∂L/∂h‖ falls below 1/1000 of its size at the loss "
        f"{lag} steps back (step {last - lag} of the Cell stepper's 0 to {last}), where it is {fmt(rnn)}: "
        f"×{rnn ** (1 / lag):.3f} per step on average. There the LSTM's is {fmt(lstm)}, "
        f"{lstm / rnn:.0f} times more. At the first step, {last} steps back, the RNN keeps "
        f"{fmt(float(left['rnn'][last]))} of it and the LSTM {fmt(float(left['lstm'][last]))}. The LSTM's "
        f"falls fast over the first few steps (to {fmt(float(left['lstm'][SETTLED]))} {SETTLED} steps back), then "
        f"stays between {fmt(float(left['lstm'][SETTLED:].min()))} and {fmt(float(left['lstm'][SETTLED:].max()))}: "
        "its "
        f"gradient reaches h through its cell state, which multiplies it by the forget gate averaging "
        f"{m['forget_mean']:.2f} here, instead of by W_hh and a tanh slope at every step."
    )
    return bin_of(lag, BACKWARD_BINS), text


# --------------------------------------------------------------------------------------------------
# One real series: does the LSTM beat the baselines on the yearly sunspot numbers?

REAL = "sunspots"
REAL_INFO = fc.SHIPPED[REAL]
# The Forecast lab's settings for the series: its own window, horizon, season and differencing, the page's
# default model size, budget and seed (the page builds the same ForecastConfig from the link's URL).
REAL_CONFIG = fc.ForecastConfig(
    window=REAL_INFO.window,
    horizon=REAL_INFO.horizon,
    season=REAL_INFO.season,
    difference=REAL_INFO.difference,
    hidden_size=16,
    updates=600,
    seed=0,
)
REAL_KIND = "lstm"
REAL_OPTIONS = ("all three", "one or two of them", "none of them")
MAE_AXIS = f"MAE ({REAL_INFO.unit})"  # mean absolute error on the test part: the notice says so


def measure_real(data: dict) -> dict:
    series = fc.load_series(REAL)
    result = fc.run(series.values, REAL_CONFIG, (REAL_KIND,))
    mae = {name: float(result.errors[name]["mae"]) for name in (REAL_KIND, *fc.BASELINES)}
    return {"series": series, "result": result, "mae": mae, "test_points": int(result.split.n - result.split.val_end)}


def figure_real(m: dict) -> go.Figure:
    methods = list(m["mae"])
    styles = [forecast_figures.method_style(k) for k in methods]
    values = [m["mae"][k] for k in methods]
    fig = go.Figure(
        go.Bar(
            x=[s[0] for s in styles],
            y=values,
            marker=dict(color=[s[1] for s in styles], pattern_shape=["", "/", "x", "."]),
            text=[f"{v:.3g}" for v in values],
            textposition="outside",
            cliponaxis=False,
            showlegend=False,
        )
    )
    fig.update_yaxes(title_text=MAE_AXIS, range=[0, 1.2 * max(values)])
    fig.update_xaxes(title_text=f"forecasting up to {REAL_CONFIG.horizon} years ahead")
    return common.base_layout(fig, height=420)


def reveal_real(m: dict) -> tuple[int, str]:
    mae = m["mae"]
    model = mae[REAL_KIND]
    beaten = [b for b in fc.BASELINES if model < mae[b]]
    answer = 0 if len(beaten) == len(fc.BASELINES) else 2 if not beaten else 1
    parts = ", ".join(f"{b} {mae[b]:.3g} (the LSTM's error is {model / mae[b]:.2f} of it)" for b in fc.BASELINES)
    text = (
        f"Measured on the last {m['test_points']} years, which no model saw, forecasting up to "
        f"{REAL_CONFIG.horizon} years ahead: the LSTM's mean absolute error is {model:.3g} sunspots; the "
        f"baselines': {parts}. "
    )
    text += (
        "The LSTM beats every one of them here, the linear AR on the same window included."
        if answer == 0
        else "A model that does not beat a baseline is not worth its training here."
        if answer == 2
        else f"It beats {' and '.join(beaten)}, not the rest: its cost buys less than it seems."
    )
    return answer, text


# --------------------------------------------------------------------------------------------------
# One found cell: the shipped LSTM's best unit for bracket depth on the generated bracket language

TEXT_CORPUS, TEXT_CELL, TEXT_FEATURE = "language", "lstm", "bracket depth"
TEXT_CHARS = 10_000  # the characters the Text lab reads the units on (its ANALYSIS_CHARS), so r is the lab's
# The stretch of text the figure colours (and the Text lab's view opens at): nine lines from character 400,
# which go from depth 0 to depth 4 in lines short enough to fit 30 characters (a phone's width).
TEXT_START, TEXT_WIDTH, TEXT_ROWS = 400, 30, 9
TEXT_BINS = ((0.0, 0.4), (0.4, 0.8), (0.8, None))
TEXT_OPTIONS = ("hardly (|r| below 0.4)", "partly (|r| from 0.4 to 0.8)", "closely (|r| of 0.8 or more)")
DEPTH_TRACE = "mean over the characters at that depth"


def measure_text(data: dict) -> dict:
    model = tx.load_model(DATA / "text" / f"{TEXT_CORPUS}_{TEXT_CELL}.npz")
    corpus = tx.builtin_corpus(TEXT_CORPUS)
    idx = corpus.encode()[:TEXT_CHARS]
    depth = tx.text_features(corpus.text[: len(idx)])[TEXT_FEATURE][: len(idx)]
    acts = tx.activations(model, idx)
    (best,) = tx.rank_units(acts, {TEXT_FEATURE: depth}, top=1)[TEXT_FEATURE]
    values = acts[best.quantity][:, best.unit]
    levels = np.arange(int(depth.max()) + 1)
    return {
        "text": corpus.text[: len(idx)],
        "depth": depth,
        "best": best,
        "values": values,
        "levels": levels,
        "mean": np.array([values[depth == d].mean() for d in levels]),
        "count": np.array([int(np.sum(depth == d)) for d in levels]),
        "units": sum(a.shape[1] for a in acts.values()),
    }


def figure_text(m: dict) -> go.Figure:
    best = m["best"]
    fig = text_figures.text_figure(
        m["text"],
        m["values"],
        best.quantity,
        title=f"The text coloured by {best.label()}",
        start=TEXT_START,
        width=TEXT_WIDTH,
        rows=TEXT_ROWS,
    )
    fig.update_traces(meta=SHOWN_BEFORE, textfont_size=13, colorbar=dict(len=0.55, y=1, yanchor="top"))
    fig.update_traces(**text_colours(m["values"]))
    fig.add_trace(
        go.Scatter(
            x=m["levels"],
            y=m["mean"],
            customdata=m["count"],
            name=DEPTH_TRACE,
            mode="lines+markers",
            line=dict(color=COLORS["theory"], width=4),
            marker=dict(size=12),
            hovertemplate="depth %{x}: mean %{y:.3f} over %{customdata} characters<extra></extra>",
            xaxis="x2",
            yaxis="y2",
            showlegend=False,
        )
    )
    height = fig.layout.height + 260
    fig.update_layout(
        height=height,
        yaxis=dict(domain=[0.42, 1]),
        xaxis2=dict(domain=[0, 1], anchor="y2", title=dict(text="true bracket depth"), dtick=1),
        yaxis2=dict(domain=[0, 0.28], anchor="x2", title=dict(text=f"{best.label()}, mean")),
        margin=dict(b=60),
    )
    return fig


# A unit of one sign (the shipped c[3] stays between about -32 and 0) is coloured on one hue over its own
# range, its 2nd to 98th percentile: on the symmetric cell-state scale (about ±50) every character would be
# the same pale blue. Darker is further from zero, on the side the cell state's own scale gives that sign.
ONE_SIGN = {-1: [[0, "#08306B"], [1, "#DEEBF7"]], 1: [[0, "#FEE0D2"], [1, "#67000D"]]}


def text_colours(values: np.ndarray) -> dict:
    """The coloured text's scale: one hue over the unit's own range when it keeps one sign; else unchanged."""
    lo, hi = (float(v) for v in np.percentile(values, [2, 98]))
    if hi <= 0:
        return {"colorscale": ONE_SIGN[-1], "zmin": lo, "zmax": hi}
    if lo >= 0:
        return {"colorscale": ONE_SIGN[1], "zmin": lo, "zmax": hi}
    return {}


def reveal_text(m: dict) -> tuple[int, str]:
    best, mean, count, levels = m["best"], m["mean"], m["count"], m["levels"]
    direction = "falls" if mean[-1] < mean[0] else "rises"
    text = (
        f"Measured: of the model's {m['units']} units (h, c and every gate) read on the first {TEXT_CHARS:,} "
        f"characters, {best.label()} follows the true depth best, at r = {best.r:+.2f}: a unit of the "
        f"{'cell state' if best.quantity == 'c' else best.quantity}. Its mean {direction} with the depth, from "
        f"{mean[0]:+.2f} at depth 0 ({count[0]:,} characters) to {mean[-1]:+.2f} at depth {levels[-1]} "
        f"({count[-1]:,}): the LSTM was never told about brackets; predicting the next character made it count them."
    )
    return bin_of(abs(best.r), TEXT_BINS), text
