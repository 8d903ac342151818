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
    page.goto(f"{app_url}/Cell_stepper?kind=lstm&length=60&step=0")
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
    page.goto(f"{app_url}/Cell_stepper?kind=lstm")
    wait_for_app(page, charts=2)
    assert page.locator(".plot-container").first.get_by_text("forget gate f_t").count() == 1
    page.locator("[data-testid=stSidebar] [data-testid=stSelectbox]").first.click()
    page.get_by_role("option", name="GRU").click()
    wait_for_app(page, charts=2)
    plot = page.locator(".plot-container").first
    plot.get_by_text("update gate z_t").wait_for(timeout=20_000)
    assert plot.get_by_text("forget gate f_t").count() == 0
    assert "kind=gru" in page.url
    screenshot(page, "stepper_gru")


def lag_curve_names(page) -> list:
    return page.evaluate(
        "() => document.querySelectorAll('[data-testid=stPlotlyChart] .js-plotly-plot')[0].data.map(t => t.name)"
    )


def test_gradient_page_redraws_when_a_control_changes(page, app_url):
    page.goto(f"{app_url}/Gradient_flow?spectral_radius=0.9&nonlinearity=tanh&dtype=float64")
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
    assert "nonlinearity=relu" in page.url and "dtype=float32" in page.url
    assert page.locator("[data-testid=stException]").count() == 0
    screenshot(page, "gradients_exploding")


def test_training_lab_trains_live_and_stop_ends_it_cleanly(page, app_url):
    page.goto(f"{app_url}/Training_lab?steps=50&length=10&hidden_size=4")
    wait_for_app(page, charts=1)
    page.get_by_role("button", name="▶ Train").click()
    page.get_by_text("RNN: test MSE").wait_for(timeout=60_000)
    wait_for_app(page, charts=3)  # learning curves, trained gates, shipped sweep
    assert page.locator("[data-testid=stMetric]").count() == 3
    screenshot(page, "training_done")

    # a long run, stopped part-way: partial results, a clear note, no exception
    page.goto(f"{app_url}/Training_lab?steps=3000&length=200&hidden_size=32")
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
    page.locator("[data-testid=stRadio] label").get_by_text("LSTM", exact=True).click()
    wait_for_app(page, charts=1)
    names = page.evaluate("() => document.querySelector('[data-testid=stPlotlyChart] .js-plotly-plot')"
                          ".data.map(t => t.name)")
    assert names == ["RNN", "LSTM", "GRU"]
    assert page.get_by_text("you guessed LSTM").count() == 1
    screenshot(page, "home_revealed")


def query_of(page) -> dict:
    from urllib.parse import parse_qs, urlparse

    return parse_qs(urlparse(page.url).query)


def first_sidebar_slider(page) -> float:
    return float(page.locator("[data-testid=stSidebar] [data-testid=stSlider] input").first.input_value())


# sidebar label -> (URL path, charts at defaults, the field its first sidebar slider sets)
WALK_PAGES = {
    "Cell stepper": ("Cell_stepper", 2, "hidden_size"),
    "Gradient flow": ("Gradient_flow", 4, "spectral_radius"),
    "Training lab": ("Training_lab", 1, "length"),
}


def test_walking_the_sidebar_keeps_each_pages_settings(page, app_url):
    """The walk from issue 14 and back again: every page shows the settings it had when the student left it
    (its defaults on a first visit), the first sidebar slider agrees with the URL, and Back restores too."""
    expected = {}
    for label, (path, charts, _) in WALK_PAGES.items():  # fresh loads, each in a new session
        page.goto(f"{app_url}/{path}")
        wait_for_app(page, charts)
        expected[label] = query_of(page)
    page.goto(app_url)
    wait_for_app(page)
    moved = set()
    walk = ["Cell stepper", "Gradient flow", "Training lab", "Gradient flow", "Cell stepper", "Training lab"] * 2
    for visit, label in enumerate(walk):
        path, charts, field = WALK_PAGES[label]
        page.locator("[data-testid=stSidebar] a", has_text=label).click()
        page.wait_for_url(f"**/{path}*")
        wait_for_app(page, charts)
        shown = query_of(page)
        assert shown == expected[label], (visit, label, shown, expected[label])
        assert first_sidebar_slider(page) == float(shown[field][0])
        assert page.locator("[data-testid=stException]").count() == 0
        if label not in moved:  # the first visit moves the first slider one notch, as a student would
            moved.add(label)
            before = first_sidebar_slider(page)
            page.locator("[data-testid=stSidebar] [data-testid=stSlider] input").first.focus()
            page.keyboard.press("ArrowRight")
            page.wait_for_function(
                "([f, v]) => !new URLSearchParams(location.search).has(f)"
                " || Number(new URLSearchParams(location.search).get(f)) !== v",
                arg=[field, before],
            )
            wait_for_app(page, charts)
            expected[label] = query_of(page)
            assert float(expected[label][field][0]) > before
    for _ in range(6):  # the browser's Back, until it leaves the Training lab (a rerun may add an entry)
        page.go_back()
        page.wait_for_timeout(500)
        if "/Cell_stepper" in page.url:
            break
        assert query_of(page) == expected["Training lab"] or "page" not in query_of(page)
    wait_for_app(page, 2)
    assert query_of(page) == expected["Cell stepper"]


@pytest.mark.parametrize("typed", ["[c](//x.invalid)", "![](//x.invalid)", "<img src=//x.invalid>", "https://x.invalid"])
def test_a_shared_link_cannot_inject_a_link_or_an_image(page, app_url, typed):
    """Issue 15: the typed-sequence error quotes the bad entry; it must come out as text. Requests to any
    address but the app's own are blocked and counted."""
    from urllib.parse import quote

    outside = []

    def block(route):
        if route.request.url.startswith(app_url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", block)
    page.goto(f"{app_url}/Cell_stepper?preset=custom&custom={quote(typed)}")
    wait_for_app(page)
    error = page.locator("[data-testid=stAlertContentError]")
    error.wait_for(timeout=30_000)
    assert "is not a number" in error.inner_text()
    assert typed.split()[0][:8] in error.inner_text()  # the entry is quoted, as text
    links = page.eval_on_selector_all(
        "[data-testid=stMain] a[href], [data-testid=stMain] img",
        "els => els.map(e => e.getAttribute('href') || e.getAttribute('src') || '')",
    )
    assert not [u for u in links if "x.invalid" in u], links
    page.wait_for_timeout(500)
    assert outside == [], outside
    assert page.locator("[data-testid=stException]").count() == 0
