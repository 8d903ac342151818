"""Training as a service shared by every session of one server: identical settings train once, different
settings run in a bounded pool of worker processes with a first-in, first-out queue.

One :class:`TrainingService` per server process (:func:`shared_service`, a module-level object outside
Streamlit's caches; the pages get it from ``ui.training_service()``). A session
submits the frozen configs of one press of Train (one :class:`training.TrainConfig` per model) and gets a
:class:`Handle`; it polls the handle for a :class:`Snapshot` and draws the curves from it.

- **Identical submissions share one computation.** The job is keyed by the tuple of configs. A submission
  whose key is queued, running or done attaches to that job: it sees every ``training.Progress`` point so far
  (so the page can replay the live curves from the start) and the latest trained parameters per model.
  ``Handle.joined`` says it attached to a job another submission started. Training is deterministic (the
  same config gives the same updates), so the replay is the run this session would have trained itself;
  only ``Progress.seconds`` (wall time) differs between two runs.
- **Different submissions queue.** At most ``workers`` jobs run at once (default: the CPUs this process may use,
  capped by ``RNNVIZ_TRAINING_WORKERS``), each in its own worker process (:mod:`rnnviz.app.workers`: a fresh
  interpreter, one BLAS thread, lower priority), the rest wait in FIFO order and report their position (1 = next).
- **Stop detaches.** ``Handle.stop()`` freezes that handle's view at the moment of the press (status
  'stopped', the partial history and parameters up to then) and detaches it from the job. The job itself
  stops only when no other handle is attached; otherwise it goes on for them (``Snapshot.detached``). A
  stopped job is not cached: the next identical press trains again.
- **A closed tab detaches too.** A submission may pass ``alive``, a function that says whether its
  session is still connected (the pages pass Streamlit's); the background thread asks it about once a
  second, and a handle whose session has been gone for ``orphan_after`` seconds (the pages: Streamlit's
  ``server.disconnectedSessionTTL``, after which the session could not come back) detaches. A handle
  that is garbage-collected detaches as well. Either way, a job nobody watches stops and frees its place
  in the pool.
- **Results are plain arrays.** A model comes back as a :class:`Trained` (state dict + readout, read-only
  arrays); ``Trained.model(cell)`` builds a fresh ``training.Model`` for the session that asks. (What the
  Training lab draws from a snapshot is ``rnnviz.app.lab_state.runs_of``.)
- **The lag sweep** submits one job per (cell, length, seed) run (:meth:`TrainingService.sweep`), so its
  runs use the whole pool and a run another session's sweep already made is not trained twice.
- **Admission** (:mod:`rnnviz.app.admission`): every submission is priced in work units before it is queued
  (a sweep as one press: the runs it still needs); the service refuses, with :class:`RefusedError` and the reason in
  a student's words, a press over the per-press cap or one the queue could not start within its bound. A
  session (``owner``) has one live submission of each ``kind`` ("train", "sweep", "lesson"): a new one stops
  the session's earlier one first (a run the two share goes on). A queued snapshot says when it should start
  (``Snapshot.starts_in``), from the work ahead of it and the throughput measured on finished jobs.
- Finished jobs stay in a least-recently-used index of ``keep`` jobs; a later identical press replays
  instantly.
- **Faults said aloud.** A worker that dies fails its job with a message that says how (its exit code, or the
  signal that killed it); a watchdog fails the job of a worker that made no progress for ``stall_after`` seconds
  (no message and no CPU time: stopped or stuck), kills that worker. Either way a new worker takes the place at
  once, so the pool keeps its size. ``instance`` names this service: a page that finds a run of another instance
  in its URL knows the server restarted and the run was lost.

Threads: every piece of state is guarded by one lock; one background thread per service reads the workers'
messages, notices dead and hung workers (the watchdog) and hands queued jobs to idle ones. (Over 500 lines on
purpose: everything that reads or writes the state under that lock stays in one file, so the lock's rules can be
checked in one place.)
"""

from __future__ import annotations

import atexit
import collections
import dataclasses
import heapq
import itertools
import signal
import sys
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from multiprocessing import connection

import numpy as np

from rnnviz.app import admission
from rnnviz.app.workers import MAX_WORKERS, Worker, default_stall_after, default_workers
from rnnviz.engine import tasks, training, weights

STATUSES = ("queued", "running", "done", "stopped", "failed")
FINISHED = ("done", "stopped", "failed")
KINDS = ("train", "sweep", "lesson", "forecast", "text")  # what a session may have one live submission of, each
STALLED = (
    "The training worker stopped responding (no progress for {seconds:.0f} s), so the server stopped it and "
    "started a new one; the run was stopped. Press Train to start again."
)
DIED = (
    "The training worker ended unexpectedly ({how}); the run was lost. The server started a new worker in its "
    "place: press Train to start again."
)
CLOSED = "The server's training service was shut down (the server restarted or is stopping); the run was lost."


JOB_SPEC_MODULES = ("rnnviz.engine.",)  # where a job spec's class may be defined (tests/conftest.py adds the tests')


def is_job_spec(config) -> bool:
    """Whether ``config`` is a **job spec**: training other than a ``training.TrainConfig`` (the Forecast and
    Text labs' models) that the service runs like any press. A job spec is a frozen, hashable, picklable
    object: an instance of a frozen dataclass defined at module level in the engine (a module named in
    ``JOB_SPEC_MODULES``, so a worker imports it by name and nothing a page script defines ever runs in a
    worker; the pages build specs from validated widget values, never from client data), with

    - ``check()``: raises ValueError when it cannot run;
    - ``steps``: its number of optimiser updates;
    - ``work()``: its price in the admission's work units (multiply-adds of the recurrent products, forward
      and backward, as ``admission.model_work`` counts them), so the per-press cap and the start estimates
      treat it like any press;
    - ``run()``: a generator run in the worker process, yielding ``(point, payload)`` after each evaluation
      interval: ``point`` has ``.step`` (updates done) and ``.seconds``; ``payload`` is any picklable value
      (say, the parameters and the forecasts so far). The snapshot's ``histories[i]`` collects the points and
      ``trained[i]`` holds the latest payload as it came (``Snapshot.run``/``result``/``record`` are for
      ``TrainConfig`` jobs only)."""
    kind = type(config)
    params = getattr(kind, "__dataclass_params__", None)
    return (
        not isinstance(config, training.TrainConfig)
        and params is not None
        and params.frozen
        and kind.__module__.startswith(JOB_SPEC_MODULES)
        and getattr(sys.modules.get(kind.__module__), kind.__qualname__, None) is kind  # at module level
        and all(callable(getattr(config, name, None)) for name in ("check", "work", "run"))
        and isinstance(getattr(config, "steps", None), int)
    )


class RefusedError(ValueError):
    """A submission this server does not take now; ``str()`` is the reason, in words a student can act on."""


def death(returncode: int | None) -> str:
    """How a worker process ended, in words: 'killed by SIGKILL, ...' or 'exit code 3'."""
    if returncode is not None and returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        oom = ": the system may have run out of memory" if -returncode == signal.SIGKILL else ""
        return f"killed by {name}{oom}"
    return f"exit code {returncode}"


@dataclass(frozen=True, eq=False)  # arrays: equal means the same object, never an elementwise comparison
class Trained:
    """A trained model as plain read-only arrays: the cell's state dict (PyTorch names) and the readout."""

    state_dict: dict
    readout_weight: np.ndarray  # (O, H)
    readout_bias: np.ndarray  # (O,)

    def model(self, cell: str) -> training.Model:
        """A new ``training.Model`` (its own copies of the arrays) for the session that asks."""
        return training.Model(
            weights.from_state_dict(cell, self.state_dict), self.readout_weight.copy(), self.readout_bias.copy()
        )

    @property
    def num_params(self) -> int:
        return int(sum(v.size for v in self.state_dict.values()) + self.readout_weight.size + self.readout_bias.size)


@dataclass(frozen=True)
class Snapshot:
    """What one handle sees of its job at one moment (immutable; safe to keep in session state)."""

    job_id: int
    status: str  # one of STATUSES
    position: int | None  # while queued: 1 is next
    message: str | None  # why it failed
    configs: tuple  # of training.TrainConfig, one per model
    histories: tuple  # per model: a tuple of training.Progress, oldest first
    trained: tuple  # per model: the latest Trained, or None before its first evaluation
    joined: bool  # this handle attached to a job another submission had started
    detached: bool  # this handle stopped, but the job goes on for other sessions
    started_at: float | None  # worker wall clock (time.time()) when training began
    finished_at: float | None
    version: int  # grows with every change of the job; see Handle.wait
    starts_in: float | None = None  # while queued: the estimated seconds until it starts
    shared_with: int = 0  # the most other jobs that trained at the same time as this one (its timings' load)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def updates(self) -> tuple:
        """Optimiser updates done per model (at the last evaluation point)."""
        return tuple(h[-1].step if h else 0 for h in self.histories)

    def by_cell(self) -> dict:
        """History per cell name, as the learning-curve figure takes it (one model per cell in a press)."""
        return {c.cell: list(h) for c, h in zip(self.configs, self.histories, strict=True)}

    def run(self, index: int = 0) -> training.ModelRun:
        """Model ``index`` at its last evaluation point: the only update a snapshot holds parameters for."""
        config, history, trained = self.configs[index], self.histories[index], self.trained[index]
        if not history or trained is None:
            raise ValueError(f"model {index} ({config.cell}) has no evaluation yet")
        return training.ModelRun(
            config, tuple(history), self.updates[index], history[-1].seconds, trained.model(config.cell)
        )

    def result(self, index: int = 0) -> training.TrainResult:
        """Model ``index`` as ``training.train`` would have returned it (the sweep reads ``.summary()``)."""
        config, history, trained = self.configs[index], self.histories[index], self.trained[index]
        run = self.run(index)
        last = history[-1]
        return training.TrainResult(
            config,
            history,
            run.solved,
            run.solved_step,
            last.test_metric,
            tasks.SPECS[config.task].metric,
            last.seconds,
            trained.num_params,
            dict(trained.state_dict),
            (trained.readout_weight, trained.readout_bias),
            run,
        )

    def record(self, index: int = 0) -> dict:
        """Model ``index`` as ``rnnviz.content.lessons.train_record`` writes a run (JSON-ready): the config,
        every evaluation point and the summary; ``wall_seconds`` is the worker's time for the whole job."""
        config = self.configs[index]
        wall = (self.finished_at or 0.0) - (self.started_at or 0.0)
        return {
            "wall_seconds": round(max(0.0, wall), 2),
            "config": dataclasses.asdict(config),
            "history": [dataclasses.asdict(p) for p in self.histories[index]],
            **self.result(index).summary(),
        }


class _Job:
    def __init__(self, job_id: int, configs: tuple, lock: threading.RLock):
        self.id = job_id
        self.configs = configs
        self.works = [admission.model_work(c) for c in configs]  # priced once
        self.work = sum(self.works)
        self.changed = threading.Condition(lock)  # the service's lock; a wait wakes only for this job
        self.status = "queued"
        self.message: str | None = None
        self.histories: list[list] = [[] for _ in configs]
        self.trained: list[Trained | None] = [None] * len(configs)
        self.watchers: dict[int, _Watch] = {}  # the handles attached and not stopped, by token
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.version = 0
        self.worker: Worker | None = None
        self.shared_with = 0  # the most other jobs running at once while this one ran

    def remaining(self) -> float:
        """Work units still to do: each model's price times the share of its updates not yet done."""
        left = 0.0
        for config, work, history in zip(self.configs, self.works, self.histories, strict=True):
            left += work * (1.0 - (history[-1].step if history else 0) / config.steps)
        return left


@dataclass
class _Watch:
    alive: Callable[[], bool] | None  # is the handle's session still there? None: not asked
    gone_since: float | None = None  # monotonic time alive() first said no (None: it said yes last)


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


class Handle:
    """One submission's view of a job. Keep it in the session's state; poll :meth:`snapshot` or
    :meth:`wait`; :meth:`stop` on the session's Stop."""

    def __init__(self, service: TrainingService, job: _Job, owner: Hashable, joined: bool, token: int):
        self._service = service
        self._job = job
        self.owner = owner
        self.joined = joined
        self._token = token
        self._frozen: Snapshot | None = None  # this handle's view since it stopped
        # When the handle is garbage: only a note on a deque (an append is atomic), which the background
        # thread acts on under the lock; a collection can run in any thread, even one holding the lock.
        self._dropped = weakref.finalize(self, service._dropped.append, (job, token))

    @property
    def job_id(self) -> int:
        return self._job.id

    @property
    def service(self) -> TrainingService:
        return self._service

    @property
    def ref(self) -> str:
        """This job's name across restarts: the service's instance and the job id ('3f2a9c1b-7')."""
        return f"{self._service.instance}-{self._job.id}"

    @property
    def status(self) -> str:
        """The job's status as this handle sees it, without building a snapshot (cheap, for polls)."""
        with self._service._lock:
            return "stopped" if self._frozen is not None else self._job.status

    def snapshot(self) -> Snapshot:
        with self._service._lock:
            return self._snapshot()

    def _snapshot(self) -> Snapshot:
        if self._frozen is not None:
            return self._frozen
        job = self._job
        return Snapshot(
            job_id=job.id,
            status=job.status,
            position=self._service._position(job),
            message=job.message,
            configs=job.configs,
            histories=tuple(tuple(h) for h in job.histories),
            trained=tuple(job.trained),
            joined=self.joined,
            detached=False,
            started_at=job.started_at,
            finished_at=job.finished_at,
            version=job.version,
            starts_in=self._service._starts_in(job) if job.status == "queued" else None,
            shared_with=job.shared_with,
        )

    def wait(self, after: int = -1, timeout: float | None = None) -> Snapshot:
        """The snapshot as soon as the job's version is past ``after`` or it has finished, or after
        ``timeout`` seconds, whichever comes first."""
        with self._job.changed:
            self._job.changed.wait_for(
                lambda: self._frozen is not None or self._job.version > after or self._job.status in FINISHED,
                timeout,
            )
            return self._snapshot()

    def stop(self) -> None:
        """Freeze this handle's view now and detach it; the job stops if no other handle is attached."""
        service = self._service
        with service._lock:
            if self._frozen is not None or self._job.status in FINISHED:
                return
            job = self._job
            job.watchers.pop(self._token, None)
            self._dropped.detach()
            others = bool(job.watchers)
            if not others:
                service._stop(job)
            snap = self._snapshot()
            self._frozen = dataclasses.replace(snap, status="stopped", position=None, detached=others, starts_in=None)
            self._job.changed.notify_all()


class TrainingService:
    """Shared training for one server process. ``workers`` bounds the jobs running at once (default:
    ``workers.default_workers()``, one per CPU this process may use, capped by ``RNNVIZ_TRAINING_WORKERS``);
    ``keep`` is how many finished jobs stay ready to replay. Workers run at a lower scheduling priority
    (``nice``, added to the server's) so the server's reruns get a core first: training takes every core the
    class leaves idle, never the pages' responsiveness. ``prestart`` starts the workers now instead of at the
    first press (a fresh interpreter importing NumPy takes seconds on a busy machine). ``orphan_after``: how
    many seconds a handle's session may be gone (its ``alive`` says no) before the handle detaches. ``policy``:
    the admission rules (default ``admission.Policy.from_env()``: the per-press cap from
    ``RNNVIZ_MAX_PRESS_WORK`` and the longest wait from ``RNNVIZ_MAX_WAIT``). ``stall_after``: how many seconds
    a running worker may show no sign of work (no message, no CPU time) before the watchdog stops it (default
    ``workers.default_stall_after()``: 60, or ``RNNVIZ_STALL_AFTER``)."""

    def __init__(
        self,
        workers: int | None = None,
        keep: int = 64,
        nice: int = 10,
        prestart: bool = False,
        orphan_after: float = 120.0,
        policy: admission.Policy | None = None,
        stall_after: float | None = None,
    ):
        workers = default_workers() if workers is None else workers
        stall_after = default_stall_after() if stall_after is None else stall_after
        if not 1 <= workers <= MAX_WORKERS:
            raise ValueError(f"workers must be between 1 and {MAX_WORKERS}, got {workers}")
        if keep < 1:
            raise ValueError(f"keep must be at least 1, got {keep}")
        if not 0 <= nice <= 19:
            raise ValueError(f"nice must be between 0 and 19, got {nice}")
        if not orphan_after >= 0:
            raise ValueError(f"orphan_after must be a number of seconds, at least 0, got {orphan_after}")
        if not stall_after > 0:
            raise ValueError(f"stall_after must be a number of seconds above 0, got {stall_after}")
        self.orphan_after = orphan_after
        self.stall_after = stall_after
        self.policy = admission.Policy.from_env() if policy is None else policy
        self.throughput = admission.Throughput()  # measured on this server's finished jobs
        self.instance = uuid.uuid4().hex[:8]
        self._owned: dict[tuple, list[weakref.ref]] = {}  # (owner, kind) -> its live submission's handles
        self._estimates: dict[int, float] = {}  # job id -> seconds until it starts (queued jobs)
        self._estimated_at = -1e9
        self._watched_at = 0.0  # when the watchdog last looked
        self._asked_at = 0.0  # when the pump last asked the handles' alive()
        self.size = workers
        self.nice = nice
        self.keep = keep
        self._lock = threading.RLock()
        self._index: collections.OrderedDict[tuple, _Job] = collections.OrderedDict()  # queued, running, done
        self._queue: collections.deque[_Job] = collections.deque()  # Train presses, first in first out
        self._later: collections.deque[_Job] = collections.deque()  # sweep runs: after every press
        self._workers: list[Worker] = []
        self._pump: threading.Thread | None = None
        self._closed = False
        self._ids = itertools.count(1)
        self._tokens = itertools.count(1)
        self._dropped: collections.deque[tuple[_Job, int]] = collections.deque()  # see Handle.__init__
        self.computations = 0  # jobs handed to a worker: what was actually computed
        self.submissions = 0
        self.peak_running = 0
        self.refusals = 0
        self.stalls = 0  # workers the watchdog stopped
        if prestart:
            with self._lock:
                self._start_pump()
                self._workers = [Worker(self.nice) for _ in range(self.size)]

    # ---- submitting ----------------------------------------------------------------------------------

    def submit(
        self,
        configs: Sequence[training.TrainConfig],
        owner: Hashable | None = None,
        *,
        later: bool = False,
        alive: Callable[[], bool] | None = None,
        kind: str = "train",
    ) -> Handle:
        """Train ``configs`` (one per model) or attach to the identical job already queued, running or done.
        ``owner`` names the session: its earlier live submission of the same ``kind`` stops first (see the
        module docstring); ``later`` queues the job behind every press (the sweep's runs); ``alive`` says
        whether the submitting session is still connected. The job goes on while any handle to it is attached.
        :class:`RefusedError` when the admission policy says no (the message says why); ValueError on a config
        that fails its own check."""
        return self._submit([configs], owner, later, alive, kind)[0]

    def sweep(
        self,
        configs: Sequence[training.TrainConfig],
        owner: Hashable | None = None,
        alive: Callable[[], bool] | None = None,
    ) -> list[Handle]:
        """One job per run (each a single config), so a sweep's runs share the pool and any run already
        made, by this or another session, is not trained again. They queue behind every Train press, so a
        sweep never makes a class wait. Admitted or refused as one press (the runs not made yet)."""
        return self._submit([(config,) for config in configs], owner, True, alive, "sweep")

    def quote(self, configs: Sequence[training.TrainConfig], owner: Hashable | None = None, kind: str = "train"):
        """What a submission of ``configs`` would meet now, without submitting it: ``(decision, seconds,
        starts_in)``, the admission decision, the estimated seconds of a worker it costs (0: it would replay
        or join a run) and the estimated seconds until it would start."""
        groups = [self._checked(configs)]
        with self._lock:
            decision, work, waiting = self._decide(groups, owner, kind, later=kind == "sweep")
            starts = admission.estimated_start([waiting], self.size, self.throughput) if work else 0.0
            return decision, self.throughput.seconds(work), starts

    def _checked(self, configs: Sequence[training.TrainConfig]) -> tuple:
        configs = tuple(configs)
        if not configs:
            raise ValueError("submit at least one training config")
        for config in configs:
            if not (isinstance(config, training.TrainConfig) or is_job_spec(config)):
                raise ValueError(f"expected training.TrainConfig or a job spec, got {type(config).__name__}")
            config.check()
        return configs

    def _submit(self, groups, owner, later, alive, kind) -> list[Handle]:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        groups = [self._checked(g) for g in groups]
        if not groups:
            raise ValueError("submit at least one training config")
        named = owner is not None
        owner = object() if owner is None else owner
        with self._lock:
            if self._closed:
                raise ValueError("the training service is closed")
            decision = self._decide(groups, owner if named else None, kind, later)[0]
            if not decision.admitted:
                self.refusals += 1
                raise RefusedError(decision.reason)
            handles = [self._attach(configs, owner, later, alive) for configs in groups]
            if named:
                self._replace(owner, kind, handles)
            return handles

    def _attach(self, configs: tuple, owner: Hashable, later: bool, alive) -> Handle:
        self.submissions += 1
        job = self._index.get(configs)
        joined = job is not None
        if job is None:
            job = _Job(next(self._ids), configs, self._lock)
            self._index[configs] = job
            (self._later if later else self._queue).append(job)
            self._start_pump()
            self._dispatch()
        else:
            self._index.move_to_end(configs)
            if not later and job in self._later:  # a press wants what a sweep queued: it goes first
                self._later.remove(job)
                self._queue.append(job)
                self._moved()
        token = next(self._tokens)
        job.watchers[token] = _Watch(alive)
        return Handle(self, job, owner, joined, token)

    def stats(self) -> dict:
        with self._lock:
            return {
                "computations": self.computations,
                "submissions": self.submissions,
                "running": sum(w.job is not None for w in self._workers),
                "queued": len(self._queue) + len(self._later),
                "peak_running": self.peak_running,
                "refusals": self.refusals,
                "stalls": self.stalls,
                "per_second": self.throughput.per_second,
                "workers": [w.process.pid for w in self._workers],
                "cached": sum(j.status == "done" for j in self._index.values()),
            }

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Stop every worker (their jobs end as failed) and the background thread. Closing twice does nothing."""
        with self._lock:
            self._closed = True
            workers, self._workers = self._workers, []
            for job in [*self._queue, *self._later] + [w.job for w in workers if w.job is not None]:
                self._finish(job, "failed", CLOSED)
            self._queue.clear()
            self._later.clear()
        for w in workers:
            w.quit()
        if self._pump is not None and self._pump is not threading.current_thread():
            self._pump.join(2)

    def __enter__(self) -> TrainingService:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- inside the lock -----------------------------------------------------------------------------

    def _own(self, owner: Hashable, kind: str) -> list[Handle]:
        """The live handles of ``owner``'s last submission of ``kind``."""
        handles = (ref() for ref in self._owned.get((owner, kind), ()))
        return [h for h in handles if h is not None and h._frozen is None and h._job.status not in FINISHED]

    def _decide(self, groups: list[tuple], owner: Hashable | None, kind: str, later: bool):
        """The admission decision for ``groups`` (one tuple of configs per job), its new work and the work
        waiting ahead of it. Runs that exist already cost nothing (they are joined or replayed); the owner's
        live submission of this kind does not count as waiting if nobody else watches it (it stops first)."""
        work = sum(admission.press_work(g) for g in dict.fromkeys(groups) if g not in self._index)
        own = self._own(owner, kind) if owner is not None else []
        tokens = {h._token for h in own}
        replaced = {id(h._job) for h in own if set(h._job.watchers) <= tokens}
        ahead = [w.job for w in self._workers if w.job is not None] + list(self._queue)
        ahead += list(self._later) if later else []
        waiting = sum(j.remaining() for j in ahead if id(j) not in replaced)
        if not work:
            return admission.Decision(True, replaces=tuple(own)), 0.0, waiting
        return self.policy.admit(work, waiting, self.size, self.throughput, own), work, waiting

    def _replace(self, owner: Hashable, kind: str, handles: list[Handle]) -> None:
        """Stop ``owner``'s earlier submission of ``kind`` (runs the new one shares go on), keep the new one."""
        keep = {id(h._job) for h in handles}
        for old in self._own(owner, kind):
            if id(old._job) not in keep:
                old.stop()
        self._owned[(owner, kind)] = [weakref.ref(h) for h in handles]

    def _starts_in(self, job: _Job) -> float | None:
        """Seconds until queued ``job`` should start: the workers' remaining work and every job ahead of it,
        each given to the first worker free, at the measured throughput (worked out at most once a second)."""
        now = time.monotonic()
        if now - self._estimated_at > 1.0 or job.id not in self._estimates:
            self._estimated_at = now
            speed = self.throughput
            free = [speed.seconds(w.job.remaining()) if w.job is not None else 0.0 for w in self._workers]
            free += [0.0] * max(0, self.size - len(free))
            heapq.heapify(free)
            self._estimates = {}
            for queued in itertools.chain(self._queue, self._later):
                at = heapq.heappop(free)
                self._estimates[queued.id] = at
                heapq.heappush(free, at + speed.seconds(queued.work))
        return self._estimates.get(job.id)

    def _position(self, job: _Job) -> int | None:
        if job.status != "queued":
            return None
        return next(i for i, j in enumerate(itertools.chain(self._queue, self._later), 1) if j is job)

    def _changed_job(self, job: _Job) -> None:
        job.version += 1
        job.changed.notify_all()

    def _finish(self, job: _Job, status: str, message: str | None = None, at: float | None = None) -> None:
        job.status, job.message = status, message
        job.finished_at = at if at is not None else time.time()
        if status != "done" and self._index.get(job.configs) is job:
            del self._index[job.configs]  # only complete runs are replayed
        if status == "done":
            finished = [k for k, j in self._index.items() if j.status == "done"]
            for key in finished[: max(0, len(finished) - self.keep)]:
                del self._index[key]
        self._changed_job(job)

    def _stop(self, job: _Job) -> None:
        if job.status == "queued":
            (self._queue if job in self._queue else self._later).remove(job)
            self._moved()
        elif job.worker is not None:
            try:
                job.worker.send.send(("stop", job.id))
            except OSError:  # it died meanwhile: _reap sees to it
                pass
        self._finish(job, "stopped")

    def _dispatch(self) -> None:
        while self._queue or self._later:
            idle = next((w for w in self._workers if w.job is None), None)
            if idle is None and len(self._workers) < self.size:
                idle = Worker(self.nice)
                self._workers.append(idle)
            if idle is None:
                return
            job = (self._queue or self._later).popleft()
            idle.job, job.worker, job.status = job, idle, "running"
            idle.heard()  # the watchdog counts from here
            idle.send.send((job.id, job.configs))
            self.computations += 1
            running = [w.job for w in self._workers if w.job is not None]
            self.peak_running = max(self.peak_running, len(running))
            for other in running:  # every running job now shares the cores with all the others
                other.shared_with = max(other.shared_with, len(running) - 1)
            self._changed_job(job)
            self._moved()

    def _moved(self) -> None:
        """Every queued job's position may have changed."""
        for queued in itertools.chain(self._queue, self._later):
            self._changed_job(queued)

    def _release(self, worker: Worker) -> None:
        if worker.job is not None:
            worker.job.worker = None
        worker.job = None

    # ---- the background thread -----------------------------------------------------------------------

    def _start_pump(self) -> None:
        if self._pump is None:
            self._pump = threading.Thread(target=self._run_pump, name="rnnviz-training-pump", daemon=True)
            self._pump.start()

    def _run_pump(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                watched = [w.results for w in self._workers]  # a dead worker's pipe reads as end-of-file
            if watched:
                connection.wait(watched, timeout=0.1)
            else:
                time.sleep(0.1)
            with self._lock:
                if self._closed:
                    return
                for worker in list(self._workers):
                    self._read(worker)
                self._forget_dropped()
                self._forget_gone()
                self._watchdog()
                self._reap()
                self._dispatch()

    def _forget_dropped(self) -> None:
        """Detach the handles that were garbage-collected."""
        while self._dropped:
            job, token = self._dropped.popleft()
            job.watchers.pop(token, None)
            self._stop_unwatched(job)

    def _forget_gone(self) -> None:
        """About once a second: detach the handles whose session has been gone for ``orphan_after`` seconds."""
        now = time.monotonic()
        if now - self._asked_at < 1.0:
            return
        self._asked_at = now
        for key in [k for k in self._owned if not self._own(*k)]:  # sessions with nothing live: forgotten
            del self._owned[key]
        for job in [j for j in self._index.values() if j.status not in FINISHED]:
            for token, watch in list(job.watchers.items()):
                if watch.alive is None:
                    continue
                try:
                    here = watch.alive()
                except Exception:  # it cannot tell: better a run nobody watches than a run stopped under someone
                    here = True
                if here:
                    watch.gone_since = None
                    continue
                watch.gone_since = now if watch.gone_since is None else watch.gone_since
                if now - watch.gone_since >= self.orphan_after:
                    del job.watchers[token]
            self._stop_unwatched(job)

    def _stop_unwatched(self, job: _Job) -> None:
        if not job.watchers and job.status not in FINISHED:
            self._stop(job)

    def _read(self, worker: Worker) -> None:
        """Apply every message the worker has sent so far."""
        try:
            while worker.results.poll():
                worker.heard()
                self._apply(worker.results.recv())
        except (EOFError, OSError):  # it died; _reap sees to its job
            pass

    def _worker_of(self, job_id: int) -> Worker | None:
        return next((w for w in self._workers if w.job is not None and w.job.id == job_id), None)

    def _apply(self, message: tuple) -> None:
        kind, job_id = message[0], message[1]
        worker = self._worker_of(job_id)
        if worker is None:  # a job the service already gave up on (its worker was replaced)
            return
        job = worker.job
        if kind == "started":
            job.started_at = message[2]
            self._changed_job(job)
        elif kind == "progress":
            if job.status == "running":  # a stopped job keeps the history it had at the press
                _, _, index, point, payload = message
                job.histories[index].append(point)
                if isinstance(job.configs[index], training.TrainConfig):
                    state_dict, weight, bias = payload
                    state = {k: _frozen(v) for k, v in state_dict.items()}
                    job.trained[index] = Trained(state, _frozen(weight), _frozen(bias))
                else:  # a job spec's own payload, kept as it came (see is_job_spec)
                    job.trained[index] = payload
                self._changed_job(job)
        else:  # "done", "stopped" or "failed": the worker is free
            if job.status == "running":
                self._finish(job, kind, message[3] if kind == "failed" else None, at=message[2])
                if kind == "done" and job.started_at is not None:
                    self.throughput.record(job.work, message[2] - job.started_at)
            self._release(worker)

    def _watchdog(self) -> None:
        """About once a second: a running worker that showed no sign of work for ``stall_after`` seconds (see
        ``Worker.stalled``) is killed, its job fails with a message that says so, and a new worker takes its
        place."""
        now = time.monotonic()
        if now - self._watched_at < 1.0:
            return
        self._watched_at = now
        for worker in [w for w in self._workers if w.job is not None and w.alive()]:
            if worker.stalled(now, self.stall_after):
                self.stalls += 1
                worker.process.kill()  # SIGKILL ends a stopped process too
                worker.process.wait()
                self._replace_worker(worker, STALLED.format(seconds=self.stall_after))

    def _reap(self) -> None:
        """Replace dead workers; a job whose worker died has failed, with how it died."""
        for worker in [w for w in self._workers if not w.alive()]:
            self._replace_worker(worker, DIED.format(how=death(worker.process.returncode)))

    def _replace_worker(self, worker: Worker, message: str) -> None:
        """A worker that is gone: read what it sent before, fail its running job with ``message``, close its
        pipes and, if it was working, start a new worker now so the pool keeps its size (a worker that died
        idle is replaced when a job needs it: no loop of restarts if workers cannot start at all)."""
        self._read(worker)  # messages it sent before it died still count
        self._workers.remove(worker)
        job = worker.job
        if job is not None and job.status == "running":
            self._finish(job, "failed", message)
        self._release(worker)
        worker.send.close()
        worker.results.close()
        if job is not None and not self._closed:
            self._workers.append(Worker(self.nice))


# --------------------------------------------------------------------------------------------------
# The process's one service


def check_environment() -> None:
    """Read every setting the service takes from the environment (``RNNVIZ_TRAINING_WORKERS``,
    ``RNNVIZ_STALL_AFTER``, ``RNNVIZ_MAX_PRESS_WORK``, ``RNNVIZ_MAX_WAIT``): ValueError naming the first bad one.
    ``rnnviz app`` calls it before it starts the server, so a typo stops the server at start."""
    default_workers()
    default_stall_after()
    admission.Policy.from_env()


_shared: TrainingService | None = None
_shared_lock = threading.Lock()


def shared_service(**options) -> TrainingService:
    """The server process's one training service, made at the first call (``options`` are
    :class:`TrainingService`'s and apply then only) and closed when the process exits.

    A module-level object, not a Streamlit cache: any client can send Streamlit's "clear caches" message, and a
    service kept in ``st.cache_resource`` would then be dropped while its workers and thread ran on, and the
    next press would build a second one (issue 24 measured 20 orphaned workers after ten rounds)."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared.closed:
            _shared = TrainingService(**options)
            atexit.register(_shared.close)
        return _shared
