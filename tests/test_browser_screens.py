"""Every page on a projector: at 1280x720 with ?present=1 the page's main figure and its key control sit inside
the viewport without scrolling, and no visible text (the page's own, widget labels and buttons included, and
every SVG text of the figure) is under 20 px. Measured in Chromium with the boxes and computed font sizes the
browser lays out (issue 23)."""

from __future__ import annotations

import pytest

from rnnviz.content.lessons import LESSONS
from tests.helpers import LABELS_UNDER_WIRES, OP_LABELS, PLAYER_FOCUSED, SMALL_TEXT, tab_to_player, wait_for_app

pytestmark = pytest.mark.browser

MIN_PX = 20
WIDTH, HEIGHT = 1280, 720


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


def test_the_stepper_plays_pauses_and_steps_by_keyboard_alone(page, app_url):
    """Tab to Play, start and pause the animation, step forward and back, first and last: keyboard only, the
    step read back from the figure's own slider and the diagram's numbers."""
    from tests.helpers import FIGURE_TEXT, SLIDER_STEP

    page.goto(f"{app_url}/Cell_stepper")
    wait_for_app(page, charts=1, timeout=180_000)
    focused = tab_to_player(page, "play")  # from the top of the page, then only keys
    assert focused["outline"] == "solid" and focused["width"] >= 2, focused  # a visible focus ring
    assert page.evaluate(SLIDER_STEP, 0) == 0
    before = page.evaluate(FIGURE_TEXT, 0)
    page.keyboard.press("Enter")  # play
    page.wait_for_timeout(1500)
    page.keyboard.press("Tab")
    assert page.evaluate(PLAYER_FOCUSED)["id"] == "pause"
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


ACTIVE = """() => { const e = document.activeElement; const s = getComputedStyle(e);
  return {tag: e.tagName, text: e.textContent.trim(), outline: s.outlineStyle, width: parseFloat(s.outlineWidth)}; }"""


# A page's main action, reached by Tab from the top of the page: (path, the button's text)
MAIN_ACTIONS = {
    "lessons-next": ("Lessons?lesson=2", "Next"),
    "lab-train": ("Training_lab", "▶ Train"),
    "lab-stop": ("Training_lab", "■ Stop"),
    "forecast-train": ("Forecast_lab", "▶ Train"),
}


def tab_to_button(page, text: str, presses: int = 150) -> dict:
    """Press Tab from the top of the page until the focused element is the button starting with ``text``."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    for _ in range(presses):
        page.keyboard.press("Tab")
        focused = page.evaluate(ACTIVE)
        if focused["tag"] == "BUTTON" and focused["text"].startswith(text):
            return focused
    raise AssertionError(f"Tab never reached the button {text!r}")


@pytest.mark.parametrize("name", MAIN_ACTIONS)
def test_a_page_s_main_action_is_reached_by_tab_with_a_focus_ring(page, app_url, name):
    path, text = MAIN_ACTIONS[name]
    page.goto(f"{app_url}/{path}")
    wait_for_app(page, charts=1, timeout=180_000)
    focused = tab_to_button(page, text)
    assert focused["outline"] == "solid" and focused["width"] >= 2, focused  # a visible focus ring


def test_a_lesson_s_next_button_opens_the_next_lesson_by_keyboard_alone(page, app_url):
    """From the top of a lesson, Tab reaches Next (past the page list, the quiz and the figure's controls) and
    Enter opens the following lesson."""
    page.goto(f"{app_url}/Lessons?lesson=2")
    wait_for_app(page, charts=1, timeout=180_000)
    heading = "() => Array.from(document.querySelectorAll('[data-testid=stMain] h3'))"
    heading += ".map(h => h.innerText).find(t => t.startsWith('Lesson ')) || null"
    assert page.evaluate(heading).startswith("Lesson 2 of")
    tab_to_button(page, "Next")
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => ({heading})()?.startsWith('Lesson 3 of')", timeout=60_000)
    wait_for_app(page, charts=1, timeout=180_000)
    assert "lesson=3" in page.url


# ---- every figure's labels apart, at every width ----------------------------------------------------------

# Every SVG text of every drawn figure as the quadrilateral it covers on the screen (its box through its own
# transform, so a tick label turned 30 degrees is measured as drawn, not by the upright box around it): pairs that
# overlap by more than ``slack`` px (the separating-axis test: the smallest overlap over the four edge directions),
# and texts that reach more than ``slack`` px past their figure's edge. Hidden texts (display, visibility,
# opacity) and hover labels are skipped.
TEXT_CLASHES = """(slack) => {
  const out = [];
  const quad = t => {
    const b = t.getBBox(), m = t.getScreenCTM();
    return [[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height], [b.x, b.y + b.height]]
      .map(([x, y]) => [m.a * x + m.c * y + m.e, m.b * x + m.d * y + m.f]);
  };
  const axes = q => [0, 1].map(i => {
    const dx = q[i + 1][0] - q[i][0], dy = q[i + 1][1] - q[i][1], n = Math.hypot(dx, dy) || 1;
    return [-dy / n, dx / n];
  });
  const depth = (p, q) => Math.min(...axes(p).concat(axes(q)).map(([ax, ay]) => {
    const a = p.map(([x, y]) => x * ax + y * ay), b = q.map(([x, y]) => x * ax + y * ay);
    return Math.min(Math.max(...a), Math.max(...b)) - Math.max(Math.min(...a), Math.min(...b));
  }));
  document.querySelectorAll('[data-testid=stPlotlyChart] .js-plotly-plot').forEach((gd, i) => {
    const fig = gd.getBoundingClientRect();
    if (fig.width === 0) return;  // in a closed tab or expander: not drawn
    const texts = [];
    gd.querySelectorAll('svg.main-svg text').forEach(t => {
      if (!t.textContent.replace(/[\\u200b\\s]/g, '') || t.closest('.hoverlayer')) return;
      for (let e = t; e && e !== gd; e = e.parentElement) {
        const s = getComputedStyle(e);
        if (s.display === 'none' || s.visibility === 'hidden' || Number(s.opacity) === 0) return;
      }
      const r = t.getBoundingClientRect();
      if (r.width > 0 && r.height > 0) texts.push({text: t.textContent.slice(0, 30), q: quad(t)});
    });
    texts.forEach((A, a) => {
      const xs = A.q.map(p => p[0]), ys = A.q.map(p => p[1]);
      const past = Math.max(fig.left - Math.min(...xs), Math.max(...xs) - fig.right,
                            fig.top - Math.min(...ys), Math.max(...ys) - fig.bottom);
      if (past > slack) out.push(`figure ${i}: "${A.text}" cut by ${Math.round(past)} px`);
      texts.slice(a + 1).forEach(B => {
        const d = depth(A.q, B.q);
        if (d > slack) out.push(`figure ${i}: "${A.text}" on "${B.text}" (${d.toFixed(1)} px)`);
      });
    });
  });
  return out;
}"""
# Every drawn box of a cell diagram (a scatter trace of square markers with text), outline included, and every
# round operation (a circle shape on the diagram's axes): pairs closer than ``touch`` px (an ellipse against a box
# measured exactly, in the ellipse's own scale). And any text lying on a step slider's rail (Plotly leaves a
# hidden current value's old text where it was drawn).
BOX_CLASHES = """(touch) => {
  const out = [];
  const box = (e, name, round) => {
    const r = e.getBoundingClientRect(), w = parseFloat(getComputedStyle(e).strokeWidth) || 0;
    return {name, round, x0: r.left - w / 2, x1: r.right + w / 2, y0: r.top - w / 2, y1: r.bottom + w / 2};
  };
  const gap = (a, b) => {  // negative: they overlap
    if (a.round) [a, b] = [b, a];
    if (!b.round) return Math.max(b.x0 - a.x1, a.x0 - b.x1, b.y0 - a.y1, a.y0 - b.y1);
    const cx = (b.x0 + b.x1) / 2, cy = (b.y0 + b.y1) / 2, rx = (b.x1 - b.x0) / 2, ry = (b.y1 - b.y0) / 2;
    if (a.round) return Math.hypot(cx - (a.x0 + a.x1) / 2, cy - (a.y0 + a.y1) / 2) - rx - (a.x1 - a.x0) / 2;
    const px = Math.max(a.x0, Math.min(cx, a.x1)), py = Math.max(a.y0, Math.min(cy, a.y1));
    return (Math.hypot((px - cx) / rx, (py - cy) / ry) - 1) * Math.min(rx, ry);
  };
  document.querySelectorAll('[data-testid=stPlotlyChart] .js-plotly-plot').forEach((gd, f) => {
    if (gd.getBoundingClientRect().width === 0) return;  // in a closed tab or expander: not drawn
    const items = [], axes = new Set();
    gd.querySelectorAll('.scatterlayer .trace').forEach(g => {
      const trace = g.__data__ && g.__data__[0] && g.__data__[0].trace;
      if (!trace || trace.visible !== true || trace.marker?.symbol !== 'square' || !trace.mode.includes('text')) return;
      axes.add(trace.xaxis);
      g.querySelectorAll('path.point').forEach((p, k) => {
        if (p.getBoundingClientRect().width > 0) items.push(box(p, `box "${String(trace.text[k]).split('<br>')[0]}"`));
      });
    });
    gd.querySelectorAll('.shapelayer path[data-index]').forEach(p => {
      const shape = gd._fullLayout.shapes[Number(p.dataset.index)];
      if (shape && shape.type === 'circle' && axes.has(shape.xref)) items.push(box(p, 'an operation', true));
    });
    items.forEach((a, i) => items.slice(i + 1).forEach(b => {
      const d = gap(a, b);
      if (d < touch) out.push(`figure ${f}: ${a.name} and ${b.name} ${d < 0 ? 'overlap' : 'touch'} (${d.toFixed(1)})`);
    }));
    gd.querySelectorAll('.slider-rail-rect').forEach(rail => {
      const r = rail.getBoundingClientRect();
      gd.querySelectorAll('svg.main-svg text').forEach(t => {
        const b = t.getBoundingClientRect();
        const d = Math.min(r.right, b.right) - Math.max(r.left, b.left);
        const e = Math.min(r.bottom, b.bottom) - Math.max(r.top, b.top);
        if (t.textContent.trim() && d > 1 && e > 1) out.push(`figure ${f}: "${t.textContent}" lies on the slider`);
      });
    });
  });
  return out;
}"""
TOUCH_PX = 2  # diagram boxes and operations at least this far apart
# Moves the stepper's animated figure to its last step (the frames restyle the boxes) and waits for it.
LAST_STEP = """async () => {
  const gd = Array.from(document.querySelectorAll('.js-plotly-plot')).find(g => g._transitionData?._frames?.length);
  const steps = gd._fullLayout.sliders[0].steps, last = steps[steps.length - 1];
  await window.Plotly.animate(gd, last.args[0], last.args[1]);
}"""
SLACK_PX = 1
WIDTHS = {390: 844, 1280: 720, 1440: 900}  # a phone, a projector, a laptop
FIGURE_PAGES = ["", *(f"Lessons?lesson={n}" for n in range(1, len(LESSONS) + 1))] + [
    "Cell_stepper",
    "Gradient_flow",
    "Training_lab",
    "Papers",
    "Forecast_lab",
    "Text_lab",
    "Cell_stepper?pass=backward",
]
# A figure may carry a phone layout (layout.meta.narrow, .phone, .phone_style) that the page applies within a second.
HAS_NARROW = """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
  .some(gd => ['narrow', 'phone', 'phone_style'].some(k => gd.layout?.meta?.[k]))"""


@pytest.mark.parametrize("width", WIDTHS)
def test_no_figure_label_overlaps_another_or_is_cut(browser, app_url, width):
    """Every page's figures at their default settings (the landing page's after a guess, every lesson): no two
    texts of a figure (tick labels, axis and panel titles, annotations, legend entries, colour-bar titles) overlap
    by more than a pixel, none is cut by the figure's edge, no text lies on a step slider, the cell diagram's
    boxes and operations keep apart (at the first step and the last), no wire runs over a box's label (a gate's
    letter), and no page scrolls sideways. The Cell stepper's backward view too."""
    context = browser.new_context(viewport={"width": width, "height": WIDTHS[width]}, device_scale_factor=1)
    page = context.new_page()
    found = {}
    try:
        for path in FIGURE_PAGES:
            page.goto(f"{app_url}/{path}")
            wait_for_app(page, timeout=180_000)
            if path == "":
                _guess(page)
            wait_for_app(page, charts=1, timeout=180_000)
            assert page.locator("[data-testid=stException]").count() == 0, path
            if width < 480 and page.evaluate(HAS_NARROW):
                page.wait_for_timeout(1500)
            sideways = page.evaluate(
                "() => Math.max(document.documentElement.scrollWidth,"
                " document.querySelector('[data-testid=stMain]').scrollWidth)"
            )
            problems = page.evaluate(TEXT_CLASHES, SLACK_PX) + page.evaluate(BOX_CLASHES, TOUCH_PX)
            problems += page.evaluate(OP_LABELS) + page.evaluate(LABELS_UNDER_WIRES, SLACK_PX)
            if path.startswith("Cell_stepper"):  # the diagram at another step: the frames keep the boxes' (phone) sizes
                page.evaluate(LAST_STEP)
                page.wait_for_timeout(300)
                problems += [f"at the last step: {p}" for p in page.evaluate(BOX_CLASHES, TOUCH_PX)]
            problems += [f"scrolls sideways: {sideways}"] if sideways > width else []
            if problems:
                found[path or "landing"] = problems
    finally:
        context.close()
    assert found == {}, "\n".join(f"{path}: {p}" for path, problems in found.items() for p in problems)


# ---- the sidebar ----------------------------------------------------------------------------------------------

# The sidebar's first control of the page's own (not the page list, not the presenter toggle): its box.
FIRST_CONTROL = """() => {
  const kinds = ['stSelectbox', 'stSlider', 'stRadio', 'stNumberInput', 'stButton', 'stCheckbox', 'stTextInput',
                 'stMultiSelect', 'stFileUploader', 'stSelectSlider', 'stSegmentedControl', 'stTextArea'];
  const found = Array.from(document.querySelectorAll('[data-testid=stSidebarUserContent] [data-testid]'))
    .find(e => (kinds.includes(e.dataset.testid) || e.dataset.testid.startsWith('stBaseButton'))
               && !e.closest('[data-testid=stExpander]')
               && !e.textContent.includes('Presenter mode'));
  if (!found) return null;
  const r = found.getBoundingClientRect();
  return {kind: found.dataset.testid, top: r.top, bottom: r.bottom,
          scrolled: document.querySelector('[data-testid=stSidebarContent]').scrollTop};
}"""
SIDEBAR_PAGES = ["Cell_stepper", "Gradient_flow", "Training_lab", "Forecast_lab", "Text_lab"]


def test_the_sidebar_shows_a_page_s_first_control_and_reaches_every_page_by_keyboard(page, app_url):
    """At 1280x720 each page's first sidebar control is inside the window without scrolling (the page list folds
    into one line); from the keyboard alone the folded list opens and every page's link is reached, and Enter
    follows one."""
    for path in SIDEBAR_PAGES:
        page.goto(f"{app_url}/{path}")
        wait_for_app(page, timeout=180_000)
        page.wait_for_function(  # the sidebar drawn in full: no placeholder or stale element left
            "() => !document.querySelector('[data-testid=stSidebar] :is([data-testid=stSkeleton], [data-stale=true])')",
            timeout=60_000,
        )
        page.wait_for_timeout(500)
        first = page.evaluate(FIRST_CONTROL)
        assert first["scrolled"] == 0 and first["top"] >= 0 and first["bottom"] <= HEIGHT, (path, first)
    from rnnviz.app.ui import PAGES

    labels = [label for _, label, _ in PAGES]
    page.locator("[data-testid=stSidebar] h2").click()  # start at the top of the sidebar, then only keys
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.textContent.trim()").endswith("Pages"):
            break
    else:
        raise AssertionError("Tab never reached the page list")
    page.keyboard.press("Enter")  # opens the list: its links are written by the rerun that opening starts
    page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=stSidebar] [data-testid=stPageLink] a').length === n",
        arg=len(labels),
        timeout=60_000,
    )
    reached = []
    for _ in labels:
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement; return [e.tagName, e.textContent.trim(),"
            " getComputedStyle(e).outlineStyle]; }"
        )
        assert focused[0] == "A" and focused[2] == "solid", focused  # a link, with a visible focus ring
        reached.append(focused[1])
    assert [next(label for label in labels if text.endswith(label)) for text in reached] == labels
    page.keyboard.press("Shift+Tab")  # back from "Text lab" to "Forecast lab"
    page.keyboard.press("Enter")
    page.wait_for_url("**/Forecast_lab**", timeout=60_000)
    wait_for_app(page, timeout=180_000)
    assert page.locator("[data-testid=stMain] h1").inner_text().endswith("Forecast lab")


PLAYER_BUTTONS = """() => {
  const frames = Array.from(document.querySelectorAll('iframe')).filter(f => {
    try { return f.contentDocument && f.contentDocument.getElementById('play'); } catch (e) { return false; }
  });
  if (!frames.length) return null;
  const frame = frames[0], box = frame.getBoundingClientRect();
  return Array.from(frame.contentDocument.querySelectorAll('button')).map(b => {
    const r = b.getBoundingClientRect();  // inside the frame: 0 is the frame's top
    return {id: b.id, top: r.top, bottom: r.bottom, right: r.right, frameHeight: box.height, frameWidth: box.width};
  });
}"""


def test_the_stepper_player_shows_every_button_on_a_phone(browser, app_url):
    """At 390 px the player's six buttons wrap onto a second row; its frame grows to show them all (it was one
    row high, and the second row was cut off)."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1)
    try:
        page = context.new_page()
        page.goto(f"{app_url}/Cell_stepper")
        wait_for_app(page, charts=1, timeout=180_000)
        page.wait_for_timeout(1500)  # the frame measures itself once its script has run
        buttons = page.evaluate(PLAYER_BUTTONS)
        assert buttons and len(buttons) == 6, buttons
        assert len({round(b["top"]) for b in buttons}) >= 2, buttons  # wrapped: the test checks the narrow case
        for b in buttons:
            assert b["bottom"] <= b["frameHeight"] + 0.5 and b["right"] <= b["frameWidth"] + 0.5, b
    finally:
        context.close()
