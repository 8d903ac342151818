"""Training lab: train RNN, LSTM and GRU on the same long-lag task, live, and see which one solves it."""

import io
import itertools
import json
import time
from dataclasses import replace

import streamlit as st

import rnnviz
from rnnviz.app import lab_state, ui
from rnnviz.content import DATA
from rnnviz.engine import tasks, training
from rnnviz.figures import equations, stepper
from rnnviz.figures.training_lab import learning_curves, sweep_figure

ui.setup_page(
    "lab",
    "Training lab",
    "🏋️",
    "Textbooks say LSTMs learn long-term dependencies that plain RNNs cannot. Here the three models train on "
    "the same task, the same data and the same number of updates, in front of you; a model counts as "
    "**solved** only on a held-out test set it never trained on.",
)

DEFAULTS = training.TrainConfig()
MODELS = ["rnn", "lstm", "gru"]
LR_OPTIONS = [0.001, 0.003, 0.01, 0.03, 0.1]
OUTCOMES = tuple(c for r in range(len(MODELS) + 1) for c in itertools.combinations(MODELS, r))  # () .. all three
SMALL = training.SMALL_DATA
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
state = st.session_state
RUN, SWEEP = "lab.run", "lab.sweep"  # the session's last training run and last sweep (kept across reruns)


def outcome_label(kinds) -> str:
    names = [ui.KIND_LABELS[k] for k in kinds]
    if not names:
        return "none"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# ---- training goes through the server's training service (rnnviz.app.trainer) ---------------------------------
# A press submits its configs and keeps the handle in the session's record; the end of every script run polls
# the handles of what is still running and draws the progress into placeholders. A rerun (a setting, a button,
# another page) only ends this run's polling: the job lives in the service, and the next run polls it again.
MINE = "lab.mine"  # ids of the jobs this session started (a replay of one of them is the student's own run)
REPLAYED = {
    None: "",
    "yours": " Replayed: your earlier run of these settings, kept on the server.",
    "other": " Replayed: the same run another session started on this server. Training is deterministic, so "
    "these are the curves and models your own press would have trained.",
}


def shared_note(handle) -> str | None:
    """None, or why this press shows a run it did not compute itself."""
    if handle is None or not handle.joined:
        return None
    if handle.job_id in state.get(MINE, ()):
        return "yours"
    return "other"


def settle_run(record: dict, snap) -> None:
    """The record of a run whose job has finished, or whose view was just stopped."""
    record["detached"] = snap.detached
    if snap.status == "failed":
        record.update(status="failed", message=snap.message)
    else:
        record.update(status="done" if snap.status == "done" else "stopped", runs=lab_state.runs_of(snap))


def stop_run() -> None:
    record = state.get(RUN)
    if record and record["status"] == "running":
        record["handle"].stop()
        settle_run(record, record["handle"].snapshot())


def stop_sweep() -> None:
    record = state.get(SWEEP)
    if record and record["status"] == "running":
        for handle in record["handles"]:
            handle.stop()
        collect_sweep(record)
        record["status"] = "stopped"


def collect_sweep(record: dict) -> None:
    """Add every newly finished run's summary to the sweep's record."""
    for i, snap in enumerate(h.snapshot() for h in record["handles"]):
        if snap.status == "done" and i not in record["done"]:
            record["done"][i] = snap.run(0).summary()
        elif snap.status == "failed":
            record["failed"][i] = snap.message
    record["summaries"] = list(record["done"].values())


def settle() -> None:
    """Record what finished since the last run. Only here and in the Stop callbacks is a record changed: a click
    starts the next run while the last one may still be polling (Streamlit's fast reruns), so polls only read."""
    record = state.get(RUN)
    if record and record["status"] == "running" and (snap := record["handle"].snapshot()).finished:
        settle_run(record, snap)
    record = state.get(SWEEP)
    if record and record["status"] == "running" and all(h.snapshot().finished for h in record["handles"]):
        collect_sweep(record)
        record["status"] = "done"


settle()


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


def config_for(cell: str) -> training.TrainConfig:
    return training.TrainConfig(
        cell=cell,
        task=task,
        length=S["length"],
        hidden_size=S["hidden_size"],
        steps=S["steps"],
        lr=S["lr"],
        optimizer=S["optimizer"],
        clip=S["clip"] or None,
        forget_bias=S["forget_bias"],
        seed=int(S["seed"]),
        n_train=SMALL["n_train"] if S["small"] else DEFAULTS.n_train,
        eval_every=max(S["steps"] // 40, 5),
    )


def describe(config: training.TrainConfig) -> str:
    return (
        f"{tasks.TASKS[config.task]}, length {config.length}, {config.hidden_size} units, {config.steps} updates, "
        f"{config.optimizer} at {config.lr}, {config.n_train} training sequences, seed {config.seed}"
    )


criterion = (
    f"test MSE below {spec.threshold} (predicting the mean scores {spec.baseline:.3f})"
    if spec.regression
    else f"test accuracy of at least {spec.threshold:.0%} (guessing scores {spec.baseline:.0%})"
)
st.markdown(f"**Solved means:** {criterion}. Every model sees the same training sequences in the same order.")

# ---- predict, then train --------------------------------------------------------------------------------
options = [o for o in OUTCOMES if set(o) <= set(selected)]
if S["prediction"] is not None and tuple(S["prediction"]) not in options:
    S["prediction"] = None  # the models changed: that outcome can no longer happen
prediction = st.radio(
    "Before you press Train: which models will solve it?",
    options,
    format_func=outcome_label,
    horizontal=True,
    key=S.key("prediction"),
)
left, right = st.columns([1, 1])
start = left.button("▶ Train", type="primary", disabled=not selected, width="stretch", key="lab.train")
right.button("■ Stop", width="stretch", key="lab.stop", on_click=stop_run)


def train_now() -> None:
    configs = {cell: config_for(cell) for cell in selected}
    if ui.guarded(tasks.make_task, task, S["length"], 1, 1) is None:
        return
    old = state.get(RUN)
    if old and old["status"] == "running" and old["configs"] == configs:
        return  # the same press again: that run goes on
    handle = ui.guarded(
        ui.training_service().submit, tuple(configs.values()), owner=ui.session_owner(), alive=ui.session_alive()
    )
    if handle is None:
        return
    if old and old["status"] == "running":
        old["handle"].stop()  # other settings now: this session no longer watches the old run
    if not handle.joined:
        state.setdefault(MINE, set()).add(handle.job_id)
    state[RUN] = {"status": "running", "configs": configs, "runs": {}, "prediction": prediction, "handle": handle}


if start:
    train_now()
watchers = []  # what the end of this script run polls


def curves(first: training.TrainConfig, histories: dict):
    """The learning curves of a run, for the run's own settings (not the sidebar's, which may differ)."""
    s = tasks.SPECS[first.task]
    return learning_curves(histories, s.metric, s.baseline, s.threshold, first.n_train < DEFAULTS.n_train, first.steps)


def watch_run(record: dict):
    """Placeholders for the run's live progress here, and the poll that fills them (True once it finished)."""
    first = next(iter(record["configs"].values()))
    bar, chart = st.progress(0.0, text="Waiting for the training service..."), st.empty()
    note = shared_note(record["handle"])
    st.caption(
        f"Training with: {describe(first)}. Changing the settings now does not stop it: they apply at your next "
        "press of Train." + REPLAYED[note]
    )
    seen = {"version": -1, "points": 0, "drawn": 0.0}

    def poll() -> bool:
        snap = record["handle"].wait(seen["version"], timeout=0.25)
        seen["version"] = snap.version
        if snap.finished:
            return True
        bar.progress(*ui.training_progress(snap, note))
        points = sum(map(len, snap.histories))
        if points > seen["points"] and time.monotonic() - seen["drawn"] >= 0.5:  # at most twice a second
            seen["points"], seen["drawn"] = points, time.monotonic()
            # the same figure for every session watching this run: built once per server (a class's 30 sessions
            # building 30 copies of each live figure kept the server's one core busy, not the training)
            live = ui.shared_figure(("lab.live", snap.configs, points), lambda: curves(first, snap.by_cell()))
            with chart.container():
                ui.show_figure(live, key=f"lab.live_{points}")
        return False

    return poll


if state.get(RUN) and state[RUN]["status"] == "running":
    watchers.append(watch_run(state[RUN]))


# ---- results ---------------------------------------------------------------------------------------------
def model_result(cell: str, run: training.ModelRun, budget: int) -> None:
    """One model's metric, its verdict (only for a finished budget), cost, and its weights to download."""
    metric = tasks.SPECS[run.config.task].metric
    label = f"{ui.KIND_LABELS[cell]}: test {metric}"
    last = run.last
    task_spec = tasks.SPECS[run.config.task]
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
        f"training {metric} {last.train_metric:.3g}{cut}"
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


def reveal(record: dict, runs: dict, updates: str, budget: int) -> None:
    said = outcome_label(record["prediction"])
    if record["status"] != "done":
        st.info(
            f"You predicted **{said}**. The run was stopped at {updates} of {budget}, before the end of its "
            "budget, so there is no outcome to compare with yet: train again and let every model finish.",
            icon="🤔",
        )
        return
    solved = tuple(c for c in record["configs"] if runs[c].solved)
    failed = [ui.KIND_LABELS[c] for c in record["configs"] if c not in solved]
    measured = f"**{outcome_label(solved)}** solved it" + (
        f" ({' and '.join(failed)} did not)" if solved and failed else ""
    )
    if len(solved) > 1:
        order = sorted(solved, key=lambda c: runs[c].solved_step)
        measured += "; first to get there: " + ", ".join(
            f"{ui.KIND_LABELS[c]} at update {runs[c].solved_step}" for c in order
        )
    right_answer = tuple(record["prediction"]) == solved
    st.info(
        f"You predicted **{said}**; measured: {measured}. " + ("Right ✔" if right_answer else "Not this time."),
        icon="✅" if right_answer else "🤔",
    )


def shared(record: dict, key: tuple, build):
    """``build()``'s figure, built once per server for every session that shows this run (the same job gives
    the same run: training is deterministic); built here for a record that has no job."""
    handle = record.get("handle")
    return (
        build() if handle is None else ui.shared_figure((handle.job_id, tuple(record["configs"].values()), *key), build)
    )


def show_results(record: dict) -> None:
    configs, runs = record["configs"], record["runs"]
    first = next(iter(configs.values()))
    budget = first.steps
    if record["status"] == "failed":
        st.error(f"**Training failed:** {ui.literal(record['message'])}", icon="⚠️")
        return
    low, high = min(r.updates for r in runs.values()), max(r.updates for r in runs.values())
    updates = f"update {low}" if low == high else f"updates {low} to {high}"
    if record["status"] == "stopped":
        st.warning(
            f"Stopped at {updates} of {budget}: no verdict. Each model shows its result at the last evaluation "
            "point it reached."
            + (" The run goes on for the other sessions watching it." if record.get("detached") else ""),
            icon="⏹️",
        )
    st.subheader(f"Results: {tasks.TASKS[first.task]}, length {first.length}")
    st.caption(f"Trained with: {describe(first)}." + REPLAYED[shared_note(record.get("handle"))])
    small = first.n_train < DEFAULTS.n_train
    shape = tuple((len(r.history), r.updates) for r in runs.values())  # where each model's history ends
    figure = shared(record, ("curves", shape), lambda: curves(first, {c: r.history for c, r in runs.items()}))
    ui.show_figure(figure, key="lab.curves")
    for col, cell in zip(st.columns(len(configs)), configs, strict=True):
        with col:
            model_result(cell, runs[cell], budget)
    if record.get("prediction") is not None:
        reveal(record, runs, updates, budget)
    if small:
        st.caption(
            f"Small data: the thin lines with open markers are the training metric, on all {first.n_train} "
            "training sequences. Where they get good and the thick test line does not, the model is memorising "
            "its training sequences instead of learning the task (overfitting)."
        )
    trained = {c: r for c, r in runs.items() if c != "rnn" and r.updates}
    if trained:
        st.subheader("What the trained gates do on a test sequence")
        cell = st.radio("Model", list(trained), format_func=ui.KIND_LABELS.get, horizontal=True, key="lab.gate_model")
        model = trained[cell].model
        st.caption(
            "The same heatmaps as the Cell stepper, for the trained model. On the adding problem, look for "
            "units whose input gate opens at the two marked steps and whose forget gate stays near 1 in "
            "between: that is the memory the task needs."
        )
        unit = int(st.number_input("Unit on the diagram", 0, model.cell.hidden_size - 1, 0, key="lab.gate_unit"))

        def gates_figure():
            _, test_set = tasks.make_task(first.task, first.length, 1, 1, seed=first.seed + 1000)
            trace = model.cell.forward(test_set.x[:, 0].astype(model.cell.dtype))
            x = trace.x.astype(float)
            detail = stepper.Detail(
                cell, unit, equations.unit_series(model.cell, x, trace.h, trace.c, trace.gates, unit)
            )
            panels = stepper.trace_panels(cell, trace.h, trace.c, trace.gates, pick=False)
            return stepper.timeline_figure(x, panels, detail=detail)

        figure = shared(record, ("gates", cell, trained[cell].updates, unit), gates_figure)
        ui.show_figure(figure, key="lab.trained_gates")


if state.get(RUN) and state[RUN]["status"] != "running":
    show_results(state[RUN])

# ---- lag sweep -------------------------------------------------------------------------------------------
st.subheader("Lag sweep: success against sequence length")
shipped_path = DATA / "sweep_default.json"


@st.cache_data(show_spinner=False)
def shipped_sweep() -> dict | None:
    try:
        result = json.loads(shipped_path.read_text())
        training.TrainConfig(**result["base"]).check()
        training.success_rates(result)
        return result
    except (OSError, ValueError, KeyError, TypeError):
        return None


shipped = shipped_sweep()
if shipped is None:
    st.warning(
        "The shipped sweep results (rnnviz/content/data/sweep_default.json) are missing or unreadable; "
        "`python -m rnnviz sweep` makes them again. You can still run a sweep below.",
        icon="📄",
    )
else:
    base = training.TrainConfig(**shipped["base"])
    st.markdown(
        f"Each point is the share of {len(shipped['seeds'])} seeds whose model solved the "
        f"**{tasks.TASKS[base.task]}** within {base.steps} updates ({base.hidden_size} units, Adam at {base.lr}, "
        f"forget bias {base.forget_bias}). Hochreiter & Schmidhuber (1997) report the same shape: gradient-trained "
        "plain RNNs failed at long lags that the LSTM solved. These results ship with the app (made by "
        "`python -m rnnviz sweep`); the button reruns the sweep with your sidebar settings."
    )
    figure = ui.shared_figure(  # the same for every session of the server
        ("lab.shipped", str(shipped_path)),
        lambda: sweep_figure(
            shipped["lengths"], training.success_rates(shipped), len(shipped["seeds"]), "Shipped sweep"
        ),
    )
    ui.show_figure(figure, key="lab.sweep_shipped")

lengths = [5, 10, 20, 50, 100] if task != "order" else [10, 20, 50, 100]
seeds = [0, 1, 2]
sweep_base = replace(config_for("lstm"), eval_every=25)
groups = training.sweep_groups(sweep_base, selected, lengths, seeds)
st.caption(
    f"Your sweep: {len(groups) * len(selected)} runs of {sweep_base.steps} updates ({len(lengths)} lengths × "
    f"{len(seeds)} seeds × {len(selected)} models), shared out to the server's training processes behind every "
    "Train press; a run another session's sweep already made is not trained again. It can take minutes."
)
left, right = st.columns([1, 1])
run_sweep = left.button("Run the sweep with my settings", disabled=not selected, width="stretch", key="lab.sweep_run")
right.button("■ Stop the sweep", width="stretch", key="lab.sweep_stop", on_click=stop_sweep)


def sweep_now() -> None:
    configs = [config for group in groups for config in group.values()]
    handles = ui.guarded(ui.training_service().sweep, configs, ui.session_owner(), ui.session_alive())
    if handles is None:
        return
    stop_sweep()  # the session's previous sweep, if it was still running
    state[SWEEP] = {
        "status": "running",
        "base": sweep_base,
        "cells": selected,
        "lengths": lengths,
        "seeds": seeds,
        "summaries": [],
        "total": len(configs),
        "handles": handles,
        "done": {},  # run index -> summary
        "failed": {},  # run index -> message
    }


def watch_sweep(record: dict):
    bar = st.progress(0.0, text="Sweeping...")

    def poll() -> bool:
        waiting = next((h for h in record["handles"] if not h.snapshot().finished), None)
        if waiting is not None:
            waiting.wait(waiting.snapshot().version, timeout=0.25)
        snaps = [h.snapshot() for h in record["handles"]]
        if all(s.finished for s in snaps):
            return True
        bar.progress(*ui.sweep_progress(snaps))
        return False

    return poll


if run_sweep:
    sweep_now()

if state.get(SWEEP):
    record = state[SWEEP]
    done, total = len(record["summaries"]), record["total"]
    if record["status"] == "running":
        watchers.append(watch_sweep(record))
    else:
        if record["status"] == "stopped":
            st.warning(
                f"Stopped after {done} of {total} runs. The figure shows the finished runs only; a missing point is "
                "a length where no run finished.",
                icon="⏹️",
            )
        if record.get("failed"):
            why = ui.literal(next(iter(record["failed"].values())))
            st.error(f"**{len(record['failed'])} of {total} runs failed:** {why}", icon="⚠️")
        mine = training.sweep_result(
            record["base"], record["cells"], record["lengths"], record["seeds"], record["summaries"]
        )
        title = "Your sweep" + ("" if done == total else f" ({done} of {total} runs)")
        b = record["base"]
        st.caption(
            f"Your sweep's settings: {tasks.TASKS[b.task]}, {b.hidden_size} units, {b.steps} updates, {b.optimizer} "
            f"at {b.lr}, {b.n_train} training sequences; lengths {', '.join(map(str, record['lengths']))}; seeds "
            f"{', '.join(map(str, record['seeds']))}."
        )
        ui.show_figure(
            sweep_figure(
                record["lengths"], training.success_rates(mine), len(record["seeds"]) if done == total else None, title
            ),
            key="lab.sweep_mine",
        )

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

# ---- the end of every script run: poll what is still training until one of them finishes, then redraw --------
while watchers:
    if any([poll() for poll in watchers]):
        st.rerun()
