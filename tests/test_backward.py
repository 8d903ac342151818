"""The backward view (issue 27): its record is the engine's backward pass, checked against finite differences
in float64 and against the Gradient flow page's curve; its figure draws those numbers, and its equation lines
multiply back to their results from the numbers they show."""

import base64
import re
import zlib

import numpy as np
import plotly.graph_objects as go
import pytest

from rnnviz.engine import analysis, studies
from rnnviz.engine import backward as bw
from rnnviz.engine.cells import sigmoid
from rnnviz.engine.weights import init_cell
from rnnviz.figures import backward as bview
from rnnviz.figures import backward_equations as beq

KINDS = ("rnn", "lstm", "gru", "lstm1997")
LSTMS = ("lstm", "lstm1997")


def small(kind: str, T: int = 12, H: int = 5, D: int = 2, seed: int = 3, **options):
    """A float64 cell with every parameter random (biases included) and a random input."""
    rng = np.random.default_rng(seed)
    cell = init_cell(kind, D, H, seed=seed, dtype="float64", **options)
    params = {k: rng.normal(0, 0.6, v.shape) for k, v in cell.params.items()}
    return cell.with_params(params), rng.normal(0, 1, (T, D))


def loss_value(kind: str, h_last: np.ndarray, loss: str, unit: int) -> float:
    if loss == "unit":
        return float(h_last[unit])
    if loss == "target":
        return float(0.5 * np.sum((h_last - bw.TARGET) ** 2))
    return float(np.sum(h_last) / np.sqrt(h_last.shape[0]))


# --------------------------------------------------------------------------------------------------
# The record is the engine's backward pass


@pytest.mark.parametrize("kind", KINDS)
def test_grads_gates_are_the_pre_activation_gradients_in_pytorch_order(kind):
    """Grads.gates (the one field added to Grads): summed over time they are the input bias's gradient, and
    times W_ih the input's gradient, both in PyTorch's row order."""
    cell, x = small(kind)
    trace = cell.forward(x)
    d_h = np.random.default_rng(0).normal(size=trace.h.shape)
    grads = cell.backward(trace, d_h)
    assert grads.gates.shape == (x.shape[0], cell.params["weight_ih"].shape[0])
    np.testing.assert_allclose(grads.gates.sum(axis=0), grads.params["bias_ih"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grads.gates @ cell.params["weight_ih"], grads.x, rtol=1e-12, atol=1e-12)
    batched = cell.backward(cell.forward(x[:, None].repeat(2, axis=1)), d_h[:, None].repeat(2, axis=1))
    np.testing.assert_allclose(batched.gates[:, 1], grads.gates, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("loss", list(bw.LOSSES))
def test_record_takes_the_engines_gradients_apart(kind, loss):
    cell, x = small(kind)
    record = bw.backward_pass(cell, x, loss, unit=2)
    trace = cell.forward(x)
    d_h = np.zeros_like(trace.h)
    d_h[-1] = bw.loss_gradient(loss, trace.h[-1], 2)
    grads = cell.backward(trace, d_h)
    np.testing.assert_array_equal(record.d_h, grads.h)
    if kind in LSTMS:
        np.testing.assert_array_equal(record.d_c, grads.c)
    # what step t sends back through the recurrence is what the engine has at h_{t-1} (h0 for t = 0) ...
    np.testing.assert_allclose(record.d_h_prev[1:], grads.h[:-1] - d_h[:-1], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(record.d_h_prev[0], grads.h0)
    # ... and the parts, one per weight block (and the GRU's direct path), add up to it
    np.testing.assert_allclose(sum(record.d_h_parts.values()), record.d_h_prev, rtol=1e-10, atol=1e-15)
    if kind in LSTMS:
        np.testing.assert_allclose(record.d_c_prev[0], grads.c0, rtol=1e-12, atol=1e-15)
        o, tanh_c = trace.gates["output"], np.tanh(trace.c)
        np.testing.assert_allclose(  # d_c_t = d_h_t o_t (1 - tanh^2 c_t) + d_c_{t+1} f_{t+1}
            record.d_c[:-1], record.d_h[:-1] * o[:-1] * (1 - tanh_c[:-1] ** 2) + record.d_c_prev[1:], rtol=1e-10
        )
    norms = np.linalg.norm(grads.h, axis=1)
    np.testing.assert_allclose(record.h_left, norms / norms[-1], rtol=1e-12)


def finite_difference(kind, cell, x, loss, unit, t, j, what, eps=1e-6):
    """dL/d(what)_t[j] by central differences in float64: the run is split after step t (or t-1), the state or
    pre-activation nudged, and the rest of the sequence run from there (c_t held as the engine holds it)."""

    def loss_from(h_t, c_t, start):
        if start == x.shape[0]:
            return loss_value(kind, h_t, loss, unit)
        rest = cell.forward(x[start:], h_t, c_t)
        return loss_value(kind, rest.h[-1], loss, unit)

    before = cell.forward(x[: t + 1]) if what in ("h", "c") else (cell.forward(x[:t]) if t else None)
    out = []
    for sign in (1, -1):
        if what in ("h", "c"):
            h_t = before.h[-1].copy()
            c_t = None if before.c is None else before.c[-1].copy()
            if what == "h":  # c_t held fixed, as Grads.h is defined
                h_t[j] += sign * eps
            else:  # and dL/dc_t includes the path through h_t = o_t tanh(c_t)
                c_t[j] += sign * eps
                h_t[j] = before.gates["output"][-1, j] * np.tanh(c_t[j])
            out.append(loss_from(h_t, c_t, t + 1))
            continue
        # a gate's pre-activation at step t: the step written out, its argument nudged
        H = cell.hidden_size
        h_prev = before.h[-1] if before else np.zeros(H)
        p = cell.params
        a_x = p["weight_ih"] @ x[t] + p["bias_ih"]
        a_h = p["weight_hh"] @ h_prev + p["bias_hh"]
        names = {"lstm": ("input", "forget", "cell", "output"), "gru": ("reset", "update", "new"), "rnn": ("a",)}
        names["lstm1997"] = ("input", "cell", "output")
        k = names[kind].index(what)
        nudge = np.zeros(len(a_x))
        nudge[k * H + j] = sign * eps
        if kind == "rnn":
            out.append(loss_from(np.tanh(a_x + a_h + nudge), None, t + 1))
        elif kind == "lstm":
            c_prev = before.c[-1] if before else np.zeros(H)
            a = a_x + a_h + nudge
            i, f, g, o = sigmoid(a[:H]), sigmoid(a[H : 2 * H]), np.tanh(a[2 * H : 3 * H]), sigmoid(a[3 * H :])
            c_t = f * c_prev + i * g
            out.append(loss_from(o * np.tanh(c_t), c_t, t + 1))
        elif kind == "lstm1997":  # no forget gate: c_t = c_{t-1} + i_t g_t
            c_prev = before.c[-1] if before else np.zeros(H)
            a = a_x + a_h + nudge
            i, g, o = sigmoid(a[:H]), np.tanh(a[H : 2 * H]), sigmoid(a[2 * H :])
            c_t = c_prev + i * g
            out.append(loss_from(o * np.tanh(c_t), c_t, t + 1))
        else:
            r = sigmoid(a_x[:H] + a_h[:H] + nudge[:H])
            z = sigmoid(a_x[H : 2 * H] + a_h[H : 2 * H] + nudge[H : 2 * H])
            n = np.tanh(a_x[2 * H :] + r * a_h[2 * H :] + nudge[2 * H :])
            out.append(loss_from((1 - z) * n + z * h_prev, None, t + 1))
    return (out[0] - out[1]) / (2 * eps)


@pytest.mark.parametrize(
    "kind, what",
    [("rnn", "h"), ("rnn", "a"), ("lstm", "h"), ("lstm", "c"), ("lstm", "forget"), ("lstm", "output")]
    + [("lstm", "cell"), ("gru", "h"), ("gru", "new"), ("gru", "reset"), ("gru", "update")]
    + [("lstm1997", "h"), ("lstm1997", "c"), ("lstm1997", "input"), ("lstm1997", "cell"), ("lstm1997", "output")],
)
@pytest.mark.parametrize("loss", ["unit", "target"])
def test_record_agrees_with_finite_differences(kind, what, loss):
    cell, x = small(kind)
    record = bw.backward_pass(cell, x, loss, unit=1)
    t, j = 6, 3
    # the 1997 cell's state only accumulates (|c| up to 7 here): a larger step keeps rounding below the check
    numeric = finite_difference(kind, cell, x, loss, 1, t, j, what, eps=1e-5 if kind == "lstm1997" else 1e-6)
    drawn = {"h": record.d_h, "c": record.d_c}.get(what)
    analytic = (drawn if drawn is not None else record.d_gates[what])[t, j]
    assert analytic == pytest.approx(numeric, rel=1e-6, abs=1e-10)
    assert abs(analytic) > 1e-6  # a gradient worth checking (random biases keep it away from zero)


# --------------------------------------------------------------------------------------------------
# The same numbers as the Gradient flow page


@pytest.mark.parametrize("kind", KINDS)
def test_running_products_agree_with_the_gradient_flow_curve(kind):
    """At the Gradient flow page's defaults and its loss ("all"), h_left and c_left are its curves divided by
    their value at lag 0; for one unit's loss they are gradient_vs_lag's with that direction; and the LSTM's
    product of forget gates is that page's theory curve (analysis.forget_gate_path) over its start."""
    config = studies.CellConfig(kind=kind, hidden_size=16, length=200, preset="pulse_noise", forget_bias=5.0)
    cell, x = config.make_cell(), config.make_input()
    study = studies.gradient_study(config, kinds=(kind,)).models[kind]
    record = bw.backward_pass(cell, x, "all")
    np.testing.assert_allclose(record.h_left[::-1], study.h_norm / study.h_norm[0], rtol=1e-10)
    if kind == "lstm":
        np.testing.assert_allclose(record.c_left[::-1], study.c_norm / study.h_norm[0], rtol=1e-10)
    unit = int(np.argmin(np.abs(record.trace.c[-1]))) if kind == "lstm" else 5  # the least saturated tanh(c)
    profile = analysis.gradient_vs_lag(cell, x, direction=np.eye(16)[unit])
    record = bw.backward_pass(cell, x, "unit", unit)
    np.testing.assert_allclose(record.h_left[::-1], profile.h_norm / profile.h_norm[0], rtol=1e-10)
    if kind == "lstm":
        theory = analysis.forget_gate_path(profile)  # only this unit has a gradient at c_{T-1}
        assert theory[0] > 0
        np.testing.assert_allclose(np.abs(record.d_c[-1, unit]) * record.keep_product[::-1, unit], theory, rtol=1e-10)
        assert record.keep_product[0, unit] > 0.1  # forget bias 5 keeps it: the page's point ...
    if kind == "rnn":
        assert record.h_left[0] < 1e-3  # ... while the RNN's fades


# --------------------------------------------------------------------------------------------------
# The figure draws those numbers


def decode_png(uri: str) -> np.ndarray:
    """The (height, width, 3) pixels of colormaps.png_data_uri's PNG (8-bit RGB, filter 0 on every row)."""
    png = base64.b64decode(uri.split(",", 1)[1])
    width, height = np.frombuffer(png[16:24], ">u4")
    chunks, k = b"", 8
    while k < len(png):
        length = int.from_bytes(png[k : k + 4], "big")
        if png[k + 4 : k + 8] == b"IDAT":
            chunks += png[k + 8 : k + 8 + length]
        k += 12 + length
    raw = np.frombuffer(zlib.decompress(chunks), np.uint8).reshape(height, 1 + 3 * width)
    assert not raw[:, 0].any()
    return raw[:, 1:].reshape(height, width, 3)


def typed(a) -> np.ndarray:
    """An array as Plotly serialises it: a list, or a typed array {"dtype", "bdata"}."""
    if isinstance(a, dict):
        return np.frombuffer(base64.b64decode(a["bdata"]), a["dtype"])
    return np.asarray(a)


def plain(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text).replace("−", "-")


def figure_for(kind, loss="unit", unit=1, rows=("h", "c", "forget", "update", "new")):
    cell, x = small(kind, T=15)
    record = bw.backward_pass(cell, x, loss, unit)
    return record, bview.backward_figure({kind: record}, list(rows), detail=kind, unit=unit).to_dict()


@pytest.mark.parametrize("kind", KINDS)
def test_heatmaps_draw_the_engines_gradients(kind):
    record, fig = figure_for(kind)
    expected = [record.d_h] + ([record.d_c] if kind in LSTMS else [])
    expected += [record.d_gates[g] for g in ("forget", "update", "new") if g in record.d_gates]
    images = fig["layout"]["images"]
    assert len(images) == len(expected)
    scale = bview.LogScale.fitted(*expected)
    assert 10.0**scale.top_exponent >= max(np.abs(g).max() for g in expected) > 10.0 ** (scale.top_exponent - 1)
    for image, values in zip(images, expected, strict=True):
        pixels = decode_png(image["source"])
        T, H = values.shape
        w, h = pixels.shape[1] // T, pixels.shape[0] // H
        centres = pixels[h // 2 :: h, 0::w][::-1].transpose(1, 0, 2)  # (T, H, 3), unit 0 at the bottom
        np.testing.assert_array_equal(centres, scale.scale.rgb(scale.mapped(values)))
    go.Figure(fig)  # Plotly validates the whole figure, every frame included (the builder does not)
    hovers = [t for t in fig["data"] if t.get("customdata") is not None]
    for trace, values in zip(hovers, expected, strict=True):
        np.testing.assert_array_equal(typed(trace["customdata"]), values.T.ravel().astype(np.float32))


def test_signed_log_scale_keeps_the_sign_and_the_power_of_ten():
    scale = bview.LogScale(top_exponent=0, decades=8)
    np.testing.assert_allclose(
        scale.mapped([1.0, -1e-3, 1e-8, 1e-12, 0.0, -0.5]), [8, -5, 0, 0, 0, -(8 + np.log10(0.5))]
    )
    axis = scale.coloraxis(y=1, length=1, x=1)["colorbar"]
    assert dict(zip(axis["tickvals"], axis["ticktext"], strict=True))[-4] == "−10⁻⁴"
    assert dict(zip(axis["tickvals"], axis["ticktext"], strict=True))[8] == "10⁰"
    assert len(axis["tickvals"]) == 9
    assert scale.coloraxis(y=1, length=1, x=1, px=110)["colorbar"]["tickvals"] == [-8, -4, 0, 4, 8]  # one row


def terms_of(expression: str) -> float:
    """Evaluate "a×b + c×(−d)" as shown: products of numbers joined by +."""
    total = 0.0
    for term in expression.split(" + "):
        product = 1.0
        for factor in term.split("×"):
            product *= float(factor.strip().strip("()"))
        total += product
    return total


def equation_checks(lines: list[str]) -> int:
    """Redo every line "name = products = result" from the numbers it shows; returns how many were checked."""
    checked = 0
    for line in map(plain, lines[1:]):
        parts = line.split(" = ")
        if len(parts) != 3 or "[" in parts[1]:  # a statement of one number, or a product of whole vectors
            continue
        result = float(parts[2].split()[0])
        terms = [terms_of(t) for t in parts[1].split(" + ")]
        expected = sum(terms)
        magnitude = sum(abs(t) for t in terms)
        # three significant digits per shown number (half a unit in the last: 5e-3 relative at most), up to
        # three numbers per product and the result rounded too
        assert abs(expected - result) <= 2e-2 * magnitude + 1e-300, line
        checked += 1
    return checked


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("loss", list(bw.LOSSES))
def test_equations_multiply_back_and_show_the_engines_numbers(kind, loss):
    record, fig = figure_for(kind, loss)
    frames = fig["frames"]
    T = record.steps
    assert [f["name"] for f in frames] == [str(t) for t in reversed(range(T))]  # Play runs back in time
    assert fig["layout"]["sliders"][0]["active"] == T - 1
    symbols = {"dht": "d_h", "dct": "d_c", "dht-1": "d_h_prev", "dct-1": "d_c_prev", "dat": "d_a"}
    symbols |= {
        f"da{s}": "d_" + g
        for s, g in zip("oifgnzr", ["output", "input", "forget", "cell", "new", "update", "reset"], strict=True)
    }
    for frame in frames:
        t = int(frame["name"])
        lines = frame["data"][-1]["text"]
        assert plain(lines[0]) == f"{beq.MODEL_NAMES[kind]} unit 1 at step t = {t}"
        expected = {"lstm": 7, "gru": 4, "rnn": 1, "lstm1997": 6}[kind]
        expected += 2 if kind != "rnn" else 1  # and the running products
        assert equation_checks(lines) == expected
        v = record.at(t, 1)
        for line in map(plain, lines[1:]):
            name = line.split(" = ")[0]
            if name in symbols:
                shown = float(line.split(" = ")[-1].split()[0])
                assert shown == pytest.approx(v[symbols[name]], rel=5e-3, abs=1e-300), (t, line)  # 3 digits
        assert plain(lines[-1 if kind == "rnn" else -2]).endswith(" = " + beq.fmt(record.h_left[t]))
        if kind != "rnn":
            assert plain(lines[-1]).endswith(" = " + beq.fmt(record.keep_product[t, 1]))


@pytest.mark.parametrize("kind, nonlinearity", [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")])
def test_the_backward_equations_hold_at_full_precision(kind, nonlinearity):
    """Each equation's products, from the record's own numbers unrounded, give its result: the record's
    per-step gradients are one consistent backward pass (the displayed check above allows for rounding)."""
    cell, x = small(kind, **({"nonlinearity": nonlinearity} if kind == "rnn" else {}))
    record = bw.backward_pass(cell, x, "target", 0)
    for t in range(record.steps):
        for unit in range(cell.hidden_size):
            for eq in beq.backward_equations(record, t, unit) + beq.running_products(record, t, unit):
                value = sum(float(np.prod(term)) for term in eq.terms)
                magnitude = sum(abs(float(np.prod(term))) for term in eq.terms)
                assert abs(value - eq.result) <= 1e-12 * magnitude + 1e-300, (t, unit, eq.name, value, eq.result)


def test_the_arrows_width_follows_the_gradient_they_carry():
    record, fig = figure_for("lstm")
    frames = {int(f["name"]): f for f in fig["frames"]}
    arrows = bview.ARROWS["lstm"]
    k = next(i for i, a in enumerate(arrows) if a.value == "d_c_prev")
    scale = bview.LogScale.fitted(record.d_h, record.d_c, record.d_gates["forget"])
    widths = []
    for t in range(record.steps):
        arrow = frames[t]["data"][len(fig["layout"]["images"]) + 1 + k]
        expected = 1.5 + 9 * scale.fraction(record.d_c_prev[t, 1])
        assert arrow["line"]["width"] == pytest.approx(expected)
        widths.append(arrow["line"]["width"])
    assert len(set(np.round(widths, 6))) > 1


def test_caption_reads_the_numbers():
    config = studies.CellConfig()
    records = {
        k: bw.backward_pass(studies.CellConfig(kind=k).make_cell(), config.make_input(), "unit", 0)
        for k in ("rnn", "lstm")
    }
    text = beq.caption(records, 0)
    assert "After 59 steps back" in text
    assert f"the RNN's gradient through h is {beq._power(float(records['rnn'].h_left[0]))} of its size" in text
    assert beq._power(float(records["lstm"].keep_product[0, 0])) in text
    assert beq._power(2.1e-5) == "2.1·10⁻⁵" and beq._power(0.37) == "0.37"


def test_the_stepper_switches_to_the_backward_view_and_keeps_it_in_the_url():
    from tests.helpers import STEPPER, assert_clean, open_page

    for kind in ("lstm", "all"):
        at = open_page(STEPPER, kind=kind, **{"pass": "backward", "loss": "target"})
        assert_clean(at)
        assert len(at.get("plotly_chart")) == 1
        assert at.query_params["pass"] == "backward" and at.query_params["loss"] == "target"
        assert any("steps back" in c.value for c in at.caption)
    at.radio(key="stepper.pass").set_value("forward").run()
    assert_clean(at)
    assert at.query_params["pass"] == "forward"
