"""The model another page hands to the Cell stepper (rnnviz.app.handoff)."""

import numpy as np
import pytest

from rnnviz.app import handoff
from rnnviz.engine import weights


def lstm_offer(**changes) -> handoff.Offer:
    cell = weights.init_cell("lstm", 2, 3, seed=0)
    fields = dict(
        kind="lstm",
        state_dict=cell.state_dict(),
        x=np.zeros((5, 2)),
        title="the LSTM of a test",
        source="pages/5_Forecast_lab.py",
        step_labels=tuple("abcde"),
    )
    return handoff.Offer(**{**fields, **changes})


def test_an_offer_waits_in_the_session_until_dismissed_and_rebuilds_the_same_cell():
    state = {}
    assert handoff.current(state) is None
    item = lstm_offer()
    handoff.offer(state, item)
    assert handoff.current(state) is item
    cell = item.cell()
    assert cell.kind == "lstm" and cell.input_size == 2 and cell.hidden_size == 3
    for name, value in item.state_dict.items():
        np.testing.assert_array_equal(cell.state_dict()[name], value)
    handoff.dismiss(state)
    assert handoff.current(state) is None
    state[handoff.KEY] = "something a crafted session put there"
    assert handoff.current(state) is None


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"x": np.zeros((5, 3))}, "3 inputs per step; the cell takes 2"),
        ({"x": np.zeros((handoff.MAX_STEPS + 1, 2)), "step_labels": ()}, "1 to 500 steps"),
        ({"x": np.full((5, 2), np.nan)}, "not finite"),
        ({"step_labels": ("a",)}, "1 step labels for 5 steps"),
        ({"input_labels": ("x", "y", "z")}, "3 input labels for 2 inputs"),
        ({"kind": "gru"}, "weight"),
    ],
)
def test_an_offer_the_stepper_could_not_show_is_refused_with_its_reason(changes, words):
    state = {}
    with pytest.raises(ValueError, match=words):
        handoff.offer(state, lstm_offer(**changes))
    assert handoff.current(state) is None
