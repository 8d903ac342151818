"""The 1997 LSTM (no forget gate) on the Cell stepper: what the forward and the backward view draw is the engine's
run of it, its diagram has no forget gate, and the backward view's cell-state factor is the carousel's 1, measured
by the engine (never written in), to 1e-12."""

import re

import numpy as np
import pytest

from rnnviz.engine import backward as bw
from rnnviz.engine import studies
from rnnviz.figures import backward_equations as beq
from rnnviz.figures import diagram, equations
from tests.helpers import STEPPER, assert_clean, charts, open_page

ROWS = ["h", "c", "input", "cell", "output"]
SETTINGS = dict(kind="lstm1997", hidden_size=6, length=30, seed=4)


def engine_run(**changes) -> tuple:
    config = studies.CellConfig(**{**SETTINGS, **changes, "length": SETTINGS["length"]})
    cell = config.make_cell()
    return cell, config.make_input()


def plain(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text)


@pytest.mark.parametrize("preset", ["pulse", "random"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_carousel_factor_is_one_from_the_engines_backward(preset, dtype):
    """dc_t/dc_{t-1}, measured by the engine's one-step backward: exactly the forget gate for today's LSTM, and 1
    (to 1e-12) at every step and unit for the 1997 cell, whose d_c_prev is then d_c itself."""
    for kind in ("lstm", "lstm1997"):
        config = studies.CellConfig(kind=kind, hidden_size=8, length=80, preset=preset, dtype=dtype, seed=2)
        record = bw.backward_pass(config.make_cell(), config.make_input(), "all")
        if kind == "lstm":
            np.testing.assert_allclose(
                record.c_factor, record.trace.gates["forget"], rtol=1e-6 if dtype == "float32" else 1e-12
            )
            assert np.abs(record.c_factor - 1).max() > 1e-3  # a real forget gate forgets something
            continue
        assert np.abs(record.c_factor - 1.0).max() <= 1e-12
        np.testing.assert_allclose(record.d_c_prev, record.d_c, rtol=1e-12, atol=0)
        np.testing.assert_allclose(record.keep_product, 1.0, rtol=0, atol=1e-12)
        # ... and the engine's whole gradient obeys dc_t = dh_t o_t (1 - tanh^2 c_t) + dc_{t+1} * 1
        o, tanh_c = record.trace.gates["output"], np.tanh(record.trace.c)
        np.testing.assert_allclose(
            record.d_c[:-1], record.d_h[:-1] * o[:-1] * (1 - tanh_c[:-1] ** 2) + record.d_c[1:], rtol=1e-5, atol=1e-30
        )


def test_the_diagram_has_no_forget_gate():
    boxes = diagram.boxes("lstm1997")
    assert "forget" not in {n.quantity for n in boxes}
    assert [n.quantity for n in boxes] == [n.quantity for n in diagram.boxes("lstm") if n.quantity != "forget"]
    shapes, notes = diagram.fixed_parts("lstm1997", "x", "y")
    circles = {(s["x0"] + 0.45, s["y0"] + 0.45) for s in shapes if s["type"] == "circle"}
    assert (2.8, 6.0) not in circles and (5.5, 6.0) in circles  # no × on the cell-state line, only the +
    assert equations.EQUATIONS["lstm1997"][3] == r"c_t = c_{t-1} + i_t \odot g_t"


def test_the_forward_view_draws_the_engines_run():
    at = open_page(STEPPER, **SETTINGS, view="values", rows=ROWS, unit=2, step=7)
    assert_clean(at)
    assert any("Gers, Schmidhuber & Cummins (2000)" in i.value and "Learning to forget" in i.value for i in at.info)
    assert at.selectbox(key="stepper.kind").format_func("lstm1997") == "LSTM 1997 (no forget gate)"
    cell, x = engine_run()
    trace = cell.forward(x)
    (fig,) = charts(at)
    data = fig["data"]
    (pick,) = [t for t in data if t.get("name") == "pick:lstm1997"]
    np.testing.assert_array_equal(pick["customdata"], np.round(trace.h, 3).T.ravel().astype(np.float32))
    hovers = [t for t in data if t.get("type") == "heatmap"]
    expected = [trace.c, trace.gates["input"], trace.gates["cell"], trace.gates["output"]]
    assert len(hovers) == len(expected)
    for layer, values in zip(hovers, expected, strict=True):
        np.testing.assert_array_equal(
            np.asarray(layer["z"], dtype=np.float32), np.round(values, 3).T.astype(np.float32)
        )
    # the detail's lines at every step are the engine's numbers for unit 2
    series = equations.unit_series(cell, x, trace.h, trace.c, trace.gates, 2)
    for frame in fig["frames"]:
        t = int(frame["name"])
        lines = frame["data"][-1]["text"]
        v = {k: float(s[t]) for k, s in series.items()}
        assert lines[1:] == equations.number_lines("lstm1997", v)
        assert plain(lines[4]).startswith("c = ") and "×" + f"{v['c_prev']:.3f}".replace("-", "−") not in plain(
            lines[4]
        )
    # the diagram's boxes: i, g, o and the states, none for a forget gate
    boxes = next(t for t in data if t.get("mode") == "markers+text")
    assert len(boxes["x"]) == len(diagram.boxes("lstm1997"))
    assert all(not str(text).startswith("f<br>") for text in boxes["text"])


def test_the_backward_view_draws_the_engines_gradients_and_says_the_factor_is_one():
    at = open_page(STEPPER, **SETTINGS, rows=ROWS, unit=2, **{"pass": "backward", "loss": "all"})
    assert_clean(at)
    cell, x = engine_run()
    record = bw.backward_pass(cell, x, "all", 2)
    (fig,) = charts(at)
    hovers = [t for t in fig["data"] if t.get("customdata") is not None]
    expected = [record.d_h, record.d_c, *(record.d_gates[g] for g in ("input", "cell", "output"))]
    assert len(hovers) == len(expected)
    for layer, values in zip(hovers, expected, strict=True):
        np.testing.assert_array_equal(layer["customdata"], values.T.ravel().astype(np.float32))
    # the caption's sentence is generated from the engine's factors
    (caption,) = [c.value for c in at.caption if "steps back" in c.value]
    assert beq.carousel(record) in caption
    assert "factor of exactly 1 at every one of the 29 steps and 6 units" in caption
    # every frame: dc_{t-1} = dc_t × 1 and the c path's running product is 1, with the engine's numbers
    for frame in fig["frames"]:
        t = int(frame["name"])
        lines = [plain(line) for line in frame["data"][-1]["text"]]
        (back,) = [line for line in lines if line.startswith("dct−1 = ")]
        assert back == f"dct−1 = {beq.fmt(record.d_c[t, 2])}×1 = {beq.fmt(record.d_c_prev[t, 2])}"
        (path,) = [line for line in lines if line.startswith("c path")]
        assert path.endswith("= 1")
    with pytest.raises(KeyError):
        record.trace.gates["forget"]  # nothing above came from a forget gate: the 1997 cell has none
