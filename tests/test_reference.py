"""The fast engine (cells.py) against the textbook step (reference.py) in float64, and the textbook step
against finite differences. Together with tests/test_weights.py's torch reference, this ties the fast
engine, the equations a student reads, and torch.nn to one another."""

import numpy as np
import pytest

import rnnviz
from rnnviz.engine import reference
from rnnviz.engine.cells import GATE_COUNT, GATE_NAMES
from tests.helpers import numeric_grad, rel_err

CASES = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]
SYMBOLS = {"lstm": ("i_t", "f_t", "g_t", "o_t"), "gru": ("r_t", "z_t", "n_t"), "rnn": ()}  # as GATE_NAMES
RTOL = 1e-10


def random_params(kind, D, H, seed, scale=0.6):
    """Every parameter random, biases included (zero biases hide bugs)."""
    rng = np.random.default_rng(seed)
    G = GATE_COUNT[kind]
    return {
        "weight_ih": rng.normal(0, scale, (G * H, D)),
        "weight_hh": rng.normal(0, scale, (G * H, H)),
        "bias_ih": rng.normal(0, scale, G * H),
        "bias_hh": rng.normal(0, scale, G * H),
    }


def problem(kind, batched, seed, T=7, B=4, D=3, H=5):
    rng = np.random.default_rng(seed + 1000)
    lead = (T, B) if batched else (T,)
    x = rng.normal(size=lead + (D,))
    h0 = 0.5 * rng.normal(size=lead[1:] + (H,))
    c0 = 0.5 * rng.normal(size=lead[1:] + (H,)) if kind == "lstm" else None
    d_h = rng.normal(size=lead + (H,))
    d_c = rng.normal(size=lead + (H,)) if kind == "lstm" else None
    return random_params(kind, D, H, seed), x, h0, c0, d_h, d_c


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("batched", [False, True], ids=["unbatched", "batched"])
@pytest.mark.parametrize("kind,nonlinearity", CASES)
def test_fast_engine_equals_the_textbook_step(kind, nonlinearity, batched, seed):
    params, x, h0, c0, d_h, d_c = problem(kind, batched, seed)
    cell = rnnviz.from_state_dict(kind, params, nonlinearity=nonlinearity)
    trace = cell.forward(x, h0, c0)
    grads = cell.backward(trace, d_h, d_c)
    forward, expected = reference.run_sequence(kind, params, x, h0, c0, d_h, d_c, nonlinearity=nonlinearity)

    assert trace.h.shape == forward["h_t"].shape
    assert rel_err(trace.h, forward["h_t"]) < RTOL
    if kind == "lstm":
        assert rel_err(trace.c, forward["c_t"]) < RTOL
    assert tuple(trace.gates) == GATE_NAMES[kind]
    for name, symbol in zip(GATE_NAMES[kind], SYMBOLS[kind], strict=True):
        assert rel_err(trace.gates[name], forward[symbol]) < RTOL, name

    for name, value in expected["params"].items():
        assert rel_err(grads.params[name], value) < RTOL, name
    for name in ("x", "h0", "c0"):
        if expected[name] is None:
            assert getattr(grads, name) is None
        else:
            assert rel_err(getattr(grads, name), expected[name]) < RTOL, name
    assert grads.h.shape == expected["h"].shape
    for t in range(x.shape[0]):  # every step's total state gradients, not only their sum
        assert rel_err(grads.h[t], expected["h"][t]) < RTOL, t
        if kind == "lstm":
            assert rel_err(grads.c[t], expected["c"][t]) < RTOL, t
    if kind != "lstm":
        assert grads.c is None


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_float32_engine_agrees_with_the_textbook_step_to_float32_precision(kind):
    params, x, h0, c0, d_h, d_c = problem(kind, True, seed=3)
    cell = rnnviz.from_state_dict(kind, {k: v.astype(np.float32) for k, v in params.items()})
    f32 = lambda a: None if a is None else a.astype(np.float32)  # noqa: E731
    trace = cell.forward(f32(x), f32(h0), f32(c0))
    grads = cell.backward(trace, f32(d_h), f32(d_c))
    as_given = {k: v.astype(np.float32).astype(np.float64) for k, v in params.items()}
    forward, expected = reference.run_sequence(kind, as_given, f32(x), f32(h0), f32(c0), f32(d_h), f32(d_c))
    assert rel_err(trace.h, forward["h_t"]) < 1e-5
    for name, value in expected["params"].items():
        assert rel_err(grads.params[name], value) < 1e-5, name


@pytest.mark.parametrize("kind,nonlinearity", CASES)
def test_the_textbook_step_matches_finite_differences(kind, nonlinearity):
    """The oracle checked on its own: L = sum(d_h * h) + sum(d_c * c) over the sequence."""
    params, x, h0, c0, d_h, d_c = problem(kind, True, seed=5, T=4, B=2, D=2, H=3)
    _, grads = reference.run_sequence(kind, params, x, h0, c0, d_h, d_c, nonlinearity=nonlinearity)

    def loss():
        forward, _ = reference.run_sequence(kind, params, x, h0, c0, nonlinearity=nonlinearity)
        value = np.sum(d_h * forward["h_t"])
        return value + (np.sum(d_c * forward["c_t"]) if kind == "lstm" else 0.0)

    for name, value in params.items():
        assert rel_err(grads["params"][name], numeric_grad(loss, value)) < 1e-7, name
    assert rel_err(grads["x"], numeric_grad(loss, x)) < 1e-7
    assert rel_err(grads["h0"], numeric_grad(loss, h0)) < 1e-7
    if kind == "lstm":
        assert rel_err(grads["c0"], numeric_grad(loss, c0)) < 1e-7


def test_the_textbook_gru_resets_after_the_recurrent_product():
    """PyTorch's GRU: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), not tanh(W_in x + b_in + W_hn (r * h) + b_hn)."""
    params = random_params("gru", 2, 3, seed=8)
    x_t, h_prev = np.array([[0.9, -0.5]]), np.array([[0.6, -0.2, 0.4]])
    _, cache = reference.gru_step_forward(x_t, h_prev, params)
    W_in, W_hn = params["weight_ih"][6:], params["weight_hh"][6:]
    b_in, b_hn = params["bias_ih"][6:], params["bias_hh"][6:]
    r_t = cache["r_t"]
    after = np.tanh(x_t @ W_in.T + b_in + r_t * (h_prev @ W_hn.T + b_hn))
    before = np.tanh(x_t @ W_in.T + b_in + (r_t * h_prev) @ W_hn.T + b_hn)
    np.testing.assert_array_equal(cache["n_t"], after)
    assert rel_err(cache["n_t"], before) > 1e-3  # the two placements do differ on these numbers


# --------------------------------------------------------------------------------------------------
# The 1997 LSTM (no forget gate): the fast cell against its textbook step, and the step on its own


def problem_1997(batched, seed, T=7, B=4, D=3, H=5):
    rng = np.random.default_rng(seed + 2000)
    lead = (T, B) if batched else (T,)
    x = rng.normal(size=lead + (D,))
    h0, c0 = 0.5 * rng.normal(size=lead[1:] + (H,)), 0.5 * rng.normal(size=lead[1:] + (H,))
    d_h, d_c = rng.normal(size=lead + (H,)), rng.normal(size=lead + (H,))
    return random_params("lstm1997", D, H, seed), x, h0, c0, d_h, d_c


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("batched", [False, True], ids=["unbatched", "batched"])
def test_fast_1997_cell_equals_its_textbook_step(batched, seed):
    params, x, h0, c0, d_h, d_c = problem_1997(batched, seed)
    cell = rnnviz.from_state_dict("lstm1997", params)
    trace = cell.forward(x, h0, c0)
    grads = cell.backward(trace, d_h, d_c)
    forward, expected = reference.run_sequence("lstm1997", params, x, h0, c0, d_h, d_c)
    assert rel_err(trace.h, forward["h_t"]) < RTOL and rel_err(trace.c, forward["c_t"]) < RTOL
    assert tuple(trace.gates) == GATE_NAMES["lstm1997"]
    for name, symbol in zip(GATE_NAMES["lstm1997"], ("i_t", "g_t", "o_t"), strict=True):
        assert rel_err(trace.gates[name], forward[symbol]) < RTOL, name
    for name, value in expected["params"].items():
        assert rel_err(grads.params[name], value) < RTOL, name
    for name in ("x", "h0", "c0", "h", "c"):
        assert rel_err(getattr(grads, name), expected[name]) < RTOL, name


def test_the_textbook_1997_step_matches_finite_differences():
    params, x, h0, c0, d_h, d_c = problem_1997(True, seed=5, T=4, B=2, D=2, H=3)
    _, grads = reference.run_sequence("lstm1997", params, x, h0, c0, d_h, d_c)

    def loss():
        forward, _ = reference.run_sequence("lstm1997", params, x, h0, c0)
        return np.sum(d_h * forward["h_t"]) + np.sum(d_c * forward["c_t"])

    for name, value in params.items():
        assert rel_err(grads["params"][name], numeric_grad(loss, value)) < 1e-7, name
    for name, value in (("x", x), ("h0", h0), ("c0", c0)):
        assert rel_err(grads[name], numeric_grad(loss, value)) < 1e-7, name
