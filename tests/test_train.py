"""Task generators, the training step, the optimiser, the CLI, and the shipped sweep."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnviz import tasks, training

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["first", "adding", "order"])
def test_task_shapes_and_seeds(name):
    train_set, test_set = tasks.make_task(name, 30, 64, 16, seed=3)
    spec = tasks.SPECS[name]
    assert train_set.x.shape == (30, 64, spec.input_size) and test_set.x.shape == (30, 16, spec.input_size)
    assert train_set.y.shape == (64,) and train_set.regression == spec.regression
    again, _ = tasks.make_task(name, 30, 64, 16, seed=3)
    np.testing.assert_array_equal(again.x, train_set.x)
    other, _ = tasks.make_task(name, 30, 64, 16, seed=4)
    assert not np.array_equal(other.x, train_set.x)
    assert not np.array_equal(train_set.x[:, :16], test_set.x)  # held out: a different stream


def test_adding_labels_are_the_sum_of_the_two_marked_values():
    data, _ = tasks.make_task("adding", 40, 200, 1, seed=0)
    marks = data.x[:, :, 1]
    assert np.all(marks.sum(axis=0) == 2)
    first, second = (np.argsort(-marks, axis=0, kind="stable")[:2].min(0), np.argsort(-marks, axis=0)[:2].max(0))
    assert np.all(first < 20) and np.all(second >= 20)  # one mark per half
    np.testing.assert_allclose(data.y, (data.x[:, :, 0] * marks).sum(axis=0))


def test_adding_baseline_is_the_variance_of_the_sum():
    data, _ = tasks.make_task("adding", 10, 200_000, 1, seed=1)
    assert np.mean((data.y - 1.0) ** 2) == pytest.approx(tasks.SPECS["adding"].baseline, rel=0.01)


def test_first_symbol_is_only_visible_at_step_zero():
    data, _ = tasks.make_task("first", 25, 500, 1, seed=2)
    np.testing.assert_array_equal(np.argmax(data.x[0, :, :4], axis=1), data.y)
    assert np.all(data.x[1:, :, :4] == 0)
    assert np.bincount(data.y, minlength=4).min() > 80  # classes balanced-ish


def test_temporal_order_label_matches_the_two_relevant_symbols():
    data, _ = tasks.make_task("order", 50, 300, 1, seed=5)
    symbols = np.argmax(data.x, axis=-1)  # (T, N)
    for n in range(300):
        relevant = symbols[:, n][symbols[:, n] < 2]
        assert relevant.size == 2
        assert data.y[n] == 2 * relevant[0] + relevant[1]
        where = np.nonzero(symbols[:, n] < 2)[0]
        assert 5 <= where[0] < 10 and 25 <= where[1] < 30


@pytest.mark.parametrize("name,length", [("fizz", 10), ("order", 5), ("adding", 1)])
def test_bad_task_requests(name, length):
    with pytest.raises(ValueError):
        tasks.make_task(name, length, 10, 10)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("task", ["adding", "first"])
def test_training_gradients_match_finite_differences(cell, task):
    config = training.TrainConfig(cell=cell, task=task, length=5, hidden_size=3, dtype="float64")
    data, _ = tasks.make_task(task, 5, 4, 1, seed=0)
    model = training.init_model(config, tasks.SPECS[task])
    _, _, grads = training.loss_and_grads(model, data)
    params = model.params
    for name in ("weight_hh", "readout.weight", "readout.bias"):
        numeric = np.zeros_like(params[name])
        for idx in np.ndindex(params[name].shape):
            for sign in (1, -1):
                shifted = {k: v.copy() for k, v in params.items()}
                shifted[name][idx] += sign * 1e-6
                numeric[idx] += sign * training.loss_and_grads(model.with_params(shifted), data)[0] / 2e-6
        err = np.linalg.norm(numeric - grads[name]) / np.linalg.norm(numeric)
        assert err < 1e-6, (name, err)


def test_a_short_run_reduces_the_loss():
    history = [
        p for p, _ in training.train_steps(training.TrainConfig(cell="gru", length=10, steps=120, eval_every=20))
    ]
    assert history[-1].train_loss < 0.5 * history[0].train_loss
    assert history[-1].test_metric < tasks.SPECS["adding"].baseline


def test_adam_step_matches_a_hand_computation():
    opt = training.Optimizer("adam", lr=0.1)
    p, g = {"w": np.array([1.0, -2.0])}, {"w": np.array([0.5, -0.25])}
    new, norm = opt.step(p, g)
    # first step: m_hat = g, v_hat = g^2, so the update is lr * g / (|g| + eps) = lr * sign(g)
    np.testing.assert_allclose(new["w"], [0.9, -1.9], rtol=1e-7)
    assert norm == pytest.approx(np.hypot(0.5, 0.25))
    new2, _ = opt.step(new, {"w": np.array([0.5, 0.5])})
    m = 0.9 * 0.1 * np.array([0.5, -0.25]) + 0.1 * np.array([0.5, 0.5])
    v = 0.999 * 0.001 * np.array([0.25, 0.0625]) + 0.001 * np.array([0.25, 0.25])
    expected = new["w"] - 0.1 * (m / (1 - 0.81)) / (np.sqrt(v / (1 - 0.999**2)) + 1e-8)
    np.testing.assert_allclose(new2["w"], expected, rtol=1e-10)
    assert p["w"][0] == 1.0  # the caller's arrays are not touched


def test_sgd_with_clipping_bounds_the_update():
    opt = training.Optimizer("sgd", lr=1.0, clip=0.5)
    new, norm = opt.step({"w": np.zeros(2)}, {"w": np.array([30.0, 40.0])})
    assert norm == pytest.approx(50.0)
    assert np.linalg.norm(new["w"]) == pytest.approx(0.5)


def test_bad_configs_raise_value_error():
    for bad in (dict(steps=0), dict(lr=-1.0), dict(optimizer="rmsprop"), dict(clip=0.0), dict(cell="tcn")):
        with pytest.raises(ValueError):
            training.TrainConfig(**bad).check()


def test_cli_prints_one_json_object():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "rnnviz",
            "train",
            "--cell",
            "rnn",
            "--task",
            "adding",
            "--length",
            "5",
            "--steps",
            "60",
            "--seed",
            "1",
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    summary = json.loads(out.stdout)
    assert {"solved", "test_metric", "steps", "seconds", "params"} <= set(summary)
    assert (
        summary["steps"] == 60 and summary["params"] == 16 * 2 + 16 * 16 + 2 * 16 + 16 + 1
    )  # W_ih, W_hh, biases, readout


def test_cli_reports_bad_arguments_without_a_traceback():
    out = subprocess.run(
        [sys.executable, "-m", "rnnviz", "train", "--task", "order", "--length", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2 and "error:" in out.stderr and "Traceback" not in out.stderr


def test_shipped_sweep_reproduces_one_of_its_cells():
    shipped = json.loads((ROOT / "rnnviz" / "data" / "sweep_default.json").read_text())
    record = next(r for r in shipped["runs"] if r["cell"] == "gru" and r["length"] == 10 and r["seed"] == 1)
    config = training.TrainConfig(**{**shipped["base"], "cell": "gru", "length": 10, "seed": 1})
    rerun = training.train(config).summary()
    assert rerun["solved"] == record["solved"] and rerun["solved_step"] == record["solved_step"]
    assert rerun["test_metric"] == pytest.approx(record["test_metric"], rel=1e-6)
    rates = training.success_rates(shipped)
    assert set(rates) == {"rnn", "lstm", "gru"} and all(len(v) == len(shipped["lengths"]) for v in rates.values())


def test_a_non_finite_update_is_refused_for_cell_and_readout_alike():
    model = training.init_model(training.TrainConfig(cell="gru", hidden_size=3), tasks.SPECS["adding"])
    for name in ("weight_hh", "readout.weight"):
        params = {k: v.copy() for k, v in model.params.items()}
        params[name].flat[0] = np.inf
        with pytest.raises(ValueError, match="NaN or infinite"):
            model.with_params(params)


def test_training_with_a_huge_sgd_step_keeps_the_model_finite():
    config = training.TrainConfig(cell="rnn", optimizer="sgd", lr=1e30, clip=None, steps=20, length=5, eval_every=5)
    for _, model in training.train_steps(config):
        assert all(np.all(np.isfinite(v)) for v in model.params.values())
