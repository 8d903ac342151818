"""What a student with the browser's developer tools can send: crafted chart selections and over-long URL values
get the page's normal behaviour, never an exception."""

import pytest

from rnnviz.app import ui
from rnnviz.engine import inputs
from tests.helpers import STEPPER, assert_clean, open_page


def test_a_url_text_is_bounded_like_its_text_box():
    spec = ui.Setting("custom", "1, 0", max_chars=10)
    assert spec.parse(["1, 2, 3"]) == "1, 2, 3"
    with pytest.raises(ValueError):
        spec.parse(["1, " * 4])  # 12 characters
    with pytest.raises(ValueError, match="at most 5,000"):
        inputs.parse_sequence("1, " * 2000)


def test_a_huge_custom_sequence_in_the_url_is_ignored_and_not_kept_in_the_url():
    typed = "0.5, " * 20_000  # 100 kB, past the text box's limit
    at = open_page(STEPPER, preset="custom", custom=typed)
    assert_clean(at)
    assert at.text_area(key="stepper.custom").value == "1, 0, 0, 0, 0.5, -0.5, 0, 0, 0, 1"  # the default
    assert len(at.query_params.get("custom", [""])[0]) < inputs.MAX_CHARS


@pytest.mark.parametrize(
    "selection",
    [
        {"selection": {"points": [{"x": "abc", "y": 1}]}},
        {"selection": {"points": "not a list"}},
        {"selection": {"points": [{"x": -5, "y": 2}]}},
        {"selection": {"points": [{"x": 10**30, "y": 2}]}},
        {"selection": {"points": [{"x": 3, "y": 1, "curve_number": [1, 2]}]}},
        {"selection": None},
        "a string",
    ],
)
def test_crafted_chart_selections_are_ignored(selection):
    at = open_page(STEPPER, step=4, unit=2)
    at.session_state["stepper.timeline"] = selection
    at.run()
    assert_clean(at)
    assert (at.session_state["stepper.step"], at.session_state["stepper.unit"]) == (4, 2)


def test_a_real_click_still_selects_its_step_and_unit():
    at = open_page(STEPPER, step=4, unit=2)
    at.session_state["stepper.timeline"] = {"selection": {"points": [{"x": 9, "y": 5, "curve_number": 0}]}}
    at.run()
    assert_clean(at)
    assert (at.session_state["stepper.step"], at.session_state["stepper.unit"]) == (9, 5)
