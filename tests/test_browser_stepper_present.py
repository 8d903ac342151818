"""The Cell stepper in Chromium, beyond its default view: on a projector (1280x720, ?present=1) its Diagram view
and its Backward view keep the figure and Play inside the screen with no text under 20 px (the per-page check of
tests/test_browser_screens.py, its SMALL_TEXT shared in tests/helpers.py), and a changed setting keeps the
step the learner played to (issue 23)."""

from __future__ import annotations

import pytest

from tests.helpers import FIGURE_TEXT, OP_LABELS, SLIDER_STEP, SMALL_TEXT, screenshot, wait_for_app

pytestmark = pytest.mark.browser

MIN_PX = 20
WIDTH, HEIGHT = 1280, 720




def _diagram(page):
    page.locator("[data-testid=stRadio] label").filter(has_text="Diagram").first.click()


VIEWS = {
    "diagram": ("Cell_stepper?present=1", _diagram),
    "backward": ("Cell_stepper?present=1&pass=backward", None),
    "backward_1997": ("Cell_stepper?present=1&pass=backward&kind=lstm1997", None),
    "backward_diagram": ("Cell_stepper?present=1&pass=backward", _diagram),
}


@pytest.mark.parametrize("name", list(VIEWS))
def test_the_stepper_view_fits_a_projector(page, app_url, name):
    path, first = VIEWS[name]
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    page.goto(f"{app_url}/{path}")
    wait_for_app(page, charts=1, timeout=180_000)
    if first is not None:
        first(page)
        page.wait_for_timeout(500)
        wait_for_app(page, charts=1, timeout=180_000)
    page.wait_for_timeout(800)
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollTop") == 0
    figure = page.locator("[data-testid=stPlotlyChart]").first.bounding_box()
    assert figure["y"] >= 0 and figure["y"] + figure["height"] <= HEIGHT, (
        f"figure from {figure['y']} to {figure['y'] + figure['height']}"
    )
    play = page.locator(".updatemenu-button").first.bounding_box()
    assert play is not None and play["y"] >= 0 and play["y"] + play["height"] <= HEIGHT, play
    assert play["x"] >= 0 and play["x"] + play["width"] <= WIDTH, play
    if name.endswith("diagram"):  # the diagram's boxes and its numbers are what this view is for: on screen too
        texts = page.evaluate(FIGURE_TEXT, 0)
        assert any(" at step t = " in t for t in texts), texts
    small = page.evaluate(SMALL_TEXT, [MIN_PX, HEIGHT])
    screenshot(page, f"stepper_present_{name}")
    assert not small, small
    assert not page.evaluate(OP_LABELS)  # large type stays inside the diagram's round operations


def test_a_changed_setting_keeps_the_step_the_learner_played_to(page, app_url):
    """Play and pause (in the browser: the server never hears of it), then change the number of units: the
    rebuilt figure stands on the same step, and the diagram shows that step."""
    page.goto(f"{app_url}/Cell_stepper")
    wait_for_app(page, charts=1, timeout=180_000)
    page.locator(".updatemenu-button").nth(0).click()  # Play
    page.wait_for_timeout(1500)
    page.locator(".updatemenu-button").nth(1).click()  # Pause
    page.wait_for_timeout(600)
    paused = page.evaluate(SLIDER_STEP, 0)
    assert 0 < paused < 59
    units = page.get_by_role("slider", name="Hidden units")
    units.focus()
    page.keyboard.press("ArrowLeft")  # 8 -> 7 units: a new run, a new figure
    wait_for_app(page, charts=1, timeout=180_000)
    page.wait_for_timeout(1500)  # the player puts the new figure back within a few hundred ms
    assert "hidden_size=7" in page.url
    assert page.evaluate(SLIDER_STEP, 0) == paused
    assert any(t.endswith(f"at step t = {paused}") for t in page.evaluate(FIGURE_TEXT, 0))
    assert page.locator("[data-testid=stException]").count() == 0
