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
    assert lesson_heading(page).startswith(f"Lesson {number} of 8")
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
        page.locator("[data-testid=stMain] h3", has_text=f"Lesson {number + 1} of 8").wait_for(timeout=60_000)
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
    assert page.locator("[data-testid=stSidebar]").get_by_text("1 of 8 lessons answered").count() == 1
    keep(screenshot(page, f"lesson{number}_normal"))


def test_presenter_mode_on_another_page_hides_its_controls(page, app_url):
    page.goto(f"{app_url}/Gradient_flow?present=1")
    wait_for_app(page, charts=4, timeout=180_000)  # three backward passes: slow on a busy machine
    assert page.locator("[data-testid=stException]").count() == 0
    assert not page.locator("[data-testid=stSidebar]").is_visible()
    assert "present=1" in page.url
    keep(screenshot(page, "gradient_presenter"))
    page.get_by_role("button", name="Leave presenter mode").click()
    page.locator("[data-testid=stSidebar]").wait_for(state="visible", timeout=60_000)
