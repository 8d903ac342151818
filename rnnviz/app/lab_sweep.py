"""The Training lab's lag sweep, a view of its own: the shipped sweep's figure, the button that reruns it with the
sidebar's settings through the training service, its progress, and its result (kept in the session's
:class:`rnnviz.app.lab_state.Lab`)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import streamlit as st

from rnnviz.app import lab_state, trainer, ui
from rnnviz.app.lab_state import Lab, Sweep, SweepPlan
from rnnviz.content import DATA
from rnnviz.engine import tasks, training
from rnnviz.figures import training_lab
from rnnviz.figures.training_lab import sweep_figure

SHIPPED = DATA / "sweep_default.json"


@st.cache_data(show_spinner=False)
def shipped_sweep() -> dict | None:
    """The sweep that ships with the app, or None when it is missing or unreadable."""
    try:
        result = json.loads(SHIPPED.read_text())
        training.TrainConfig(**result["base"]).check()
        training.success_rates(result)
        return result
    except (OSError, ValueError, KeyError, TypeError):
        return None


def show_shipped(presenter_height: int | None = None) -> None:
    """The shipped sweep's figure and what it shows. In presenter mode the page draws it beside Train
    (``presenter_height`` px tall) with its words folded, so the projector shows it without scrolling."""
    shipped = shipped_sweep()
    if shipped is None:
        st.warning(
            "The shipped sweep results (rnnviz/content/data/sweep_default.json) are missing or unreadable; "
            "`python -m rnnviz sweep` makes them again. You can still run a sweep below.",
            icon="📄",
        )
        return
    base = training.TrainConfig(**shipped["base"])
    words = st.expander("What the shipped sweep shows") if ui.presenting() else st.container()
    words.markdown(
        f"Each point is the share of {len(shipped['seeds'])} seeds whose model solved the "
        f"**{tasks.TASKS[base.task]}** within {base.steps} updates ({base.hidden_size} units, Adam at {base.lr}, "
        f"forget bias {base.forget_bias}). Hochreiter & Schmidhuber (1997) report the same shape: gradient-trained "
        "plain RNNs failed at long lags that the LSTM solved. These results ship with the app (made by "
        "`python -m rnnviz sweep`); the button reruns the sweep with your sidebar settings."
    )
    figure = ui.shared_figure(  # the same for every session of the server
        ("lab.shipped", str(SHIPPED)),
        lambda: sweep_figure(
            shipped["lengths"], training.success_rates(shipped), len(shipped["seeds"]), "Shipped sweep"
        ),
    )
    ui.show_figure(figure, key="lab.sweep_shipped", presenter_height=presenter_height)
    words.caption(training_lab.replay_caption(shipped.get("made_on")))


def show(lab: Lab, plan: SweepPlan) -> Callable[[], bool] | None:
    """The whole lag-sweep section for the sidebar's ``plan``; returns the poll of a sweep still running (the
    page calls it at the end of its run), else None."""
    st.subheader("Lag sweep: success against sequence length")
    if not ui.presenting():  # presenting, the page drew it beside Train
        show_shipped()
    cells = len(plan.cells)
    st.caption(
        f"Your sweep: {len(plan.lengths) * len(plan.seeds) * cells} runs of {plan.base.steps} updates "
        f"({len(plan.lengths)} lengths × {len(plan.seeds)} seeds × {cells} models), shared out to the server's "
        "training processes behind every Train press; a run another session's sweep already made is not trained "
        "again. It can take minutes."
    )
    left, right = st.columns([1, 1])
    pressed = left.button("Run the sweep with my settings", disabled=not cells, width="stretch", key="lab.sweep_run")
    right.button("■ Stop the sweep", width="stretch", key="lab.sweep_stop", on_click=stop_sweep)
    if pressed:
        lab.start_sweep(plan, submit)
    if lab.sweep is None:
        return None
    if lab.sweep.status == "running":
        return watch(lab.sweep)
    show_result(lab.sweep)
    return None


def submit(configs: list):
    """The sweep to the service as one press; None when it is refused (said here, with the reason)."""
    return ui.submitted(
        ui.training_service().sweep,
        configs,
        ui.session_owner(),
        ui.session_alive(),
        refused="The sweep was not started.",
    )


def stop_sweep() -> None:
    Lab.of(st.session_state).stop_sweep()  # the lab as it is when the click lands


def watch(sweep: Sweep) -> Callable[[], bool]:
    """A progress bar here, and the poll that fills it (True once every run has finished). Cheap, as thirty
    sessions may poll at once: the statuses are read without snapshots, the wait wakes only for this sweep's
    next run, and the bar is sent to the browser only when its words change."""
    bar = st.progress(0.0, text="Sweeping...")
    seen = {"statuses": None, "bar": None, "at": 0.0}

    def poll() -> bool:
        waiting = next((h for h in sweep.handles if h.status not in trainer.FINISHED), None)
        if waiting is None:
            return True
        waiting.wait(waiting.snapshot().version, timeout=0.25)
        _ = lab_state.KEY in st.session_state  # Streamlit's yield point: a click ends this run here, sending nothing
        statuses = [h.status for h in sweep.handles]
        if all(s in trainer.FINISHED for s in statuses):
            return True
        if statuses != seen["statuses"] or time.monotonic() - seen["at"] > 1.0:  # estimates move by the second
            seen["statuses"], seen["at"] = statuses, time.monotonic()
            snaps = sweep.snapshots()
            fraction, text = ui.sweep_progress(snaps)
            if "running" not in statuses:  # the sweep waits for a worker: when should its first run start?
                text += lab_state.starts_text(next(s for s in snaps if s.status == "queued"))
            if (fraction, text) != seen["bar"]:
                seen["bar"] = (fraction, text)
                bar.progress(fraction, text=text)
        return False

    return poll


def show_result(sweep: Sweep) -> None:
    done, total, plan = len(sweep.summaries), sweep.total, sweep.plan
    if sweep.status == "stopped":
        st.warning(
            f"Stopped after {done} of {total} runs. The figure shows the finished runs only; a missing point is "
            "a length where no run finished.",
            icon="⏹️",
        )
    if sweep.failed:
        why = ui.literal(next(iter(sweep.failed.values())))
        st.error(f"**{len(sweep.failed)} of {total} runs failed:** {why}", icon="⚠️")
    title = "Your sweep" + ("" if done == total else f" ({done} of {total} runs)")
    b = plan.base
    st.caption(
        f"Your sweep's settings: {tasks.TASKS[b.task]}, {b.hidden_size} units, {b.steps} updates, {b.optimizer} "
        f"at {b.lr}, {b.n_train} training sequences; lengths {', '.join(map(str, plan.lengths))}; seeds "
        f"{', '.join(map(str, plan.seeds))}."
    )
    rates = training.success_rates(sweep.result())
    figure = sweep_figure(list(plan.lengths), rates, len(plan.seeds) if done == total else None, title)
    ui.show_figure(figure, key="lab.sweep_mine")
