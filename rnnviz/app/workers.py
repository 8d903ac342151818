"""The training service's worker processes: how one starts, how many the machine allows, and the loop it runs.

The service (:mod:`rnnviz.app.trainer`) owns the queue and the bookkeeping; this module is what runs on the
other side of the pipes. A worker is a fresh interpreter that imports only rnnviz (never a fork: the server
has threads), runs one job at a time, sends a ``training.Progress`` point and the parameters after every
evaluation interval, and looks for a stop between intervals. ``concurrent.futures`` would be shorter, but it
can neither stream progress out of a running task nor stop one task of the pool.

Messages, each a pickled tuple on the worker's own pipes:

- server to worker: ``(job_id, configs)`` a job; ``("stop", job_id)``; ``None`` to quit.
- worker to server: ``("started", job_id, time)``, ``("progress", job_id, index, point, (state_dict, weight,
  bias))``, then one of ``("done", job_id, time)``, ``("stopped", job_id, time)``, ``("failed", job_id, time,
  message)``.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from multiprocessing import connection
from pathlib import Path

from rnnviz.engine import blas, tasks, training

# Set in every worker's environment before NumPy loads there: the workers and the server share the cores, and
# extra BLAS threads on these small products made a press 30-75% slower (see rnnviz/engine/blas.py).
ONE_THREAD = blas.ONE_THREAD
CAP_VARIABLE = "RNNVIZ_TRAINING_WORKERS"  # an upper bound on the worker processes (say, 1 on a shared host)
STALL_VARIABLE = "RNNVIZ_STALL_AFTER"  # seconds without a sign of work before the watchdog stops a worker
MAX_WORKERS = 64
STALL_AFTER = 60.0  # the watchdog's default
MIN_STALL_AFTER = 5.0  # from the environment: a worker at nice +10 on a busy machine may wait seconds for a core
_ROOT = str(Path(__file__).resolve().parents[2])  # where the worker imports rnnviz from
_CGROUP = Path("/sys/fs/cgroup")


def cgroup_cpus(root: Path = _CGROUP) -> int | None:
    """The CPUs a container's CPU quota allows, rounded up, or None without a quota: cgroup v2's ``cpu.max``
    ("max 100000" or "150000 100000") or cgroup v1's ``cpu/cpu.cfs_quota_us`` over ``cpu.cfs_period_us``."""
    for quota_file, period_file in (
        (root / "cpu.max", None),
        (root / "cpu" / "cpu.cfs_quota_us", root / "cpu" / "cpu.cfs_period_us"),
        (root / "cpu,cpuacct" / "cpu.cfs_quota_us", root / "cpu,cpuacct" / "cpu.cfs_period_us"),
    ):
        try:
            fields = quota_file.read_text().split()
            if period_file is not None:
                fields = fields[:1] + period_file.read_text().split()[:1]
            quota, period = fields[0], fields[1]
            if quota in ("max", "-1"):
                return None
            return max(1, math.ceil(int(quota) / int(period)))
        except (OSError, ValueError, IndexError, ZeroDivisionError):
            continue
    return None


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used, from Linux's ``/proc/<pid>/stat``; None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def usable_cpus(cgroup_root: Path = _CGROUP) -> int:
    """The CPUs this process may use: its CPU affinity (``taskset``, a container's cpuset), bounded by a
    cgroup CPU quota; ``os.cpu_count()`` where affinity is unknown (macOS, Windows)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    quota = cgroup_cpus(cgroup_root)
    return max(1, min(cpus, quota) if quota is not None else cpus)


def default_workers(environ=os.environ, cgroup_root: Path = _CGROUP) -> int:
    """How many worker processes the service runs: one per usable CPU (at most ``MAX_WORKERS``), capped by the
    environment variable ``RNNVIZ_TRAINING_WORKERS`` when it is set. ValueError on a cap that is not a
    whole number from 1 to ``MAX_WORKERS`` (a typo must not quietly become a server with 64 workers)."""
    workers = min(usable_cpus(cgroup_root), MAX_WORKERS)
    raw = environ.get(CAP_VARIABLE, "").strip()
    if raw:
        try:
            cap = int(raw)
        except ValueError:
            cap = 0
        if not 1 <= cap <= MAX_WORKERS:
            raise ValueError(f"{CAP_VARIABLE} must be a whole number from 1 to {MAX_WORKERS}, got {raw!r}")
        workers = min(workers, cap)
    return workers


def seconds_from_env(environ, name: str, default: float, least: float, example: str) -> float:
    """A number of seconds from the environment variable ``name``: ``default`` when it is unset or empty, "inf"
    for no limit. ValueError, naming the variable, on anything else that is not a number of at least ``least``
    seconds: a typo must stop the server at start, never quietly become another setting."""
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not value >= least:  # also refuses "nan"
        raise ValueError(f"{name} must be a number of seconds, at least {least:g} (say {example}), got {raw!r}")
    return value


def default_stall_after(environ=os.environ) -> float:
    """Seconds a running worker may show no sign of work (no message, no CPU time) before the watchdog stops
    it: ``STALL_AFTER``, or ``RNNVIZ_STALL_AFTER`` when it is set (at least ``MIN_STALL_AFTER``)."""
    return seconds_from_env(environ, STALL_VARIABLE, STALL_AFTER, MIN_STALL_AFTER, "60")


class Worker:
    """A worker process: a fresh interpreter that imports only rnnviz (never fork: the server has threads).

    Not multiprocessing's 'spawn': it re-imports the parent's ``__main__``, and inside Streamlit that is the
    page script the session last ran (the script runner installs it as ``__main__``), so every worker would
    run a page. Pipes of its own carry pickled messages both ways, never a queue shared by all workers (a
    worker killed while writing to a shared queue leaves its lock held and the others blocked). ``job`` is
    the service's record of the job it runs (the service reads and writes it under its lock)."""

    def __init__(self, nice: int):
        child_reads, parent_writes = os.pipe()
        parent_reads, child_writes = os.pipe()
        path = os.pathsep.join(filter(None, [_ROOT, os.environ.get("PYTHONPATH")]))
        code = "import sys; from rnnviz.app.workers import entry; entry(*map(int, sys.argv[1:]))"
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", code, str(child_reads), str(child_writes), str(nice)],
                pass_fds=(child_reads, child_writes),
                env={**os.environ, **ONE_THREAD, "PYTHONPATH": path},  # before NumPy loads there
                stdin=subprocess.DEVNULL,
            )
        finally:
            os.close(child_reads)
            os.close(child_writes)
        self.send = connection.Connection(parent_writes, readable=False)
        self.results = connection.Connection(parent_reads, writable=False)
        self.job = None
        self._cpu: float | None = None  # its CPU time when the watchdog last looked
        self.heard()

    def alive(self) -> bool:
        return self.process.poll() is None

    def heard(self) -> None:
        """A message came (or a job was handed over): the worker is at work."""
        self.heard_at = self.busy_at = time.monotonic()

    def stalled(self, now: float, after: float) -> bool:
        """Whether the worker has shown no sign of work for ``after`` seconds: no message and no CPU time used
        (a stopped process, or one blocked forever), or no message for ten times as long whatever its CPU
        says (a loop). A worker that is merely slow, on a busy machine, still uses CPU time."""
        cpu = cpu_seconds(self.process.pid)
        if cpu is not None and cpu != self._cpu:
            self._cpu, self.busy_at = cpu, now
        return now - self.busy_at > after or now - self.heard_at > 10 * after

    def quit(self) -> None:
        """Ask it to end, wait up to 2 s, then kill it; close the pipes."""
        try:
            self.send.send(None)
        except (OSError, ValueError):
            pass
        try:
            self.process.wait(2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(2)
        self.send.close()
        self.results.close()


# --------------------------------------------------------------------------------------------------
# Inside the worker process


def entry(reads: int, writes: int, nice: int) -> None:
    """The worker's ``main``: its two pipe ends and how much to lower its priority."""
    if nice and hasattr(os, "nice"):
        os.nice(nice)
    serve(connection.Connection(reads, writable=False), connection.Connection(writes, readable=False))


def serve(jobs, results) -> None:
    """Run jobs one at a time: train the models of a job in turn, one evaluation interval each, and send every
    progress point back. Between intervals, look for ("stop", job id); a stop for a job already over is
    ignored."""
    while True:
        try:
            item = jobs.recv()
        except EOFError:
            return
        if item is None:
            return
        if item[0] == "stop":
            continue
        job_id, configs = item
        results.send(("started", job_id, time.time()))
        try:
            outcome = _train(job_id, configs, jobs, results)
            if outcome is None:  # the server is gone, or asked this worker to quit
                return
            results.send((outcome, job_id, time.time()))
        except (BrokenPipeError, EOFError):  # the server is gone: nobody is waiting for this job
            return
        except Exception as err:  # reported to the session; the worker takes the next job
            text = str(err) if isinstance(err, ValueError) else f"{type(err).__name__}: {err}"
            results.send(("failed", job_id, time.time(), text))


def _train(job_id: int, configs: tuple, jobs, results) -> str | None:
    """Train one job's models in turn, an evaluation interval each: "done", "stopped", or None to quit."""
    datasets, runs = {}, {}
    for index, config in enumerate(configs):
        if not isinstance(config, training.TrainConfig):  # a job spec (trainer.is_job_spec): it runs itself
            runs[index] = config.run()
            continue
        key = (config.task, config.length, config.n_train, config.n_test, config.seed)
        if key not in datasets:  # the same data for every model of a press, made once
            datasets[key] = tasks.make_task(*key[:4], seed=config.seed)
        runs[index] = training.train_steps(config, datasets[key])
    while runs:
        for index in list(runs):
            while jobs.poll():
                message = jobs.recv()  # EOFError: the server is gone, handled by the caller
                if message is None:
                    return None
                if message == ("stop", job_id):
                    return "stopped"
            try:
                point, model = next(runs[index])
            except StopIteration:
                del runs[index]
                continue
            if isinstance(configs[index], training.TrainConfig):
                plain = (model.cell.state_dict(), model.readout_weight, model.readout_bias)
            else:  # a job spec's payload goes as it is
                plain = model
            results.send(("progress", job_id, index, point, plain))
    return "done"
