"""The Forecast lab through the shared training service: a model's training as a job spec (forecast.ForecastJob),
the same models as training in the session, shared by identical presses, stopped by Stop; the page's press, its
replay and its Stop (AppTest); and a trained model offered to the Cell stepper (rnnviz.app.handoff)."""

import pickle

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from rnnviz.app import admission, forecast_lab, handoff, trainer, ui
from rnnviz.engine import forecast as fc
from tests.helpers import finish, first_point, open_page

PAGE = "pages/5_Forecast_lab.py"
SMALL = fc.ForecastConfig(window=10, horizon=5, hidden_size=4, updates=40, eval_every=10)


def nile_jobs(config=SMALL, kinds=fc.KINDS) -> tuple:
    return forecast_lab.jobs_for(fc.load_series("nile").values, config, kinds)


def test_a_forecast_job_is_a_job_spec_hashed_by_its_digest_and_checked():
    values = fc.load_series("nile").values
    job = fc.ForecastJob.of(values, SMALL, "lstm")
    assert trainer.is_job_spec(job) and job.steps == SMALL.updates
    twin = fc.ForecastJob.of(values.copy(), SMALL, "lstm")  # another session's copy of the same series
    assert twin == job and hash(twin) == hash(job) and pickle.loads(pickle.dumps(job)) == job
    assert fc.ForecastJob.of(values + 1e-9, SMALL, "lstm") != job  # a different series is a different job
    np.testing.assert_array_equal(job.series(), values)
    job.check()
    with pytest.raises(ValueError, match="unknown cell"):
        fc.ForecastJob.of(values, SMALL, "tcn").check()
    with pytest.raises(ValueError, match="do not match their digest"):
        fc.ForecastJob(job.values[:-8], job.digest, SMALL, "lstm").check()
    with pytest.raises(ValueError, match="fewer than the horizon 5"):
        fc.ForecastJob.of(values[:30], SMALL, "lstm").check()


def test_a_jobs_price_counts_what_it_trains_in_the_admissions_units():
    assert fc.BACKWARD_FACTOR == admission.BACKWARD_FACTOR
    values = fc.load_series("elnino").values
    base = fc.ForecastConfig(window=12, horizon=6, hidden_size=8, updates=200)
    work = {kind: fc.ForecastJob.of(values, base, kind).work() for kind in fc.KINDS}
    assert work["lstm"] / work["rnn"] == 4 and work["gru"] / work["rnn"] == 3  # gates, as model_work counts them
    lstm = fc.ForecastJob.of(values, base, "lstm")
    bigger = {"window": 24, "hidden_size": 16, "updates": 400}
    for name, value in bigger.items():
        grown = fc.ForecastJob.of(values, fc.ForecastConfig(**{**base.__dict__, name: value}), "lstm")
        assert grown.work() > 1.5 * lstm.work(), name
    # The page's largest press (5,000 values, every maximum, three models) is under the server's per-press cap.
    largest = fc.ForecastConfig(window=48, horizon=24, hidden_size=32, updates=1000)
    press = admission.press_work(forecast_lab.jobs_for(np.sin(np.arange(5000) / 7.0), largest, fc.KINDS))
    assert press < admission.Policy().max_press_work


def test_jobs_run_here_train_exactly_the_models_the_session_trained():
    """The job runs the session's float32 training code; in the same process it is equal to the bit."""
    values = fc.load_series("nile").values
    session = fc.run(values, SMALL)
    jobs = nile_jobs()
    runs = [list(job.run()) for job in jobs]
    assert [[p.step for p, _ in r] for r in runs] == [[0, 10, 20, 30, 40]] * 3
    assert all(payload.forecasts is None for r in runs for _, payload in r[:-1])  # forecasts only at the end
    result = fc.collect(values, SMALL, jobs, [[p for p, _ in r] for r in runs], [r[-1][1] for r in runs])
    for kind in fc.KINDS:
        np.testing.assert_array_equal(result.forecasts[kind], session.forecasts[kind])
        assert [p.train_mse for p in result.models[kind].history] == [p.train_mse for p in session.models[kind].history]
        assert [p.val_mse for p in result.models[kind].history] == [p.val_mse for p in session.models[kind].history]
        assert result.models[kind].best_update == session.models[kind].best_update
    assert result.errors["linear AR"]["mae"] == session.errors["linear AR"]["mae"]


def test_the_service_trains_the_same_models_shares_identical_presses_and_stops(service):
    values = fc.load_series("nile").values
    session = fc.run(values, SMALL)
    jobs = nile_jobs()
    first = service.submit(jobs, owner="A", kind="forecast")
    again = service.submit(nile_jobs(), owner="B", kind="forecast")
    snap = finish(first)
    assert snap.status == "done" and again.joined and service.stats()["computations"] == 1
    result = fc.collect(values, SMALL, snap.configs, snap.histories, snap.trained)
    for kind in fc.KINDS:
        # Another process (one BLAS thread): float32 sums may round differently, so compared by what they mean.
        history = result.models[kind].history
        assert [p.update for p in history] == [p.update for p in session.models[kind].history]
        np.testing.assert_allclose(result.errors[kind]["mae"], session.errors[kind]["mae"], rtol=1e-3)
        assert result.forecasts[kind].shape == session.forecasts[kind].shape
    assert finish(again).histories == snap.histories

    slow = fc.ForecastConfig(window=10, horizon=5, hidden_size=32, updates=5000, eval_every=10)
    running = service.submit(nile_jobs(slow, ("lstm",)), owner="A", kind="forecast")
    first_point(running)
    running.stop()
    stopped = running.snapshot()
    assert stopped.status == "stopped" and 0 <= stopped.updates[0] < 5000
    partial = fc.collect(values, slow, stopped.configs, stopped.histories, stopped.trained)
    assert partial.forecasts["lstm"].shape == partial.truth.shape  # made here from the kept parameters


# ---- the page --------------------------------------------------------------------------------------


NILE = dict(series="nile", window=10, horizon=5, season=0, difference="false", updates=40, hidden_size=4)


def open_lab(**query) -> AppTest:
    return open_page(PAGE, **{**NILE, **query})


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_a_press_trains_through_the_service_and_an_identical_press_replays_it():
    at = open_lab()
    assert_clean(at)
    assert at.slider(key="forecast.window").value == 10 and at.number_input(key="forecast.updates").value == 40
    before = ui.training_service().stats()["computations"]
    at.button(key="forecast.train").click().run()
    assert_clean(at)
    lab = at.session_state[forecast_lab.KEY]
    assert lab.run.status == "done" and lab.run.handle.snapshot().status == "done"
    table = at.dataframe[0].value
    assert set(table["method"]) == {"RNN", "LSTM", "GRU", "persistence", "seasonal naive", "linear AR"}
    values = fc.load_series("nile").values
    config = lab.run.config
    assert config == fc.ForecastConfig(window=10, horizon=5, season=None, hidden_size=4, updates=40)
    session = fc.run(values, config)  # what the page trained in the session before the service
    for kind in fc.KINDS:
        np.testing.assert_allclose(lab.run.result.errors[kind]["mae"], session.errors[kind]["mae"], rtol=1e-3)
    assert ui.training_service().stats()["computations"] == before + 1

    other = open_lab()  # another session, the same series and settings: the run already made, replayed
    other.button(key="forecast.train").click().run()
    assert_clean(other)
    assert other.session_state[forecast_lab.KEY].run.replayed == "other"
    assert any("Replayed: the same run another session started" in c.value for c in other.caption)
    assert ui.training_service().stats()["computations"] == before + 1
    assert other.dataframe[0].value.equals(table)


def test_stop_mid_run_shows_the_models_at_their_kept_parameters():
    at = open_lab(updates=1000, hidden_size=32, seed=7)
    values = fc.load_series("nile").values
    config = fc.ForecastConfig(window=10, horizon=5, hidden_size=32, updates=1000, seed=7)
    jobs = forecast_lab.jobs_for(values, config, fc.KINDS)
    at.session_state["_rnnviz_owner"] = "this session"
    handle = ui.training_service().submit(jobs, owner="this session", kind="forecast")
    lab = forecast_lab.Lab(run=forecast_lab.ForecastRun(jobs, fc.load_series("nile"), handle))
    at.session_state[forecast_lab.KEY] = lab
    first_point(handle, every_model=True)
    at.button(key="forecast.stop").click().run()
    assert not at.exception
    run = at.session_state[forecast_lab.KEY].run
    assert run.status == "stopped" and set(run.result.models) == set(fc.KINDS)
    assert all(m.history[-1].update < 1000 for m in run.result.models.values())
    assert handle.snapshot().status == "stopped"


def test_the_trained_lstm_opens_in_the_cell_stepper_on_a_window_of_its_series():
    at = open_lab(series="elnino", window=12, horizon=6, season=12)
    at.button(key="forecast.train").click().run()
    assert_clean(at)
    run = at.session_state[forecast_lab.KEY].run
    at.selectbox(key="forecast.stepper_model").set_value("lstm").run()
    at.button(key="forecast.open_stepper").click().run()
    assert not at.exception
    offer = handoff.current(at.session_state)
    assert isinstance(offer, handoff.Offer)
    offer.check()
    series, result = fc.load_series("elnino"), run.result
    t = int(result.origins[0])
    assert offer.kind == "lstm" and offer.x.shape == (12, 1) and offer.source == PAGE
    np.testing.assert_allclose(offer.x[:, 0], result.scaler.transform(series.values[t - 12 : t]))
    assert offer.step_labels == series.labels[t - 12 : t]
    assert offer.title == (
        f"the LSTM trained in the Forecast lab on {fc.SHIPPED['elnino'].title}, "
        f"window {series.labels[t - 12]} to {series.labels[t - 1]}"
    )
    # The cell it rebuilds forecasts as the trained model does: its state dict is the kept parameters.
    kept = result.models["lstm"].forecaster
    for name, value in offer.state_dict.items():
        np.testing.assert_array_equal(value, kept.params[name.removesuffix("_l0")])


def test_the_stepper_window_of_a_model_of_changes_is_the_scaled_changes():
    values = fc.load_series("co2").values
    config = fc.ForecastConfig(window=6, horizon=3, season=12, hidden_size=3, updates=2, eval_every=2, difference=True)
    result = fc.run(values, config, ("gru",))
    t = int(result.origins[0])
    x, positions = fc.model_window(result, values, t)
    np.testing.assert_allclose(x[:, 0], result.scaler.transform(values[t - 6 : t] - values[t - 7 : t - 1]))
    np.testing.assert_array_equal(positions, np.arange(t - 6, t))
    with pytest.raises(ValueError, match="no full window"):
        fc.model_window(result, values, 3)


def test_a_press_over_the_cap_is_refused_with_its_reason_and_the_page_keeps_working():
    press = admission.press_work(nile_jobs(fc.ForecastConfig(window=10, horizon=5, hidden_size=4, updates=40)))
    policy = admission.Policy(max_press_work=0.6 * press)
    with trainer.TrainingService(workers=1, policy=policy) as service, pytest.MonkeyPatch.context() as patch:
        patch.setattr(ui, "training_service", lambda: service)
        at = open_lab()
        assert any("would be refused now: This run is 1.7× the largest" in c.value for c in at.caption)
        at.button(key="forecast.train").click().run()
        assert_clean(at)
        (warning,) = [w.value for w in at.warning]
        assert warning.startswith("**Not started.** This run is 1.7× the largest this shared server trains")
        assert at.session_state[forecast_lab.KEY].run is None and service.stats()["computations"] == 0
        at.number_input(key="forecast.updates").set_value(20).run()  # half the updates: 52% of the work, within the cap
        at.button(key="forecast.train").click().run()
        assert_clean(at)
        assert at.session_state[forecast_lab.KEY].run.status == "done"


def test_a_press_waits_in_the_queue_behind_a_busy_pool():
    with trainer.TrainingService(workers=1) as service, pytest.MonkeyPatch.context() as patch:
        patch.setattr(ui, "training_service", lambda: service)
        slow = fc.ForecastConfig(window=10, horizon=5, hidden_size=16, updates=300, seed=3)
        busy = service.submit(nile_jobs(slow), owner="another session", kind="forecast")
        at = open_lab()
        at.button(key="forecast.train").click().run()
        assert_clean(at)
        mine = at.session_state[forecast_lab.KEY].run.handle.snapshot()
        assert mine.status == "done" and mine.started_at >= busy.snapshot().finished_at  # it waited its turn


def test_a_run_of_a_restarted_server_named_in_the_url_is_said_lost_until_the_next_press():
    at = open_lab(run="0123abcd-7")  # another service instance: this server restarted since
    assert not at.exception
    assert any(w.value.startswith("**Your run was lost.**") for w in at.warning)
    at.button(key="forecast.train").click().run()
    assert_clean(at)
    assert not at.warning and at.session_state[forecast_lab.KEY].run.status == "done"
