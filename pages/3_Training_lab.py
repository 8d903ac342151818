"""Training lab: train RNN, LSTM and GRU on the same long-lag task, live, and see which one solves it."""

import io
import itertools
import json
import time
from dataclasses import replace
from pathlib import Path

import streamlit as st

import rnnviz
from rnnviz import explain, tasks, timeline, training, ui
from rnnviz.training_figures import learning_curves, sweep_figure

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


# ---- the one place that trains -------------------------------------------------------------------------
# Everything this page trains goes through train_groups (start and poll) and stop_training. In this session the
# loop runs inside the script: a click on Stop (or any other change) reruns the page, which ends the loop at its
# next call to Streamlit, and the runs so far are what on_progress stored last. A shared training service
# (rnnviz.jobs) replaces these two bodies: submit the groups, poll their progress into on_progress, cancel.


def train_groups(groups: list[dict[str, training.TrainConfig]], on_progress) -> None:
    """Train each group's models together (the same data within a group), one group after another;
    ``on_progress(i, runs)`` after every round of updates of group ``i``."""
    for i, group in enumerate(groups):
        training.train_many(group, on_progress=lambda runs, i=i: on_progress(i, runs))


def stop_training() -> None:
    """Stop what this session is training: here the rerun that calls this has already ended the loop."""


def settle(stopped: bool) -> None:
    """A run or sweep still marked running was cut off by this rerun: say how it ended, and evaluate every
    model at the update it reached (Stop can arrive between two evaluation points)."""
    how = "stopped" if stopped else "interrupted"
    record = state.get(RUN)
    if record and record["status"] == "running":
        stop_training()
        record["status"] = how
        first = next(iter(record["configs"].values()))
        data = tasks.make_task(first.task, first.length, first.n_train, first.n_test, seed=first.seed)
        record["runs"] = {c: training.evaluate_now(r, data) for c, r in record["runs"].items()}
    sweep_record = state.get(SWEEP)
    if sweep_record and sweep_record["status"] == "running":
        stop_training()
        sweep_record["status"] = how


settle(stopped=bool(state.get("lab.stop") or state.get("lab.sweep_stop")))


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
right.button("■ Stop", width="stretch", key="lab.stop")


def train_now() -> None:
    configs = {cell: config_for(cell) for cell in selected}
    if ui.guarded(tasks.make_task, task, S["length"], 1, 1) is None:
        return
    record = state[RUN] = {"status": "running", "configs": configs, "runs": {}, "prediction": prediction}
    steps = S["steps"]
    bar = st.progress(0.0, text=f"Training: update 0 of {steps}")
    chart = st.empty()
    shown = {"points": 0, "at": 0.0}

    def on_progress(_, runs):
        record["runs"] = runs
        points = sum(len(r.history) for r in runs.values())
        if points == shown["points"] and time.monotonic() - shown["at"] < 0.1:
            return
        done = min(r.updates for r in runs.values())
        bar.progress(done / steps, text=f"Training: update {done} of {steps}")
        shown["at"] = time.monotonic()
        if points > shown["points"]:
            shown["points"] = points
            with chart.container():
                ui.show_figure(
                    learning_curves(
                        {c: r.history for c, r in runs.items()},
                        spec.metric,
                        spec.baseline,
                        spec.threshold,
                        show_train=S["small"],
                        budget=steps,
                    ),
                    key=f"lab.live_{points}",
                )

    ui.guarded(train_groups, [configs], on_progress)
    bar.empty()
    chart.empty()
    record["status"] = "done"


if start:
    train_now()


# ---- results ---------------------------------------------------------------------------------------------
def model_result(cell: str, run: training.ModelRun | None, budget: int, how: str) -> None:
    """One model's metric, its verdict (only for a finished budget), cost, and its weights to download."""
    metric = tasks.SPECS[run.config.task].metric if run else spec.metric
    label = f"{ui.KIND_LABELS[cell]}: test {metric}"
    if run is None or run.last is None:
        st.metric(label, "—", f"{how} before its first update: no evaluation", delta_color="off", border=True)
        return
    last = run.last
    task_spec = tasks.SPECS[run.config.task]
    overfits = run.finished and not run.solved and training.is_solved(task_spec, last.train_metric)
    if run.finished:
        verdict = f"solved ✔ at update {run.solved_step}" if run.solved else "not solved ✘"
        color = "normal" if run.solved else "inverse"
    else:
        verdict, color = f"no verdict: {how} at {run.updates}/{budget}", "off"
    st.metric(label, f"{last.test_metric:.3g}", verdict, delta_color=color, delta_arrow="off", border=True)
    st.caption(
        f"{run.model.num_params:,} parameters · {1000 * run.seconds / run.updates:.2f} ms per update · "
        f"{run.seconds:.1f} s for {run.updates} updates · training {metric} {last.train_metric:.3g}"
        + ("" if run.finished else f" · {how} at update {run.updates} of {budget}, before the end of its budget")
        + (" · solved on its training sequences only: overfitting" if overfits else "")
    )
    buffer = io.BytesIO()
    rnnviz.save_npz(run.model.cell, buffer)
    c = run.config
    st.download_button(
        f"⬇ {ui.KIND_LABELS[cell]} weights (.npz)",
        buffer.getvalue(),
        file_name=f"{cell}_{c.task}_length{c.length}_seed{c.seed}_update{run.updates}.npz",
        mime="application/octet-stream",
        key=f"lab.download_{cell}",
        on_click="ignore",
        help=f"The recurrent layer with torch.nn.{cell.upper()}'s keys (weight_ih_l0, ...): "
        "load_state_dict accepts it as it is. The linear readout is not included.",
    )


def reveal(record: dict, runs: dict, updates: int, budget: int) -> None:
    said = outcome_label(record["prediction"])
    if record["status"] != "done":
        word = "stopped" if record["status"] == "stopped" else "interrupted"
        st.info(
            f"You predicted **{said}**. The run was {word} at update {updates} of {budget}, before the end of its "
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


def show_results(record: dict) -> None:
    configs, runs = record["configs"], record["runs"]
    first = next(iter(configs.values()))
    lab_spec, budget = tasks.SPECS[first.task], first.steps
    updates = min((r.updates for r in runs.values()), default=0) if len(runs) == len(configs) else 0
    if record["status"] == "stopped":
        st.warning(
            f"Stopped at update {updates} of {budget}: no verdict. Each model shows its result at that update.",
            icon="⏹️",
        )
    elif record["status"] == "interrupted":
        st.warning(
            f"Interrupted by a change of settings at update {updates} of {budget}: no verdict. Any change on the "
            "page while training (a setting, a button) reruns it and ends the run. Each model shows its result at "
            "that update, for the settings below.",
            icon="⚠️",
        )
    st.subheader(f"Results: {tasks.TASKS[first.task]}, length {first.length}")
    st.caption(f"Trained with: {describe(first)}.")
    small = first.n_train < DEFAULTS.n_train
    ui.show_figure(
        learning_curves(
            {c: r.history for c, r in runs.items()},
            lab_spec.metric,
            lab_spec.baseline,
            lab_spec.threshold,
            show_train=small,
            budget=budget,
        ),
        key="lab.curves",
    )
    how = "stopped" if record["status"] == "stopped" else "interrupted"
    for col, cell in zip(st.columns(len(configs)), configs, strict=True):
        with col:
            model_result(cell, runs.get(cell), budget, how)
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
        _, test_set = tasks.make_task(first.task, first.length, 1, 1, seed=first.seed + 1000)
        trace = model.cell.forward(test_set.x[:, 0].astype(model.cell.dtype))
        st.caption(
            "The same heatmaps as the Cell stepper, for the trained model. On the adding problem, look for "
            "units whose input gate opens at the two marked steps and whose forget gate stays near 1 in "
            "between: that is the memory the task needs."
        )
        unit = st.number_input("Unit on the diagram", 0, model.cell.hidden_size - 1, 0, key="lab.gate_unit")
        x = trace.x.astype(float)
        detail = timeline.Detail(
            cell, int(unit), explain.unit_series(model.cell, x, trace.h, trace.c, trace.gates, int(unit))
        )
        ui.show_figure(
            timeline.timeline_figure(
                x, timeline.trace_panels(cell, trace.h, trace.c, trace.gates, pick=False), detail=detail
            ),
            key="lab.trained_gates",
        )


if state.get(RUN):
    show_results(state[RUN])

# ---- lag sweep -------------------------------------------------------------------------------------------
st.subheader("Lag sweep: success against sequence length")
shipped_path = Path(training.__file__).parent / "data" / "sweep_default.json"


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
        "The shipped sweep results (rnnviz/data/sweep_default.json) are missing or unreadable; "
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
    ui.show_figure(
        sweep_figure(shipped["lengths"], training.success_rates(shipped), len(shipped["seeds"]), title="Shipped sweep"),
        key="lab.sweep_shipped",
    )

lengths = [5, 10, 20, 50, 100] if task != "order" else [10, 20, 50, 100]
seeds = [0, 1, 2]
sweep_base = replace(config_for("lstm"), eval_every=25)
groups = training.sweep_groups(sweep_base, selected, lengths, seeds)
st.caption(
    f"Your sweep: {len(groups) * len(selected)} runs of {sweep_base.steps} updates ({len(lengths)} lengths × "
    f"{len(seeds)} seeds × {len(selected)} models), trained a length and seed at a time; it can take minutes."
)
left, right = st.columns([1, 1])
run_sweep = left.button("Run the sweep with my settings", disabled=not selected, width="stretch", key="lab.sweep_run")
right.button("■ Stop the sweep", width="stretch", key="lab.sweep_stop")


def sweep_now() -> None:
    record = state[SWEEP] = {
        "status": "running",
        "base": sweep_base,
        "cells": selected,
        "lengths": lengths,
        "seeds": seeds,
        "summaries": [],
        "total": len(groups) * len(selected),
    }
    bar = st.progress(0.0, text="Sweeping...")
    shown = {"at": 0.0}

    def on_progress(i, runs):
        if all(r.finished for r in runs.values()):
            record["summaries"] += [r.summary() for r in runs.values()]
        elif time.monotonic() - shown["at"] < 0.1:
            return
        shown["at"] = time.monotonic()
        config = next(iter(runs.values())).config
        done = min(r.updates for r in runs.values())
        bar.progress(
            (i + done / config.steps) / len(groups),
            text=f"Length {config.length}, seed {config.seed} ({i + 1} of {len(groups)}): update {done} of "
            f"{config.steps} · {len(record['summaries'])} of {record['total']} runs done",
        )

    ui.guarded(train_groups, groups, on_progress)
    bar.empty()
    record["status"] = "done"


if run_sweep:
    sweep_now()

if state.get(SWEEP):
    record = state[SWEEP]
    done, total = len(record["summaries"]), record["total"]
    if record["status"] != "done":
        word = "Stopped" if record["status"] == "stopped" else "Interrupted by a change of settings"
        st.warning(
            f"{word} after {done} of {total} runs. The figure shows the finished runs only; a missing point is a "
            "length where no run finished.",
            icon="⏹️",
        )
    mine = training.sweep_result(
        record["base"], record["cells"], record["lengths"], record["seeds"], record["summaries"]
    )
    title = "Your sweep" + ("" if done == total else f" ({done} of {total} runs)")
    b = record["base"]
    st.caption(
        f"Your sweep's settings: {tasks.TASKS[b.task]}, {b.hidden_size} units, {b.steps} updates, {b.optimizer} at "
        f"{b.lr}, {b.n_train} training sequences; lengths {', '.join(map(str, record['lengths']))}; seeds "
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
        "small-data preset); 500 test sequences. The models train together, one update each in turn, so a stopped "
        "run has given each the same number of updates. A verdict (solved or not) is given only to a run that spent "
        "its whole budget."
    )
