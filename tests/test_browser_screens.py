"""Every page on a projector: at 1280x720 with ?present=1 the page's main figure and its key control sit inside
the viewport without scrolling, and no visible text (the page's own, widget labels and buttons included, and
every SVG text of the figure) is under 20 px. Measured in Chromium with the boxes and computed font sizes the
browser lays out (issue 23)."""

from __future__ import annotations

import pytest

from tests.helpers import wait_for_app

pytestmark = pytest.mark.browser

MIN_PX = 20
WIDTH, HEIGHT = 1280, 720

# Every text node of the main area that is drawn inside the viewport, with its computed font size; SVG text
# counts too (Plotly writes its sizes as inline styles). Zero-width spaces and invisible texts are skipped.
SMALL_TEXT = """([minPx, height]) => {
  const main = document.querySelector('[data-testid=stMain]');
  const small = [];
  const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    const text = node.textContent.replace(/[\\u200b\\s]/g, '');
    if (!text) continue;
    const el = node.parentElement;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || box.bottom <= 0 || box.top >= height) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none' || Number(style.opacity) === 0) continue;
    if (el.closest('.modebar, .hoverlayer, [data-testid=stTooltipIcon]')) continue;  // shown on hover only
    const size = parseFloat(style.fontSize);
    if (size < minPx) small.push(`${text.slice(0, 30)} (${el.tagName}, ${size} px, y=${Math.round(box.top)})`);
  }
  return small;
}"""


# (path, a locator of the page's key control, what a visitor does first: None or a function of the page)
def _guess(page):
    page.locator("[data-testid=stRadio] label").filter(has_text="LSTM").first.click()


PAGES = {
    "landing": ("", "[data-testid=stRadio]", _guess),
    "lessons": ("Lessons?lesson=2", "button:has-text('Next')", None),
    "stepper": ("Cell_stepper", ".updatemenu-button", None),
    "gradient": ("Gradient_flow", "[data-testid=stPlotlyChart]", None),
    "lab": ("Training_lab", "button:has-text('Train')", None),
    "papers": ("Papers", "[data-testid=stPlotlyChart]", None),
    "forecast": ("Forecast_lab", "[data-testid=stPlotlyChart]", None),
    "text": ("Text_lab", "[data-testid=stPlotlyChart]", None),
}


@pytest.mark.parametrize(
    "name",
    list(PAGES),
)
def test_presenter_mode_fits_a_projector(page, app_url, name):
    path, control, first = PAGES[name]
    page.goto(f"{app_url}/{path}{'&' if '?' in path else '?'}present=1")
    wait_for_app(page, timeout=180_000)
    if first is not None:
        first(page)
    wait_for_app(page, charts=1, timeout=180_000)
    assert page.locator("[data-testid=stException]").count() == 0
    scrolled = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollTop")
    assert scrolled == 0
    figure = page.locator("[data-testid=stPlotlyChart]").first.bounding_box()
    assert figure["y"] >= 0 and figure["y"] + figure["height"] <= HEIGHT, (
        f"figure from {figure['y']} to {figure['y'] + figure['height']}"
    )
    key = page.locator(control).first.bounding_box()
    assert key is not None and key["y"] >= 0 and key["y"] + key["height"] <= HEIGHT, f"{control}: {key}"
    assert key["x"] >= 0 and key["x"] + key["width"] <= WIDTH, key
    small = page.evaluate(SMALL_TEXT, [MIN_PX, HEIGHT])
    assert not small, small


# ---- the keyboard --------------------------------------------------------------------------------------------

FOCUSED = """() => { const f = document.activeElement;
  if (!f || f.tagName !== 'IFRAME') return null;
  const b = f.contentDocument.activeElement; const s = f.contentWindow.getComputedStyle(b);
  return {id: b.id, outline: s.outlineStyle, width: parseFloat(s.outlineWidth)}; }"""


def test_the_stepper_plays_pauses_and_steps_by_keyboard_alone(page, app_url):
    """Tab to Play, start and pause the animation, step forward and back, first and last: keyboard only, the
    step read back from the figure's own slider and the diagram's numbers."""
    from tests.helpers import FIGURE_TEXT, SLIDER_STEP

    page.goto(f"{app_url}/Cell_stepper")
    wait_for_app(page, charts=1, timeout=180_000)
    page.locator("[data-testid=stMain] h1").click()  # start from the top of the page, then only keys
    for _ in range(80):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused and focused["id"] == "play":
            break
    else:
        raise AssertionError("Tab never reached the Play button")
    assert focused["outline"] == "solid" and focused["width"] >= 2, focused  # a visible focus ring
    assert page.evaluate(SLIDER_STEP, 0) == 0
    before = page.evaluate(FIGURE_TEXT, 0)
    page.keyboard.press("Enter")  # play
    page.wait_for_timeout(1500)
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED)["id"] == "pause"
    page.keyboard.press("Space")  # pause
    page.wait_for_timeout(400)
    paused = page.evaluate(SLIDER_STEP, 0)
    assert paused > 0
    assert page.evaluate(FIGURE_TEXT, 0) != before  # the diagram's numbers moved with the step
    page.wait_for_timeout(800)
    assert page.evaluate(SLIDER_STEP, 0) == paused  # and stayed paused
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(400)
    assert page.evaluate(SLIDER_STEP, 0) == paused + 1
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.wait_for_timeout(400)
    assert page.evaluate(SLIDER_STEP, 0) == paused - 1
    page.keyboard.press("End")
    page.wait_for_timeout(400)
    last = page.evaluate(SLIDER_STEP, 0)
    page.keyboard.press("Home")
    page.wait_for_timeout(400)
    assert page.evaluate(SLIDER_STEP, 0) == 0 and last == 59  # the default sequence: 60 steps
    assert page.evaluate(FIGURE_TEXT, 0) == before


# ---- a phone ---------------------------------------------------------------------------------------------

# Every SVG text of every figure: pairs whose boxes overlap by more than 2 px both ways, and texts that leave
# their figure's box. Hidden texts (display, visibility, opacity) are skipped.
TEXT_CLASHES = """() => {
  const out = [];
  document.querySelectorAll('[data-testid=stPlotlyChart] .js-plotly-plot').forEach((gd, i) => {
    const fig = gd.getBoundingClientRect();
    const boxes = [];
    gd.querySelectorAll('svg.main-svg text').forEach(t => {
      if (!t.textContent.replace(/[\\u200b\\s]/g, '')) return;
      for (let e = t; e && e !== gd; e = e.parentElement) {
        const s = getComputedStyle(e);
        if (s.display === 'none' || s.visibility === 'hidden' || Number(s.opacity) === 0) return;
      }
      const r = t.getBoundingClientRect();
      if (r.width > 0 && r.height > 0) boxes.push({text: t.textContent.slice(0, 25), r});
    });
    boxes.forEach((A, a) => {
      const r = A.r;
      if (r.left < fig.left - 1 || r.right > fig.right + 1 || r.top < fig.top - 1 || r.bottom > fig.bottom + 1)
        out.push(`figure ${i}: "${A.text}" cut`);
      boxes.slice(a + 1).forEach(B => {
        const w = Math.min(r.right, B.r.right) - Math.max(r.left, B.r.left);
        const h = Math.min(r.bottom, B.r.bottom) - Math.max(r.top, B.r.top);
        if (w > 2 && h > 2) out.push(`figure ${i}: "${A.text}" on "${B.text}" (${Math.round(w)}x${Math.round(h)} px)`);
      });
    });
  });
  return out;
}"""
PHONE = {
    "landing": ("", _guess),
    "lesson": ("Lessons?lesson=1", None),
    "stepper": ("Cell_stepper", None),
}


@pytest.mark.parametrize("name", PHONE)
def test_a_phone_sees_every_figure_whole_and_legible(browser, app_url, name):
    path, first = PHONE[name]
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1)
    page = context.new_page()
    try:
        page.goto(f"{app_url}/{path}")
        wait_for_app(page, timeout=180_000)
        if first is not None:
            first(page)
        wait_for_app(page, charts=1, timeout=180_000)
        page.wait_for_timeout(1500)  # a figure's phone layout is applied in the browser, within a second
        widths = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.querySelector('[data-testid=stMain]').scrollWidth]"
        )
        assert max(widths) <= 390, widths  # no sideways scroll
        assert page.evaluate(TEXT_CLASHES) == []
    finally:
        context.close()
