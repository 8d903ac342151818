"""Real browser tests: a streamlit server, headless Chromium, clicks. Screenshots land in tests/screenshots/."""

import pytest

import rnnviz
from tests.helpers import (
    FIGURE_TEXT,
    RENDERED_IMAGES,
    SLIDER_STEP,
    choose_in_sidebar,
    click_slider,
    screenshot,
    sidebar_link,
    wait_for_app,
)

pytestmark = pytest.mark.browser

# page name -> (URL path, how many charts it draws at its defaults)
PAGES = {
    "home": ("", 0),
    "stepper": ("Cell_stepper", 1),
    "gradients": ("Gradient_flow", 3),  # the clipping section's figure waits until it is opened
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


def shown_numbers(page, chart: int = 0) -> tuple[int, dict]:
    """The step the slider shows and the diagram's lines of numbers: {symbol: value after the last '='}."""
    lines = [t for t in page.evaluate(FIGURE_TEXT, chart) if " = " in t]
    step = int(lines[0].rsplit("= ", 1)[1])  # the diagram names its own step
    # The slider's label follows Plotly's animatingframe event, not the frame's data: a Pause pressed between
    # the two leaves them one step apart (seen only with both cores saturated). The diagram names its own step.
    assert abs(step - page.evaluate(SLIDER_STEP, chart)) <= 1, (lines[0], page.evaluate(SLIDER_STEP, chart))
    return step, {line.split(" = ")[0]: float(line.rsplit("= ", 1)[1]) for line in lines[1:]}


def stepper_series(unit: int = 0):
    from rnnviz.engine import studies
    from rnnviz.figures import equations

    config = studies.CellConfig()  # the stepper's defaults: LSTM, 8 units, a pulse, 60 steps
    run = studies.run(config.make_cell(), config.make_input())
    cell = rnnviz.from_state_dict("lstm", run.state_dict)
    return equations.unit_series(cell, run.x, run.h, run.c, run.gates, unit)


def test_play_scrub_and_replay_keep_every_heatmap_drawn_and_the_diagram_in_step(page, app_url):
    """Issue 8: count the heatmap pictures the browser actually draws after each thing a student does, read the
    diagram's numbers at paused steps against the engine, and check no request reran the script."""
    page.goto(f"{app_url}/Cell_stepper?page=stepper&kind=lstm&step=0")
    wait_for_app(page, charts=1)
    rows = 3  # the default rows for an LSTM: h, c and the forget gate
    assert page.evaluate(RENDERED_IMAGES, 0) == rows
    series = stepper_series()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    play = page.locator(".updatemenu-button", has_text="Play").first
    pause = page.locator(".updatemenu-button", has_text="Pause").first
    play.click()
    page.wait_for_timeout(1200)
    assert page.evaluate(RENDERED_IMAGES, 0) == rows  # while playing
    pause.click()
    page.wait_for_timeout(300)
    assert page.evaluate(RENDERED_IMAGES, 0) == rows  # after Pause
    first, numbers = shown_numbers(page)
    assert first > 3
    page.wait_for_timeout(600)
    assert shown_numbers(page)[0] == first  # Pause holds
    for symbol, name in (("f", "forget"), ("c", "c"), ("h", "h")):
        assert numbers[symbol] == pytest.approx(series[name][first], abs=6e-4), symbol
    click_slider(page, 0.8)  # scrub
    assert page.evaluate(RENDERED_IMAGES, 0) == rows
    second, numbers = shown_numbers(page)
    assert second != first and second > 30
    for symbol, name in (("i", "input"), ("c", "c"), ("h", "h")):
        assert numbers[symbol] == pytest.approx(series[name][second], abs=6e-4), symbol
    click_slider(page, 0.88)  # near the end, then play to the end
    assert 45 <= shown_numbers(page)[0] < 59
    play.click()
    page.wait_for_function(f"i => ({FIGURE_TEXT})(i).includes('LSTM unit 0 at step t = 59')", arg=0, timeout=15_000)
    page.wait_for_timeout(300)
    assert page.evaluate(RENDERED_IMAGES, 0) == rows
    play.click()  # Play at the last step starts again from the beginning
    page.wait_for_timeout(800)
    assert page.evaluate(RENDERED_IMAGES, 0) == rows
    assert shown_numbers(page)[0] < 59
    assert page.locator("[data-testid=stException]").count() == 0
    assert not [u for u in requests if "/_stcore/" in u and "stream" not in u], requests  # no rerun per frame
    screenshot(page, "stepper_after_play")
    choose_in_sidebar(page, "GRU")  # switch the cell
    page.wait_for_url("**kind=gru**")
    wait_for_app(page, charts=1)
    page.wait_for_function(f"i => ({RENDERED_IMAGES})(i) === 2", arg=0)  # GRU: h and the update gate
    play = page.locator(".updatemenu-button", has_text="Play").first
    play.click()
    page.wait_for_timeout(800)
    assert page.evaluate(RENDERED_IMAGES, 0) == 2


def test_clicking_a_hidden_state_cell_selects_its_step_and_unit(page, app_url):
    page.goto(f"{app_url}/Cell_stepper?page=stepper&kind=lstm&step=0&unit=0")
    wait_for_app(page, charts=1)
    chart = page.locator("[data-testid=stPlotlyChart]").first
    image = chart.locator(".imagelayer image").nth(0)  # the hidden state's row (first heatmap)
    box = image.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 30.5 / 60, box["y"] + box["height"] * (8 - 5.5) / 8)  # t=30, unit 5
    page.wait_for_url("**unit=5**", timeout=30_000)
    wait_for_app(page, charts=1)
    step, _ = shown_numbers(page)
    assert step == 30 and "step=30" in page.url
    lines = [t for t in page.evaluate(FIGURE_TEXT, 0) if t.startswith("LSTM unit")]
    assert lines == ["LSTM unit 5 at step t = 30"]


def test_changing_a_control_changes_the_figure(page, app_url):
    page.goto(f"{app_url}/Cell_stepper?kind=lstm")
    wait_for_app(page, charts=1)
    assert page.locator(".plot-container").first.get_by_text("forget gate f_t", exact=False).count() == 1
    choose_in_sidebar(page, "GRU")
    wait_for_app(page, charts=1)
    plot = page.locator(".plot-container").first
    plot.get_by_text("update gate z_t", exact=False).wait_for(timeout=20_000)
    assert plot.get_by_text("forget gate f_t", exact=False).count() == 0
    assert "kind=gru" in page.url
    screenshot(page, "stepper_gru")


def lag_curve_names(page) -> list:
    return page.evaluate(
        "() => document.querySelectorAll('[data-testid=stPlotlyChart] .js-plotly-plot')[0].data.map(t => t.name)"
    )


def test_gradient_page_redraws_when_a_control_changes(page, app_url):
    page.goto(f"{app_url}/Gradient_flow?spectral_radius=0.9&nonlinearity=tanh&dtype=float64")
    wait_for_app(page, charts=3)
    before = page.evaluate(
        "() => document.querySelectorAll('[data-testid=stPlotlyChart] .js-plotly-plot')[0]._fullData[0].y.length"
    )
    assert "theory: LSTM Π forget gates" in lag_curve_names(page)
    page.get_by_role("button", name="Exploding (relu, ρ = 1.5, float32)").click()
    page.get_by_text("overflowed in the forward pass").wait_for(timeout=30_000)
    wait_for_app(page, charts=4)  # the scenario opens the clipping section
    after = page.evaluate(
        "() => document.querySelectorAll('[data-testid=stPlotlyChart] .js-plotly-plot')[0]._fullData[0].y.length"
    )
    assert after != before  # the RNN's curve now ends where its forward pass overflowed
    assert "nonlinearity=relu" in page.url and "dtype=float32" in page.url
    assert page.locator("[data-testid=stException]").count() == 0
    screenshot(page, "gradients_exploding")


def test_landing_page_reveals_the_measurement_after_a_guess(page, app_url):
    page.goto(app_url)
    wait_for_app(page)
    assert page.locator("[data-testid=stPlotlyChart]").count() == 0  # predict first
    page.locator("[data-testid=stRadio] label").get_by_text("LSTM", exact=True).click()
    wait_for_app(page, charts=1)
    names = page.evaluate(
        "() => document.querySelector('[data-testid=stPlotlyChart] .js-plotly-plot').data.map(t => t.name)"
    )
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
    "Cell stepper": ("Cell_stepper", 1, "hidden_size"),
    "Gradient flow": ("Gradient_flow", 3, "spectral_radius"),
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
        sidebar_link(page, label).click()
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
    wait_for_app(page, 1)
    assert query_of(page) == expected["Cell stepper"]


@pytest.mark.parametrize(
    "typed", ["[c](//x.invalid)", "![](//x.invalid)", "<img src=//x.invalid>", "https://x.invalid"]
)
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


def test_the_trained_gates_figure_keeps_its_heatmaps_and_follows_the_slider(page, app_url):
    """Issue 8, on the Training lab: the trained LSTM's figure (h, c and four gates) keeps every heatmap drawn
    through Play, Pause and a scrub, and its diagram shows the trained model's numbers at the paused step."""
    from rnnviz.engine import tasks, training
    from rnnviz.figures import equations

    page.goto(f"{app_url}/Training_lab?page=lab&steps=50&length=10&hidden_size=4&models=lstm")
    wait_for_app(page, charts=1)
    page.get_by_role("button", name="▶ Train").click()
    page.get_by_text("LSTM: test MSE").wait_for(timeout=120_000)
    wait_for_app(page, charts=3)  # learning curves, trained gates, shipped sweep
    charts = page.locator("[data-testid=stPlotlyChart]")
    chart = next(i for i in range(charts.count()) if page.evaluate(RENDERED_IMAGES, i) == 6)
    config = training.TrainConfig(cell="lstm", length=10, hidden_size=4, steps=50, eval_every=5)
    model = training.train_many({"lstm": config})["lstm"].model  # deterministic: the page's model
    _, test_set = tasks.make_task("adding", 10, 1, 1, seed=config.seed + 1000)
    trace = model.cell.forward(test_set.x[:, 0].astype(model.cell.dtype))
    series = equations.unit_series(model.cell, trace.x.astype(float), trace.h, trace.c, trace.gates, 0)
    play = charts.nth(chart).locator(".updatemenu-button", has_text="Play").first
    play.click()
    page.wait_for_timeout(500)
    charts.nth(chart).locator(".updatemenu-button", has_text="Pause").first.click()
    page.wait_for_timeout(300)
    assert page.evaluate(RENDERED_IMAGES, chart) == 6
    for fraction in (None, 0.75):
        if fraction is not None:
            click_slider(page, fraction, chart)
            assert page.evaluate(RENDERED_IMAGES, chart) == 6
        step, numbers = shown_numbers(page, chart)
        for symbol, name in (("f", "forget"), ("c", "c"), ("h", "h")):
            assert numbers[symbol] == pytest.approx(series[name][step], abs=6e-4), (step, symbol)
    assert page.locator("[data-testid=stException]").count() == 0
    screenshot(page, "lab_trained_gates")


@pytest.mark.parametrize(
    "path, button, header, rows",
    [
        ("Cell_stepper", "Download the trace (CSV)", "t,x0,h_0", 60),  # the defaults: 60 steps
        ("Gradient_flow", "Download the curves (CSV)", "lag,rnn_dL_dh", 200),  # the defaults: T = 200
    ],
)
def test_the_csv_downloads_are_written_when_clicked(page, app_url, path, button, header, rows):
    """The CSVs are made only when someone clicks (a callable, not bytes built on every rerun): the file still
    arrives, with the columns and rows the page shows."""
    import numpy as np

    page.goto(f"{app_url}/{path}")
    wait_for_app(page, PAGES["stepper" if path == "Cell_stepper" else "gradients"][1])
    with page.expect_download() as download:
        page.get_by_role("button", name=button).click()
    text = open(download.value.path()).read()
    lines = text.strip().split("\n")
    assert lines[0].startswith(header) and len(lines) == rows + 1
    values = np.genfromtxt(download.value.path(), delimiter=",", skip_header=1)
    assert values.shape[0] == rows and np.isfinite(values[:, 0]).all()
    assert page.locator("[data-testid=stException]").count() == 0
