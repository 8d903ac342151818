"""The Training lab's state, apart from the page that draws it: what a press of Train and a lag sweep are, how
they move from one status to the next, and the engine calls the page needs. No Streamlit here, so every
transition is tested without a page (tests/test_lab_state.py); the page keeps one :class:`Lab` in the session's
state and only draws it.

A session's lab is ``idle`` until the first press of Train, and each press is a :class:`TrainRun`::

    idle --press--> queued --(a worker is free)--> running --> done      (the budget spent: verdicts)
                      |                               |-----> stopped   (Stop, or another press of new settings)
                      |--------------Stop------------>|-----> failed    (the worker reported an error, died or hung)
                      |------------------------------>|-----> lost      (the server's training service restarted)

``queued`` and ``running`` are read from the training service's job (:mod:`rnnviz.app.trainer`), which lives on
across the page's reruns; the three end states are written once, by :meth:`Lab.settle` (at the top of every
script run) or by Stop, never by a poll: a click starts the next script run while the last one may still be
polling (Streamlit's fast reruns), so polls only read. A :class:`Sweep` goes running -> done or stopped the
same way, with one job per run.

A press the server refuses (over the per-press cap, or a queue too long: :mod:`rnnviz.app.admission`) leaves
the lab as it was; the page says why. A run is **lost** when the service that trained it is gone: in this
process (the record's handle belongs to a closed service) or across a server restart (the page's URL names a
run, ``run=<service instance>-<job id>``, of a service instance this server is not): :func:`lost_in_url`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, replace

from rnnviz.app import admission
from rnnviz.app.trainer import CLOSED, Handle, Snapshot
from rnnviz.engine import tasks, training
from rnnviz.figures import common, equations, stepper

MODELS = ("rnn", "lstm", "gru")
OUTCOMES = tuple(c for r in range(len(MODELS) + 1) for c in itertools.combinations(MODELS, r))  # () .. all three
DEFAULTS = training.TrainConfig()
SMALL = training.SMALL_DATA
KEY = "_lab.state"  # where a session's Lab is kept in its state (private, like _ui.*: not one of the page's settings)
RUN_PARAM = "run"  # the URL's name of the run a page follows (service instance and job id), while it is live
LOST = (
    "**Your run was lost.** The server restarted while it trained (or its training service was shut down), so the "
    "run and its curves are gone. Its settings are still in this page's address and in the sidebar: press the "
    "button to train them again."
)


# --------------------------------------------------------------------------------------------------
# The page's settings -> training configs, in one place


def config_for(settings: Mapping, cell: str) -> training.TrainConfig:
    """The config of model ``cell`` in a press of Train with the page's ``settings`` (by field name: the URL's
    fields, ``training.URL_FIELDS``, and ``small``), through the one mapping the CLI and the lessons use."""
    named = {name: settings[name] for name in (*training.URL_FIELDS, "small")}
    return training.config_from_settings(named, cell=cell, eval_every=max(int(settings["steps"]) // 40, 5))


def press_configs(settings: Mapping, cells: Sequence[str]) -> dict[str, training.TrainConfig]:
    """One config per selected model, in the page's order of models."""
    return {cell: config_for(settings, cell) for cell in cells}


@dataclass(frozen=True)
class SweepPlan:
    """What "Run the sweep with my settings" would train: every (length, seed) group of the selected models."""

    base: training.TrainConfig
    cells: tuple
    lengths: tuple
    seeds: tuple

    @classmethod
    def of(cls, settings: Mapping, cells: Sequence[str]) -> SweepPlan:
        lengths = (10, 20, 50, 100) if settings["task"] == "order" else (5, 10, 20, 50, 100)
        return cls(replace(config_for(settings, "lstm"), eval_every=25), tuple(cells), lengths, (0, 1, 2))

    def configs(self) -> list[training.TrainConfig]:
        groups = training.sweep_groups(self.base, self.cells, self.lengths, self.seeds)
        return [config for group in groups for config in group.values()]


def describe(config: training.TrainConfig) -> str:
    return (
        f"{tasks.TASKS[config.task]}, length {config.length}, {config.hidden_size} units, {config.steps} updates, "
        f"{config.optimizer} at {config.lr}, {config.n_train} training sequences, seed {config.seed}"
    )


def outcome_label(kinds) -> str:
    """An outcome as the prediction's options say it: "none", "LSTM", "LSTM and GRU", "RNN, LSTM and GRU"."""
    names = [common.model_name(k) for k in kinds]
    if not names:
        return "none"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def outcomes_of(cells: Sequence[str]) -> list[tuple]:
    """The outcomes a prediction may choose for these models: every subset, none first."""
    return [o for o in OUTCOMES if set(o) <= set(cells)]


def quote_text(decision: admission.Decision, seconds: float, starts_in: float) -> str:
    """What a press with the sidebar's settings would meet, before it is pressed (``TrainingService.quote``)."""
    if not decision.admitted:
        return f"A press with these settings would be refused now: {decision.reason}"
    if seconds <= 0:
        return "These settings have a run on this server already: a press replays it, or joins it while it trains."
    start = "at once" if starts_in < 5 else f"in {admission.wait_words(starts_in)}"
    cost = admission.wait_words(seconds)
    return f"A press with these settings takes {cost} of a training process; it would start {start}."


def starts_text(snap: Snapshot) -> str:
    """' · starts in about 2 min' for a queued snapshot with an estimate, else ''."""
    if snap.status != "queued" or snap.starts_in is None:
        return ""
    return " · starts " + ("any moment now" if snap.starts_in < 5 else f"in {admission.wait_words(snap.starts_in)}")


def lost_in_url(ref: str | None, lab: Lab, instance: str) -> bool:
    """Whether the URL's ``run=`` names a run of another service instance that this session does not hold: the
    page was following a run when the server restarted (a new process, a new instance, a fresh session)."""
    if not ref or ref.partition("-")[0] == instance:
        return False
    held = lab.run is not None and lab.run.handle is not None and lab.run.handle.ref == ref
    return not held


# --------------------------------------------------------------------------------------------------
# A press of Train


def runs_of(snapshot: Snapshot, data: tuple[tasks.Dataset, tasks.Dataset] | None = None) -> dict:
    """``{cell: training.ModelRun}`` for every model of ``snapshot``, as the Training lab draws them: each at
    its last evaluation point. A model with none yet (stopped while queued, or before its first evaluation
    point) is its untrained model evaluated at update 0, so every model shows a result and no update it
    never had is claimed. ``data`` = (train, test) of the configs, made from the first config when needed."""
    runs = {}
    for index, config in enumerate(snapshot.configs):
        if snapshot.histories[index] and snapshot.trained[index] is not None:
            runs[config.cell] = snapshot.run(index)
            continue
        if data is None:
            data = tasks.make_task(config.task, config.length, config.n_train, config.n_test, seed=config.seed)
        start = training.ModelRun(config, (), 0, 0.0, training.init_model(config, tasks.SPECS[config.task]))
        runs[config.cell] = training.evaluate_now(start, data)
    return runs


class ServiceRun:
    """What every lab's press on the shared training service does alike (the Training, Forecast and Text labs):
    a subclass is a dataclass with ``handle`` (the service's) and ``ended`` (None while live) fields and an
    ``_end(snapshot)`` that records how it ended and its result."""

    @property
    def live(self) -> bool:
        return self.ended is None

    def settle(self, service=None) -> bool:
        """If the job has finished, record how it ended and its result; True if it has ended. A live run whose
        handle belongs to a service other than ``service`` (the server's current one) is lost."""
        if self.ended is None and service is not None and self.handle.service is not service:
            self.ended = "lost"
        if self.ended is None and (snap := self.handle.snapshot()).finished:
            self._end(snap)
        return self.ended is not None

    def stop(self) -> None:
        """Stop: this session stops watching; the job stops too unless another session watches it."""
        if self.ended is None:
            self.handle.stop()
            self._end(self.handle.snapshot())


def replayed_by(handle, mine: set) -> str | None:
    """Whether a press's ``handle`` replays a run: "yours" (a job this session started, its id in ``mine``),
    "other" (another session's) or None (a new job, whose id joins ``mine``)."""
    if handle.joined:
        return "yours" if handle.job_id in mine else "other"
    mine.add(handle.job_id)
    return None


@dataclass(eq=False)
class TrainRun(ServiceRun):
    """One press of Train. ``configs`` by cell (what was pressed, not what the sidebar says now); ``handle``
    the service's (None for a record made without one, as a test's stand-in); ``replayed`` None, "yours" or
    "other" (this press attached to a job this session or another session started). Once it has ended,
    ``ended`` is "done", "stopped", "failed" or "lost" and ``runs`` holds each model's ``training.ModelRun``
    (none for a failed or lost run)."""

    configs: dict
    prediction: tuple | None = None
    handle: Handle | None = None
    replayed: str | None = None
    ended: str | None = None
    runs: dict = field(default_factory=dict)
    message: str | None = None  # why it failed
    detached: bool = False  # stopped here while the job goes on for other sessions
    shared_with: int = 0  # other training jobs that ran beside it on the server (its timings were taken so)

    @classmethod
    def finished(cls, configs: dict, runs: dict, prediction: tuple | None = None, ended: str = "done") -> TrainRun:
        """A record of a run that has ended, with its runs given (no service involved)."""
        return cls(configs, prediction, ended=ended, runs=dict(runs))

    @property
    def status(self) -> str:
        """queued, running (from the service's job), done, stopped or failed."""
        if self.ended is not None:
            return self.ended
        return "queued" if self.handle.snapshot().status == "queued" else "running"

    @property
    def first(self) -> training.TrainConfig:
        return next(iter(self.configs.values()))

    def _end(self, snap: Snapshot) -> None:
        self.detached, self.shared_with = snap.detached, snap.shared_with
        if snap.status == "failed" and snap.message == CLOSED:
            self.ended = "lost"
        elif snap.status == "failed":
            self.ended, self.message = "failed", snap.message
        else:
            self.ended, self.runs = ("done" if snap.status == "done" else "stopped"), runs_of(snap)

    def updates_text(self) -> str:
        """'update 250' or 'updates 200 to 250': where the models of an ended run stand."""
        low, high = min(r.updates for r in self.runs.values()), max(r.updates for r in self.runs.values())
        return f"update {low}" if low == high else f"updates {low} to {high}"

    def reveal(self) -> tuple[str, bool] | None:
        """The prediction against the measured outcome: (text, right), or None without a prediction."""
        if self.prediction is None:
            return None
        said = outcome_label(self.prediction)
        if self.ended != "done":
            return (
                f"You predicted **{said}**. The run was stopped at {self.updates_text()} of {self.first.steps}, "
                "before the end of its budget, so there is no outcome to compare with yet: train again and let "
                "every model finish.",
                False,
            )
        solved = tuple(c for c in self.configs if self.runs[c].solved)
        failed = [common.model_name(c) for c in self.configs if c not in solved]
        measured = f"**{outcome_label(solved)}** solved it" + (
            f" ({' and '.join(failed)} did not)" if solved and failed else ""
        )
        if len(solved) > 1:
            order = sorted(solved, key=lambda c: self.runs[c].solved_step)
            measured += "; first to get there: " + ", ".join(
                f"{common.model_name(c)} at update {self.runs[c].solved_step}" for c in order
            )
        right = tuple(self.prediction) == solved
        return f"You predicted **{said}**; measured: {measured}. " + ("Right ✔" if right else "Not this time."), right


# --------------------------------------------------------------------------------------------------
# A lag sweep: one job per run


@dataclass(eq=False)
class Sweep:
    """One press of "Run the sweep": the plan and one handle per run (in the plan's order). ``done`` holds each
    finished run's summary by its index, ``failed`` each failed run's message."""

    plan: SweepPlan
    handles: list
    ended: str | None = None  # "done" or "stopped"
    done: dict = field(default_factory=dict)
    failed: dict = field(default_factory=dict)

    @property
    def status(self) -> str:
        return self.ended or "running"

    @property
    def total(self) -> int:
        return len(self.handles)

    @property
    def summaries(self) -> list[dict]:
        return list(self.done.values())

    def snapshots(self) -> list[Snapshot]:
        return [h.snapshot() for h in self.handles]

    def collect(self) -> None:
        """Add every newly finished run's summary."""
        for i, snap in enumerate(self.snapshots()):
            if snap.status == "done" and i not in self.done:
                self.done[i] = snap.run(0).summary()
            elif snap.status == "failed":
                self.failed[i] = snap.message

    def settle(self) -> bool:
        """If every run has finished, collect them and end as done; True if the sweep has ended."""
        if self.ended is None and all(s.finished for s in self.snapshots()):
            self.collect()
            self.ended = "done"
        return self.ended is not None

    def stop(self) -> None:
        if self.ended is None:
            for handle in self.handles:
                handle.stop()
            self.collect()
            self.ended = "stopped"

    def result(self) -> dict:
        """The sweep record of the finished runs, as ``training.success_rates`` reads it."""
        p = self.plan
        return training.sweep_result(p.base, p.cells, p.lengths, p.seeds, self.summaries)


# --------------------------------------------------------------------------------------------------
# The session's lab


@dataclass(eq=False)
class Lab:
    """Everything the Training lab keeps for one session: the last press of Train, the last sweep, and the ids
    of the jobs this session started (a later press that attaches to one of them replays the student's own
    run). ``submit(configs)`` and ``sweep(configs)`` are the training service's, bound to the session by the
    page; either may return None when the page refused the press (it has said why)."""

    run: TrainRun | None = None
    sweep: Sweep | None = None
    mine: set = field(default_factory=set)
    lost: bool = False  # the page found a lost run in its URL (lost_in_url); until the next press

    @classmethod
    def of(cls, state: MutableMapping) -> Lab:
        """The session's lab, kept in ``state`` (Streamlit's session state), made idle on first use. Callbacks
        look it up again when they fire instead of keeping the object: the state may have been cleared or
        replaced since the widget was drawn."""
        return state.setdefault(KEY, cls())

    @property
    def phase(self) -> str:
        """idle before the first press, else the last press's status."""
        return "idle" if self.run is None else self.run.status

    def settle(self, service=None) -> None:
        """Record what finished since the last script run (the only place, with Stop, that changes a record);
        ``service``: the server's current training service (a run of another one is lost)."""
        if self.run is not None:
            self.run.settle(service)
        if self.sweep is not None:
            self.sweep.settle()

    def press(self, configs: dict, prediction: tuple | None, submit: Callable) -> TrainRun | None:
        """A press of Train. The same settings as the live run: that run goes on. Otherwise the configs go to
        the service, and a live run of other settings is stopped (this session no longer watches it)."""
        old = self.run
        if old is not None and old.live and old.configs == configs:
            return old
        handle = submit(tuple(configs.values()))
        if handle is None:
            return None
        self.lost = False
        if old is not None and old.live:
            old.handle.stop()
        self.run = TrainRun(configs, prediction, handle, replayed_by(handle, self.mine))
        return self.run

    def stop(self) -> None:
        if self.run is not None:
            self.run.stop()

    def start_sweep(self, plan: SweepPlan, sweep: Callable) -> Sweep | None:
        """A press of "Run the sweep": submit its runs, then stop this session's previous sweep (runs the two
        share go on for the new one)."""
        handles = sweep(plan.configs())
        if handles is None:
            return None
        self.stop_sweep()
        self.sweep = Sweep(plan, list(handles))
        return self.sweep

    def stop_sweep(self) -> None:
        if self.sweep is not None:
            self.sweep.stop()


# --------------------------------------------------------------------------------------------------
# The engine calls of the page


def gates_figure(run: training.ModelRun, unit: int):
    """The Cell stepper's heatmaps and diagram for a trained model on one test sequence (seed + 1000, a
    sequence it never trained on), with ``unit`` on the diagram."""
    config, cell = run.config, run.model.cell
    _, test_set = tasks.make_task(config.task, config.length, 1, 1, seed=config.seed + 1000)
    trace = cell.forward(test_set.x[:, 0].astype(cell.dtype))
    x = trace.x.astype(float)
    detail = stepper.Detail(config.cell, unit, equations.unit_series(cell, x, trace.h, trace.c, trace.gates, unit))
    panels = stepper.trace_panels(config.cell, trace.h, trace.c, trace.gates, pick=False)
    return stepper.timeline_figure(x, panels, detail=detail)
