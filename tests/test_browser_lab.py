"""The Training lab in a real browser: a run to the end (and its weights downloaded), Stop mid-run, a setting
changed mid-run, and the lag sweep with progress, Stop and its result kept. Screenshots land in tests/screenshots/."""

import re

import numpy as np
import pytest

from tests.conftest import screenshot, wait_for_app

pytestmark = pytest.mark.browser

LONG = "steps=3000&length=100&hidden_size=32"  # a run that cannot finish before the test stops it


def metric_texts(page) -> list[str]:
    return page.locator("[data-testid=stMetric]").all_inner_texts()


def assert_no_exception(page) -> None:
    assert page.locator("[data-testid=stException]").count() == 0


def start_long_run(page, app_url) -> None:
    page.goto(f"{app_url}/Training_lab?{LONG}")
    wait_for_app(page, charts=1)
    page.get_by_role("button", name="▶ Train").click()
    page.get_by_text("Training: update").wait_for(timeout=60_000)
    page.wait_for_timeout(1500)


def test_a_run_to_the_end_gives_verdicts_and_its_weights_load_with_pytorch_keys(page, app_url):
    page.goto(f"{app_url}/Training_lab?steps=50&length=10&hidden_size=4")
    wait_for_app(page, charts=1)
    page.get_by_role("button", name="▶ Train").click()
    page.get_by_text("RNN: test MSE").wait_for(timeout=120_000)
    wait_for_app(page, charts=3)  # learning curves, trained gates, shipped sweep
    texts = metric_texts(page)
    assert len(texts) == 3 and all("solved" in t and "no verdict" not in t for t in texts), texts
    with page.expect_download() as download:
        page.get_by_role("button", name="⬇ LSTM weights (.npz)").click()
    with np.load(download.value.path(), allow_pickle=False) as weights:
        shapes = {name: weights[name].shape for name in weights.files}
    assert shapes == {"weight_ih_l0": (16, 2), "weight_hh_l0": (16, 4), "bias_ih_l0": (16,), "bias_hh_l0": (16,)}
    assert_no_exception(page)
    screenshot(page, "lab_done")


def test_stop_mid_run_shows_every_model_at_the_update_it_reached(page, app_url):
    start_long_run(page, app_url)
    page.get_by_role("button", name="■ Stop", exact=True).click()
    page.locator("[data-testid=stAlertContentWarning]", has_text="Stopped at update").wait_for(timeout=60_000)
    wait_for_app(page, charts=2)
    texts = metric_texts(page)
    assert len(texts) == 3 and all("no verdict: stopped at" in t for t in texts), texts
    assert not any("—" in t or "not solved" in t for t in texts), texts
    assert_no_exception(page)
    screenshot(page, "lab_stopped")


def test_a_setting_changed_mid_run_says_interrupted(page, app_url):
    start_long_run(page, app_url)
    page.locator("[data-testid=stSidebar] label", has_text="Small data").click()
    warning = page.locator(
        "[data-testid=stAlertContentWarning]", has_text="Interrupted by a change of settings at update"
    )
    warning.wait_for(timeout=60_000)
    wait_for_app(page, charts=2)
    texts = metric_texts(page)
    assert len(texts) == 3 and all("no verdict: interrupted at" in t for t in texts), texts
    assert page.get_by_text("length 100, 32 units, 3000 updates").count() == 1  # the run's settings, not the new ones
    assert_no_exception(page)
    screenshot(page, "lab_interrupted")


def test_the_sweep_shows_progress_per_run_stops_and_stays(page, app_url):
    page.goto(f"{app_url}/Training_lab?steps=50&hidden_size=2&models=rnn")
    wait_for_app(page, charts=1)
    page.get_by_role("button", name="Run the sweep with my settings").click()
    # at least one run finished (the progress line moves on quickly, so accept any count after the first)
    page.get_by_text(re.compile(r"\b([1-9]|1[0-4]) of 15 runs done")).first.wait_for(timeout=240_000)
    page.get_by_role("button", name="■ Stop the sweep").click()
    page.locator("[data-testid=stAlertContentWarning]", has_text="Stopped after").wait_for(timeout=60_000)
    wait_for_app(page, charts=2)
    assert page.locator(".gtitle", has_text="Your sweep (").count() == 1
    page.locator("[data-testid=stSidebar] label", has_text="sgd").click()  # another click: the result stays
    wait_for_app(page, charts=2)
    assert page.locator(".gtitle", has_text="Your sweep (").count() == 1
    assert page.get_by_text("Stopped after").count() == 1
    assert_no_exception(page)
    screenshot(page, "lab_sweep_stopped")
