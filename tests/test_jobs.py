"""The shared training service: one computation per distinct press, a bounded pool with a FIFO queue,
Stop, failures and crashes. Real worker processes; tiny runs (tests.helpers.tiny)."""

from __future__ import annotations

import dataclasses
import gc
import os
import signal
import threading
import time
import types
from pathlib import Path

import numpy as np
import pytest

from rnnviz.app import admission, trainer, workers
from rnnviz.engine import tasks, training
from tests.helpers import TINY, CountingSpec, finish, first_point, tiny


def press(seed: int = 0, **changes) -> tuple:
    """What one Train press submits: one config per model, the same data for all."""
    return tuple(tiny(cell=cell, seed=seed, **changes) for cell in ("rnn", "lstm", "gru"))


def without_time(history) -> list:
    """Progress points minus the wall time, which is the only thing two identical runs may differ in."""
    return [dataclasses.replace(p, seconds=0.0) for p in history]


def test_identical_presses_share_one_computation_equal_to_training_directly(service):
    configs = press()
    first = service.submit(configs, owner="session A")
    second = service.submit(configs, owner="session B")
    assert (first.joined, second.joined) == (False, True)
    a, b = finish(first), finish(second)
    assert a.status == b.status == "done"
    assert service.stats()["computations"] == 1
    assert a.histories == b.histories

    data = tasks.make_task(TINY.task, TINY.length, TINY.n_train, TINY.n_test, seed=0)
    for index, config in enumerate(configs):
        run = list(training.train_steps(config, data))
        points, model = [point for point, _ in run], run[-1][1]
        assert without_time(a.histories[index]) == without_time(points)
        assert a.updates[index] == config.steps
        trained = a.trained[index]
        params = {**trained.state_dict, "readout.weight": trained.readout_weight, "readout.bias": trained.readout_bias}
        readout = {"readout.weight": model.readout_weight, "readout.bias": model.readout_bias}
        expected = {**model.cell.state_dict(), **readout}
        assert params.keys() == expected.keys()
        for name, value in expected.items():
            np.testing.assert_array_equal(params[name], value)
        assert not trained.readout_weight.flags.writeable  # shared across sessions: nobody may write
        rebuilt = trained.model(config.cell)
        np.testing.assert_array_equal(rebuilt.outputs(data[1].x[:, :3])[0], model.outputs(data[1].x[:, :3])[0])

    late = service.submit(configs, owner="session C")  # after it finished: replayed at once
    assert late.joined and late.snapshot().status == "done"
    assert late.snapshot().histories == a.histories
    assert service.stats()["computations"] == 1


def test_different_presses_queue_first_in_first_out():
    with trainer.TrainingService(workers=1) as service:
        handles = [service.submit(press(seed)) for seed in range(3)]
        snaps = [h.snapshot() for h in handles]
        assert [(s.status, s.position) for s in snaps] == [("running", None), ("queued", 1), ("queued", 2)]
        done = [finish(h) for h in handles]
        assert [s.status for s in done] == ["done"] * 3
        assert done[0].finished_at <= done[1].started_at and done[1].finished_at <= done[2].started_at
        assert service.stats()["computations"] == 3
        assert service.stats()["peak_running"] == 1


def test_a_job_knows_whether_it_trained_alone_or_beside_others(service):
    """The page says whether its timings were taken alone: a job records the most others that ran with it."""
    alone = finish(service.submit(press(100)))
    assert alone.shared_with == 0
    long = dataclasses.replace(TINY, steps=400)
    pair = [service.submit(tuple(dataclasses.replace(long, cell=c, seed=s) for c in ("rnn",))) for s in (101, 102)]
    snaps = [finish(h) for h in pair]  # two workers: the second started while the first was running
    assert [s.shared_with for s in snaps] == [1, 1]


def test_the_pool_never_runs_more_jobs_than_its_size(service):
    handles = [service.submit(press(seed)) for seed in range(5)]
    snaps = [finish(h) for h in handles]
    assert all(s.status == "done" for s in snaps)
    events = sorted([(s.started_at, 1) for s in snaps] + [(s.finished_at, -1) for s in snaps])
    running = np.cumsum([change for _, change in events])
    assert running.max() <= 2
    assert service.stats()["peak_running"] <= 2
    assert service.stats()["computations"] == 5


def test_stop_keeps_the_partial_history_and_frees_the_worker(service):
    long = press(steps=5000)
    handle = service.submit(long)
    first_point(handle)
    handle.stop()
    stopped = handle.snapshot()
    assert stopped.status == "stopped" and not stopped.detached
    assert any(stopped.updates) and max(stopped.updates) < 5000
    assert all(len(h) == u // 5 for h, u in zip(stopped.histories, stopped.updates, strict=True))
    time.sleep(0.5)
    assert handle.snapshot() == stopped  # frozen at the press
    again = service.submit(long)  # a stopped run is not replayed: the next press trains again
    assert not again.joined
    again.stop()
    assert finish(service.submit(press(seed=7))).status == "done"  # both workers free again


def test_stop_detaches_one_session_while_another_watches(service):
    configs = press(steps=400)
    watcher = service.submit(configs, owner="session A")
    quitter = service.submit(configs, owner="session B")
    first_point(quitter)
    quitter.stop()
    left = quitter.snapshot()
    assert left.status == "stopped" and left.detached
    done = finish(watcher)
    assert done.status == "done" and done.updates == (400, 400, 400)
    assert quitter.snapshot() == left
    assert service.stats()["computations"] == 1


def wait_until(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"still not so after {timeout} s"
        time.sleep(0.05)


def test_a_dropped_handle_stops_the_job_nobody_else_watches(service):
    """What happens when Streamlit discards a closed tab's session state, and the handle in it."""
    long = press(steps=5000)
    handle = service.submit(long, owner="a tab that closes")
    first_point(handle)
    del handle
    gc.collect()
    wait_until(lambda: service.stats()["running"] == 0)  # the worker is free again
    again = service.submit(long)
    assert not again.joined  # the dropped run was stopped, not kept to be replayed
    again.stop()


def test_a_dropped_handle_leaves_the_job_to_the_session_still_watching(service):
    configs = press(steps=200)
    watcher = service.submit(configs, owner="session A")
    closed = service.submit(configs, owner="session B")
    del closed
    gc.collect()
    done = finish(watcher)
    assert done.status == "done" and done.updates == (200, 200, 200)
    assert service.stats()["computations"] == 1


def test_a_handle_whose_session_is_gone_for_orphan_after_seconds_detaches_and_its_job_stops():
    connected = {"A": True, "B": True}
    with trainer.TrainingService(workers=1, orphan_after=1.0) as service:
        long = press(steps=5000)
        a = service.submit(long, owner="A", alive=lambda: connected["A"])
        b = service.submit(press(seed=1, steps=5000), owner="B", alive=lambda: connected["B"])
        first_point(a)
        connected["A"] = False  # tab A closed; B waits in the queue, still connected
        time.sleep(0.5)
        assert a.snapshot().status == "running"  # gone for less than orphan_after: not yet
        wait_until(lambda: a.snapshot().status == "stopped")
        assert first_point(b).status == "running"  # the worker went to B, still connected
        assert not service.submit(long).joined  # A's run was stopped, not kept
        b.stop()


def test_a_session_that_sweeps_again_and_stops_its_old_sweep_keeps_the_runs_both_share(service):
    """The Training lab's second press of the sweep: it submits the new sweep, then stops the old one; the
    runs they have in common must go on for the new sweep."""
    configs = [tiny(cell="rnn", steps=200, seed=s) for s in (0, 1)]
    old = service.sweep(configs, owner="me")
    new = service.sweep(configs, owner="me")
    for handle in old:
        handle.stop()
    assert [finish(h).status for h in new] == ["done", "done"]
    assert service.stats()["computations"] == 2


def test_stopping_a_queued_press_never_computes_it():
    with trainer.TrainingService(workers=1) as service:
        running = service.submit(press(0))
        queued = service.submit(press(1))
        behind = service.submit(press(2))
        queued.stop()
        assert queued.snapshot().status == "stopped" and queued.snapshot().updates == (0, 0, 0)
        assert behind.snapshot().position == 1
        finish(running), finish(behind)
        assert service.stats()["computations"] == 2


def test_a_config_the_data_refuses_fails_with_the_value_error_message(service):
    bad = tiny(task="order", length=5)  # passes its own check; temporal order needs 10 steps
    with pytest.raises(ValueError) as expected:
        tasks.make_task("order", 5, 10, 10)
    snap = finish(service.submit((bad,)))
    assert snap.status == "failed" and snap.message == str(expected.value)
    assert finish(service.submit(press())).status == "done"  # the worker goes on


def test_submit_refuses_a_config_that_fails_its_check(service):
    with pytest.raises(ValueError, match="steps must be between"):
        service.submit((tiny(steps=0),))
    with pytest.raises(ValueError, match="at least one"):
        service.submit(())


def test_a_worker_that_dies_fails_its_job_and_the_service_goes_on(service):
    handle = service.submit(press(steps=5000))
    first_point(handle)
    (pid,) = service.stats()["workers"]
    os.kill(pid, signal.SIGKILL)
    snap = finish(handle)
    assert snap.status == "failed" and "ended unexpectedly" in snap.message
    assert finish(service.submit(press())).status == "done"
    assert pid not in service.stats()["workers"]


def test_the_sweep_runs_each_config_once_and_matches_train(service):
    configs = [tiny(cell=cell, length=length) for cell in ("rnn", "lstm") for length in (5, 10)]
    handles = service.sweep(configs, owner="session A")
    again = service.sweep(configs, owner="session B")
    assert all(h.joined for h in again)
    for config, handle in zip(configs, handles, strict=True):
        got = finish(handle).result().summary()
        want = training.train(config).summary()
        for timing in ("seconds", "seconds_per_step"):
            got.pop(timing), want.pop(timing)
        assert got == want
    assert service.stats()["computations"] == len(configs)


def test_only_the_most_recent_finished_jobs_are_kept():
    with trainer.TrainingService(workers=1, keep=1) as service:
        finish(service.submit(press(0)))
        finish(service.submit(press(1)))
        assert service.submit(press(1)).joined
        assert not service.submit(press(0)).joined  # evicted: trains again


# --------------------------------------------------------------------------------------------------
# Figures built once per view (rnnviz.app.ui.shared_figure), shown through ui.show_figure


def _figure_script(key: str) -> None:
    import streamlit as st

    from rnnviz.app import ui
    from rnnviz.engine import studies
    from rnnviz.figures import stepper

    config = studies.CellConfig(length=30)
    run = ui.cached_run(config)
    built = []

    def build():
        built.append(1)
        return stepper.timeline_figure(run.x, stepper.trace_panels(run.kind, run.h, run.c, run.gates), step=4)

    ui.show_figure(build(), key="direct")
    ui.show_figure(ui.shared_figure((key, config, 4), build), key="shared")
    ui.show_figure(ui.shared_figure((key, config, 4), build), key="again")
    st.text(f"built {len(built)}")


def test_a_shared_figure_is_built_once_and_sends_the_same_json():
    from streamlit.testing.v1 import AppTest

    key = f"test-{time.time_ns()}"
    first = AppTest.from_function(_figure_script, args=(key,), default_timeout=60).run()
    assert not first.exception
    direct, shared, again = (chart.proto.spec for chart in first.get("plotly_chart"))
    assert shared == direct and again == direct
    assert first.text[0].value == "built 2"  # the direct figure, then one build for both shared calls
    second = AppTest.from_function(_figure_script, args=(key,), default_timeout=60).run()  # another session
    assert second.text[0].value == "built 1"  # only the direct one
    assert [c.proto.spec for c in second.get("plotly_chart")][1] == direct


def test_sweep_runs_wait_behind_presses_and_a_press_promotes_the_same_run():
    with trainer.TrainingService(workers=1) as service:
        running = service.submit(press(0))
        sweep = service.sweep([tiny(seed=s) for s in (1, 2, 3)])
        pressed = service.submit(press(4))
        assert pressed.snapshot().position == 1
        assert [h.snapshot().position for h in sweep] == [2, 3, 4]
        same = service.submit((tiny(seed=3),))  # a press of what the sweep queued last: it jumps ahead
        assert same.joined and same.snapshot().position == 2
        assert [h.snapshot().position for h in sweep] == [3, 4, 2]
        for handle in (running, pressed, *sweep):
            assert finish(handle).status == "done"
        assert service.stats()["computations"] == 5


def test_workers_start_with_one_blas_thread_and_a_lower_priority(service):
    before = {k: os.environ.get(k) for k in workers.ONE_THREAD}
    finish(service.submit(press()))
    assert {k: os.environ.get(k) for k in workers.ONE_THREAD} == before  # the server's own setting is left alone
    (pid,) = service.stats()["workers"]
    environ = dict(item.split("=", 1) for item in open(f"/proc/{pid}/environ").read().split("\0") if "=" in item)
    assert {k: environ.get(k) for k in workers.ONE_THREAD} == workers.ONE_THREAD
    assert os.getpriority(os.PRIO_PROCESS, pid) == os.getpriority(os.PRIO_PROCESS, 0) + 10


def test_prestarted_workers_are_ready_before_the_first_press():
    with trainer.TrainingService(workers=2, prestart=True) as service:
        assert len(service.stats()["workers"]) == 2
        handles = [service.submit(press(seed)) for seed in range(2)]
        assert [h.snapshot().status for h in handles] == ["running", "running"]
        assert all(finish(h).status == "done" for h in handles)
        assert len(service.stats()["workers"]) == 2


def test_workers_never_run_the_servers_main_module(service, monkeypatch, tmp_path):
    """Streamlit installs the page script it runs as ``__main__``; a worker must not import it (it would run
    a page, or fail): the workers start a fresh interpreter that imports rnnviz only."""
    import sys
    import types

    script = tmp_path / "page.py"
    script.write_text("raise SystemExit('a worker ran the page script')\n")
    page = types.ModuleType("__main__")
    page.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", page)
    assert finish(service.submit(press())).status == "done"


def _service_script(seed: int = 0) -> None:
    import streamlit as st

    from rnnviz.app import ui
    from rnnviz.engine import training

    config = training.TrainConfig(length=10, hidden_size=4, steps=20, eval_every=5, n_train=200, n_test=100, seed=seed)
    handle = ui.training_service().submit((config,), owner=ui.session_owner())
    snap = handle.wait(timeout=0)
    while not snap.finished:
        snap = handle.wait(snap.version, timeout=1)
    st.text(f"{snap.status} {snap.updates[0]} joined={handle.joined}")


def test_the_pages_service_trains_inside_streamlits_script_runner():
    from streamlit.testing.v1 import AppTest

    first = AppTest.from_function(_service_script, default_timeout=120).run()
    assert not first.exception and first.text[0].value == "done 20 joined=False"
    second = AppTest.from_function(_service_script, default_timeout=120).run()  # another session: replayed
    assert second.text[0].value == "done 20 joined=True"


def worker_processes() -> set[int]:
    """The pids of this process's children that run a training worker (Linux: read from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue  # it ended meanwhile
        if ppid == os.getpid() and b"rnnviz.app.workers" in command:
            found.add(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="counts worker processes through /proc")
def test_clearing_streamlits_caches_neither_duplicates_nor_orphans_the_service(monkeypatch):
    """Issue 24: any client may send Streamlit's "clear caches" message. Between presses, run what the server
    does on that message; the workers stay within the cap and an identical press still replays."""
    from streamlit.runtime.app_session import AppSession
    from streamlit.testing.v1 import AppTest

    def clear_caches():  # Streamlit's own handler of the message (which rnnviz.app.wire may have wrapped to
        # ignore it: this test is about a server that does clear), on a stand-in for the session's state
        handler = AppSession._handle_clear_cache_request
        handler = getattr(handler, "__wrapped__", handler)
        handler(types.SimpleNamespace(_session_state={"lab.run": "a record"}))

    def pumps():
        return {t for t in threading.enumerate() if t.name == "rnnviz-training-pump"}

    before, pumps_before = worker_processes(), pumps()  # an earlier test's service may still run in this process
    monkeypatch.setenv(workers.CAP_VARIABLE, "1")
    monkeypatch.setattr(trainer, "_shared", None)  # a fresh process-wide service, sized under the cap
    try:
        first = AppTest.from_function(_service_script, args=(101,), default_timeout=120).run()
        assert first.text[0].value == "done 20 joined=False"
        service = trainer.shared_service()
        assert service.size == 1
        for round in range(4):
            clear_caches()
            st_script = AppTest.from_function(_service_script, args=(101,), default_timeout=120).run()
            assert st_script.text[0].value == "done 20 joined=True", round  # the same service: replayed
            assert len(worker_processes() - before) <= 1
            clear_caches()
            other = AppTest.from_function(_service_script, args=(200 + round,), default_timeout=120).run()
            assert other.text[0].value == "done 20 joined=False", round
            assert len(worker_processes() - before) <= 1
            assert trainer.shared_service() is service
        assert service.stats()["computations"] == 5
        assert len(pumps() - pumps_before) == 1  # one background thread, not one per round
    finally:
        trainer.shared_service().close()
    assert worker_processes() - before == set()  # closing ended its worker


def test_the_workers_are_sized_by_the_cpus_this_process_may_use_and_the_cap(tmp_path, monkeypatch):
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    none = tmp_path / "no-cgroup"
    assert workers.usable_cpus(none) == affinity
    assert workers.default_workers({}, none) == min(affinity, workers.MAX_WORKERS)
    assert workers.default_workers({workers.CAP_VARIABLE: "1"}, none) == 1
    assert workers.default_workers({workers.CAP_VARIABLE: " 64 "}, none) == min(affinity, 64)  # a cap, not a size
    for bad in ("0", "65", "two", "1.5"):
        with pytest.raises(ValueError, match=workers.CAP_VARIABLE):
            workers.default_workers({workers.CAP_VARIABLE: bad}, none)

    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "cpu.max").write_text("max 100000\n")
    assert workers.cgroup_cpus(v2) is None
    (v2 / "cpu.max").write_text("150000 100000\n")  # one and a half CPUs: two workers may share them
    assert workers.cgroup_cpus(v2) == 2
    (v2 / "cpu.max").write_text("50000 100000\n")
    assert workers.cgroup_cpus(v2) == 1 and workers.usable_cpus(v2) == 1
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert workers.cgroup_cpus(v1) is None
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("300000\n")
    assert workers.cgroup_cpus(v1) == 3

    monkeypatch.setenv(workers.CAP_VARIABLE, "1")
    with trainer.TrainingService() as service:  # the default reads the environment
        assert service.size == 1


def test_a_single_config_job_equals_the_same_model_trained_in_a_group_by_train_many(service):
    group = {config.cell: config for config in press(seed=3)}
    together = training.train_many(group)
    for handle in service.sweep(list(group.values())):
        run = finish(handle).run(0)
        want = together[run.config.cell]
        assert without_time(run.history) == without_time(want.history) and run.updates == want.updates
        for name, value in want.model.params.items():
            np.testing.assert_array_equal(run.model.params[name], value)


# --------------------------------------------------------------------------------------------------
# Admission (rnnviz.app.admission) wired into the service


def test_a_press_over_the_cap_is_refused_with_its_reason_and_nothing_is_queued():
    cap = admission.press_work(press()) / 2  # this press is twice the cap
    with trainer.TrainingService(workers=1, policy=admission.Policy(max_press_work=cap)) as service:
        with pytest.raises(trainer.RefusedError, match=r"2\.0× the largest .*rnnviz train"):
            service.submit(press(), owner="me")
        assert service.stats()["queued"] == service.stats()["computations"] == 0
        assert service.stats()["refusals"] == 1
        with pytest.raises(trainer.RefusedError, match="the largest"):  # a sweep is priced as one press
            service.sweep(list(press()), owner="me")
        assert finish(service.submit(press()[:1], owner="me")).status == "done"  # a third of it: admitted


def test_the_cap_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(admission.CAP_VARIABLE, "1e6")
    assert admission.Policy.from_env().max_press_work == 1e6
    for bad in ("0", "-5", "lots", "nan"):
        monkeypatch.setenv(admission.CAP_VARIABLE, bad)
        with pytest.raises(ValueError, match=admission.CAP_VARIABLE):
            admission.Policy.from_env()
    monkeypatch.setenv(admission.CAP_VARIABLE, "2e6")
    with trainer.TrainingService(workers=1) as service:
        assert service.policy.max_press_work == 2e6


def test_one_live_press_per_session_a_new_press_stops_the_old_one_first(service):
    old = service.submit(press(seed=1, steps=5000), owner="me")
    first_point(old)
    other = service.submit(press(seed=2, steps=5000), owner="someone else")
    new = service.submit(press(seed=3, steps=200), owner="me")
    assert old.snapshot().status == "stopped" and not old.snapshot().detached  # its job stopped, worker freed
    assert other.snapshot().status in ("queued", "running")  # another session's press is untouched
    assert finish(new).status == "done"
    again = service.submit(press(seed=3, steps=200), owner="me")  # the same press again: replayed, fine
    assert again.joined and again.snapshot().status == "done"
    sweep = service.sweep([tiny(seed=s, steps=5000) for s in (4, 5)], owner="me")  # another kind: both live
    assert other.snapshot().status != "stopped" and all(h.snapshot().status != "stopped" for h in sweep)
    other.stop()
    service.sweep([tiny(seed=6)], owner="me")  # a new sweep of the same session stops the old sweep's runs
    assert [h.snapshot().status for h in sweep] == ["stopped", "stopped"]


def test_a_new_press_of_a_session_sharing_a_run_leaves_it_to_the_other_watcher(service):
    shared = press(seed=8, steps=400)
    mine = service.submit(shared, owner="me")
    theirs = service.submit(shared, owner="them")
    service.submit(press(seed=9), owner="me")
    assert mine.snapshot().status == "stopped" and mine.snapshot().detached
    assert finish(theirs).status == "done" and finish(theirs).updates == (400, 400, 400)


def test_the_queue_is_bounded_by_its_wait_and_refuses_politely():
    work = admission.press_work(press(steps=5000))
    speed = admission.Throughput(per_second=work / 100)  # as measured: 100 s per such press
    policy = admission.Policy(max_wait=250)
    with trainer.TrainingService(workers=1, policy=policy) as service:
        service.throughput = speed
        handles = [service.submit(press(seed=s, steps=5000), owner=f"student {s}") for s in range(3)]
        with pytest.raises(trainer.RefusedError, match="The server is busy: .* about 5 min"):
            service.submit(press(seed=9, steps=5000), owner="student 9")  # 300 s of work ahead
        replaced = service.submit(press(seed=10, steps=5000), owner="student 2")  # replaces its own: admitted
        assert handles[2].snapshot().status == "stopped" and replaced.snapshot().status == "queued"
        joined = service.submit(press(seed=0, steps=5000), owner="student 9")
        assert joined.joined  # a join costs nothing: admitted however long the queue
        for handle in (*handles, replaced, joined):
            handle.stop()


def test_a_queued_press_says_when_it_should_start_from_the_measured_throughput():
    with trainer.TrainingService(workers=1) as service:
        long = press(seed=0, steps=5000)
        running = service.submit(long, owner="A")
        service.throughput.per_second = admission.press_work(long) / 120  # 2 min per such press
        queued = [service.submit(press(seed=s, steps=5000), owner=f"student {s}") for s in (1, 2)]
        first, second = (h.snapshot() for h in queued)
        assert first.status == second.status == "queued"
        assert 60 < first.starts_in <= 120  # the running press's remaining work
        assert second.starts_in == pytest.approx(first.starts_in + 120, abs=2)
        assert running.snapshot().starts_in is None
        decision, seconds, starts = service.quote(press(seed=7, steps=5000), owner="C")
        assert decision.admitted and seconds == pytest.approx(120) and starts > 240
        for handle in (*queued, running):
            handle.stop()


def test_finished_jobs_teach_the_service_its_throughput(service):
    guess = service.throughput.per_second
    snap = finish(service.submit(press(steps=400)))
    measured = admission.press_work(press(steps=400)) / (snap.finished_at - snap.started_at)
    assert service.throughput.per_second == pytest.approx(guess + 0.3 * (measured - guess))


def test_stopping_a_sweep_stops_its_running_runs_and_frees_the_workers(service):
    handles = service.sweep([tiny(seed=s, steps=50_000) for s in range(3)], owner="me")
    for handle in handles[:2]:
        first_point(handle)
    for handle in handles:
        handle.stop()
    wait_until(lambda: service.stats()["running"] == 0, timeout=10)  # the workers stopped mid-run
    assert [h.snapshot().status for h in handles] == ["stopped"] * 3
    assert max(handles[0].snapshot().updates) < 50_000
    assert finish(service.submit(press(seed=1))).status == "done"


def test_the_service_trains_a_lesson_run_as_the_lessons_record_it(service):
    """The Lessons' "Train it again, live": configs, an owner and alive, kind "lesson"; the record is
    rnnviz.content.lessons.train_record's."""
    from rnnviz.content import lessons

    configs = (tiny(cell="rnn"), tiny(cell="lstm"))
    handle = service.submit(configs, owner="lesson tab", alive=lambda: True, kind="lesson")
    snap = finish(handle)
    for index, config in enumerate(configs):
        got, want = snap.record(index), lessons.train_record(config)
        for timing in ("wall_seconds", "seconds", "seconds_per_step"):
            got.pop(timing), want.pop(timing)
        for point in (*got["history"], *want["history"]):
            point.pop("seconds")
        assert got == want
    with pytest.raises(ValueError, match="kind"):
        service.submit(configs, owner="x", kind="other")


def test_a_job_spec_runs_in_a_worker_shares_and_stops_like_a_press(service):
    """The Forecast and Text labs train through the same service with their own job specs: each runs in a
    worker, its points and latest payload reach every handle, identical specs share one computation, the
    admission prices it by its own work(), and Stop stops it."""
    spec = CountingSpec(steps=6, every=2)
    assert trainer.is_job_spec(spec) and not trainer.is_job_spec(tiny())
    first = service.submit([spec, CountingSpec(steps=3, every=3)], owner="A", kind="forecast")
    again = service.submit([spec, CountingSpec(steps=3, every=3)], owner="B", kind="forecast")
    done = finish(first)
    assert done.status == "done" and again.joined
    assert [p.step for p in done.histories[0]] == [2, 4, 6] and [p.total for p in done.histories[0]] == [3, 10, 21]
    assert done.trained[0]["sum"].tolist() == [21.0] and done.trained[1]["sum"].tolist() == [6.0]
    assert finish(again).histories == done.histories
    assert service.stats()["computations"] == 1
    assert admission.model_work(spec) == spec.cost

    slow = service.submit([CountingSpec(steps=10_000, every=1, delay=0.01)], owner="A", kind="text")
    first_point(slow)
    slow.stop()
    stopped = slow.snapshot()
    assert stopped.status == "stopped" and 0 < stopped.updates[0] < 10_000


@dataclasses.dataclass(frozen=True)
class LookAlike(CountingSpec):
    """A job spec in every respect but where it is defined: a test module, standing for a page's script."""


@dataclasses.dataclass
class MutableSpec:
    """A job spec's methods on a dataclass that is not frozen (so not hashable: it could not be shared)."""

    steps: int = 6

    def check(self) -> None: ...

    def work(self) -> float:
        return 1e6

    def run(self):
        yield from ()


def test_only_the_engines_frozen_module_level_spec_types_are_job_specs(monkeypatch):
    assert trainer.is_job_spec(CountingSpec())  # tests/helpers is allowed by tests/conftest.py
    assert not trainer.is_job_spec(LookAlike())  # same methods, defined elsewhere: refused
    with pytest.raises(ValueError, match="job spec"), trainer.TrainingService(workers=1) as service:
        service.submit([LookAlike()], owner="A", kind="text")
    monkeypatch.setattr(trainer, "JOB_SPEC_MODULES", ("rnnviz.engine.",))  # as the server runs
    assert not trainer.is_job_spec(CountingSpec())
    monkeypatch.setattr(trainer, "JOB_SPEC_MODULES", ("rnnviz.engine.", __name__))
    assert trainer.is_job_spec(LookAlike())

    @dataclasses.dataclass(frozen=True)
    class Local(CountingSpec):  # not importable by a worker
        pass

    assert not trainer.is_job_spec(Local()) and not trainer.is_job_spec(MutableSpec())


def test_the_per_press_cap_refuses_a_job_spec_by_its_own_price():
    with trainer.TrainingService(workers=1, policy=admission.Policy(max_press_work=1e9)) as small:
        with pytest.raises(trainer.RefusedError):
            small.submit([CountingSpec(cost=2e9)], owner="A", kind="text")
        with pytest.raises(ValueError, match="steps must be at least 1"):
            small.submit([CountingSpec(steps=0)], owner="A", kind="text")
        with pytest.raises(ValueError, match="job spec"):
            small.submit([object()], owner="A", kind="text")
