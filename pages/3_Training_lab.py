"""Training lab: train RNN, LSTM and GRU on the same long-lag task, live, and see which one solves it."""

import json
from dataclasses import replace
from pathlib import Path

import streamlit as st

from rnnviz import explain, figures, tasks, timeline, training, ui

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
PREDICTIONS = ("RNN", "LSTM", "GRU", "all", "none")
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
        ui.Setting("prediction", None, options=PREDICTIONS, in_url=False),
    ],
)
state = st.session_state

with st.sidebar:
    st.markdown("### Task")
    task = st.selectbox("Task", list(tasks.TASKS), format_func=tasks.TASKS.get, key=S.key("task"))
    if task == "order" and S["length"] < 10:  # temporal order needs room for its two positions
        S["length"] = 10
    st.slider("Sequence length (the lag)", 10 if task == "order" else 5, 200, key=S.key("length"))
    st.multiselect("Models", MODELS, format_func=ui.KIND_LABELS.get, key=S.key("models"))
    st.toggle(
        "Small data: only 32 training sequences",
        key=S.key("small"),
        help="Too few examples: the training metric improves while the test metric does not (overfitting).",
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
        n_train=32 if S["small"] else 2000,
        eval_every=max(S["steps"] // 40, 5),
    )


threshold = spec.threshold
criterion = (
    f"test MSE below {threshold} (predicting the mean scores {spec.baseline:.3f})"
    if spec.regression
    else f"test accuracy of at least {threshold:.0%} (guessing scores {spec.baseline:.0%})"
)
st.markdown(f"**Solved means:** {criterion}. Every model sees the same training sequences in the same order.")

# ---- predict, then train --------------------------------------------------------------------------------
prediction = st.radio(
    "Before you press Train: which models will solve it?",
    PREDICTIONS,
    horizontal=True,
    key=S.key("prediction"),
)
left, right = st.columns([1, 1])
start = left.button("▶ Train", type="primary", disabled=not S["models"], width="stretch")
stop = right.button("■ Stop", width="stretch")
if stop and state.get("lab", {}).get("status") == "running":
    state.lab["status"] = "stopped"

if start:
    configs = {cell: config_for(cell) for cell in MODELS if cell in S["models"]}
    data = ui.guarded(
        tasks.make_task, task, S["length"], configs[next(iter(configs))].n_train, 500, seed=int(S["seed"])
    )
    if data is not None:
        state.lab = {
            "status": "running",
            "configs": configs,
            "history": {c: [] for c in configs},
            "models": {},
            "prediction": prediction,
        }
        runs = {cell: training.train_steps(config, data) for cell, config in configs.items()}
        progress = st.progress(0.0, text="Training...")
        chart = st.empty()
        live = dict(runs)
        redraw = 0
        while live:
            for cell in list(live):
                try:
                    point, model = next(live[cell])
                except StopIteration:
                    del live[cell]
                    continue
                state.lab["history"][cell].append(point)
                state.lab["models"][cell] = model
            done = min((h[-1].step if h else 0) for h in state.lab["history"].values())
            steps = S["steps"]
            progress.progress(min(done / steps, 1.0), text=f"Training: update {done} of {steps}")
            redraw += 1
            with chart.container():
                ui.show_figure(
                    figures.learning_curves(
                        state.lab["history"], spec.metric, spec.baseline, threshold, show_train=S["small"]
                    ),
                    key=f"lab.live_{redraw}",
                )
        progress.empty()
        chart.empty()
        state.lab["status"] = "done"

# ---- results ---------------------------------------------------------------------------------------------
lab = state.get("lab")
if lab and any(lab["history"].values()):
    first_config = next(iter(lab["configs"].values()))
    if lab["status"] == "stopped":
        st.warning("Stopped. These are the results up to the last evaluation before you pressed Stop.", icon="⏹️")
    st.subheader(f"Results: {tasks.TASKS[first_config.task]}, length {first_config.length}")
    lab_spec = tasks.SPECS[first_config.task]
    ui.show_figure(
        figures.learning_curves(
            lab["history"],
            lab_spec.metric,
            lab_spec.baseline,
            lab_spec.threshold,
            show_train=first_config.n_train < 100,
        ),
        key="lab.curves",
    )
    cols = st.columns(len(lab["history"]))
    for col, (cell, history) in zip(cols, lab["history"].items(), strict=True):
        if not history:
            continue
        last = history[-1]
        solved_at = next((p.step for p in history if p.solved), None)
        model = lab["models"][cell]
        with col:
            st.metric(
                f"{ui.KIND_LABELS[cell]}: test {lab_spec.metric}",
                f"{last.test_metric:.3g}",
                ("solved ✔ at update " + str(solved_at)) if last.solved else "not solved ✘",
                delta_color="normal" if last.solved else "inverse",
                delta_arrow="off",
                border=True,
            )
            st.caption(
                f"{model.num_params:,} parameters · {1000 * last.seconds / last.step:.2f} ms per update · "
                f"{last.seconds:.1f} s for {last.step} updates"
            )
    if lab.get("prediction"):
        solved = [ui.KIND_LABELS[c] for c, h in lab["history"].items() if h and h[-1].solved]
        st.info(f"You predicted **{lab['prediction']}**; solved: **{', '.join(solved) or 'none'}**.", icon="🤔")
    if first_config.n_train < 100:
        st.caption(
            "Small data: the dotted lines are the training metric. Where they improve and the test line does "
            "not, the model is memorising its 32 sequences instead of learning the task."
        )

    gated = [c for c in lab["models"] if c != "rnn"]
    if gated:
        st.subheader("What the trained gates do on a test sequence")
        cell = st.radio("Model", gated, format_func=ui.KIND_LABELS.get, horizontal=True, key="lab.gate_model")
        model = lab["models"][cell]
        _, test_set = tasks.make_task(first_config.task, first_config.length, 1, 1, seed=first_config.seed + 1000)
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


@st.cache_data(max_entries=2000, show_spinner=False)
def cached_train(config: training.TrainConfig) -> dict:
    """One cell of a sweep; cached across sessions by configuration."""
    return training.train(config).summary()


sweep = shipped_sweep()
if sweep is None:
    st.warning(
        "The shipped sweep results (rnnviz/data/sweep_default.json) are missing or unreadable; "
        "`python -m rnnviz sweep` makes them again. You can still run a sweep below.",
        icon="📄",
    )
else:
    base = training.TrainConfig(**sweep["base"])
    st.markdown(
        f"Each point is the share of {len(sweep['seeds'])} seeds whose model solved the **{tasks.TASKS[base.task]}** "
        f"within {base.steps} updates ({base.hidden_size} units, Adam at {base.lr}, forget bias {base.forget_bias}). "
        "Hochreiter & Schmidhuber (1997) report the same shape: gradient-trained plain RNNs failed at long lags that "
        "the LSTM solved. These results ship with the app (made by `python -m rnnviz sweep`); the button reruns the "
        "sweep with your sidebar settings."
    )
    ui.show_figure(
        figures.sweep_figure(
            sweep["lengths"], training.success_rates(sweep), len(sweep["seeds"]), title="Shipped sweep"
        ),
        key="lab.sweep_shipped",
    )
if st.button("Run the sweep with my settings", disabled=not S["models"]):
    lengths = [5, 10, 20, 50, 100] if task != "order" else [10, 20, 50, 100]
    seeds = [0, 1, 2]
    runs = []
    bar = st.progress(0.0, text="Sweeping...")
    total = len(lengths) * len(S["models"]) * len(seeds)
    for length in lengths:
        for cell in S["models"]:
            for seed in seeds:
                config = replace(config_for(cell), length=length, seed=seed, eval_every=25)
                summary = ui.guarded(cached_train, config)
                if summary is not None:
                    runs.append(summary)
                bar.progress(len(runs) / total, text=f"{len(runs)} of {total} runs")
    bar.empty()
    mine = {"cells": list(S["models"]), "lengths": lengths, "seeds": seeds, "runs": runs}
    ui.show_figure(
        figures.sweep_figure(lengths, training.success_rates(mine), len(seeds), title="Your sweep"),
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
        "float32; mini-batches of 32 from 2000 training sequences (32 in the small-data preset); 500 test sequences."
    )
