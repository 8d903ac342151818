"""AppTest of the Training lab: training, Stop, a change of settings mid-run, the prediction and its reveal,
the small-data preset and the lag sweep. A loop cut off by a rerun is reproduced by the state it leaves
behind: the runs stored by the last progress callback, still marked running."""

import pytest

from rnnviz import tasks, training
from tests.test_pages import assert_clean, open_page

LAB = "pages/3_Training_lab.py"


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
    record = at.session_state["lab.run"]
    assert record["status"] == "done" and {r.updates for r in record["runs"].values()} == {50}


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
    at.session_state["lab.run"] = {"status": "done", "configs": configs, "runs": runs, "prediction": prediction}
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


def cut_off_run(at, updates, cells=("rnn", "lstm", "gru"), steps=1000, prediction=("rnn",)):
    """Leave in the session what a training loop leaves when a rerun ends it after ``updates`` rounds."""
    configs = {c: training.TrainConfig(cell=c, steps=steps, length=10, hidden_size=4, eval_every=25) for c in cells}
    kept = {}

    def on_progress(runs):
        kept.update(runs)
        if next(iter(runs.values())).updates == updates:
            raise KeyboardInterrupt

    if updates:
        with pytest.raises(KeyboardInterrupt):
            training.train_many(configs, on_progress=on_progress)
    at.session_state["lab.run"] = {"status": "running", "configs": configs, "runs": kept, "prediction": prediction}


def test_stop_before_the_first_evaluation_still_shows_every_model_at_its_update():
    at = open_page(LAB, steps=1000, length=10, hidden_size=4)
    cut_off_run(at, 7)  # the first evaluation point is at 25
    at.button(key="lab.stop").click().run()
    assert_clean(at)
    assert at.session_state["lab.run"]["status"] == "stopped"
    assert any("Stopped at update 7 of 1000: no verdict" in w.value for w in at.warning)
    assert [x.delta for x in at.metric] == ["no verdict: stopped at 7/1000"] * 3
    assert all(x.value != "—" for x in at.metric)
    assert "stopped at update 7 of 1000, before the end of its budget" in at.info[0].value
    assert "solved:" not in at.info[0].value


def test_a_change_of_settings_mid_run_says_interrupted_not_a_verdict():
    at = open_page(LAB, steps=1000, length=10, hidden_size=4)
    cut_off_run(at, 30)
    at.toggle(key="lab.small").set_value(True).run()  # the change that reran the page and ended the loop
    assert_clean(at)
    assert at.session_state["lab.run"]["status"] == "interrupted"
    assert any("Interrupted by a change of settings at update 30 of 1000: no verdict" in w.value for w in at.warning)
    assert [x.delta for x in at.metric] == ["no verdict: interrupted at 30/1000"] * 3
    assert "interrupted at update 30 of 1000" in at.info[0].value
    assert any("length 10, 4 units, 1000 updates" in c.value for c in at.caption)  # the run's own settings


def test_a_run_cut_off_before_its_first_round_says_so():
    at = open_page(LAB)
    cut_off_run(at, 0)
    at.button(key="lab.stop").click().run()
    assert_clean(at)
    assert [x.delta for x in at.metric] == ["stopped before its first update: no evaluation"] * 3


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
    assert at.session_state["lab.run"]["configs"]["gru"].n_train == training.SMALL_DATA["n_train"]
    assert any("Small data: the thin lines" in c.value for c in at.caption)
    gru = at.session_state["lab.run"]["runs"]["gru"]
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


def test_the_sweep_runs_and_stays_in_the_session():
    at = open_page(LAB, steps=50, hidden_size=2, models="rnn", task="order")
    at.button(key="lab.sweep_run").click().run()
    assert_clean(at)
    record = at.session_state["lab.sweep"]
    assert record["status"] == "done" and len(record["summaries"]) == record["total"] == 12  # 4 lengths x 3 seeds
    at.slider(key="lab.hidden_size").set_value(3).run()  # another click: the sweep's result is still shown
    titles = [c.proto.spec for c in at.get("plotly_chart")]
    assert any('"Your sweep"' in t for t in titles) and not at.warning


def test_a_stopped_sweep_shows_its_finished_runs_and_says_so():
    at = open_page(LAB, steps=50, models="rnn")
    base = training.TrainConfig(steps=50)
    summaries = [{"cell": "rnn", "length": 5, "seed": s, "solved": s == 0} for s in (0, 1, 2)]
    record = {"status": "running", "base": base, "cells": ["rnn"], "lengths": [5, 10], "seeds": [0, 1, 2]}
    at.session_state["lab.sweep"] = {**record, "summaries": summaries, "total": 6}
    at.button(key="lab.sweep_stop").click().run()
    assert_clean(at)
    assert any("Stopped after 3 of 6 runs" in w.value for w in at.warning)
    assert any("Your sweep (3 of 6 runs)" in c.proto.spec for c in at.get("plotly_chart"))
