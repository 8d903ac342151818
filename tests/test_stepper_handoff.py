"""The Cell stepper shows a model another page handed over (rnnviz.app.handoff): that model on its own input, named,
with the way back and the way to the generated cell again."""

import numpy as np
import pytest

from rnnviz.app import handoff
from rnnviz.engine import backward as bw
from rnnviz.engine import weights
from tests.helpers import APP, STEPPER, assert_clean, charts

T = 24


def offered(kind: str = "lstm") -> handoff.Offer:
    rng = np.random.default_rng(5)
    cell = weights.init_cell(kind, 2, 5, seed=3)
    x = rng.normal(0, 1, (T, 2))
    return handoff.Offer(
        kind=kind,
        state_dict=cell.state_dict(),
        x=x,
        title="the LSTM trained in a test on two made-up series",
        source="pages/5_Forecast_lab.py",
        step_labels=tuple(f"day {k}" for k in range(T)),
    )


def open_with(item: handoff.Offer, **query):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    handoff.offer(at.session_state, item)
    for key in list(at.query_params):  # as tests.helpers.open_page: the link opens the page with these alone
        del at.query_params[key]
    for key, value in query.items():
        at.query_params[key] = str(value)
    at.switch_page(STEPPER)
    at.run()
    return at


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_an_offered_model_is_shown_on_its_own_input_with_the_engines_numbers(kind):
    item = offered(kind)
    at = open_with(item, view="values", rows="h")
    assert_clean(at)
    assert any(item.title in i.value for i in at.info)
    (fig,) = charts(at)
    trace = item.cell().forward(item.x)
    (pick,) = [t for t in fig["data"] if t.get("name") == f"pick:{kind}"]
    np.testing.assert_array_equal(pick["customdata"], np.round(trace.h, 3).T.ravel().astype(np.float32))
    inputs = [t for t in fig["data"] if str(t.get("name", "")).startswith("x[")]
    assert len(inputs) == 2
    np.testing.assert_array_equal(inputs[0]["y"], np.round(item.x[:, 0], 4))
    assert list(inputs[0]["text"]) == list(item.step_labels)  # the dates on the input's hover
    assert len(fig["frames"]) == T
    assert any(b.label == "Show the generated cell again" for b in at.button)


def test_the_effect_view_measures_the_offer_against_zeros_and_the_backward_view_backpropagates_it():
    item = offered()
    at = open_with(item, rows="h")  # the default view: the input's effect
    assert_clean(at)
    cell = item.cell()
    effect = cell.forward(item.x).h - cell.forward(np.zeros_like(item.x)).h
    (pick,) = [t for t in charts(at)[0]["data"] if t.get("name") == "pick:lstm"]
    np.testing.assert_array_equal(pick["customdata"], np.round(effect, 3).T.ravel().astype(np.float32))
    at.radio(key="stepper.pass").set_value("backward").run()
    assert_clean(at)
    record = bw.backward_pass(cell, item.x, "unit", 0)
    (layer,) = [t for t in charts(at)[0]["data"] if t.get("name") == "pick:lstm"]
    np.testing.assert_array_equal(layer["customdata"], record.d_h.T.ravel().astype(np.float32))


def test_the_generated_cell_comes_back_when_the_offer_is_dismissed():
    at = open_with(offered())
    next(b for b in at.button if b.label == "Show the generated cell again").click().run()
    assert_clean(at)
    assert handoff.current(at.session_state) is None
    assert not any("made-up series" in i.value for i in at.info)
    fig = charts(at)[0]
    assert len(fig["frames"]) == 60  # the generated cell's default sequence
    assert not [t for t in fig["data"] if str(t.get("name", "")).startswith("x[1]")]  # one input again
