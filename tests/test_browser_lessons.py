"""The Lessons in a real browser at 1280x720: each lesson in presenter mode shows its whole figure without
scrolling, hides the sidebar, uses large figure type, and Next reaches the following lesson. Screenshots
of every lesson, normal and presenter, land in tests/screenshots/ (and /tmp/lesson_shots/ when it exists)."""

import shutil
from pathlib import Path

import pytest

from rnnviz.content import lessons
from tests.helpers import screenshot, wait_for_app

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/lesson_shots")


def keep(path: Path) -> None:
    if SHOTS.is_dir():
        shutil.copy(path, SHOTS / path.name)


def lesson_heading(page) -> str:
    return page.locator("[data-testid=stMain] h3").filter(has_text="Lesson ").first.inner_text()


def figure_box(page) -> dict:
    chart = page.locator("[data-testid=stPlotlyChart]").first
    chart.locator(".main-svg").first.wait_for()
    return chart.bounding_box()


@pytest.mark.parametrize("number", range(1, len(lessons.LESSONS) + 1))
def test_each_lesson_in_presenter_mode_fits_the_screen_and_next_moves_on(page, app_url, number):
    page.goto(f"{app_url}/Lessons?lesson={number}&present=1")
    wait_for_app(page, charts=1, timeout=180_000)  # the first visit computes the lesson: slow on a busy machine
    assert page.locator("[data-testid=stException]").count() == 0
    assert lesson_heading(page).startswith(f"Lesson {number} of {len(lessons.LESSONS)}")
    assert not page.locator("[data-testid=stSidebar]").is_visible()
    box = figure_box(page)
    assert box["x"] >= 0 and box["y"] >= 0, box
    assert box["x"] + box["width"] <= 1280 and box["y"] + box["height"] <= 720, box
    sizes = page.evaluate(
        "() => Array.from(document.querySelectorAll('[data-testid=stPlotlyChart] .main-svg text'))"
        ".map(t => parseFloat(getComputedStyle(t).fontSize)).filter(s => s > 0)"
    )
    assert sizes and min(sizes) >= 20, sorted(sizes)[:5]
    keep(screenshot(page, f"lesson{number}_presenter"))
    if number < len(lessons.LESSONS):
        page.get_by_role("button", name="Next →").click()
        page.locator("[data-testid=stMain] h3", has_text=f"Lesson {number + 1} of {len(lessons.LESSONS)}").wait_for(
            timeout=60_000
        )
        wait_for_app(page, charts=1)
        assert page.locator("[data-testid=stException]").count() == 0
        assert f"lesson={number + 1}" in page.url and "present=1" in page.url


@pytest.mark.parametrize("number", range(1, len(lessons.LESSONS) + 1))
def test_each_lesson_reveals_after_a_prediction_in_the_browser(page, app_url, number):
    page.goto(f"{app_url}/Lessons?lesson={number}")
    wait_for_app(page, charts=1)
    assert page.locator("[data-testid=stSidebar]").is_visible()
    page.locator("[data-testid=stMain] [data-testid=stRadio]").get_by_text(
        lessons.lesson(number).options[0], exact=True
    ).click()
    page.locator("[data-testid=stAlert]", has_text="Measured:").first.wait_for(timeout=60_000)
    wait_for_app(page, charts=1)
    assert page.locator("[data-testid=stException]").count() == 0
    assert (
        page.locator("[data-testid=stSidebar]").get_by_text(f"1 of {len(lessons.LESSONS)} lessons answered").count()
        == 1
    )
    keep(screenshot(page, f"lesson{number}_normal"))


def test_presenter_mode_on_another_page_hides_its_controls(page, app_url):
    page.goto(f"{app_url}/Gradient_flow?present=1")
    wait_for_app(page, charts=3, timeout=180_000)  # four backward passes (the clipping section folded): slow when busy
    assert page.locator("[data-testid=stException]").count() == 0
    assert not page.locator("[data-testid=stSidebar]").is_visible()
    assert "present=1" in page.url
    keep(screenshot(page, "gradient_presenter"))
    page.get_by_role("button", name="Leave presenter mode").click()
    page.locator("[data-testid=stSidebar]").wait_for(state="visible", timeout=60_000)


def quiz_and_figure(page) -> tuple[dict, dict]:
    """The bounding boxes of the lesson's question and its figure."""
    quiz = page.locator("[data-testid=stMain] [data-testid=stRadio]").first.bounding_box()
    return quiz, figure_box(page)


@pytest.mark.parametrize(
    "number", [1, lessons.number_of("backward"), lessons.number_of("real"), lessons.number_of("cell")]
)
def test_on_a_phone_the_figure_comes_before_the_question_and_on_a_laptop_beside_it(page, app_url, number):
    """Issue 23: at 390 px the columns stack, figure first (the student sees it before answering); at 1280 px
    the text stays on the left and the figure on the right, side by side."""
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{app_url}/Lessons?lesson={number}")
    wait_for_app(page, charts=1, timeout=180_000)
    assert page.locator("[data-testid=stException]").count() == 0
    quiz, fig = quiz_and_figure(page)
    assert fig["y"] + fig["height"] <= quiz["y"], (fig, quiz)  # stacked: the whole figure above the question
    assert fig["x"] + fig["width"] <= 390 + 1, fig  # and inside the screen
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    keep(screenshot(page, f"lesson{number}_phone"))
    page.set_viewport_size({"width": 1280, "height": 720})
    page.wait_for_timeout(500)
    quiz, fig = quiz_and_figure(page)
    assert quiz["x"] + quiz["width"] <= fig["x"], (quiz, fig)  # side by side: the text on the left
    keep(screenshot(page, f"lesson{number}_wide"))


@pytest.mark.parametrize("name", ["vanish", "clip"])
def test_a_gradient_lessons_link_opens_the_page_scrolled_to_its_figure(page, app_url, name):
    L = lessons.lesson(lessons.number_of(name))
    page.goto(f"{app_url}/Lessons?lesson={L.number}")
    wait_for_app(page, charts=1, timeout=180_000)
    link = page.locator("[data-testid=stMain] a", has_text="at this figure")
    assert link.get_attribute("href") == L.href()
    page.goto(f"{app_url}/{L.href()}")  # what the link opens (in a new tab)
    wait_for_app(page, charts=1, timeout=180_000)
    heading = page.locator(f"[id='{L.anchor}']")
    heading.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)  # the page scrolls once the heading is drawn
    box = heading.bounding_box()
    # At the top (under the app's 60 px header), where without the anchor it is thousands of pixels down: the page
    # keeps it there while figures drawn above it after the scroll grow (they pushed it to y = 585 and beyond).
    assert box is not None and 0 <= box["y"] <= 160, box
    if name == "clip":  # the link opens the clipping section, folded by default, with its figure drawn
        section = page.locator("[data-testid=stExpander]", has_text="Train this RNN twice")
        section.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=60_000)
    keep(screenshot(page, f"lesson{L.number}_link_{name}"))
