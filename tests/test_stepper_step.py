"""The Cell stepper keeps the learner's step when a setting changes (issue 23): on the server the step survives
every setting that rebuilds the figure (clamped when the sequence gets shorter), and the browser's keyboard player
is told which figure is its own and whether to put it back on the step the learner played or stepped to (the
browser half is tests/test_browser_stepper_present.py's)."""

import json
import re

import pytest

from tests.helpers import STEPPER, assert_clean, charts, open_page


def shown_step(at) -> int:
    """Where the figure's slider stands, as the server built it."""
    return charts(at)[0]["layout"]["sliders"][0]["active"]


def player(at) -> dict:
    """What the page told its keyboard player: the figure it belongs to and whether to keep the step."""
    (frame,) = at.get("iframe")
    source = frame.proto.srcdoc
    view, keep = re.search(r"const VIEW = (\"[0-9a-f]+\"), KEEP = (true|false)", source).groups()
    return {"view": json.loads(view), "keep": keep == "true"}


CHANGES = [
    ("slider", "stepper.hidden_size", 4),
    ("selectbox", "stepper.kind", "gru"),
    ("selectbox", "stepper.kind", "lstm1997"),
    ("multiselect", "stepper.rows", ["h", "c"]),
    ("radio", "stepper.view", "values"),
    ("slider", "stepper.forget_bias", 1.0),
    ("number_input", "stepper.unit", 3),
]


@pytest.mark.parametrize("widget,key,value", CHANGES)
def test_a_changed_setting_keeps_the_step(widget, key, value):
    at = open_page(STEPPER, step=17)
    assert_clean(at)
    before = player(at)
    assert shown_step(at) == 17 and before["keep"]
    getattr(at, widget)(key=key).set_value(value).run()
    assert_clean(at)
    assert shown_step(at) == 17 and at.query_params["step"] == "17"
    after = player(at)
    assert after["keep"]  # the browser puts the rebuilt figure back on the step the learner played to
    assert after["view"] == charts(at)[0]["layout"]["meta"]["view"] != before["view"]  # a new figure, its own


def test_a_shorter_sequence_clamps_the_step():
    at = open_page(STEPPER, step=50)
    at.slider(key="stepper.length").set_value(20).run()
    assert_clean(at)
    assert shown_step(at) == 19 and at.query_params["step"] == "19"


def test_the_backward_view_keeps_its_step_too_and_a_click_is_not_overridden():
    at = open_page(STEPPER, **{"pass": "backward"})
    assert_clean(at)
    assert shown_step(at) == 59 and player(at)["keep"]  # starts at the loss
    at.slider(key="stepper.hidden_size").set_value(5).run()
    assert_clean(at)
    assert player(at)["keep"] and player(at)["view"] == charts(at)[0]["layout"]["meta"]["view"]
    # a click on a cell is a choice of step: the browser must not move the figure away from it
    at.session_state["stepper.timeline"] = {"selection": {"points": [{"x": 9, "y": 2, "curve_number": 0}]}}
    at.run()
    assert_clean(at)
    assert shown_step(at) == 9 and not player(at)["keep"]
    at.slider(key="stepper.hidden_size").set_value(6).run()  # the next change keeps whatever step is shown
    assert shown_step(at) == 9 and player(at)["keep"]
