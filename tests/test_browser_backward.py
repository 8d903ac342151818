"""The backward view in Chromium (issue 27): Play runs from the loss back to the first step without a rerun, the
heatmaps stay drawn, and the diagram's equations show the engine's gradients at the step where it paused."""

import pytest

from tests.helpers import (
    FIGURE_TEXT,
    PLAYER_FOCUSED,
    RENDERED_IMAGES,
    SLIDER_STEP,
    click_slider,
    screenshot,
    tab_to_player,
    wait_for_app,
)

pytestmark = pytest.mark.browser

# the equations' names (as the browser's text reads them) -> BackwardRecord.at keys
SHOWN = {
    "dht": "d_h",
    "dct": "d_c",
    "dao": "d_output",
    "dai": "d_input",
    "daf": "d_forget",
    "dag": "d_cell",
    "dht-1": "d_h_prev",
    "dct-1": "d_c_prev",
}


def backward_numbers(page) -> tuple[int, dict]:
    """The step the diagram names and its equations' results: {name: the number after the last ' = '}."""
    lines = [t for t in page.evaluate(FIGURE_TEXT, 0) if " = " in t]
    head = next(line for line in lines if " at step t = " in line)
    step = int(head.rsplit("= ", 1)[1])
    assert abs(step - page.evaluate(SLIDER_STEP, 0)) <= 1, (head, page.evaluate(SLIDER_STEP, 0))  # see test_browser
    numbers = {}
    for line in lines:
        name = line.split(" = ")[0].strip()
        if name in SHOWN:
            numbers[name] = float(line.rsplit(" = ", 1)[1].split()[0])
    return step, numbers


def engine_record():
    from rnnviz.engine import backward, studies

    config = studies.CellConfig()  # the stepper's defaults: LSTM, 8 units, a pulse, 60 steps
    return backward.backward_pass(config.make_cell(), config.make_input(), "unit", 0)


def assert_engine_numbers(page, record, step: int, numbers: dict) -> None:
    """The equations' results (three digits) and the diagram's boxes (one or two) are the engine's at ``step``."""
    from rnnviz.figures.backward import short

    v = record.at(step, 0)
    assert set(numbers) == set(SHOWN), numbers
    for name, key in SHOWN.items():
        assert numbers[name] == pytest.approx(v[key], rel=5e-3, abs=1e-300), (step, name)
    texts = page.evaluate(FIGURE_TEXT, 0)
    for box, key in (("dct", "d_c"), ("dht", "d_h"), ("dct-1", "d_c_prev"), ("dht-1", "d_h_prev"), ("df", "d_forget")):
        assert box + short(v[key]).replace("−", "-") in texts, (step, box, texts)


def test_backward_view_plays_back_in_time_with_the_engines_gradients(page, app_url):
    page.goto(f"{app_url}/Cell_stepper?page=stepper&kind=lstm&pass=backward")
    wait_for_app(page, charts=1)
    rows = 3  # the default rows for an LSTM: dL/dh, dL/dc and the forget gate's dL/da
    assert page.evaluate(RENDERED_IMAGES, 0) == rows
    record = engine_record()
    start, numbers = backward_numbers(page)
    assert start == 59  # the loss's step
    assert_engine_numbers(page, record, start, numbers)
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    play = page.locator(".updatemenu-button", has_text="Play backwards").first
    pause = page.locator(".updatemenu-button", has_text="Pause").first
    play.click()
    page.wait_for_timeout(1200)
    assert page.evaluate(RENDERED_IMAGES, 0) == rows  # while playing
    pause.click()
    page.wait_for_timeout(300)
    assert page.evaluate(RENDERED_IMAGES, 0) == rows
    first, numbers = backward_numbers(page)
    assert first < 56  # it went back in time
    page.wait_for_timeout(600)
    assert backward_numbers(page)[0] == first  # Pause holds
    assert_engine_numbers(page, record, first, numbers)
    play.click()  # on from where it paused, further back
    page.wait_for_timeout(800)
    pause.click()
    page.wait_for_timeout(300)
    second, numbers = backward_numbers(page)
    assert second < first
    assert_engine_numbers(page, record, second, numbers)
    click_slider(page, 0.2)  # scrub
    assert page.evaluate(RENDERED_IMAGES, 0) == rows
    third, numbers = backward_numbers(page)
    assert 5 <= third <= 20
    assert_engine_numbers(page, record, third, numbers)
    assert page.locator("[data-testid=stException]").count() == 0
    assert not [u for u in requests if "/_stcore/" in u and "stream" not in u], requests  # no rerun per frame
    screenshot(page, "stepper_backward")
    # back to the forward view by the switch, which the URL follows
    page.locator("[data-testid=stMain] [data-testid=stRadio] label").get_by_text("Forward", exact=True).click()
    page.wait_for_url("**pass=forward**")
    wait_for_app(page, charts=1)
    assert page.evaluate(RENDERED_IMAGES, 0) == rows
    assert page.locator("[data-testid=stException]").count() == 0


def test_clicking_a_gradient_cell_picks_its_step_and_unit(page, app_url):
    """A click on the dL/dh row shows that unit (the loss's unit too, for one unit's loss) at that step."""
    page.goto(f"{app_url}/Cell_stepper?page=stepper&kind=lstm&pass=backward&unit=0")
    wait_for_app(page, charts=1)
    image = page.locator("[data-testid=stPlotlyChart]").first.locator(".imagelayer image").nth(0)  # dL/dh
    page.mouse.wheel(0, 300)  # the caption pushes the row below a 720 px window
    page.wait_for_timeout(300)
    box = image.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 30.5 / 60, box["y"] + box["height"] * (8 - 5.5) / 8)  # t=30, unit 5
    page.wait_for_url("**unit=5**", timeout=30_000)
    wait_for_app(page, charts=1)
    page.wait_for_function(f"i => ({FIGURE_TEXT})(i).includes('LSTM unit 5 at step t = 30')", arg=0, timeout=15_000)
    assert "pass=backward" in page.url and "step=30" in page.url
    from rnnviz.engine import backward, studies

    config = studies.CellConfig()
    record = backward.backward_pass(config.make_cell(), config.make_input(), "unit", 5)
    step, numbers = backward_numbers(page)
    assert step == 30
    assert numbers["dct"] == pytest.approx(record.at(30, 5)["d_c"], rel=5e-3)
    assert page.locator("[data-testid=stException]").count() == 0


# The keyboard player's focused button (it lives in a same-origin iframe): its id and its focus ring



def test_the_backward_view_plays_pauses_and_steps_by_keyboard_alone(page, app_url):
    """Modelled on the forward view's keyboard test (tests/test_browser_screens.py): Tab to Play, which says it
    plays backwards; Enter plays back in time from the loss, Space pauses; the arrows step earlier and later,
    Home and End go to the first and the last step; each step's equations are the engine's gradients there."""
    page.goto(f"{app_url}/Cell_stepper?kind=lstm&pass=backward")
    wait_for_app(page, charts=1, timeout=180_000)
    record = engine_record()
    focused = tab_to_player(page, "play")  # from the top of the page, then only keys
    assert focused["outline"] == "solid" and focused["width"] >= 2, focused  # a visible focus ring
    assert "backwards" in focused["text"], focused
    assert page.evaluate(SLIDER_STEP, 0) == 59  # the backward view starts at the loss, the last step
    page.keyboard.press("Enter")  # play: back in time
    page.wait_for_timeout(1500)
    page.keyboard.press("Tab")
    assert page.evaluate(PLAYER_FOCUSED)["id"] == "pause"
    page.keyboard.press("Space")  # pause
    page.wait_for_timeout(400)
    paused = page.evaluate(SLIDER_STEP, 0)
    assert 0 < paused < 59  # it went back, and stopped on the way
    page.wait_for_timeout(800)
    assert page.evaluate(SLIDER_STEP, 0) == paused  # and stayed paused
    step, numbers = backward_numbers(page)
    assert step == paused
    assert_engine_numbers(page, record, step, numbers)
    page.keyboard.press("ArrowLeft")  # one step earlier: where the gradient goes next
    page.wait_for_timeout(400)
    assert page.evaluate(SLIDER_STEP, 0) == paused - 1
    step, numbers = backward_numbers(page)
    assert step == paused - 1
    assert_engine_numbers(page, record, step, numbers)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(400)
    assert page.evaluate(SLIDER_STEP, 0) == paused + 1
    page.keyboard.press("Home")
    page.wait_for_timeout(400)
    assert page.evaluate(SLIDER_STEP, 0) == 0
    assert_engine_numbers(page, record, *backward_numbers(page))
    page.keyboard.press("End")
    page.wait_for_timeout(400)
    assert page.evaluate(SLIDER_STEP, 0) == 59
    assert_engine_numbers(page, record, *backward_numbers(page))
    assert page.locator("[data-testid=stException]").count() == 0
