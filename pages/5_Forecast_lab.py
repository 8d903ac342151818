"""Forecast lab: RNN, LSTM and GRU forecast a real series (shipped, uploaded or pasted) beside the baselines a
forecaster tries first, on a test part they never trained on.

Training runs through the server's shared training service (rnnviz.app.trainer), one job per model
(forecast.ForecastJob), with live learning curves and Stop; an identical press, by this or another session, replays
the run already made. The press's life and the offer to the Cell stepper live in rnnviz.app.forecast_lab.
"""

import io
import time

import streamlit as st

from rnnviz.app import forecast_lab, handoff, lab_state, trainer, ui
from rnnviz.app.forecast_lab import Lab
from rnnviz.engine import forecast as fc
from rnnviz.engine import weights
from rnnviz.figures import forecast as figures

ui.setup_page(
    "forecast",
    "Forecast lab",
    "📈",
    "Does any of this matter on real data? Here an RNN, an LSTM and a GRU learn to forecast a real series, "
    "yours if you like, and stand beside the **baselines a forecaster tries first**: the last value, the value "
    "one season ago, and a straight-line (linear) autoregression. Every error is measured on the **test part**, "
    "the end of the series, which no model saw while training. A network that does not beat the baselines is "
    "shown not beating them.",
)

# The cost cap of one press. Its worst case (5,000 values, all three models at every maximum) took 39 s on two
# cores shared at load 12; the shipped series at their defaults take 1-3 s a model (docs/forecast.md).
MAX_UPDATES, MAX_WINDOW, MAX_HORIZON, MAX_HIDDEN = 1000, 48, 24, 32
SOURCES = {"shipped": "A shipped series", "upload": "Upload a CSV", "paste": "Paste numbers"}
MISSING = {"refuse": "stop and tell me", "interpolate": "fill by linear interpolation", "drop": "drop those rows"}
GUESSES = ("RNN", "LSTM", "GRU", "a baseline")
S = ui.Settings(
    "forecast",
    [
        ui.Setting("source", "shipped", options=tuple(SOURCES)),
        ui.Setting("series", "co2", options=tuple(fc.SHIPPED)),
        ui.Setting("missing", "refuse", options=tuple(MISSING)),
        ui.Setting("window", 24, low=1, high=MAX_WINDOW),
        ui.Setting("horizon", 12, low=1, high=MAX_HORIZON),
        ui.Setting("season", 12, low=0, high=400),
        ui.Setting("difference", fc.SHIPPED["co2"].difference),
        ui.Setting("hidden_size", 16, low=2, high=MAX_HIDDEN),
        ui.Setting("updates", 600, low=20, high=MAX_UPDATES),
        ui.Setting("seed", 0, low=0, high=9999),
        ui.Setting("models", tuple(fc.KINDS), options=tuple(fc.KINDS), many=True),
        ui.Setting("guess", None, options=GUESSES, in_url=False),
    ],
)
lab = Lab.of(st.session_state)  # the session's last press (rnnviz.app.forecast_lab): its jobs live in the service
service = ui.training_service()
lab.settle(service)
REPLAYED = {
    None: "",
    "yours": " Replayed: your earlier run of these settings, kept on the server.",
    "other": " Replayed: the same run another session started on this server (training is deterministic: these "
    "are the models your own press would have trained).",
}


def use_series_defaults() -> None:
    """A shipped series brings its own window, horizon and season."""
    info = fc.SHIPPED[S["series"]]
    S.update(
        {"window": info.window, "horizon": info.horizon, "season": info.season or 0, "difference": info.difference}
    )


@st.cache_data(max_entries=32, show_spinner=False)
def uploaded(data: bytes, column: int | None, missing: str) -> fc.Series:
    return fc.parse_csv(data, column, missing, name="your CSV")


@st.cache_data(max_entries=8, show_spinner=False)
def numeric_columns(data: bytes) -> tuple[tuple, tuple, int]:
    table = fc.read_table(data)
    return table.names, table.numeric, table.default_column()


@st.cache_data(max_entries=32, show_spinner=False)
def pasted(text: str, missing: str) -> fc.Series:
    return fc.parse_text(text, missing, name="your numbers")


# ---- the data ----------------------------------------------------------------------------------------
# On a projector the data's choice folds away: the series' figure is what the class looks at.
with st.expander("Data", expanded=False) if ui.presenting() else st.container():
    source = st.radio("Data", list(SOURCES), format_func=SOURCES.get, horizontal=True, key=S.key("source"))
    series, title = None, "your series"
    if source == "shipped":
        name = st.selectbox(
            "Series",
            list(fc.SHIPPED),
            format_func=lambda n: fc.SHIPPED[n].title,
            key=S.key("series"),
            on_change=use_series_defaults,
        )
        series, title = fc.load_series(name), fc.SHIPPED[name].title
        st.caption(
            f"Unit: {series.unit}; sampled {fc.SHIPPED[name].sampling}; {len(series)} values. Public domain, copied "
            f"from {fc.SHIPPED[name].copied_from} (sources and licences: rnnviz/content/data/series/README.md)."
        )
    else:
        st.radio("If values are missing", list(MISSING), format_func=MISSING.get, horizontal=True, key=S.key("missing"))
        if source == "upload":
            upload = st.file_uploader(
                f"A CSV with one column of numbers (an optional time column; at most 1 MB and {fc.MAX_POINTS:,} rows)",
                type=["csv", "txt"],
                key="forecast.upload",
            )
            if upload is not None:
                data = upload.getvalue()
                columns = ui.guarded(numeric_columns, data)
                column = None
                if columns and len(columns[1]) > 1:
                    names, numeric, default = columns
                    column = st.selectbox(
                        "Value column",
                        numeric,
                        index=numeric.index(default),
                        format_func=lambda j: names[j],
                        key="forecast.column",
                    )
                if columns:
                    series = ui.guarded(uploaded, data, column, S["missing"])
                    title = "your uploaded CSV"  # not the file's name: the Cell stepper shows this title
        else:
            text = st.text_area(
                "Numbers separated by commas, spaces or new lines (NA for a missing one)", key="forecast.paste"
            )
            if text.strip():
                series = ui.guarded(pasted, text, S["missing"])
                title = "your numbers"

# ---- the settings ------------------------------------------------------------------------------------
with st.sidebar:
    st.markdown("### Forecasting setup")
    st.slider("Window: past values the model sees", 1, MAX_WINDOW, key=S.key("window"))
    st.slider("Horizon: steps ahead it forecasts", 1, MAX_HORIZON, key=S.key("horizon"))
    st.number_input("Season in steps (12 for monthly data; 0 = none)", 0, 400, key=S.key("season"))
    st.toggle(
        "Forecast the changes (difference first)",
        key=S.key("difference"),
        help="The networks and the linear AR read and forecast v[t] - v[t-1]; the forecasts are added back onto "
        "the last known value. A series with a trend needs it: its future leaves the range of its past.",
    )
    st.markdown("### Models")
    kinds = st.multiselect("Train", list(fc.KINDS), format_func=ui.KIND_LABELS.get, key=S.key("models"))
    st.slider("Hidden units", 2, MAX_HIDDEN, key=S.key("hidden_size"))
    st.number_input(f"Updates per model (at most {MAX_UPDATES})", 20, MAX_UPDATES, step=50, key=S.key("updates"))
    st.number_input("Seed", 0, 9999, key=S.key("seed"))
S.sync_url()

if series is None:
    st.info("Choose a file or paste numbers to see the series.", icon="📄")
    st.stop()
for note in series.notes:
    st.info(f"{note.capitalize()}.", icon="🩹")

config = fc.ForecastConfig(
    window=S["window"],
    horizon=S["horizon"],
    season=S["season"] or None,
    hidden_size=S["hidden_size"],
    updates=S["updates"],
    seed=S["seed"],
    difference=S["difference"],
)
split = ui.guarded(fc.split, len(series), config)
if split is None:
    st.stop()
st.markdown("**The series and its split in time**")
ui.show_figure(
    figures.series_figure(series.values, split, series.labels, series.unit),
    key="forecast.fig.series",
    presenter_height=380,
)
st.caption(
    f"Training on the first {split.train_end} values, validation (which parameters to keep) on the next "
    f"{split.val_end - split.train_end}, and the test on the last {split.n - split.val_end}. The values "
    f"{'(here their changes) ' if config.difference else ''}are scaled by the mean and spread of the **training "
    "part only**: fitting the scaling on the whole series would tell the models the level of the future they are "
    "asked to forecast."
)

# ---- predict, then train -----------------------------------------------------------------------------
st.radio(
    f"Before you train: which will forecast the test part best, up to {config.horizon} steps ahead?",
    GUESSES,
    horizontal=True,
    key=S.key("guess"),
)
jobs = forecast_lab.jobs_for(series.values, config, kinds)
left, right = st.columns(2)
start = left.button("▶ Train", key="forecast.train", type="primary", disabled=not jobs, width="stretch")
right.button("■ Stop", key="forecast.stop", width="stretch", on_click=lambda: Lab.of(st.session_state).stop())
notice = st.empty()  # what a press would meet: cleared once a press is live
if not jobs:
    notice.info("Choose at least one model to train (sidebar).")
elif lab.run is None or not lab.run.live:
    try:
        notice.caption(lab_state.quote_text(*service.quote(jobs, ui.session_owner(), kind="forecast")))
    except ValueError:
        pass  # settings the series refuses: said above


def submit(pressed: tuple):
    """The press to the service; None when it is refused (said here, with the reason)."""
    try:
        return service.submit(pressed, owner=ui.session_owner(), alive=ui.session_alive(), kind="forecast")
    except trainer.RefusedError as refusal:
        st.warning(f"**Not started.** {refusal}", icon="⏳")
    except ValueError as err:
        st.error(f"**That input cannot be used:** {ui.literal(err)}", icon="⚠️")
    return None


if start:
    lab.press(jobs, series, submit)
run, watchers = lab.run, []
if run is not None and run.live:
    notice.empty()
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

    watchers.append(poll)
elif run is not None and run.status == "lost":
    st.warning(lab_state.LOST, icon="🔌")
elif run is not None and run.status == "failed":
    st.error(f"**Training failed:** {ui.literal(run.message)}", icon="⚠️")
elif run is not None and run.jobs != jobs:
    st.info("The data or the settings changed since the last training: press Train to train with these.")
elif run is not None:
    result = run.result
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
    if S["guess"] is not None:
        actual = ui.KIND_LABELS.get(rows[0]["method"], "a baseline")
        best = f" ({rows[0]['method']})." if actual == "a baseline" else "."
        st.success(f"You guessed {S['guess']}; the best was **{actual}**" + best)
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
        left, right = st.columns([1, 2], vertical_alignment="bottom")
        kind = left.selectbox("Model", trained, format_func=ui.KIND_LABELS.get, key="forecast.stepper_model")
        if right.button(f"🔬 Open the {ui.KIND_LABELS[kind]} in the Cell stepper", key="forecast.open_stepper"):
            handoff.offer(st.session_state, forecast_lab.stepper_offer(run, kind, title))
            st.switch_page(forecast_lab.STEPPER)
        st.caption("Its gates, cell state and diagram, step by step, on the window it reads at the first test origin.")

with st.expander("How the forecasting is set up"):
    st.markdown(forecast_lab.SETUP_TEXT)

ui.poll_until_one_finishes(watchers)  # the end of every script run
