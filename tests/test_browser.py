"""Real browser tests: a streamlit server, headless Chromium, clicks. Screenshots land in tests/screenshots/."""

import pytest

from tests.conftest import screenshot, wait_for_app

pytestmark = pytest.mark.browser

# page name -> (URL path, how many charts it draws at its defaults)
PAGES = {
    "home": ("", 0),
    "stepper": ("Cell_stepper", 2),
    "gradients": ("Gradient_flow", 4),
    "training": ("Training_lab", 1),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_loads_without_exception(page, app_url, name):
    path, charts = PAGES[name]
    page.goto(f"{app_url}/{path}")
    wait_for_app(page, charts)
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.locator("h1").count() >= 1
    screenshot(page, name)


def marker_step(page) -> int:
    """The step marker's position in the first chart, read from Plotly's own data (frames update it)."""
    return page.evaluate("() => document.querySelector('[data-testid=stPlotlyChart] .js-plotly-plot').data.at(-1).x[0]")


def test_play_advances_the_animation_in_the_browser(page, app_url):
    page.goto(f"{app_url}/Cell_stepper?cell=lstm&length=60&step=0")
    wait_for_app(page, charts=2)
    assert marker_step(page) == 0
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.locator(".updatemenu-button", has_text="Play").first.click()
    page.wait_for_timeout(1500)
    page.locator(".updatemenu-button", has_text="Pause").first.click()
    paused_at = marker_step(page)
    assert paused_at > 3, paused_at
    page.wait_for_timeout(600)
    assert marker_step(page) == paused_at  # Pause holds it
    assert page.locator("[data-testid=stException]").count() == 0
    assert not [u for u in requests if "/_stcore/" in u and "stream" not in u], requests  # no rerun per frame


def test_changing_a_control_changes_the_figure(page, app_url):
    page.goto(f"{app_url}/Cell_stepper?cell=lstm")
    wait_for_app(page, charts=2)
    assert page.locator(".plot-container").first.get_by_text("forget gate f_t").count() == 1
    page.locator("[data-testid=stSidebar] [data-testid=stSelectbox]").first.click()
    page.get_by_role("option", name="GRU").click()
    wait_for_app(page, charts=2)
    plot = page.locator(".plot-container").first
    plot.get_by_text("update gate z_t").wait_for(timeout=20_000)
    assert plot.get_by_text("forget gate f_t").count() == 0
    assert "cell=gru" in page.url
    screenshot(page, "stepper_gru")


def lag_curve_names(page) -> list:
    return page.evaluate(
        "() => document.querySelectorAll('[data-testid=stPlotlyChart] .js-plotly-plot')[0].data.map(t => t.name)"
    )


def test_gradient_page_redraws_when_a_control_changes(page, app_url):
    page.goto(f"{app_url}/Gradient_flow?radius=0.9&act=tanh&dtype=float64")
    wait_for_app(page, charts=4)
    before = page.evaluate(
        "() => document.querySelectorAll('[data-testid=stPlotlyChart] .js-plotly-plot')[0]._fullData[0].y.length"
    )
    assert "theory: RNN bound (γσ_max)^k" in lag_curve_names(page)
    page.get_by_role("button", name="Exploding (relu, ρ = 1.5, float32)").click()
    page.get_by_text("overflowed in the forward pass").wait_for(timeout=30_000)
    wait_for_app(page, charts=4)
    after = page.evaluate(
        "() => document.querySelectorAll('[data-testid=stPlotlyChart] .js-plotly-plot')[0]._fullData[0].y.length"
    )
    assert after != before  # the RNN's curve now ends where its forward pass overflowed
    assert "act=relu" in page.url and "dtype=float32" in page.url
    assert page.locator("[data-testid=stException]").count() == 0
    screenshot(page, "gradients_exploding")


def test_training_lab_trains_live_and_stop_ends_it_cleanly(page, app_url):
    page.goto(f"{app_url}/Training_lab?steps=50&length=10&hidden=4")
    wait_for_app(page, charts=1)
    page.get_by_role("button", name="▶ Train").click()
    page.get_by_text("RNN: test MSE").wait_for(timeout=60_000)
    wait_for_app(page, charts=3)  # learning curves, trained gates, shipped sweep
    assert page.locator("[data-testid=stMetric]").count() == 3
    screenshot(page, "training_done")

    # a long run, stopped part-way: partial results, a clear note, no exception
    page.goto(f"{app_url}/Training_lab?steps=3000&length=200&hidden=32")
    wait_for_app(page, charts=1)
    page.get_by_role("button", name="▶ Train").click()
    page.get_by_text("Training: update").wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    page.get_by_role("button", name="■ Stop").click()
    page.get_by_text("Stopped. These are the results").wait_for(timeout=60_000)
    wait_for_app(page, charts=2)
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.locator("[data-testid=stMetric]").count() == 3
    screenshot(page, "training_stopped")


def test_landing_page_reveals_the_measurement_after_a_guess(page, app_url):
    page.goto(app_url)
    wait_for_app(page)
    assert page.locator("[data-testid=stPlotlyChart]").count() == 0  # predict first
    page.locator("[data-testid=stRadio] label", has_text="LSTM").click()
    wait_for_app(page, charts=1)
    names = page.evaluate("() => document.querySelector('[data-testid=stPlotlyChart] .js-plotly-plot')"
                          ".data.map(t => t.name)")
    assert names == ["RNN", "LSTM", "GRU"]
    assert page.get_by_text("you guessed LSTM").count() == 1
    screenshot(page, "home_revealed")
