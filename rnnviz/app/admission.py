"""Admission to the shared training service: what a press costs, whether a shared server takes it, and when it
may start.

A class shares one server: thirty presses of the largest settings would queue for two hours. So every press is
priced before it is queued, in **work units** (multiply-adds of the recurrent products, forward and backward,
and of the evaluations), and a server admits a press only when

- its work is at most ``max_press_work`` (bigger runs belong to the command line, ``rnnviz train``),
- the work already waiting would start it within ``max_wait`` seconds, and
- its owner (one browser session) has no other job waiting or running: a new press replaces the session's own
  earlier one, which the service stops first.

A refusal carries its reason in words a student can act on. The estimated start of a queued press comes from the
work ahead of it and the throughput the server measured on its own finished jobs (work units per second per
worker), so it tracks the machine the app runs on.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rnnviz.app.workers import seconds_from_env
from rnnviz.engine import tasks
from rnnviz.engine.cells import GATE_COUNT
from rnnviz.engine.training import TrainConfig

CAP_VARIABLE = "RNNVIZ_MAX_PRESS_WORK"  # the per-press cap in work units ("6e11"; "inf": no cap, a private server)
WAIT_VARIABLE = "RNNVIZ_MAX_WAIT"  # seconds of queue a press may join ("900"; "inf": never refuse for the queue)
BACKWARD_FACTOR = 3.0  # a training update: the forward products and about twice as much again backward


def model_work(config: TrainConfig) -> float:
    """Work units of training one model: its updates (forward + backward over a batch) and its evaluations
    (forward over the probe and test sets, every ``eval_every`` updates). A job spec (``trainer.is_job_spec``)
    prices itself: ``config.work()``."""
    if not isinstance(config, TrainConfig):
        return float(config.work())
    H, D = config.hidden_size, tasks.SPECS[config.task].input_size
    per_sequence_step = GATE_COUNT[config.cell] * H * (H + D + 1)
    updates = config.steps * config.batch_size * BACKWARD_FACTOR
    evaluations = (config.steps // config.eval_every + 1) * (config.n_test + min(config.n_train, config.n_test))
    return float(per_sequence_step * config.length * (updates + evaluations))


def press_work(configs: Iterable[TrainConfig]) -> float:
    """Work units of one press: every model it trains."""
    return sum(model_work(c) for c in configs)


@dataclass(frozen=True)
class Decision:
    admitted: bool
    reason: str = ""  # why not, in the student's words
    replaces: tuple = ()  # the owner's earlier jobs to stop first


@dataclass
class Throughput:
    """Work units per second of one worker, as measured on finished jobs: an exponential average that starts
    from ``per_second`` and moves ``weight`` of the way to each new measurement. The start is the Training lab's
    default press measured on a 2-core Xeon (1.7e10 units in about 17 s); larger matrices run up to 5x faster
    per unit (the largest press: 3.0e12 units in about 530 s), so an estimate is good to a factor of a few
    until the server has measured its own jobs."""

    per_second: float = 1.0e9
    weight: float = 0.3

    def record(self, work: float, seconds: float) -> None:
        if work > 0 and seconds > 0.05:  # a replay or an instant failure says nothing about speed
            self.per_second += self.weight * (work / seconds - self.per_second)

    def seconds(self, work: float) -> float:
        return work / self.per_second


@dataclass(frozen=True)
class Policy:
    """The rules of one server.

    ``max_press_work`` defaults to about two minutes of a core: 36 times the Training lab's default press (three
    models, adding problem, length 50, 16 units, 1000 updates: 1.7e10 units) and a fifth of its largest
    (temporal order, length 200, 64 units, 3000 updates, three models: 3.0e12 units, measured at about 530 s of
    a core). A sweep is priced as one press: the runs it still needs. ``max_wait`` bounds the queue by time, not
    by count (a sweep is 36-45 jobs, a Train press one): a press is refused when the work already waiting would
    keep it queued longer than that, at the measured throughput.
    """

    max_press_work: float = 6.0e11
    max_wait: float = 15 * 60.0

    @classmethod
    def from_env(cls, environ: Mapping = os.environ) -> Policy:
        """The default rules, with the per-press cap from ``RNNVIZ_MAX_PRESS_WORK`` and the longest wait from
        ``RNNVIZ_MAX_WAIT`` (seconds) when they are set. ValueError, naming the variable, on a cap that is not a
        positive number or a wait below one second (a typo must not quietly lift the cap or close the queue)."""
        cap = cls.max_press_work
        raw = environ.get(CAP_VARIABLE, "").strip()
        if raw:
            try:
                cap = float(raw)
            except ValueError:
                cap = math.nan
            if not cap > 0:
                raise ValueError(f"{CAP_VARIABLE} must be a positive number of work units (say 6e11), got {raw!r}")
        return cls(max_press_work=cap, max_wait=seconds_from_env(environ, WAIT_VARIABLE, cls.max_wait, 1, "900"))

    def admit(
        self, work: float, waiting_work: float, workers: int, throughput: Throughput, own_jobs: Sequence = ()
    ) -> Decision:
        """Whether a press of ``work`` units is queued behind ``waiting_work`` units (every queued or running
        job's remaining work, less the owner's own jobs, which this press replaces and which stop first)."""
        if work > self.max_press_work:
            return Decision(
                False,
                # no time in words here: the estimate starts from small presses and larger matrices run up to 5x
                # faster per unit, so "about 40 min" would be the largest press's 9 min overstated
                f"This run is {work / self.max_press_work:.1f}× the largest this shared server trains. Use fewer "
                "updates, a shorter sequence, fewer units or fewer models, or run it on your own machine with "
                "`rnnviz train`.",
            )
        wait = estimated_start([waiting_work], workers, throughput)
        if wait > self.max_wait:
            return Decision(
                False,
                f"The server is busy: the runs already waiting would keep yours queued for {wait_words(wait)}. "
                "Try again in a few minutes, or pick settings someone already trained (they replay at once).",
            )
        return Decision(True, replaces=tuple(own_jobs))


def estimated_start(work_ahead: Iterable[float], workers: int, throughput: Throughput) -> float:
    """Seconds until a queued job starts: the work of the jobs ahead of it (running ones: what is left of them)
    shared by ``workers`` workers at the measured throughput. An estimate: jobs end unevenly."""
    return throughput.seconds(sum(work_ahead)) / max(1, workers)


def wait_words(seconds: float) -> str:
    """'about 40 s', 'about 3 min': rounded so it does not pretend to a precision it lacks."""
    if seconds < 60:
        return f"about {max(5, round(seconds / 5) * 5):.0f} s"
    return f"about {seconds / 60:.0f} min"
