"""Faults said aloud: a worker that hangs (SIGSTOP) is noticed, killed and replaced, and its job fails with a
message that says so; a worker killed from outside (SIGKILL) fails its job with how it died, and the pool is
back to its full size at once."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from rnnviz.app import trainer, workers
from tests.helpers import finish, first_point, tiny

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="signals and /proc: Linux")


def long_press(seed: int = 0) -> tuple:
    return tuple(tiny(cell=cell, seed=seed, steps=50_000) for cell in ("rnn", "lstm"))


def wait_until(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"still not so after {timeout} s"
        time.sleep(0.05)


def worker_of(service, handle) -> int:
    return next(w.process.pid for w in service._workers if w.job is handle._job)


def test_a_stopped_worker_is_noticed_killed_and_replaced_and_the_page_gets_a_message():
    with trainer.TrainingService(workers=2, stall_after=1.5) as service:
        hung = service.submit(long_press(0), owner="A")
        other = service.submit(long_press(1), owner="B")
        first_point(hung), first_point(other)
        pid = worker_of(service, hung)
        os.kill(pid, signal.SIGSTOP)  # a hang: no message, no CPU time
        stopped_at = time.monotonic()
        snap = finish(hung, timeout=30)
        assert snap.status == "failed" and time.monotonic() - stopped_at >= 1.5
        assert snap.message == trainer.STALLED.format(seconds=1.5)
        assert "stopped responding" in snap.message and "Press Train to start again" in snap.message
        assert not Path(f"/proc/{pid}").exists()  # killed and reaped, not left stopped
        pids = service.stats()["workers"]
        assert len(pids) == 2 and pid not in pids  # its slot has a new worker
        assert service.stats()["stalls"] == 1
        assert other.snapshot().status == "running"  # the healthy worker was left alone
        other.stop()
        assert finish(service.submit((tiny(seed=3),))).status == "done"


def test_a_slow_worker_that_uses_cpu_is_not_a_stalled_one(monkeypatch):
    """No message for longer than stall_after, but CPU time going up: left alone."""
    clock = iter(range(0, 10_000, 10))
    seen = {"cpu": 0.0}

    def busy(pid):
        seen["cpu"] += 1.0
        return seen["cpu"]

    monkeypatch.setattr(workers, "cpu_seconds", busy)
    worker = workers.Worker(nice=10)
    try:
        now = next(clock)
        worker.heard_at = worker.busy_at = now
        assert not any(worker.stalled(next(clock), after=5) for _ in range(4))  # 40 s, CPU always moving
        assert worker.stalled(now + 51, after=5)  # but ten times stall_after without a message: a loop
        monkeypatch.setattr(workers, "cpu_seconds", lambda pid: 7.0)  # no CPU time any more
        worker.heard()
        start = worker.busy_at
        assert not worker.stalled(start + 1, after=5)
        assert not worker.stalled(start + 4, after=5) and worker.stalled(start + 7, after=5)
    finally:
        worker.quit()


def test_a_killed_worker_fails_its_job_with_how_it_died_and_the_pool_is_whole_again():
    with trainer.TrainingService(workers=2, prestart=True) as service:
        handle = service.submit(long_press(0), owner="A")
        first_point(handle)
        pid = worker_of(service, handle)
        os.kill(pid, signal.SIGKILL)
        snap = finish(handle)
        assert snap.status == "failed"
        assert snap.message == trainer.DIED.format(how="killed by SIGKILL: the system may have run out of memory")
        wait_until(lambda: len(service.stats()["workers"]) == 2)
        pids = service.stats()["workers"]
        assert pid not in pids and all(Path(f"/proc/{p}").exists() for p in pids)  # two live workers, at once
        both = [service.submit((tiny(seed=s, steps=2000),), owner=f"s{s}") for s in (1, 2)]
        assert [h.snapshot().status for h in both] == ["running", "running"]  # both slots take a job
        assert [finish(h).status for h in both] == ["done", "done"]


def test_how_a_worker_ended_in_words():
    assert trainer.death(-signal.SIGKILL) == "killed by SIGKILL: the system may have run out of memory"
    assert trainer.death(-signal.SIGTERM) == "killed by SIGTERM"
    assert trainer.death(3) == "exit code 3"


def test_stop_on_a_hung_worker_frees_its_slot_too():
    """Issue 24: a SIGSTOPped worker kept its slot after Stop (it never answers the stop)."""
    with trainer.TrainingService(workers=1, stall_after=1.5) as service:
        hung = service.submit(long_press(0), owner="A")
        first_point(hung)
        pid = worker_of(service, hung)
        os.kill(pid, signal.SIGSTOP)
        hung.stop()
        assert hung.snapshot().status == "stopped"  # at once, for the student who pressed Stop
        after = service.submit((tiny(seed=5),), owner="B")
        assert finish(after, timeout=30).status == "done"  # the slot came back: the hung worker was replaced
        assert pid not in service.stats()["workers"] and not Path(f"/proc/{pid}").exists()


def test_the_watchdogs_delay_comes_from_the_environment_and_a_bad_value_names_the_variable(monkeypatch):
    assert workers.default_stall_after({}) == workers.STALL_AFTER == 60
    assert workers.default_stall_after({workers.STALL_VARIABLE: "30"}) == 30
    for bad in ("0", "4.9", "-1", "1m", "nan"):
        with pytest.raises(ValueError, match=rf"{workers.STALL_VARIABLE} must be a number of seconds, at least 5"):
            workers.default_stall_after({workers.STALL_VARIABLE: bad})
    monkeypatch.setenv(workers.STALL_VARIABLE, "45")
    with trainer.TrainingService(workers=1) as service:  # no press: no worker starts
        assert service.stall_after == 45
    with trainer.TrainingService(workers=1, stall_after=1.5) as service:  # a test's own value wins
        assert service.stall_after == 1.5
    monkeypatch.setenv(workers.STALL_VARIABLE, "soon")
    with pytest.raises(ValueError, match=workers.STALL_VARIABLE):
        trainer.TrainingService(workers=1)
