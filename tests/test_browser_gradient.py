"""The gradient page in Chromium: what is drawn at the defaults and after the Exploding scenario."""

import math

import pytest

from tests.helpers import screenshot, wait_for_app

pytestmark = pytest.mark.browser

CHARTS = "[data-testid=stPlotlyChart] .js-plotly-plot"


def chart(page, index: int, expression: str):
    return page.evaluate(f"() => {{ const g = document.querySelectorAll('{CHARTS}')[{index}]; return {expression}; }}")


def test_default_view_draws_the_contrast_on_a_measured_axis(page, app_url):
    page.goto(f"{app_url}/Gradient_flow")
    wait_for_app(page, charts=3)  # the clipping section is folded, and trains nothing until opened
    names = chart(page, 0, "g._fullData.map(t => t.name)")
    assert "theory: LSTM Π forget gates" in names
    assert not any(n.startswith("theory: RNN bound") for n in names)  # sigma_max > 1: it bounds nothing shown
    low, high = chart(page, 0, "g._fullLayout.yaxis.range")
    lowest = chart(page, 0, "Math.min(...g._fullData[0].y)")  # the RNN's curve, the lowest measured
    assert low <= math.log10(lowest) <= low + 2
    assert -1 < high < 2  # the top is the gradient at the loss (1), not a theory curve at 10^42
    assert page.locator("[data-testid=stException]").count() == 0
    screenshot(page, "gradients_default")


def test_exploding_scenario_compares_both_clipping_runs(page, app_url):
    page.goto(f"{app_url}/Gradient_flow")
    wait_for_app(page, charts=3)
    page.get_by_role("button", name="Exploding (relu, ρ = 1.5, float32)").click()
    page.get_by_text("overflowed in the forward pass").wait_for(timeout=30_000)
    wait_for_app(page, charts=4)
    lengths = chart(page, 3, "g._fullData.filter(t => t.name === 'no clipping').map(t => t.x.length)")
    assert lengths and lengths[1] == 25  # the unclipped loss is drawn at every update
    page.get_by_text("every relu unit died").wait_for(timeout=10_000)
    assert "nonlinearity=relu" in page.url and "clip=3.0" in page.url and "clipping=true" in page.url.lower()
    assert page.locator("[data-testid=stException]").count() == 0
    screenshot(page, "gradients_exploding_clip")


def test_the_clipping_section_opens_by_hand_and_trains_then(page, app_url):
    page.goto(f"{app_url}/Gradient_flow")
    wait_for_app(page, charts=3)
    page.get_by_text("Train this RNN twice, with and without clipping").click()
    wait_for_app(page, charts=4)
    assert chart(page, 3, "g._fullData.filter(t => t.name === 'no clipping').length") == 2  # norm and loss
    assert "clipping=true" in page.url.lower()  # the open section is in the link a teacher shares
    assert page.locator("[data-testid=stException]").count() == 0
