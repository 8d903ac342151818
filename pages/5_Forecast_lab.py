"""Forecast lab: RNN, LSTM and GRU forecast a real series (shipped, uploaded or pasted) beside the baselines a
forecaster tries first, on a test part they never trained on.

Training runs through the server's shared training service (rnnviz.app.trainer), one job per model
(forecast.ForecastJob), with live learning curves and Stop; an identical press, by this or another session, replays
the run already made. The press's life and the offer to the Cell stepper live in rnnviz.app.forecast_lab.
"""

import streamlit as st

from rnnviz.app import forecast_lab, forecast_views, lab_state, ui
from rnnviz.app.forecast_lab import Lab
from rnnviz.engine import forecast as fc
from rnnviz.engine import forecast_study
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

# The page's bounds of one press (the service's admission prices it too: ForecastJob.work). Its worst case (5,000
# values, three models at every maximum) took 39 s on two cores shared at load 12; the shipped series at their
# defaults take 1-3 s a model (docs/forecast.md).
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
if lab_state.lost_in_url(st.query_params.get(lab_state.RUN_PARAM), lab, service.instance):  # before sync_url
    lab.lost = True  # the server restarted while this page followed a run


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
    series, title, name = None, "your series", None
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
    return ui.submitted(service.submit, pressed, owner=ui.session_owner(), alive=ui.session_alive(), kind="forecast")


if start:
    lab.press(jobs, series, submit)
run, watchers = lab.run, []
if run is not None and run.live:
    notice.empty()
    st.query_params[lab_state.RUN_PARAM] = run.handle.ref  # after a restart, the page can say the run was lost
    watchers.append(forecast_views.watch(run))
elif lab.lost or (run is not None and run.status == "lost"):
    st.warning(lab_state.LOST, icon="🔌")
elif run is not None and run.status == "failed":
    st.error(f"**Training failed:** {ui.literal(run.message)}", icon="⚠️")
elif run is not None and run.jobs != jobs:
    st.info("The data or the settings changed since the last training: press Train to train with these.")
elif run is not None:
    forecast_views.show_results(run, S["guess"], title)

if source == "shipped" and name in forecast_study.PLAN:
    forecast_views.show_window_study(name)

with st.expander("How the forecasting is set up"):
    st.markdown(forecast_lab.SETUP_TEXT)

ui.poll_until_one_finishes(watchers)  # the end of every script run
