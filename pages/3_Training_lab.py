"""Training lab: train RNN, LSTM and GRU on the same long-lag task, live, and see which one solves it."""

import io
import time

import streamlit as st

import rnnviz
from rnnviz.app import lab_state, lab_sweep, ui
from rnnviz.app.lab_state import DEFAULTS, MODELS, OUTCOMES, SMALL, Lab, TrainRun
from rnnviz.engine import tasks, training
from rnnviz.figures import training_lab
from rnnviz.figures.training_lab import learning_curves

ui.setup_page(
    "lab",
    "Training lab",
    "🏋️",
    "Textbooks say LSTMs learn long-term dependencies that plain RNNs cannot. Here the three models train on "
    "the same task, the same data and the same number of updates, in front of you; a model counts as "
    "**solved** only on a held-out test set it never trained on.",
)

LR_OPTIONS = [0.001, 0.003, 0.01, 0.03, 0.1]
S = ui.Settings(
    "lab",
    [
        ui.Setting("task", DEFAULTS.task, options=tuple(tasks.TASKS)),
        ui.Setting("length", DEFAULTS.length, low=5, high=200),
        ui.Setting("steps", DEFAULTS.steps, low=50, high=3000),
        ui.Setting("hidden_size", DEFAULTS.hidden_size, low=2, high=64),
        ui.Setting("lr", DEFAULTS.lr, options=tuple(LR_OPTIONS)),
        ui.Setting("optimizer", DEFAULTS.optimizer, options=("adam", "sgd")),
        ui.Setting("clip", DEFAULTS.clip, low=0.0, high=10.0),
        ui.Setting("forget_bias", DEFAULTS.forget_bias, low=-3.0, high=6.0),
        ui.Setting("seed", DEFAULTS.seed, low=0, high=9999),
        ui.Setting("small", False),
        ui.Setting("models", tuple(MODELS), options=tuple(MODELS), many=True),
        ui.Setting("prediction", None, options=OUTCOMES, in_url=False),
    ],
)
# The session's runs and sweeps (rnnviz.app.lab_state): the jobs live in the server's training service, so a rerun
# (a setting, a button, another page) only ends this run's polling, and the next run polls them again.
lab = Lab.of(st.session_state)
service = ui.training_service()
lab.settle(service)
if lab_state.lost_in_url(st.query_params.get(lab_state.RUN_PARAM), lab, service.instance):  # before sync_url
    lab.lost = True  # the server restarted while this page followed a run
REPLAYED = {
    None: "",
    "yours": " Replayed: your earlier run of these settings, kept on the server.",
    "other": " Replayed: the same run another session started on this server. Training is deterministic, so "
    "these are the curves and models your own press would have trained.",
}


def apply_small_data() -> None:
    if S["small"]:  # the overfitting preset: its settings show in the sliders, where the student can change them
        S.update({k: v for k, v in SMALL.items() if k in S.specs})


with st.sidebar:
    st.markdown("### Task")
    task = st.selectbox("Task", list(tasks.TASKS), format_func=tasks.TASKS.get, key=S.key("task"))
    if task == "order" and S["length"] < 10:  # temporal order needs room for its two positions
        S["length"] = 10
    st.slider("Sequence length (the lag)", 10 if task == "order" else 5, 200, key=S.key("length"))
    st.multiselect("Models", MODELS, format_func=ui.KIND_LABELS.get, key=S.key("models"))
    st.toggle(
        f"Small data: only {SMALL['n_train']} training sequences",
        key=S.key("small"),
        on_change=apply_small_data,
        help=f"Switching it on also sets the overfitting preset ({tasks.TASKS[SMALL['task']]}, length "
        f"{SMALL['length']}, {SMALL['hidden_size']} units, {SMALL['steps']} updates): there the LSTM's training "
        "accuracy reaches 100% while its held-out test accuracy stays far below (overfitting).",
    )
    st.markdown("### Budget and optimiser")
    st.slider("Updates (the budget every model gets)", 50, 3000, step=50, key=S.key("steps"))
    st.slider("Hidden units", 2, 64, key=S.key("hidden_size"))
    st.select_slider("Learning rate", LR_OPTIONS, key=S.key("lr"))
    st.radio("Optimiser", ["adam", "sgd"], key=S.key("optimizer"), horizontal=True)
    st.slider("Gradient-norm clipping (0 = off)", 0.0, 10.0, step=0.5, key=S.key("clip"))
    st.slider("Forget-gate bias at start (LSTM; GRU update gate)", -3.0, 6.0, step=0.5, key=S.key("forget_bias"))
    st.number_input("Seed", min_value=0, max_value=9999, step=1, key=S.key("seed"))

S.sync_url()
spec = tasks.SPECS[task]
selected = [m for m in MODELS if m in S["models"]]
settings = S.values()
criterion = (
    f"test MSE below {spec.threshold} (predicting the mean scores {spec.baseline:.3f})"
    if spec.regression
    else f"test accuracy of at least {spec.threshold:.0%} (guessing scores {spec.baseline:.0%})"
)
st.markdown(f"**Solved means:** {criterion}. Every model sees the same training sequences in the same order.")

# ---- predict, then train --------------------------------------------------------------------------------
controls = st.container()
if ui.presenting():  # a projector: the prediction and Train beside the shipped sweep, all inside 1280 x 720
    controls, beside = st.columns([2, 3], gap="large")
    with beside:
        lab_sweep.show_shipped(presenter_height=440)
with controls:
    options = lab_state.outcomes_of(selected)
    if S["prediction"] is not None and tuple(S["prediction"]) not in options:
        S["prediction"] = None  # the models changed: that outcome can no longer happen
    prediction = st.radio(
        "Before you press Train: which models will solve it?",
        options,
        format_func=lab_state.outcome_label,
        horizontal=not ui.presenting(),
        key=S.key("prediction"),
    )
    left, right = st.columns([1, 1])
    start = left.button("▶ Train", type="primary", disabled=not selected, width="stretch", key="lab.train")
    right.button("■ Stop", width="stretch", key="lab.stop", on_click=lambda: Lab.of(st.session_state).stop())
    notice = st.empty()  # what a press would meet, or a lost run: cleared once a press is live
    if lab.lost or (lab.run is not None and lab.run.status == "lost"):
        with notice.container():
            st.warning(lab_state.LOST, icon="🔌")
            start = st.button("▶ Train it again", key="lab.retrain", disabled=not selected) or start
    elif selected and (lab.run is None or not lab.run.live):
        try:  # what a press would cost and when it would start, before it is pressed
            quote = service.quote(lab_state.press_configs(settings, selected).values(), ui.session_owner())
            notice.caption(lab_state.quote_text(*quote))
        except ValueError:
            pass  # settings the data refuses: the press says so


def submit(configs: tuple):
    """The press to the service; None when it is refused (said here, with the reason) or its input is bad."""
    return ui.submitted(service.submit, configs, owner=ui.session_owner(), alive=ui.session_alive())


if start and ui.guarded(tasks.make_task, task, S["length"], 1, 1) is not None:
    lab.press(lab_state.press_configs(settings, selected), prediction, submit)
if lab.run is not None and lab.run.live:  # the URL names the run it follows: after a restart, the page can say
    st.query_params[lab_state.RUN_PARAM] = lab.run.handle.ref
    notice.empty()
watchers = []  # what the end of this script run polls


def curves(first: training.TrainConfig, histories: dict):
    """The learning curves of a run, for the run's own settings (not the sidebar's, which may differ)."""
    s = tasks.SPECS[first.task]
    return learning_curves(histories, s.metric, s.baseline, s.threshold, first.n_train < DEFAULTS.n_train, first.steps)


def watch_run(run: TrainRun):
    """Placeholders for the run's live progress here, and the poll that fills them (True once it finished)."""
    bar, chart = st.progress(0.0, text="Waiting for the training service..."), st.empty()
    st.caption(
        f"Training with: {lab_state.describe(run.first)}. Changing the settings now does not stop it: they apply "
        "at your next press of Train." + REPLAYED[run.replayed]
    )
    seen = {"version": -1, "points": 0, "drawn": 0.0, "bar": None}

    def poll() -> bool:
        snap = run.handle.wait(seen["version"], timeout=0.25)
        _ = lab_state.KEY in st.session_state  # Streamlit's yield point: a click ends this run here, sending nothing
        seen["version"] = snap.version
        if snap.finished:
            return True
        fraction, text = ui.training_progress(snap, run.replayed)
        if (fraction, text := text + lab_state.starts_text(snap)) != seen["bar"]:  # only a change is sent
            seen["bar"] = (fraction, text)
            bar.progress(fraction, text=text)
        points = sum(map(len, snap.histories))
        if points > seen["points"] and time.monotonic() - seen["drawn"] >= 0.5:  # at most twice a second
            seen["points"], seen["drawn"] = points, time.monotonic()
            # the same figure for every session watching this run: built once per server (a class's 30 sessions
            # building 30 copies of each live figure kept the server's one core busy, not the training)
            live = ui.shared_figure(("lab.live", snap.configs, points), lambda: curves(run.first, snap.by_cell()))
            with chart.container():
                ui.show_figure(live, key=f"lab.live_{points}")
        return False

    return poll


if lab.run is not None and lab.run.live:
    watchers.append(watch_run(lab.run))


# ---- results ---------------------------------------------------------------------------------------------
def model_result(cell: str, run: training.ModelRun, budget: int) -> None:
    """One model's metric, its verdict (only for a finished budget), cost, and its weights to download."""
    task_spec = tasks.SPECS[run.config.task]
    label = f"{ui.KIND_LABELS[cell]}: test {task_spec.metric}"
    last = run.last
    overfits = run.finished and not run.solved and training.is_solved(task_spec, last.train_metric)
    if run.finished:
        verdict = f"solved ✔ at update {run.solved_step}" if run.solved else "not solved ✘"
        color = "normal" if run.solved else "inverse"
    else:
        verdict, color = f"no verdict: stopped at {run.updates}/{budget}", "off"
    st.metric(label, f"{last.test_metric:.3g}", verdict, delta_color=color, delta_arrow="off", border=True)
    cost = f"{1000 * run.seconds / run.updates:.2f} ms per update · " if run.updates else ""
    if run.finished:
        cut = ""
    elif run.updates:
        cut = f" · stopped at update {run.updates} of {budget} (its last evaluation point), before its budget's end"
    else:
        cut = f" · stopped at update 0 of {budget}, before its first evaluation point: the untrained model"
    st.caption(
        f"{run.model.num_params:,} parameters · {cost}{run.seconds:.1f} s for {run.updates} updates · "
        f"training {task_spec.metric} {last.train_metric:.3g}{cut}"
        + (" · solved on its training sequences only: overfitting" if overfits else "")
    )

    def weights_npz(trained=run.model.cell) -> bytes:  # written only when someone clicks
        buffer = io.BytesIO()
        rnnviz.save_npz(trained, buffer)
        return buffer.getvalue()

    c = run.config
    st.download_button(
        f"⬇ {ui.KIND_LABELS[cell]} weights (.npz)",
        weights_npz,
        file_name=f"{cell}_{c.task}_length{c.length}_seed{c.seed}_update{run.updates}.npz",
        mime="application/octet-stream",
        key=f"lab.download_{cell}",
        on_click="ignore",
        help=f"The recurrent layer with torch.nn.{cell.upper()}'s keys (weight_ih_l0, ...): "
        "load_state_dict accepts it as it is. The linear readout is not included.",
    )


def shared(run: TrainRun, key: tuple, build):
    """``build()``'s figure, built once per server for every session that shows this run (the same job gives
    the same run: training is deterministic); built here for a record that has no job."""
    if run.handle is None:
        return build()
    return ui.shared_figure((run.handle.job_id, tuple(run.configs.values()), *key), build)


def show_results(run: TrainRun) -> None:
    first, runs = run.first, run.runs
    budget = first.steps
    if run.status == "lost":
        return  # said above the results, with the button that trains it again
    if run.status == "failed":
        st.error(f"**Training failed:** {ui.literal(run.message)}", icon="⚠️")
        return
    if run.status == "stopped":
        st.warning(
            f"Stopped at {run.updates_text()} of {budget}: no verdict. Each model shows its result at the last "
            "evaluation point it reached."
            + (" The run goes on for the other sessions watching it." if run.detached else ""),
            icon="⏹️",
        )
    st.subheader(f"Results: {tasks.TASKS[first.task]}, length {first.length}")
    st.caption(f"Trained with: {lab_state.describe(first)}." + REPLAYED[run.replayed])
    shape = tuple((len(r.history), r.updates) for r in runs.values())  # where each model's history ends
    figure = shared(run, ("curves", shape), lambda: curves(first, {c: r.history for c, r in runs.items()}))
    ui.show_figure(figure, key="lab.curves")
    for col, cell in zip(st.columns(len(run.configs)), run.configs, strict=True):
        with col:
            model_result(cell, runs[cell], budget)
    if run.handle is not None:  # a record made without the service has no timings of its own to qualify
        st.caption(training_lab.timing_caption(run.shared_with))
    if (revealed := run.reveal()) is not None:
        text, right = revealed
        st.info(text, icon="✅" if right else "🤔")
    if first.n_train < DEFAULTS.n_train:
        st.caption(
            f"Small data: the thin lines with open markers are the training metric, on all {first.n_train} "
            "training sequences. Where they get good and the thick test line does not, the model is memorising "
            "its training sequences instead of learning the task (overfitting)."
        )
    trained = {c: r for c, r in runs.items() if c != "rnn" and r.updates}
    if trained:
        st.subheader("What the trained gates do on a test sequence")
        cell = st.radio("Model", list(trained), format_func=ui.KIND_LABELS.get, horizontal=True, key="lab.gate_model")
        st.caption(
            "The same heatmaps as the Cell stepper, for the trained model. On the adding problem, look for "
            "units whose input gate opens at the two marked steps and whose forget gate stays near 1 in "
            "between: that is the memory the task needs."
        )
        size = trained[cell].model.cell.hidden_size
        unit = int(st.number_input("Unit on the diagram", 0, size - 1, 0, key="lab.gate_unit"))
        key = ("gates", cell, trained[cell].updates, unit)
        ui.show_figure(shared(run, key, lambda: lab_state.gates_figure(trained[cell], unit)), key="lab.trained_gates")


if lab.run is not None and not lab.run.live:
    show_results(lab.run)

# ---- lag sweep (rnnviz.app.lab_sweep) ---------------------------------------------------------------------
if (poll_sweep := lab_sweep.show(lab, lab_state.SweepPlan.of(settings, selected))) is not None:
    watchers.append(poll_sweep)

with st.expander("Details: tasks, training and what counts as solved"):
    st.markdown(
        "- **Adding problem**: two channels, values uniform in [0, 1] and a marker; one marked step in each half. "
        "Target: the sum of the two marked values. Solved: test MSE below 0.04 (the input-blind guess scores 0.167).\n"
        "- **Remember the first symbol** (task 2a with noise): one of 4 classes shown at step 0, then only noise. "
        "Solved: 95% test accuracy.\n"
        "- **Temporal order** (task 6a): X or Y at two places among distractors; the class is their order "
        "(XX, XY, YX, YY). Solved: 95% test accuracy.\n"
        "- **Training**: a linear readout on the last hidden state; MSE or softmax cross-entropy; backpropagation "
        "through time by the engine; Adam (or SGD) with the gradient-norm clipping applied in the optimiser step; "
        f"float32; mini-batches of 32 from {DEFAULTS.n_train} training sequences ({SMALL['n_train']} in the "
        "small-data preset); 500 test sequences. The models train in turn, one evaluation interval each, in one "
        "of the server's training processes; a stopped run shows each model at the last evaluation point it "
        "reached. A verdict (solved or not) is given only to a run that spent its whole budget."
    )

ui.poll_until_one_finishes(watchers)  # the end of every script run
