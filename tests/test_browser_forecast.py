"""The Forecast lab in a real browser: a shipped series trains through the shared training service and shows its
table and figures; a long press draws live learning curves and Stop stops it; a shipped series shows its window
study; an uploaded CSV trains too; a bad CSV shows its message and the page keeps working (a good file after it
is read again). Screenshots land in tests/screenshots/."""

import numpy as np
import pytest

from tests.helpers import screenshot, wait_for_app

pytestmark = pytest.mark.browser

SMALL = "updates=40&hidden_size=4"


def assert_no_exception(page) -> None:
    assert page.locator("[data-testid=stException]").count() == 0


def train_and_wait(page) -> None:
    page.get_by_role("button", name="▶ Train").click()
    page.get_by_text("Errors on the test part").wait_for(timeout=120_000)
    wait_for_app(page, charts=4)  # the series, the forecasts, the learning curves, the error per step ahead


def table_text(page) -> str:
    return page.locator("[data-testid=stDataFrame]").inner_text()


def test_a_shipped_series_trains_and_shows_the_table_and_the_figures(page, app_url):
    page.goto(f"{app_url}/Forecast_lab?series=nile&window=10&horizon=5&season=0&difference=false&{SMALL}")
    wait_for_app(page, charts=1)
    assert page.get_by_text("training (70)").count() == 1  # the split is drawn on the series
    train_and_wait(page)
    page.locator("[data-testid=stDataFrame]").wait_for()
    assert page.locator("[data-testid=stDataFrame] canvas, [data-testid=stDataFrame] table").count() > 0
    assert page.get_by_text("seasonal naive is persistence").count() == 1  # a sentence made from the run
    with page.expect_download() as download:
        page.get_by_role("button", name="⬇ LSTM weights (.npz)").click()
    with np.load(download.value.path(), allow_pickle=False) as weights:
        shapes = {name: weights[name].shape for name in weights.files}
    assert shapes == {"weight_ih_l0": (16, 1), "weight_hh_l0": (16, 4), "bias_ih_l0": (16,), "bias_hh_l0": (16,)}
    assert_no_exception(page)
    screenshot(page, "forecast_nile")
    page.get_by_role("button", name="🔬 Open the LSTM in the Cell stepper").click()  # the handoff to the stepper
    page.wait_for_url("**/Cell_stepper**", timeout=30_000)
    wait_for_app(page, charts=1)
    assert_no_exception(page)


def test_a_long_press_draws_live_curves_and_stop_stops_it_and_the_window_study_is_shown(page, app_url):
    page.goto(
        f"{app_url}/Forecast_lab?series=sunspots&window=22&horizon=5&season=11&difference=false&updates=1000&hidden_size=32"
    )
    wait_for_app(page, charts=2)  # the series and the window study
    assert page.get_by_text("Memory: the window growing past the season").count() == 1
    page.get_by_role("button", name="▶ Train").click()
    page.get_by_text("Training: update").wait_for(timeout=60_000)  # the progress bar of the service's run
    page.wait_for_function(  # a live learning-curve chart beside the series and the study
        "() => document.querySelectorAll('[data-testid=stPlotlyChart] .main-svg').length >= 3", timeout=60_000
    )
    screenshot(page, "forecast_live")
    page.get_by_role("button", name="■ Stop").click()
    page.get_by_text("Stopped at update").wait_for(timeout=60_000)
    wait_for_app(page, charts=5)
    assert page.get_by_text("Errors on the test part").count() == 1
    assert_no_exception(page)


def csv_bytes(values) -> bytes:
    return ("month,value\n" + "".join(f"2000-{i},{v:.4f}\n" for i, v in enumerate(values))).encode()


def upload(page, name: str, data: bytes) -> None:
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": data}]
    )
    page.wait_for_timeout(500)
    wait_for_app(page)


def test_an_uploaded_csv_trains_and_a_bad_one_shows_its_message_and_the_page_keeps_working(page, app_url):
    page.goto(f"{app_url}/Forecast_lab?source=upload&window=8&horizon=4&season=10&{SMALL}")
    wait_for_app(page)
    t = np.arange(160)
    upload(page, "mine.csv", csv_bytes(np.sin(2 * np.pi * t / 10) + 0.05 * t))
    wait_for_app(page, charts=1)
    train_and_wait(page)
    assert_no_exception(page)
    screenshot(page, "forecast_upload")

    bad = csv_bytes(np.sin(t / 3.0)).replace(b"2000-7,", b"2000-7,x")  # row 9 (the header is row 1)
    upload(page, "bad.csv", bad)
    page.get_by_text("row 9, column 'value'").wait_for(timeout=30_000)
    assert_no_exception(page)
    assert page.locator("[data-testid=stSidebar] [data-testid=stSlider]").count() >= 3  # the settings stay
    screenshot(page, "forecast_bad_csv")

    upload(page, "good.csv", csv_bytes(np.cos(t / 4.0)))
    wait_for_app(page, charts=1)
    assert page.get_by_text("is not a number").count() == 0
    assert_no_exception(page)
