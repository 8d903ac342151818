"""The Training lab's state (rnnviz.app.lab_state) without a page: each transition of a press of Train and of a
sweep, the replay notes, the prediction's reveal, and the one mapping from the page's settings to configs. A
stand-in handle drives the transitions one at a time; the real service checks what the runs hold."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from rnnviz.app import lab_state, trainer
from rnnviz.app.lab_state import Lab, SweepPlan, TrainRun
from rnnviz.engine import tasks, training
from tests.helpers import finish, first_point

SETTINGS = dict(
    task="adding", length=10, hidden_size=4, steps=20, lr=0.01, optimizer="adam", clip=1.0, forget_bias=1.0,
    seed=3, small=False, models=["rnn", "lstm"], prediction=None,
)  # fmt: skip


def configs(**changes) -> dict:
    return lab_state.press_configs({**SETTINGS, **changes}, ("rnn", "lstm"))


class StandIn:
    """A handle whose job moves only when the test says so."""

    def __init__(self, configs: tuple, job_id: int = 1, joined: bool = False, status: str = "queued"):
        self.configs, self.job_id, self.joined, self.status = configs, job_id, joined, status
        self.message, self.stopped, self.others = None, False, False

    def snapshot(self) -> trainer.Snapshot:
        n = len(self.configs)
        status = "stopped" if self.stopped else self.status
        return trainer.Snapshot(
            self.job_id, status, 1 if status == "queued" else None, self.message, self.configs,
            ((),) * n, (None,) * n, self.joined, self.stopped and self.others, None, None, 0,
        )  # fmt: skip

    def stop(self) -> None:
        self.stopped = True


class Service:
    """Records the submissions; hands out stand-ins (or None: the page refused the press)."""

    def __init__(self):
        self.handles, self.refuse, self.join = [], False, None

    def submit(self, configs: tuple):
        if self.refuse:
            return None
        joined = self.join is not None
        handle = StandIn(configs, job_id=self.join if joined else len(self.handles) + 1, joined=joined)
        self.handles.append(handle)
        return handle


def test_config_for_maps_every_setting_of_the_page_once():
    config = lab_state.config_for(SETTINGS, "gru")
    assert config == training.TrainConfig(
        cell="gru", task="adding", length=10, hidden_size=4, steps=20, lr=0.01, optimizer="adam", clip=1.0,
        forget_bias=1.0, seed=3, n_train=training.TrainConfig().n_train, eval_every=5,
    )  # fmt: skip
    assert lab_state.config_for({**SETTINGS, "clip": 0.0}, "rnn").clip is None  # 0 is off
    assert lab_state.config_for({**SETTINGS, "small": True}, "rnn").n_train == training.SMALL_DATA["n_train"]
    assert lab_state.config_for({**SETTINGS, "steps": 3000}, "rnn").eval_every == 75  # 40 evaluation points
    assert list(configs()) == ["rnn", "lstm"]
    plan = SweepPlan.of({**SETTINGS, "task": "order"}, ["rnn"])
    assert plan.lengths == (10, 20, 50, 100) and plan.base.eval_every == 25 and plan.base.steps == 20
    assert [(c.cell, c.length, c.seed) for c in plan.configs()[:4]] == [("rnn", 10, s) for s in (0, 1, 2)] + [
        ("rnn", 20, 0)
    ]
    assert SweepPlan.of(SETTINGS, ["rnn", "lstm"]).lengths == (5, 10, 20, 50, 100)


def test_a_press_goes_idle_queued_running_done():
    lab, service = Lab(), Service()
    assert lab.phase == "idle"
    lab.settle()  # nothing to settle
    run = lab.press(configs(), ("lstm",), service.submit)
    assert lab.run is run and run.live and lab.phase == "queued" and run.prediction == ("lstm",)
    handle = service.handles[0]
    handle.status = "running"
    lab.settle()
    assert lab.phase == "running" and run.live
    handle.status = "done"
    assert lab.phase == "running"  # a poll only reads: the end is written by settle
    lab.settle()
    assert lab.phase == "done" and not run.live
    assert set(run.runs) == {"rnn", "lstm"} and all(r.updates == 0 for r in run.runs.values())
    handle.status = "failed"  # an ended record never changes again
    lab.settle()
    assert run.status == "done"


def test_a_failed_job_ends_the_press_with_its_message():
    lab, service = Lab(), Service()
    lab.press(configs(), None, service.submit)
    service.handles[0].status, service.handles[0].message = "failed", "the data refuses"
    lab.settle()
    assert lab.phase == "failed" and lab.run.message == "the data refuses" and lab.run.runs == {}


def test_stop_ends_a_live_press_as_stopped_and_nothing_else():
    lab, service = Lab(), Service()
    lab.stop()  # idle: nothing happens
    assert lab.phase == "idle"
    lab.press(configs(), None, service.submit)
    lab.stop()
    assert service.handles[0].stopped and lab.phase == "stopped" and not lab.run.detached
    assert all(r.updates == 0 for r in lab.run.runs.values())  # stopped while queued: untrained, update 0
    ended = lab.run.runs
    lab.stop()  # twice: the record stays as it was
    assert lab.run.runs is ended


def test_stop_while_another_session_watches_says_the_run_goes_on():
    lab, service = Lab(), Service()
    lab.press(configs(), None, service.submit)
    service.handles[0].others = True
    lab.stop()
    assert lab.run.status == "stopped" and lab.run.detached


def test_the_same_press_again_keeps_the_run_and_other_settings_replace_it():
    lab, service = Lab(), Service()
    first = lab.press(configs(), None, service.submit)
    assert lab.press(configs(), None, service.submit) is first and len(service.handles) == 1
    second = lab.press(configs(seed=4), None, service.submit)
    assert second is not first and lab.run is second and len(service.handles) == 2
    assert service.handles[0].stopped  # this session no longer watches the old run
    service.refuse = True
    assert lab.press(configs(seed=5), None, service.submit) is None
    assert lab.run is second and not service.handles[1].stopped  # a refused press leaves the run as it was


def test_a_replay_says_whose_run_it_was():
    lab, service = Lab(), Service()
    own = lab.press(configs(), None, service.submit)
    assert own.replayed is None and lab.mine == {1}
    lab.stop()
    service.join = 1  # the next press attaches to the job this session started
    assert lab.press(configs(), None, service.submit).replayed == "yours"
    service.join = 99  # a job another session started
    assert lab.press(configs(seed=6), None, service.submit).replayed == "other"
    assert lab.mine == {1}


def finished(config, solved_step=None) -> training.ModelRun:
    model = training.init_model(config, tasks.SPECS[config.task])
    history = []
    for step in (10, 20):
        solved = bool(solved_step and step >= solved_step)
        history.append(training.Progress(step, 0.1, 1.0, 0.01, 0.01 if solved else 0.1, 1.0, solved))
    history = tuple(history)
    return training.ModelRun(config, history, config.steps, 1.0, model)


@pytest.mark.parametrize(
    "prediction,right", [(("lstm",), True), (("rnn", "lstm"), False), ((), False), (("rnn",), False)]
)
def test_the_reveal_compares_the_prediction_with_what_was_measured(prediction, right):
    cfg = configs()
    runs = {"rnn": finished(cfg["rnn"]), "lstm": finished(cfg["lstm"], 20)}
    text, said_right = TrainRun.finished(cfg, runs, prediction).reveal()
    assert said_right == right
    assert f"You predicted **{lab_state.outcome_label(prediction)}**; measured: **LSTM** solved it" in text
    assert "(RNN did not)" in text and text.endswith("Right ✔" if right else "Not this time.")
    assert TrainRun.finished(cfg, runs).reveal() is None  # no prediction, nothing to reveal
    stopped = TrainRun.finished(cfg, runs, prediction, ended="stopped").reveal()
    assert stopped == (
        f"You predicted **{lab_state.outcome_label(prediction)}**. The run was stopped at update 20 of 20, before "
        "the end of its budget, so there is no outcome to compare with yet: train again and let every model finish.",
        False,
    )


def test_outcomes_and_their_labels():
    assert lab_state.outcomes_of(["lstm", "gru"]) == [(), ("lstm",), ("gru",), ("lstm", "gru")]
    assert [lab_state.outcome_label(o) for o in lab_state.outcomes_of(["rnn", "lstm", "gru"])][-1] == (
        "RNN, LSTM and GRU"
    )
    assert lab_state.outcome_label(()) == "none"


def test_the_lab_lives_in_the_sessions_state_under_one_key():
    state = {}
    lab = Lab.of(state)
    assert state == {lab_state.KEY: lab} and Lab.of(state) is lab


# --------------------------------------------------------------------------------------------------
# With the real service


def test_a_press_through_the_service_ends_with_every_model_at_its_budget(service):
    lab = Lab()
    run = lab.press(configs(), None, service.submit)
    finish(run.handle)
    lab.settle()
    assert run.status == "done" and {r.updates for r in run.runs.values()} == {20}
    assert [r.history for r in run.runs.values()] == list(run.handle.snapshot().histories)


def test_a_sweep_goes_running_to_done_or_stopped_and_keeps_what_finished(service):
    base = lab_state.config_for(SETTINGS, "rnn")
    lab = Lab()
    plan = SweepPlan(base, ("rnn",), (5, 10), (0,))
    sweep = lab.start_sweep(plan, service.sweep)
    assert lab.sweep is sweep and sweep.status == "running" and sweep.total == 2
    for handle in sweep.handles:
        finish(handle)
    lab.settle()
    assert sweep.status == "done" and len(sweep.summaries) == 2 and not sweep.failed
    rates = training.success_rates(sweep.result())
    assert list(rates) == ["rnn"] and len(rates["rnn"]) == 2

    slow = SweepPlan(dataclasses.replace(base, steps=20_000), ("rnn",), (5, 10), (0,))
    again = lab.start_sweep(slow, service.sweep)
    assert again is not sweep and sweep.status == "done"  # an ended sweep is left as it was
    lab.stop_sweep()
    assert again.status == "stopped" and again.summaries == []
    assert [h.snapshot().status for h in again.handles] == ["stopped", "stopped"]
    assert lab.start_sweep(slow, lambda configs: None) is None and lab.sweep is again  # refused


def test_runs_of_shows_each_model_at_its_last_evaluation_or_untrained_at_update_0():
    def press(seed: int, steps: int = 20) -> tuple:
        return tuple(configs(seed=seed, steps=steps).values())

    with trainer.TrainingService(workers=1) as service:
        busy = service.submit(press(1, steps=5000))
        queued = service.submit(press(2))  # behind busy: stopped before it started
        queued.stop()
        data = tasks.make_task("adding", 10, training.TrainConfig().n_train, training.TrainConfig().n_test, seed=2)
        untrained = lab_state.runs_of(queued.snapshot())
        for config in press(2):
            run = untrained[config.cell]
            assert run.updates == 0 and [p.step for p in run.history] == [0] and run.solved is None
            model = training.init_model(config, tasks.SPECS[config.task])
            _, test_metric = training.evaluate(model, training._sets(config, data)[1])
            assert run.last.test_metric == test_metric  # the untrained model, evaluated
        first_point(busy)
        busy.stop()
        snap = busy.snapshot()
    runs = lab_state.runs_of(snap)
    assert [r.updates for r in runs.values()] == list(snap.updates)
    assert snap.histories[0]  # the first model has been evaluated; the others may not have been yet
    for index, run in enumerate(runs.values()):
        assert run.last.step == run.updates
        if snap.histories[index]:
            assert run.history == snap.histories[index]
            np.testing.assert_array_equal(run.model.readout_weight, snap.trained[index].readout_weight)
        else:  # stopped before its first evaluation point: untrained, at update 0
            assert run.updates == 0 and len(run.history) == 1
