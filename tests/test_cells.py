"""The cell engine against finite differences, against itself (step vs sequence, batch vs singles), and
against bad input. The textbook step (reference.py) is the one-step oracle: tests/test_reference.py. No torch
here: outside checks compare with torch.nn directly."""

import numpy as np
import pytest

import rnnviz
from rnnviz.engine.cells import GATE_COUNT
from tests.helpers import numeric_grad, rel_err

CASES = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]


def random_cell(kind, nonlinearity="tanh", D=3, H=4, seed=0, scale=0.6):
    """Every parameter random, biases included (zero biases hide bugs)."""
    rng = np.random.default_rng(seed)
    G = GATE_COUNT[kind]
    sd = {
        "weight_ih": rng.normal(0, scale, (G * H, D)),
        "weight_hh": rng.normal(0, scale, (G * H, H)),
        "bias_ih": rng.normal(0, scale, G * H),
        "bias_hh": rng.normal(0, scale, G * H),
    }
    return rnnviz.from_state_dict(kind, sd, nonlinearity=nonlinearity)


def make_problem(kind, nonlinearity, batched, seed=1):
    cell = random_cell(kind, nonlinearity, seed=seed)
    rng = np.random.default_rng(seed + 100)
    T, B, D, H = 6, 3, cell.input_size, cell.hidden_size
    lead = (T, B) if batched else (T,)
    x = rng.normal(size=lead + (D,))
    h0 = rng.normal(size=lead[1:] + (H,)) * 0.5
    c0 = rng.normal(size=lead[1:] + (H,)) * 0.5 if kind == "lstm" else None
    w_h = rng.normal(size=lead + (H,))  # L = sum(w_h * h) + sum(w_c * c)
    w_c = rng.normal(size=lead + (H,)) if kind == "lstm" else None
    return cell, x, h0, c0, w_h, w_c


def loss(cell, x, h0, c0, w_h, w_c):
    tr = cell.forward(x, h0, c0)
    value = np.sum(w_h * tr.h)
    if w_c is not None:
        value += np.sum(w_c * tr.c)
    return value


@pytest.mark.parametrize("batched", [False, True], ids=["unbatched", "batched"])
@pytest.mark.parametrize("kind,nonlinearity", CASES)
def test_gradients_match_finite_differences(kind, nonlinearity, batched):
    cell, x, h0, c0, w_h, w_c = make_problem(kind, nonlinearity, batched)
    trace = cell.forward(x, h0, c0)
    grads = cell.backward(trace, w_h, w_c)
    assert not grads.overflowed
    f = lambda: loss(cell, x, h0, c0, w_h, w_c)  # noqa: E731
    for name, value in cell.params.items():
        assert rel_err(grads.params[name], numeric_grad(f, value)) < 1e-6, name
    assert rel_err(grads.x, numeric_grad(f, x)) < 1e-6
    assert rel_err(grads.h0, numeric_grad(f, h0)) < 1e-6
    if kind == "lstm":
        assert rel_err(grads.c0, numeric_grad(f, c0)) < 1e-6
    else:
        assert grads.c0 is None and grads.c is None


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_total_state_gradients_match_finite_differences(kind):
    """grads.h[t] is dL/dh_t through everything after t: perturb h_t by restarting the run from it."""
    cell, x, h0, c0, w_h, w_c = make_problem(kind, "tanh", batched=False)
    trace = cell.forward(x, h0, c0)
    grads = cell.backward(trace, w_h, w_c)
    t = 2
    h_t = trace.h[t].copy()
    c_t = None if kind != "lstm" else trace.c[t].copy()

    def rest_loss():  # loss terms that depend on h_t: its own, and every later step's
        tail = cell.forward(x[t + 1 :], h_t, c_t)
        value = np.sum(w_h[t] * h_t) + np.sum(w_h[t + 1 :] * tail.h)
        if kind == "lstm":
            value += np.sum(w_c[t] * c_t) + np.sum(w_c[t + 1 :] * tail.c)
        return value

    assert rel_err(grads.h[t], numeric_grad(rest_loss, h_t)) < 1e-6
    if kind == "lstm":  # dL/dc_t counts the path through h_t = o_t * tanh(c_t) too
        o_t = trace.gates["output"][t]

        def rest_loss_from_c():
            h_t[:] = o_t * np.tanh(c_t)
            return rest_loss()

        assert rel_err(grads.c[t], numeric_grad(rest_loss_from_c, c_t)) < 1e-6


@pytest.mark.parametrize("kind,nonlinearity", CASES)
def test_stepping_equals_sequence_run(kind, nonlinearity):
    cell, x, h0, c0, *_ = make_problem(kind, nonlinearity, batched=True)
    trace = cell.forward(x, h0, c0)
    h, c = h0, c0
    for t in range(x.shape[0]):
        h, c = cell.step(x[t], h, c)
        np.testing.assert_allclose(h, trace.h[t], rtol=0, atol=1e-14)
        if kind == "lstm":
            np.testing.assert_allclose(c, trace.c[t], rtol=0, atol=1e-14)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_batch_equals_single_runs(kind):
    cell, x, h0, c0, w_h, w_c = make_problem(kind, "tanh", batched=True)
    trace = cell.forward(x, h0, c0)
    grads = cell.backward(trace, w_h, w_c)
    total = {name: np.zeros_like(v) for name, v in cell.params.items()}
    for b in range(x.shape[1]):
        single = cell.forward(x[:, b], h0[b], None if c0 is None else c0[b])
        np.testing.assert_allclose(single.h, trace.h[:, b], rtol=0, atol=1e-14)
        for gate, values in single.gates.items():
            np.testing.assert_allclose(values, trace.gates[gate][:, b], rtol=0, atol=1e-14)
        g = cell.backward(single, w_h[:, b], None if w_c is None else w_c[:, b])
        np.testing.assert_allclose(g.x, grads.x[:, b], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(g.h, grads.h[:, b], rtol=1e-12, atol=1e-14)
        for name in total:
            total[name] += g.params[name]
    for name in total:
        np.testing.assert_allclose(total[name], grads.params[name], rtol=1e-12, atol=1e-13)


def test_gate_names_and_shapes():
    x = np.zeros((5, 2))
    lstm = rnnviz.init_cell("lstm", 2, 3).forward(x)
    assert set(lstm.gates) == {"input", "forget", "cell", "output"}
    assert lstm.c.shape == lstm.h.shape == (5, 3)
    gru = rnnviz.init_cell("gru", 2, 3).forward(x)
    assert set(gru.gates) == {"reset", "update", "new"} and gru.c is None
    assert rnnviz.init_cell("rnn", 2, 3).forward(x).gates == {}


def test_float32_in_float32_out_and_float64_default():
    cell32 = rnnviz.init_cell("lstm", 1, 4, dtype=np.float32)
    trace = cell32.forward(np.zeros((3, 1), np.float32))
    assert trace.h.dtype == np.float32
    grads = cell32.backward(trace, np.ones_like(trace.h))
    assert grads.params["weight_hh"].dtype == np.float32 and grads.x.dtype == np.float32
    assert rnnviz.init_cell("lstm", 1, 4).forward(np.zeros((3, 1))).h.dtype == np.float64
    assert cell32.forward(np.zeros((3, 1))).h.dtype == np.float64  # float64 input promotes


@pytest.mark.parametrize(
    "x,kwargs,message",
    [
        (np.zeros((5,)), {}, "shape"),
        (np.zeros((5, 2)), {}, "features"),
        (np.zeros((0, 1)), {}, "empty"),
        (np.array([[1.0], [np.nan]]), {}, "NaN"),
        (np.array([[1.0], [np.inf]]), {}, "NaN or infinite"),
        (np.array([["a"], ["b"]]), {}, "numeric"),
        (np.zeros((3, 1)), {"h0": np.zeros(5)}, "h0"),
        (np.zeros((3, 2, 1)), {"h0": np.zeros(4)}, "h0"),
        (np.zeros((3, 1)), {"c0": np.zeros(4)}, "only for the LSTM"),
    ],
)
def test_bad_forward_input_raises_value_error(x, kwargs, message):
    cell = rnnviz.init_cell("gru", 1, 4)
    with pytest.raises(ValueError, match=message):
        cell.forward(x, **kwargs)


def test_backward_checks_its_gradient_shape():
    cell = rnnviz.init_cell("rnn", 1, 4)
    trace = cell.forward(np.zeros((3, 1)))
    with pytest.raises(ValueError, match="d_h must have shape"):
        cell.backward(trace, np.zeros((3, 5)))


def test_sigmoid_is_stable_for_extreme_inputs():
    with np.errstate(all="raise"):
        values = rnnviz.sigmoid(np.array([-1e308, -800.0, 0.0, 800.0, 1e308]))
    np.testing.assert_allclose(values, [0, 0, 0.5, 1, 1])


def test_exploding_relu_rnn_reports_overflow_without_warnings():
    cell = rnnviz.init_cell("rnn", 1, 8, seed=0, spectral_radius=50.0, nonlinearity="relu")
    x = np.ones((400, 1))
    with np.errstate(all="raise"):  # any NumPy warning would raise here
        trace = cell.forward(x)
        grads = cell.backward(trace, np.ones_like(trace.h))
    assert trace.overflowed
    assert grads.overflowed


def test_exploding_gradient_in_a_tanh_rnn_is_flagged():
    # Near-linear regime (tiny input, zero bias) with a large radius: the backward product grows ~ 40^k.
    rng = np.random.default_rng(0)
    H = 6
    q, _ = np.linalg.qr(rng.normal(size=(H, H)))
    sd = {"weight_ih": np.zeros((H, 1)), "weight_hh": 40.0 * q, "bias_ih": np.zeros(H), "bias_hh": np.zeros(H)}
    cell = rnnviz.from_state_dict("rnn", sd)
    trace = cell.forward(np.zeros((300, 1)))
    d_h = np.zeros_like(trace.h)
    d_h[-1] = 1.0
    with np.errstate(all="raise"):
        grads = cell.backward(trace, d_h)
    assert grads.overflowed
    assert not np.all(np.isfinite(grads.h[0]))
    assert np.all(np.isfinite(grads.h[-5:]))


def test_matches_saved_reference_outputs():
    """Float64 forward and backward agree to 1e-12 with what the engine computed before its rewrite into
    preallocated buffers (tests/data/make_engine_reference.py made the file)."""
    import importlib.util
    from pathlib import Path

    here = Path(__file__).parent / "data"
    spec = importlib.util.spec_from_file_location("make_engine_reference", here / "make_engine_reference.py")
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    with np.load(here / "engine_reference.npz") as saved:
        reference = dict(saved)
    checked = 0
    for name, value in maker.outputs(rnnviz.from_state_dict).items():
        if value is None:
            assert name not in reference
            continue
        expected = reference[name]
        assert value.shape == expected.shape, name
        np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-12, err_msg=name)
        checked += 1
    assert checked == len(reference)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_float32_backward_flushes_vanishing_gradients_and_agrees_with_float64(kind):
    """A loss on the last step of a long run: the gradient decays backwards through float32's subnormal
    range. The engine flushes it below FLUSH_BELOW instead (no subnormal value is left), and the parameter
    gradients still agree with float64's."""
    from rnnviz.engine.cells import FLUSH_BELOW

    T, B, D, H = 200, 4, 2, 8
    cell64 = rnnviz.init_cell(kind, D, H, seed=0)
    cell32 = rnnviz.init_cell(kind, D, H, seed=0, dtype=np.float32)
    x = np.random.default_rng(0).normal(size=(T, B, D))
    d_h = np.zeros((T, B, H))
    d_h[-1] = 1.0
    g64 = cell64.backward(cell64.forward(x), d_h)
    g32 = cell32.backward(cell32.forward(x.astype(np.float32)), d_h.astype(np.float32))
    assert np.min(np.abs(g64.h[0])) < np.finfo(np.float32).tiny  # the float64 gradient does pass that range
    magnitude = np.abs(g32.h)
    assert not np.any((magnitude > 0) & (magnitude < np.finfo(np.float32).tiny))
    assert np.all(g32.h[np.abs(g64.h) < 0.5 * FLUSH_BELOW] == 0)
    for name in cell64.params:
        assert rel_err(g32.params[name], g64.params[name]) < 1e-5, name
    assert rel_err(g32.x, g64.x) < 1e-5


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_backward_results_own_their_memory_though_backward_reuses_work_arrays(kind):
    """Backward keeps its work arrays between calls (rnnviz.engine.cells._Scratch): the gradients a call returned
    must stay as they were when the next call, of the same shapes, runs."""
    T, B, D, H = 6, 3, 2, 4
    cell = rnnviz.init_cell(kind, D, H, seed=1, dtype=np.float32)
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=(2, T, B, D)).astype(np.float32)
    first = cell.backward(cell.forward(x1), np.ones((T, B, H), np.float32))
    kept = {name: np.array(value, copy=True) for name, value in first.params.items()}
    kept.update(x=first.x.copy(), h=first.h.copy(), h0=first.h0.copy())
    second = cell.backward(cell.forward(x2), rng.normal(size=(T, B, H)).astype(np.float32))
    assert not np.allclose(second.x, kept["x"])  # the second call did compute something else
    for name, value in kept.items():
        now = first.params[name] if name in first.params else getattr(first, name)
        np.testing.assert_array_equal(now, value, err_msg=name)


@pytest.mark.parametrize(
    "change,message",
    [
        ({"weight_hh": np.ones((12, 4))}, "weight_hh of a lstm"),
        ({"weight_ih": np.ones((8, 2))}, "weight_ih of a lstm"),
        ({"bias_hh": np.ones(11)}, "bias_hh must have shape"),
        ({"bias_ih": np.full(12, np.inf)}, "bias_ih contains NaN or infinite"),
        ({"weight_ih": np.ones((12, 2), complex)}, "real"),
        ({"bias_hh": None}, "bias_hh"),
        ({"readout.weight": np.ones(3)}, "unexpected"),
    ],
)
def test_a_cell_checks_its_own_parameters(change, message):
    """The checks live in the cell, so with_params (every optimiser step) needs nothing from weights.py."""
    params = {**random_cell("lstm", D=2, H=3).params, **change}
    with pytest.raises(ValueError, match=message):
        rnnviz.LSTMCell(params)


def test_with_params_keeps_the_kind_the_options_and_owns_a_copy():
    cell = random_cell("rnn", "relu")
    params = {k: v.astype(np.float32) for k, v in cell.params.items()}
    other = cell.with_params(params)
    assert type(other) is rnnviz.RNNCell and other.nonlinearity == "relu" and other.dtype == np.float32
    params["weight_hh"][:] = 0.0
    assert np.any(other.params["weight_hh"] != 0)
    mixed = cell.with_params({**params, "bias_ih": cell.params["bias_ih"]})  # float32 with float64: float64
    assert all(v.dtype == np.float64 for v in mixed.params.values())


# --------------------------------------------------------------------------------------------------
# The 1997 LSTM (no forget gate)


def make_problem_1997(batched, seed=1):
    cell = random_cell("lstm1997", seed=seed)
    rng = np.random.default_rng(seed + 100)
    T, B, D, H = 6, 3, cell.input_size, cell.hidden_size
    lead = (T, B) if batched else (T,)
    x = rng.normal(size=lead + (D,))
    h0, c0 = rng.normal(size=lead[1:] + (H,)) * 0.5, rng.normal(size=lead[1:] + (H,)) * 0.5
    return cell, x, h0, c0, rng.normal(size=lead + (H,)), rng.normal(size=lead + (H,))


@pytest.mark.parametrize("batched", [False, True], ids=["unbatched", "batched"])
def test_lstm1997_gradients_match_finite_differences(batched):
    cell, x, h0, c0, w_h, w_c = make_problem_1997(batched)
    grads = cell.backward(cell.forward(x, h0, c0), w_h, w_c)
    assert not grads.overflowed
    assert {k: v.shape for k, v in grads.params.items()} == {k: v.shape for k, v in cell.params.items()}
    f = lambda: loss(cell, x, h0, c0, w_h, w_c)  # noqa: E731
    for name, value in cell.params.items():
        assert rel_err(grads.params[name], numeric_grad(f, value)) < 1e-6, name
    for name, value in (("x", x), ("h0", h0), ("c0", c0)):
        assert rel_err(getattr(grads, name), numeric_grad(f, value)) < 1e-6, name


def test_lstm1997_cell_state_only_accumulates_and_carries_its_gradient_unchanged():
    """c_t = c_{t-1} + i_t g_t (no forget gate), and a gradient on the last cell state alone reaches every
    earlier cell state and c0 exactly as it was: the constant error carousel."""
    cell, x, h0, c0, _, w_c = make_problem_1997(batched=True)
    cell = cell.with_params({**cell.params, "weight_hh": np.zeros_like(cell.params["weight_hh"])})  # c_t's only way on
    trace = cell.forward(x, h0, c0)
    assert tuple(trace.gates) == ("input", "cell", "output")
    before = np.concatenate([c0[None], trace.c[:-1]])
    assert rel_err(trace.c, before + trace.gates["input"] * trace.gates["cell"]) < 1e-15
    d_c = np.zeros_like(trace.c)
    d_c[-1] = w_c[-1]
    grads = cell.backward(trace, np.zeros_like(trace.h), d_c)
    for t in range(x.shape[0]):
        assert np.array_equal(grads.c[t], w_c[-1]), t
    assert np.array_equal(grads.c0, w_c[-1])
    # today's LSTM with the same weights and a forget gate of zero weights and bias (f = 1/2) halves it every step
    lstm = rnnviz.from_state_dict("lstm", {k: np.insert(v, [4] * 4, 0.0, axis=0) for k, v in cell.params.items()})
    halved = lstm.backward(lstm.forward(x, h0, c0), np.zeros_like(trace.h), d_c).c0
    assert rel_err(halved, w_c[-1] * 0.5 ** x.shape[0]) < 1e-15


def test_lstm1997_is_never_inferred_and_loads_when_named(tmp_path):
    from rnnviz.engine import weights

    cell = random_cell("lstm1997")
    sd = cell.state_dict()
    assert weights.infer_kind(sd) == "gru"  # three blocks, like the GRU: the kind must be named
    path = tmp_path / "c.npz"
    weights.save_npz(cell, path)
    loaded = weights.load_npz(path, kind="lstm1997")
    assert type(loaded) is type(cell) and all(np.array_equal(loaded.params[k], cell.params[k]) for k in cell.params)
    with pytest.raises(ValueError, match="no forget gate"):
        weights.init_cell("lstm1997", 2, 4, forget_bias=1.0)
    fresh = weights.init_cell("lstm1997", 2, 4, seed=3)
    assert fresh.params["weight_hh"].shape == (12, 4) and fresh.kind == "lstm1997"


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru", "lstm1997"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_backward_without_parameter_gradients_gives_the_same_state_and_input_gradients(kind, dtype):
    cell = random_cell(kind, seed=5)
    x = np.random.default_rng(6).normal(size=(12, 2, 3)).astype(dtype)
    trace = cell.forward(x)
    d_h = np.random.default_rng(7).normal(size=trace.h.shape).astype(dtype)
    full, states = cell.backward(trace, d_h), cell.backward(trace, d_h, params=False)
    assert states.params == {} and set(full.params) == {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}
    for name in ("x", "h", "c", "h0", "c0"):
        a, b = getattr(full, name), getattr(states, name)
        assert (a is None and b is None) or np.array_equal(a, b), name  # bit for bit
