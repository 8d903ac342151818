"""The Training lab in a real browser against one server, so its training service is shared: a run to the end
(and its weights downloaded), Stop mid-run, a setting changed mid-run (the run goes on), a second session joining
the run of the first, a press queued while every worker is busy, the lag sweep with progress, Stop and its
result kept, and a closed tab's run stopped. Every test stops the runs it started. Screenshots land in
tests/screenshots/."""

import re
import time

import numpy as np
import pytest

from tests.helpers import screenshot, streamlit_server, wait_for_app

pytestmark = pytest.mark.browser

LONG = "steps=3000&length=100&hidden_size=32"  # a run that cannot finish before the test stops it
# What the page says of a press that replays or joins a run ("another session's run, replayed", "Replayed: the
# same run ..."), not the shipped sweep's caption ("Replayed from a run made on ..."), which every lab page shows.
RUN_REPLAYED = re.compile(r"run, replayed|Replayed: ")


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


def progress_update(page) -> int:
    text = page.get_by_text(re.compile(r"Training: update \d+ of")).first.inner_text(timeout=60_000)
    return int(re.search(r"update (\d+) of", text).group(1))


def test_a_setting_changed_mid_run_keeps_the_run_going_for_the_pressed_settings(page, app_url):
    start_long_run(page, app_url)
    page.locator("[data-testid=stSidebar] label", has_text="Small data").click()
    page.wait_for_timeout(1500)
    before = progress_update(page)
    page.wait_for_function(  # the run goes on after the rerun: the count moves past where it was
        "n => /Training: update (\\d+) of/.test(document.body.innerText) && "
        "+document.body.innerText.match(/Training: update (\\d+) of/)[1] > n",
        arg=before,
        timeout=120_000,
    )
    assert page.get_by_text("length 100, 32 units, 3000 updates").count() == 1  # "Training with:" the pressed ones
    assert page.get_by_text("Interrupted").count() == 0
    screenshot(page, "lab_setting_changed_mid_run")
    page.get_by_role("button", name="■ Stop", exact=True).click()
    page.locator("[data-testid=stAlertContentWarning]", has_text="Stopped at update").wait_for(timeout=60_000)
    wait_for_app(page, charts=2)
    assert page.get_by_text(re.compile("^Trained with: .*length 100, 32 units, 3000 updates")).count() == 1
    assert_no_exception(page)


def test_a_second_session_pressing_the_same_settings_joins_the_run_and_says_so(browser, page, app_url):
    url = f"{app_url}/Training_lab?{LONG}&seed=21"
    page.goto(url)
    wait_for_app(page, charts=1)
    page.get_by_role("button", name="▶ Train").click()
    page.get_by_text(re.compile(r"Training: update [1-9]\d* of")).wait_for(timeout=120_000)
    other = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    try:
        other.goto(url)
        wait_for_app(other, charts=1)
        other.get_by_role("button", name="▶ Train").click()
        other.get_by_text(re.compile(r"Training: update \d+ of 3000 · another session's run, replayed")).wait_for(
            timeout=60_000
        )
        assert other.get_by_text("Replayed: the same run another session started on this server").count() == 1
        other.wait_for_function("() => document.querySelectorAll('[data-testid=stPlotlyChart] .main-svg').length >= 2")
        screenshot(other, "lab_second_session_joined")
        other.get_by_role("button", name="■ Stop", exact=True).click()
        other.get_by_text("The run goes on for the other sessions watching it").wait_for(timeout=60_000)
        wait_for_app(other, charts=2)
        assert other.get_by_text(re.compile("^Trained with: .*Replayed: the same run another session")).count() == 1
        assert_no_exception(other)
        screenshot(other, "lab_second_session_stopped")
    finally:
        other.context.close()
    before = progress_update(page)  # the first session's run went on
    page.wait_for_function(
        "n => +(document.body.innerText.match(/Training: update (\\d+) of/) || [0, -1])[1] > n",
        arg=before,
        timeout=120_000,
    )
    assert page.get_by_text(RUN_REPLAYED).count() == 0  # the first session trained it itself
    page.get_by_role("button", name="■ Stop", exact=True).click()
    page.locator("[data-testid=stAlertContentWarning]", has_text="Stopped at update").wait_for(timeout=60_000)
    assert_no_exception(page)


def test_a_press_while_every_worker_is_busy_shows_its_place_in_the_queue(browser, page, app_url):
    busy = [page, browser.new_context(viewport={"width": 1280, "height": 720}).new_page()]
    waiting = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    try:
        for seed, tab in enumerate(busy, start=22):  # one long run per worker (the server has two: two cores)
            tab.goto(f"{app_url}/Training_lab?{LONG}&seed={seed}")
            wait_for_app(tab, charts=1)
            tab.get_by_role("button", name="▶ Train").click()
            tab.get_by_text(re.compile(r"Training: update \d+ of")).wait_for(timeout=120_000)
        waiting.goto(f"{app_url}/Training_lab?{LONG}&seed=30")
        wait_for_app(waiting, charts=1)
        waiting.get_by_role("button", name="▶ Train").click()
        waiting.get_by_text("Queued: yours is next (every training process on this server is busy)").wait_for(
            timeout=60_000
        )
        estimate = re.compile(r"Queued: yours is next .* · starts (any moment now|in about \d+ (s|min))")
        waiting.get_by_text(estimate).wait_for(timeout=30_000)  # from the throughput the server measured
        assert "run=" in waiting.url  # the URL names the run it follows, so a restart can say it was lost
        screenshot(waiting, "lab_queued")
        waiting.get_by_role("button", name="■ Stop", exact=True).click()  # it never started: untrained, update 0
        waiting.locator("[data-testid=stAlertContentWarning]", has_text="Stopped at update 0 of 3000").wait_for(
            timeout=60_000
        )
        wait_for_app(waiting, charts=2)
        assert metric_texts(waiting) and all("no verdict: stopped at 0/3000" in t for t in metric_texts(waiting))
        assert_no_exception(waiting)
    finally:
        for tab in busy:
            tab.get_by_role("button", name="■ Stop", exact=True).click()
            tab.locator("[data-testid=stAlertContentWarning]", has_text="Stopped at update").wait_for(timeout=60_000)
        for tab in (*busy[1:], waiting):
            tab.context.close()


def test_the_sweep_shows_progress_per_run_stops_and_stays(page, app_url):
    page.goto(f"{app_url}/Training_lab?steps=400&hidden_size=8&models=rnn")  # runs long enough to stop
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


def test_a_closed_tabs_run_stops_once_its_session_is_gone_and_frees_its_worker(browser):
    """A server of its own that forgets a disconnected session after 1 s (Streamlit's default is 120 s): a
    student starts a long run and closes the tab. The run must stop, so a second student pressing the same
    settings trains it afresh (had it gone on, the press would join it and say "another session's run")."""
    with streamlit_server("--server.disconnectedSessionTTL", "1", log_name=".streamlit-server-ttl.log") as url:
        closing = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
        start_long_run(closing, url)
        closing.context.close()
        time.sleep(4)  # 1 s to be forgotten, then the service asks about once a second
        later = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
        try:
            later.goto(f"{url}/Training_lab?{LONG}")
            wait_for_app(later, charts=1)
            later.get_by_role("button", name="▶ Train").click()
            later.get_by_text(re.compile(r"Training: update \d+ of 3000")).wait_for(timeout=120_000)
            assert later.get_by_text(RUN_REPLAYED).count() == 0
            later.get_by_role("button", name="■ Stop", exact=True).click()
            later.locator("[data-testid=stAlertContentWarning]", has_text="Stopped at update").wait_for(timeout=60_000)
            assert_no_exception(later)
        finally:
            later.context.close()
