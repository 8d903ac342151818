"""AppTest of the Training lab: training through the server's training service (rnnviz.app.trainer), Stop, a change
of settings mid-run, two sessions sharing one run, the queue, a failed job, the prediction and its reveal, the
small-data preset and the lag sweep. A press still training when a click reruns the page is reproduced by the
record it leaves: the configs and the service's handle, still marked running."""

from dataclasses import replace

import pytest

from rnnviz.app import lab_state, trainer, ui
from rnnviz.app.lab_state import KEY, Lab, Sweep, SweepPlan, TrainRun
from rnnviz.engine import tasks, training
from tests.helpers import LAB, assert_clean, finish, first_point, open_page


def test_training_lab_defaults_show_the_shipped_sweep():
    at = open_page(LAB)
    assert_clean(at)
    assert not at.error and not at.warning
    assert len(at.get("plotly_chart")) == 1  # the shipped lag sweep, before any training


@pytest.mark.parametrize("task", ["adding", "first", "order"])
def test_training_a_tiny_budget_shows_curves_verdicts_and_downloads(task):
    at = open_page(LAB, task=task, steps=50, length=10, hidden_size=4)
    at.radio(key="lab.prediction").set_value(("lstm",)).run()
    at.button(key="lab.train").click().run()
    assert_clean(at)
    m = "MSE" if task == "adding" else "accuracy"
    assert [x.label for x in at.metric] == [f"RNN: test {m}", f"LSTM: test {m}", f"GRU: test {m}"]
    assert all(x.delta == "not solved ✘" or x.delta.startswith("solved ✔ at update") for x in at.metric)
    assert len(at.get("plotly_chart")) == 3  # learning curves, trained gates, sweep
    assert "You predicted **LSTM**; measured:" in at.info[0].value
    assert [b.label for b in at.get("download_button")] == [f"⬇ {k} weights (.npz)" for k in ("RNN", "LSTM", "GRU")]
    record = at.session_state[KEY].run
    assert record.status == "done" and {r.updates for r in record.runs.values()} == {50}
    assert record.handle.snapshot().status == "done"  # trained by the service's workers


def test_the_prediction_offers_every_outcome_of_the_selected_models():
    at = open_page(LAB, models=["lstm", "gru"])
    assert at.radio(key="lab.prediction").options == ["none", "LSTM", "GRU", "LSTM and GRU"]
    at = open_page(LAB)
    assert len(at.radio(key="lab.prediction").options) == 8  # none, three singles, three pairs, all


def finished(cell, config, solved_step=None):
    """A run that spent its budget, solved from ``solved_step`` on (a stand-in for a long training)."""
    model = training.init_model(config, tasks.SPECS[config.task])
    history = tuple(
        training.Progress(
            s,
            0.1,
            1.0,
            0.01,
            0.01 if solved_step and s >= solved_step else 0.1,
            1.0,
            bool(solved_step and s >= solved_step),
        )
        for s in (25, 50)
    )
    return training.ModelRun(config, history, config.steps, 1.0, model)


@pytest.mark.parametrize(
    "prediction,right", [(("lstm", "gru"), True), (("lstm",), False), ((), False), (("rnn", "lstm", "gru"), False)]
)
def test_the_reveal_compares_the_prediction_with_the_measured_outcome_ties_included(prediction, right):
    at = open_page(LAB, steps=50)
    configs = {c: training.TrainConfig(cell=c, steps=50) for c in ("rnn", "lstm", "gru")}
    runs = {"rnn": finished("rnn", configs["rnn"]), "lstm": finished("lstm", configs["lstm"], 50)}
    runs["gru"] = finished("gru", configs["gru"], 25)
    at.session_state[KEY] = Lab(run=TrainRun.finished(configs, runs, prediction))
    at.run()
    assert_clean(at)
    text = at.info[0].value
    assert (
        "measured: **LSTM and GRU** solved it (RNN did not); first to get there: GRU at update 25, LSTM at update 50"
        in text
    )
    assert ("Right ✔" in text) == right and (("Not this time" in text) != right)
    assert [x.delta for x in at.metric] == ["not solved ✘", "solved ✔ at update 50", "solved ✔ at update 25"]
    overfitting = [c.value for c in at.caption if "training sequences only: overfitting" in c.value]
    assert len(overfitting) == 1 and "337 parameters" in overfitting[0]  # the RNN: training MSE 0.01, test 0.1


def lab_configs(cells=("rnn", "lstm", "gru"), steps=1000, **changes) -> dict:
    """The configs a press of Train submits with these settings (the page's config_for)."""
    fields = {"length": 10, "hidden_size": 4, "steps": steps, "eval_every": max(steps // 40, 5), **changes}
    return {c: training.TrainConfig(cell=c, **fields) for c in cells}


def running_record(at, configs, service=None, owner="this session", prediction=("rnn",)):
    """A press of Train as the page records it: the configs submitted to the service, the handle kept."""
    at.session_state["_rnnviz_owner"] = owner
    handle = (service or ui.training_service()).submit(tuple(configs.values()), owner=owner)
    at.session_state[KEY] = Lab(run=TrainRun(configs, prediction, handle))
    return handle


def test_stop_mid_run_shows_every_model_at_its_last_evaluation_point_without_a_verdict():
    at = open_page(LAB, steps=3000, length=10, hidden_size=4)
    handle = running_record(at, lab_configs(steps=3000, seed=11))
    first_point(handle, every_model=True)
    at.button(key="lab.stop").click().run()
    assert_clean(at)
    record = at.session_state[KEY].run
    snap = handle.snapshot()
    assert record.status == snap.status == "stopped" and not snap.detached
    updates = {c: r.updates for c, r in record.runs.items()}
    assert updates == dict(zip(("rnn", "lstm", "gru"), snap.updates, strict=True))
    assert all(0 < u < 3000 and u % 75 == 0 for u in updates.values())  # evaluation points only
    assert all(r.last.step == r.updates for r in record.runs.values())  # never a claimed update it did not have
    assert [x.delta for x in at.metric] == [f"no verdict: stopped at {u}/3000" for u in updates.values()]
    assert any(w.value.startswith("Stopped at update") and "no verdict" in w.value for w in at.warning)
    assert "stopped at update" in at.info[0].value and "solved:" not in at.info[0].value


def test_stop_before_the_first_evaluation_still_evaluates_every_model_at_update_0():
    with trainer.TrainingService(workers=1) as service, pytest.MonkeyPatch.context() as patch:
        patch.setattr(ui, "training_service", lambda: service)
        busy = service.submit(tuple(lab_configs(steps=3000, seed=12).values()), owner="another session")
        at = open_page(LAB, steps=1000, length=10, hidden_size=4)
        handle = running_record(at, lab_configs(), service)
        assert handle.snapshot().status == "queued"  # nothing trained yet
        at.button(key="lab.stop").click().run()
        busy.stop()
        assert_clean(at)
        assert at.session_state[KEY].run.status == "stopped"
        assert any("Stopped at update 0 of 1000: no verdict" in w.value for w in at.warning)
        assert [x.delta for x in at.metric] == ["no verdict: stopped at 0/1000"] * 3
        assert all(x.value != "—" for x in at.metric)  # the untrained models, evaluated
        assert sum("before its first evaluation point: the untrained model" in c.value for c in at.caption) == 3
        assert service.stats()["computations"] == 1  # the stopped press never ran


def test_a_change_of_settings_mid_run_keeps_the_run_going_for_the_pressed_settings():
    at = open_page(LAB, steps=200, length=10, hidden_size=4)
    configs = lab_configs(steps=200, seed=13)
    handle = running_record(at, configs)
    at.toggle(key="lab.small").set_value(True).run()  # a rerun mid-run: the page polls the same handle again
    assert_clean(at)
    record = at.session_state[KEY].run
    assert record.status == "done" and record.handle is handle and record.configs == configs
    assert {r.updates for r in record.runs.values()} == {200}
    assert all(x.delta == "not solved ✘" or x.delta.startswith("solved ✔") for x in at.metric)
    assert not any("Interrupted" in w.value or "Stopped" in w.value for w in at.warning)
    assert any("length 10, 4 units, 200 updates" in c.value for c in at.caption)  # the run's own settings


def test_a_press_with_other_settings_mid_run_leaves_the_old_run_and_trains_the_new_one():
    at = open_page(LAB, steps=50, length=10, hidden_size=4, seed=17)
    old = running_record(at, lab_configs(steps=3000, seed=18))
    at.button(key="lab.train").click().run()
    assert_clean(at)
    record = at.session_state[KEY].run
    assert record.status == "done" and record.handle is not old
    assert {c.steps for c in record.configs.values()} == {50}
    assert old.snapshot().status == "stopped"  # nobody else watched it: its job stopped


def test_two_sessions_with_identical_settings_share_one_computation_and_the_second_says_so():
    query = dict(steps=100, length=10, hidden_size=4, seed=14)
    first, second = open_page(LAB, **query), open_page(LAB, **query)
    before = ui.training_service().stats()["computations"]
    first.button(key="lab.train").click().run()
    second.button(key="lab.train").click().run()
    assert_clean(second)
    assert ui.training_service().stats()["computations"] == before + 1
    a, b = first.session_state[KEY].run, second.session_state[KEY].run
    assert not a.handle.joined and b.handle.joined and a.handle.job_id == b.handle.job_id
    assert [r.history for r in a.runs.values()] == [r.history for r in b.runs.values()]
    (caption,) = [c.value for c in second.caption if c.value.startswith("Trained with:")]
    assert "Replayed: the same run another session started on this server" in caption
    assert not any("Replayed:" in c.value for c in first.caption)  # (the shipped sweep says "Replayed from")
    first.button(key="lab.train").click().run()  # the first session again: its own run, replayed
    assert any("Replayed: your earlier run of these settings" in c.value for c in first.caption)
    assert ui.training_service().stats()["computations"] == before + 1


def test_a_press_joins_a_run_another_session_is_training():
    at = open_page(LAB, steps=400, length=10, hidden_size=4, seed=15)
    configs = lab_configs(steps=400, seed=15)
    other = ui.training_service().submit(tuple(configs.values()), owner="another session")
    before = ui.training_service().stats()["computations"]
    at.button(key="lab.train").click().run()  # polls the shared job to its end
    assert_clean(at)
    record = at.session_state[KEY].run
    assert record.status == "done" and record.handle.job_id == other.job_id
    assert ui.training_service().stats()["computations"] == before
    assert [r.history for r in record.runs.values()] == list(other.snapshot().histories)


def test_a_press_waits_in_the_queue_behind_a_busy_pool():
    with trainer.TrainingService(workers=1) as service, pytest.MonkeyPatch.context() as patch:
        patch.setattr(ui, "training_service", lambda: service)
        busy = service.submit(tuple(lab_configs(steps=100, seed=16).values()), owner="another session")
        at = open_page(LAB, steps=50, length=10, hidden_size=4)
        at.button(key="lab.train").click().run()
        assert_clean(at)
        mine = at.session_state[KEY].run.handle.snapshot()
        assert mine.status == "done" and mine.started_at >= busy.snapshot().finished_at  # it waited its turn
        assert service.stats()["peak_running"] == 1


def test_the_progress_line_says_queued_training_or_replayed():
    configs = tuple(lab_configs(steps=1000).values())
    snap = trainer.Snapshot(1, "queued", 3, None, configs, ((),) * 3, (None,) * 3, False, False, None, None, 0)
    assert ui.training_progress(snap) == (
        0.0,
        "Queued: 2 runs ahead of yours (every training process on this server is busy)",
    )
    assert ui.training_progress(replace(snap, position=1))[1].startswith("Queued: yours is next")
    point = training.Progress(250, 0.1, 1.0, 0.5, 0.5, 1.0, False)
    running = replace(snap, status="running", position=None, histories=((point,),) * 3)
    assert ui.training_progress(running) == (0.25, "Training: update 250 of 1000")
    assert ui.training_progress(running, "other")[1] == "Training: update 250 of 1000 · another session's run, replayed"


def test_a_failed_job_shows_its_message_and_the_page_keeps_working():
    at = open_page(LAB, steps=50, length=10, hidden_size=4)
    bad = lab_configs(cells=("lstm",), steps=50, task="order", length=5)  # passes its check; the data refuses
    handle = running_record(at, bad)
    at.run()
    assert not at.exception
    assert at.session_state[KEY].run.status == "failed"
    assert at.error[0].value == f"**Training failed:** {ui.literal(handle.snapshot().message)}"
    at.button(key="lab.train").click().run()  # the next press trains
    assert_clean(at)
    assert not at.error and at.session_state[KEY].run.status == "done"


def test_small_data_applies_the_overfitting_preset_and_shows_training_curves():
    at = open_page(LAB, models="gru")
    at.toggle(key="lab.small").set_value(True).run()
    for field in ("length", "hidden_size", "steps"):
        assert at.slider(key=f"lab.{field}").value == training.SMALL_DATA[field]
    assert at.selectbox(key="lab.task").value == training.SMALL_DATA["task"]
    at.slider(key="lab.steps").set_value(50).run()
    at.slider(key="lab.hidden_size").set_value(4).run()
    at.slider(key="lab.length").set_value(10).run()
    at.button(key="lab.train").click().run()
    assert_clean(at)
    assert at.session_state[KEY].run.configs["gru"].n_train == training.SMALL_DATA["n_train"]
    assert any("Small data: the thin lines" in c.value for c in at.caption)
    gru = at.session_state[KEY].run.runs["gru"]
    overfits = not gru.solved and training.is_solved(tasks.SPECS["order"], gru.last.train_metric)
    assert any("training sequences only: overfitting" in c.value for c in at.caption) == overfits
    curves = at.get("plotly_chart")[0].proto.spec
    assert "training (thin)" in curves and "GRU training" in curves


@pytest.mark.parametrize(
    "key,value",
    [
        ("length", 5),
        ("length", 200),
        ("hidden_size", 2),
        ("hidden_size", 64),
        ("forget_bias", -3.0),
        ("forget_bias", 6.0),
        ("clip", 0.0),
        ("clip", 10.0),
    ],
)
def test_training_lab_slider_extremes(key, value):
    at = open_page(LAB, steps=50, models="lstm", length=10, hidden_size=4)  # small, but for the slider tried
    at.slider(key=f"lab.{key}").set_value(value).run()
    at.button(key="lab.train").click().run()
    assert_clean(at)
    assert not at.error


def test_training_lab_sgd_with_a_huge_learning_rate_stays_clean():
    at = open_page(LAB, steps=50, optimizer="sgd", lr=0.1, clip=0.0, forget_bias=6.0, length=100, hidden_size=4)
    at.button(key="lab.train").click().run()
    assert_clean(at)
    assert len(at.metric) == 3


def test_the_sweep_runs_through_the_service_and_stays_in_the_session():
    at = open_page(LAB, steps=50, hidden_size=2, models="rnn", task="order")
    before = ui.training_service().stats()
    at.button(key="lab.sweep_run").click().run()
    assert_clean(at)
    record = at.session_state[KEY].sweep
    assert record.status == "done" and len(record.summaries) == record.total == 12  # 4 lengths x 3 seeds
    after = ui.training_service().stats()
    assert after["submissions"] == before["submissions"] + 12 and after["computations"] <= before["computations"] + 12
    at.slider(key="lab.hidden_size").set_value(3).run()  # another click: the sweep's result is still shown
    titles = [c.proto.spec for c in at.get("plotly_chart")]
    assert any('"Your sweep"' in t for t in titles) and not at.warning
    again = open_page(LAB, steps=50, hidden_size=2, models="rnn", task="order")  # another session, same sweep
    again.button(key="lab.sweep_run").click().run()
    assert ui.training_service().stats()["computations"] == after["computations"]  # every run replayed
    runs = [
        sorted(r.summaries, key=lambda x: (x["length"], x["seed"])) for r in (record, again.session_state[KEY].sweep)
    ]
    assert runs[0] == runs[1]


def test_a_stopped_sweep_shows_its_finished_runs_stops_the_rest_and_says_so():
    at = open_page(LAB, steps=50, models="rnn")
    base = training.TrainConfig(length=10, hidden_size=4, steps=50, n_train=200, n_test=100)
    service = ui.training_service()
    quick = service.sweep([replace(base, cell="rnn", length=5, seed=s) for s in (0, 1, 2)], owner="me")
    for handle in quick:
        finish(handle)
    slow = service.sweep([replace(base, cell="rnn", steps=20_000, seed=s) for s in (0, 1, 2)], owner="me")
    at.session_state[KEY] = Lab(sweep=Sweep(SweepPlan(base, ("rnn",), (5, 10), (0, 1, 2)), quick + slow))
    at.button(key="lab.sweep_stop").click().run()
    assert_clean(at)
    assert any("Stopped after 3 of 6 runs" in w.value for w in at.warning)
    assert any("Your sweep (3 of 6 runs)" in c.proto.spec for c in at.get("plotly_chart"))
    assert [h.snapshot().status for h in slow] == ["stopped"] * 3


# --------------------------------------------------------------------------------------------------
# Admission, estimates and a lost run, as the page says them


def test_a_press_over_the_cap_is_refused_on_the_page_with_its_reason():
    largest = dict(task="order", length=200, hidden_size=64, steps=3000)
    at = open_page(LAB, **largest)
    over = trainer.admission.press_work(lab_configs(**largest).values()) / trainer.admission.Policy().max_press_work
    assert any(f"would be refused now: This run is {over:.1f}× the largest" in c.value for c in at.caption)
    at.button(key="lab.train").click().run()
    assert_clean(at)
    (warning,) = [w.value for w in at.warning]
    assert warning.startswith(f"**Not started.** This run is {over:.1f}× the largest this shared server trains")
    assert "fewer updates" in warning and "`rnnviz train`" in warning
    assert at.session_state[KEY].run is None and not at.get("progress")  # nothing queued, nothing polled
    at.slider(key="lab.steps").set_value(50).run()  # within the cap: the caption says what it costs
    assert any(c.value.startswith("A press with these settings takes about") for c in at.caption)


def test_a_busy_server_refuses_politely_and_the_estimate_is_shown_before_a_press():
    policy = trainer.admission.Policy(max_wait=300)
    with trainer.TrainingService(workers=1, policy=policy) as service, pytest.MonkeyPatch.context() as patch:
        patch.setattr(ui, "training_service", lambda: service)
        busy = tuple(lab_configs(steps=3000, seed=40).values())
        running = service.submit(busy, owner="another session")
        service.throughput.per_second = trainer.admission.press_work(busy) / 200  # 200 s per such run
        at = open_page(LAB, steps=3000, length=10, hidden_size=4, seed=41)
        (quote,) = [c.value for c in at.caption if c.value.startswith("A press with these settings")]
        assert "takes about 3 min of a training process; it would start in about 3 min" in quote
        queued = service.submit(tuple(lab_configs(steps=3000, seed=42).values()), owner="a third session")
        at.button(key="lab.train").click().run()  # 400 s of work ahead: over the 300 s bound
        assert_clean(at)
        (warning,) = [w.value for w in at.warning]
        assert warning.startswith("**Not started.** The server is busy: the runs already waiting would keep yours")
        assert "Try again in a few minutes" in warning and at.session_state[KEY].run is None
        snap = queued.snapshot()
        assert snap.status == "queued" and snap.starts_in > 100  # the queued press knows when it should start
        assert lab_state.starts_text(snap).startswith(" · starts in about ")
        queued.stop(), running.stop()


def test_a_run_of_a_service_that_is_gone_is_said_lost_and_trains_again_with_one_press():
    at = open_page(LAB, steps=50, length=10, hidden_size=4, seed=43)
    with trainer.TrainingService(workers=1) as old:  # the service that trained it, shut down mid-run
        running_record(at, lab_configs(steps=3000, seed=43), old)
    at.run()
    assert_clean(at)
    assert at.session_state[KEY].run.status == "lost"
    assert [w.value for w in at.warning] == [lab_state.LOST]
    assert not at.metric  # no results claimed for a run that is gone
    at.button(key="lab.retrain").click().run()  # the URL's settings, trained again
    assert_clean(at)
    record = at.session_state[KEY].run
    assert record.status == "done" and {c.steps for c in record.configs.values()} == {50} and not at.warning


def test_after_a_restart_the_urls_run_is_said_lost_and_offered_again():
    at = open_page(LAB, steps=50, length=10, hidden_size=4, seed=44, run="0ldserv1-17")  # another instance's run
    assert_clean(at)
    assert [w.value for w in at.warning] == [lab_state.LOST]
    assert at.session_state[KEY].run is None
    at.button(key="lab.retrain").click().run()
    assert_clean(at)
    assert at.session_state[KEY].run.status == "done" and not at.warning
    assert "run" not in at.query_params  # the run ended: the URL names none
    same = open_page(LAB, steps=50, run=f"{ui.training_service().instance}-17")  # this server's: not lost
    assert not same.warning
