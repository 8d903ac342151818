"""The Text lab in Chromium: the text drawn as coloured characters, a selected stretch finding its units and
other stretches and opened in the Cell stepper, an uploaded .txt trained on through the training service, and
a binary file refused with its message."""

import pytest

from tests.helpers import screenshot, wait_for_app

pytestmark = pytest.mark.browser

CHARTS = "[data-testid=stPlotlyChart] .js-plotly-plot"


def no_exception(page) -> None:
    assert page.locator("[data-testid=stException]").count() == 0


def test_select_a_stretch_and_see_the_matching_units_and_other_stretches(page, app_url):
    page.goto(f"{app_url}/Text_lab")  # the default stretch: the first quoted string
    wait_for_app(page, charts=4)
    no_exception(page)
    # the unit figure draws the text itself, character by character, entities decoded by Plotly
    drawn = page.evaluate(
        f"() => Array.from(document.querySelectorAll('{CHARTS}')[1].querySelectorAll('text'))"
        ".map(t => t.textContent).join('')"
    )
    assert "ok = [" in drawn and "↵" in drawn
    page.get_by_text("stay on across the stretch").wait_for(timeout=30_000)
    page.get_by_text("other stretches").first.wait_for(timeout=10_000)
    start = page.get_by_role("spinbutton", name="From character")
    start.fill("21")
    start.press("Enter")
    page.get_by_text("Selected: ").first.wait_for(timeout=10_000)
    wait_for_app(page, charts=4)
    assert "start=21" in page.url
    page.get_by_text("(11 characters)").wait_for(timeout=30_000)
    no_exception(page)
    screenshot(page, "text_stretch")
    page.get_by_role("button", name="in the Cell stepper").click()  # the stretch and its unit, handed over
    page.wait_for_url("**/Cell_stepper**", timeout=30_000)
    wait_for_app(page)
    no_exception(page)


def test_upload_a_txt_to_train_on_and_a_binary_file_gets_its_message(page, app_url):
    page.goto(f"{app_url}/Text_lab?corpus=own&steps=300&hidden=8")
    wait_for_app(page)
    page.get_by_text("Paste a text or upload a .txt file").wait_for(timeout=30_000)
    uploader = page.locator("[data-testid=stFileUploaderDropzoneInput]")
    story = ("Once upon a time (in a land \"far away\") there lived a fox.\n    It said: 'hello'.\n" * 30).encode()
    uploader.set_input_files(files=[{"name": "story.txt", "mimeType": "text/plain", "buffer": story}])
    page.get_by_text("Press Train").wait_for(timeout=60_000)
    page.get_by_role("button", name="▶ Train").click()  # through the server's training service
    page.get_by_text("Trained on this server's training service").wait_for(timeout=180_000)
    wait_for_app(page, charts=4)
    no_exception(page)
    binary = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    uploader.set_input_files(files=[{"name": "picture.txt", "mimeType": "text/plain", "buffer": binary}])
    page.get_by_text("this looks like a binary file").wait_for(timeout=60_000)
    no_exception(page)
    screenshot(page, "text_upload_binary")
