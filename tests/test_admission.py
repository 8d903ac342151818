"""Admission to the shared training service: the price of a press, the cap, the queue bound by time, the
estimate and the words of a refusal."""

from dataclasses import replace

import pytest

from rnnviz.app.admission import Policy, Throughput, estimated_start, model_work, press_work, wait_words
from rnnviz.engine.training import TrainConfig

DEFAULT = [TrainConfig(cell=c) for c in ("rnn", "lstm", "gru")]
LARGEST = [replace(c, task="order", length=200, hidden_size=64, steps=3000) for c in DEFAULT]


def test_work_grows_with_every_dimension_of_a_run():
    base = TrainConfig(cell="lstm")
    work = model_work(base)
    assert model_work(replace(base, length=100)) == pytest.approx(2 * work)
    assert model_work(replace(base, cell="rnn")) == pytest.approx(work / 4)  # one block of rows, not four
    assert model_work(replace(base, steps=2000)) == pytest.approx(2 * work, rel=0.01)  # twice the evaluations too
    assert model_work(replace(base, hidden_size=32)) > 3.5 * work  # quadratic in the units


def test_the_docstring_numbers_are_the_prices_of_those_presses():
    assert f"{press_work(DEFAULT):.1e}" == "1.7e+10"  # the docstring's numbers, to the digits it gives
    assert f"{press_work(LARGEST):.1e}" == "3.0e+12"
    policy = Policy()
    assert policy.max_press_work / press_work(DEFAULT) == pytest.approx(36, rel=0.02)
    assert press_work(LARGEST) / policy.max_press_work == pytest.approx(5, rel=0.02)


def test_the_default_press_is_admitted_and_the_largest_refused_with_its_reason():
    policy, speed = Policy(), Throughput()
    assert policy.admit(press_work(DEFAULT), 0.0, 2, speed).admitted
    refusal = policy.admit(press_work(LARGEST), 0.0, 2, speed)
    assert not refusal.admitted
    assert "5.0× the largest" in refusal.reason and "rnnviz train" in refusal.reason


def test_the_queue_is_bounded_by_its_wait_and_a_session_replaces_its_own_run():
    policy, speed = Policy(max_wait=600), Throughput(per_second=1e9)
    assert policy.admit(1e9, waiting_work=1.1e12, workers=2, throughput=speed).admitted  # 550 s ahead
    busy = policy.admit(1e9, waiting_work=1.3e12, workers=2, throughput=speed)  # 650 s ahead
    assert not busy.admitted and "about 11 min" in busy.reason
    replacing = policy.admit(1e9, waiting_work=1.1e12, workers=2, throughput=speed, own_jobs=("job 7",))
    assert replacing.replaces == ("job 7",)


def test_the_estimate_follows_the_measured_throughput():
    speed = Throughput(per_second=1e9, weight=0.5)
    assert estimated_start([4e9, 2e9], workers=2, throughput=speed) == pytest.approx(3.0)
    speed.record(work=3e9, seconds=1.0)  # this server is faster than the guess
    assert speed.per_second == pytest.approx(2e9)
    speed.record(work=1e9, seconds=0.0)  # a replay: no measurement
    assert speed.per_second == pytest.approx(2e9)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(3, "about 5 s"), (42, "about 40 s"), (59, "about 60 s"), (61, "about 1 min"), (650, "about 11 min")],
)
def test_waits_are_rounded_in_words(seconds, words):
    assert wait_words(seconds) == words


def test_the_longest_wait_comes_from_the_environment_and_a_bad_value_names_the_variable():
    from rnnviz.app.admission import WAIT_VARIABLE

    assert Policy.from_env({}) == Policy()
    policy = Policy.from_env({WAIT_VARIABLE: " 120 ", "RNNVIZ_MAX_PRESS_WORK": "1e12"})
    assert (policy.max_wait, policy.max_press_work) == (120.0, 1e12)
    speed = Throughput()
    three_minutes = speed.per_second * 180 * 2  # of work ahead, on two workers
    assert Policy().admit(press_work(DEFAULT), three_minutes, 2, speed).admitted  # the default waits 15 min
    refusal = policy.admit(press_work(DEFAULT), three_minutes, 2, speed)
    assert not refusal.admitted and "about 3 min" in refusal.reason
    assert Policy.from_env({WAIT_VARIABLE: "inf"}).admit(press_work(DEFAULT), 1e20, 2, speed).admitted
    for bad in ("0", "0.5", "-60", "15min", "nan", "lots"):
        with pytest.raises(ValueError, match=rf"{WAIT_VARIABLE} must be a number of seconds, at least 1 .*{bad!r}"):
            Policy.from_env({WAIT_VARIABLE: bad})


@pytest.mark.parametrize(
    "variable, value",
    [
        ("RNNVIZ_MAX_WAIT", "soon"),
        ("RNNVIZ_STALL_AFTER", "1"),
        ("RNNVIZ_MAX_PRESS_WORK", "-1"),
        ("RNNVIZ_TRAINING_WORKERS", "many"),
    ],
)
def test_rnnviz_app_refuses_to_start_with_a_bad_setting_and_names_it(monkeypatch, capsys, variable, value):
    from rnnviz.__main__ import main

    assert main(["app", "--dry-run"]) == 0
    monkeypatch.setenv(variable, value)
    assert main(["app", "--dry-run"]) == 2
    assert variable in capsys.readouterr().err
