"""Analysis on cases whose answers are known in advance."""

import numpy as np
import pytest

import rnnviz
from rnnviz.engine import analysis


def orthogonal(H, seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(H, H)))
    return q


def linear_regime_rnn(scale, H=6, nonlinearity="tanh"):
    """W_hh = scale * orthogonal, zero biases and input weights: pre-activations stay at zero, so
    tanh' = 1 and each step back multiplies the gradient norm by exactly ``scale``."""
    sd = {
        "weight_ih": np.zeros((H, 1)),
        "weight_hh": scale * orthogonal(H),
        "bias_ih": np.zeros(H),
        "bias_hh": np.zeros(H),
    }
    return rnnviz.from_state_dict("rnn", sd, nonlinearity=nonlinearity)


@pytest.mark.parametrize("scale", [0.5, 0.9])
def test_rnn_gradient_decays_by_the_scale_per_step(scale):
    cell = linear_regime_rnn(scale)
    profile = analysis.gradient_vs_lag(cell, np.zeros((80, 1)))
    np.testing.assert_allclose(profile.h_norm, scale ** np.arange(80), rtol=1e-12)
    regime = analysis.classify(profile.h_norm)
    assert regime.label == "vanishing"
    assert regime.factor == pytest.approx(scale, rel=1e-9)
    assert regime.horizon == int(np.ceil(np.log(1e-3) / np.log(scale)))
    # the theory bound is tight here: sigma_max of a scaled orthogonal matrix is the scale
    bound = analysis.rnn_bound(cell, 80, start=profile.h_norm[0])
    np.testing.assert_allclose(bound, profile.h_norm, rtol=1e-12)


def test_measured_rnn_gradient_never_exceeds_the_theory_bound():
    cell = rnnviz.init_cell("rnn", 1, 16, seed=3, spectral_radius=1.2)
    x = np.random.default_rng(0).normal(size=(60, 1))
    profile = analysis.gradient_vs_lag(cell, x)
    bound = analysis.rnn_bound(cell, 60, start=profile.h_norm[0])
    assert np.all(profile.h_norm <= bound * (1 + 1e-12))


def test_exploding_linear_rnn_is_classified_and_overflow_located():
    cell = linear_regime_rnn(3.0)
    profile = analysis.gradient_vs_lag(cell, np.zeros((800, 1)))
    regime = analysis.classify(profile.h_norm)
    assert regime.label == "exploding"
    # 3^k overflows float64 (max ~1.8e308) just past k = 646
    assert profile.overflow_lag == regime.overflow_lag
    assert 640 <= profile.overflow_lag <= 650
    assert regime.factor == pytest.approx(3.0, rel=1e-9)


def test_orthogonal_linear_rnn_is_stable():
    regime = analysis.classify(analysis.gradient_vs_lag(linear_regime_rnn(1.0), np.zeros((100, 1))).h_norm)
    assert regime.label == "stable" and regime.horizon is None
    assert regime.factor == pytest.approx(1.0, abs=1e-9)


def pinned_lstm(forget_bias, H=4):
    """An LSTM whose gates ignore the input and the state: every gate is a constant from its bias."""
    b = np.zeros(4 * H)
    b[H : 2 * H] = forget_bias  # forget gate
    b[3 * H :] = 3.0  # output gate mostly open
    sd = {
        "weight_ih": np.zeros((4 * H, 1)),
        "weight_hh": np.zeros((4 * H, H)),
        "bias_ih": b,
        "bias_hh": np.zeros(4 * H),
    }
    return rnnviz.from_state_dict("lstm", sd)


def test_lstm_with_forget_gate_pinned_near_one_keeps_cell_gradient():
    cell = pinned_lstm(forget_bias=12.0)  # f = sigmoid(12) = 0.999994
    profile = analysis.gradient_vs_lag(cell, np.zeros((200, 1)))
    assert profile.c_norm[-1] / profile.c_norm[0] > 0.99
    assert analysis.classify(profile.c_norm).label == "stable"
    # with W_hh = 0 the cell path is the only way back, so the forget-gate theory is exact
    np.testing.assert_allclose(analysis.forget_gate_path(profile), profile.c_norm, rtol=1e-10)
    half_life = analysis.memory_half_life(profile.trace)
    np.testing.assert_allclose(half_life, np.log(0.5) / np.log(rnnviz.sigmoid(12.0)), rtol=1e-9)


def test_lstm_with_small_forget_gate_loses_its_gradient_like_f_to_the_k():
    cell = pinned_lstm(forget_bias=0.0)  # f = 0.5
    profile = analysis.gradient_vs_lag(cell, np.zeros((30, 1)))
    np.testing.assert_allclose(profile.c_norm / profile.c_norm[0], 0.5 ** np.arange(30), rtol=1e-10)
    np.testing.assert_allclose(analysis.memory_half_life(profile.trace), 1.0)


def test_jacobian_norms_match_the_linear_case_and_finite_differences():
    cell = linear_regime_rnn(0.8)
    norms = analysis.jacobian_norms(cell, np.zeros((10, 1)))
    np.testing.assert_allclose(norms, 0.8 ** np.arange(9, -1, -1), rtol=1e-12)  # t = 0 is 9 steps back
    # a nonlinear GRU, checked against a finite-difference Jacobian at one step
    gru = rnnviz.init_cell("gru", 2, 3, seed=1)
    x = np.random.default_rng(2).normal(size=(6, 2))
    trace = gru.forward(x)
    t, eps = 2, 1e-6
    J = np.zeros((3, 3))
    for j in range(3):
        h = trace.h[t].copy()
        h[j] += eps
        plus = gru.forward(x[t + 1 :], h).h[-1]
        h[j] -= 2 * eps
        minus = gru.forward(x[t + 1 :], h).h[-1]
        J[:, j] = (plus - minus) / (2 * eps)
    assert analysis.jacobian_norms(gru, x)[t] == pytest.approx(np.linalg.norm(J, 2), rel=1e-7)


def test_gate_saturation_counts_by_threshold():
    cell = pinned_lstm(forget_bias=12.0)
    sat = analysis.gate_saturation(cell.forward(np.zeros((5, 1))))
    assert sat["forget"] == 1.0  # 0.99999
    assert sat["input"] == 0.0  # sigmoid(0) = 0.5
    assert sat["output"] == 1.0  # sigmoid(3) = 0.953
    assert sat["cell"] == 0.0  # tanh(0) = 0


def test_half_life_refuses_the_plain_rnn():
    with pytest.raises(ValueError, match="gated"):
        analysis.memory_half_life(rnnviz.init_cell("rnn", 1, 2).forward(np.zeros((3, 1))))


def test_norm_does_not_overflow_before_the_values_do():
    a = np.array([[3e200, 4e200], [np.inf, 1.0], [0.0, 0.0], [np.nan, 1.0]])
    np.testing.assert_allclose(analysis.norm(a)[:3], [5e200, np.inf, 0.0], rtol=1e-15)
    assert np.isnan(analysis.norm(a)[3])
    np.testing.assert_allclose(analysis.norm(np.array([1.0, 2.0, 2.0]), axis=0), 3.0, rtol=1e-15)


def test_clip_by_norm_bounds_the_norm_and_keeps_the_direction():
    g = {"a": np.array([3.0, 4.0]), "b": np.array([12.0])}  # joint norm 13
    clipped, norm = analysis.clip_by_norm(g, 1.3)
    assert norm == pytest.approx(13.0)
    np.testing.assert_allclose(clipped["a"], [0.3, 0.4])
    np.testing.assert_allclose(clipped["b"], [1.2])
    assert g["a"][0] == 3.0  # the caller's arrays are untouched
    same, _ = analysis.clip_by_norm(g, 100.0)
    np.testing.assert_array_equal(same["b"], g["b"])


def test_clipping_keeps_an_exploding_run_finite():
    cell = rnnviz.init_cell("rnn", 1, 8, seed=0, spectral_radius=1.8, nonlinearity="relu")
    x = np.abs(np.random.default_rng(0).normal(size=(60, 1)))
    from rnnviz.engine import training

    run = training.clipping_run(cell, x, np.zeros(8), steps=15, lr=0.1, threshold=1.0)
    assert not np.all(np.isfinite(run.loss_plain))  # without clipping it blows up
    assert np.all(np.isfinite(run.loss_clipped))
