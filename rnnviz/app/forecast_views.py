"""The Forecast lab's views that draw a press of Train: its live progress, its results, and the window study.
They read a ``forecast_lab.ForecastRun`` (what was pressed: its series and settings, not the sidebar's) and
the engine's numbers; the page keeps only its widgets and the press.
"""

from __future__ import annotations

import io
import time

import numpy as np
import streamlit as st

from rnnviz.app import forecast_lab, handoff, lab_state, ui
from rnnviz.app.forecast_lab import ForecastRun
from rnnviz.engine import forecast as fc
from rnnviz.engine import forecast_study, weights
from rnnviz.figures import forecast as figures

REPLAYED = {
    None: "",
    "yours": " Replayed: your earlier run of these settings, kept on the server.",
    "other": " Replayed: the same run another session started on this server (training is deterministic: these "
    "are the models your own press would have trained).",
}


def watch(run: ForecastRun):
    """Placeholders for a live run's progress bar and learning curves, and the poll that fills them (True once
    the run has finished): the end of the page's script run calls it until then."""
    bar, chart = st.progress(0.0, text="Waiting for the training service..."), st.empty()
    st.caption(
        "Changing the settings now does not stop it: they apply at your next press of Train." + REPLAYED[run.replayed]
    )
    seen = {"version": -1, "points": 0, "drawn": 0.0}

    def poll() -> bool:
        snap = run.handle.wait(seen["version"], timeout=0.25)
        _ = forecast_lab.KEY in st.session_state  # Streamlit's yield point: a click ends this script run here
        seen["version"] = snap.version
        if snap.finished:
            return True
        fraction, text = ui.training_progress(snap, run.replayed)
        bar.progress(fraction, text=text + lab_state.starts_text(snap))
        points = sum(map(len, snap.histories))
        if points > seen["points"] and time.monotonic() - seen["drawn"] >= 0.5:  # at most twice a second
            seen["points"], seen["drawn"] = points, time.monotonic()
            with chart.container():
                figure = figures.learning_curves(forecast_lab.live_models(snap), budget=run.config.updates)
                ui.show_figure(figure, key=f"forecast.live_{points}")
        return False

    return poll


def show_results(run: ForecastRun, guess: str | None, title: str) -> None:
    """A finished (or stopped) run: the table of errors and its sentences, the forecasts, the learning curves,
    the error per step ahead, the downloads, and the button that opens a model in the Cell stepper."""
    result, series, config = run.result, run.series, run.config
    if run.status == "stopped":
        st.warning(
            f"Stopped at {run.stopped_at()}: each model shows its forecasts from the parameters it had kept by then."
            + (" The run goes on for the other sessions watching it." if run.detached else ""),
            icon="⏹️",
        )
    # ---- the results --------------------------------------------------------------------------------------
    st.subheader("Errors on the test part")
    rows = result.table()
    ui_columns, number_columns = forecast_lab.table_columns(rows, config.horizon)
    st.dataframe(
        ui_columns,
        hide_index=True,
        column_config={name: st.column_config.NumberColumn(format="%.4g") for name in number_columns},
        key="forecast.table",
    )
    note = fc.range_note(series.values, result, series.unit)
    st.markdown("\n".join(f"- {s}" for s in fc.describe(result, series.unit) + ([note] if note else [])))
    if guess is not None:
        actual = ui.KIND_LABELS.get(rows[0]["method"], "a baseline")
        best = f" ({rows[0]['method']})." if actual == "a baseline" else "."
        st.success(f"You guessed {guess}; the best was **{actual}**" + best)
    st.caption(
        f"Mean absolute error (MAE) and root mean squared error (RMSE), in {series.unit or 'the units of the series'}, "
        f"over {len(result.origins)} forecast origins of the test part, each forecasting {config.horizon} steps; "
        "every method forecasts the same origins. The networks forecast one step and feed it back for the next "
        "(recursive). Relative to seasonal naive: below 1 beats it. Parameters: every weight, readout included "
        "(linear AR: one per window value and an intercept)." + REPLAYED[run.replayed]
    )
    trained = list(result.models)
    all_methods = [*trained, *fc.BASELINES]
    best_baseline = min(fc.BASELINES, key=lambda m: result.errors[m]["mae"])
    shown = st.multiselect(
        "Forecasts shown",
        all_methods,
        default=[*trained, best_baseline],
        format_func=lambda m: ui.KIND_LABELS.get(m, m),
        key="forecast.shown",
    )
    st.markdown("**Forecasts over the test part**")
    ui.show_figure(
        figures.forecast_figure(series.values, result, shown, series.labels, series.unit), key="forecast.fig.paths"
    )
    st.caption(
        f"Each path starts at a forecast origin (marker) and runs {config.horizon} steps with no new truth: the "
        "errors grow along it. The truth is black."
    )
    left, right = st.columns(2)
    with left:
        if result.models:
            st.markdown("**Learning curves (one step ahead)**")
            ui.show_figure(figures.learning_curves(result.models, budget=config.updates), key="forecast.fig.curves")
            st.caption(
                "Thick, filled markers: validation; thin, open markers: training. The large marker is the update "
                "whose parameters are kept (the lowest validation error). Training falling while validation rises "
                "is overfitting."
            )
    with right:
        st.markdown("**Error at each step ahead**")
        ui.show_figure(figures.horizon_figure(result, all_methods, series.unit), key="forecast.fig.horizon")
        st.caption("Which method is best one step ahead, and which further out.")

    download_cols = st.columns(1 + len(result.models))
    with download_cols[0]:
        ui.csv_download("⬇ Forecasts (CSV)", forecast_lab.forecast_columns(result, all_methods), "forecasts.csv")
    for col, (kind, model) in zip(download_cols[1:], result.models.items(), strict=True):

        def weights_npz(forecaster=model.forecaster) -> bytes:  # written only when someone clicks
            buffer = io.BytesIO()
            weights.save_npz(forecaster.cell(), buffer)
            return buffer.getvalue()

        col.download_button(
            f"⬇ {ui.KIND_LABELS[kind]} weights (.npz)",
            weights_npz,
            file_name=f"{kind}_forecaster_window{config.window}_update{model.best_update}.npz",
            mime="application/octet-stream",
            key=f"forecast.download_{kind}",
            on_click="ignore",
            help=f"The recurrent layer with torch.nn.{kind.upper()}'s keys (weight_ih_l0, ...), one input. The "
            "linear readout and the scaling are not included.",
        )
    if trained:  # ---- see the gates on real data: the Cell stepper (rnnviz.app.handoff) ----------------------
        st.markdown("**See a trained model's gates on this series**")
        left, right = st.columns([1, 2], vertical_alignment="bottom")
        gated = trained.index("lstm") if "lstm" in trained else 0  # the LSTM first: the most gates to look at
        kind = left.selectbox(
            "Model", trained, index=gated, format_func=ui.KIND_LABELS.get, key="forecast.stepper_model"
        )
        if right.button(f"🔬 Open the {ui.KIND_LABELS[kind]} in the Cell stepper", key="forecast.open_stepper"):
            handoff.offer(st.session_state, forecast_lab.stepper_offer(run, kind, title))
            st.switch_page(forecast_lab.STEPPER)
        st.caption("Its gates, cell state and diagram, step by step, on the window it reads at the first test origin.")


@st.cache_data(show_spinner=False)
def _study() -> dict:
    return forecast_study.load()


def show_window_study(name: str) -> None:
    """Memory: the shipped window study of this series (rnnviz.engine.forecast_study), its figure and the
    sentences computed from its numbers."""
    shipped = _study()
    record = shipped["series"].get(name)
    if record is None:
        return
    st.subheader("Memory: the window growing past the season")
    windows, seeds = record["windows"], record["seeds"]
    medians = forecast_study.medians(record)
    shown = [m for m in (*fc.KINDS, "linear AR", "seasonal naive", "persistence") if m in medians]
    ranges = {m: (np.min(record["mae"][m], axis=1), np.max(record["mae"][m], axis=1)) for m in shown if m in fc.KINDS}
    figure = figures.window_figure(windows, {m: medians[m] for m in shown}, ranges, record["season"], record["unit"])
    ui.show_figure(figure, key="forecast.fig.windows")
    st.markdown("\n".join(f"- {s}" for s in forecast_study.describe(record)))
    st.caption(
        f"Measured, not trained now: each cell trained at windows {', '.join(map(str, windows))} with seeds "
        f"{', '.join(map(str, seeds))} (horizon {record['horizon']}, every other setting at this series' defaults; "
        f"the bars run from the best to the worst seed). Made by `python -m rnnviz.engine.forecast_study` in "
        f"{record['seconds']:.0f} s on {shipped['machine']}; a test retrains some of it."
    )
