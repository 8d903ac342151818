"""Helpers shared by the tests, in one module imported one way (``from tests.helpers import ...``; pytest puts
the repository root on the path, see ``pythonpath`` in pyproject.toml). Fixtures live in conftest.py.

- numbers: :func:`rel_err`; a tiny training config: :func:`tiny`; the training service: :func:`first_point`;
- AppTest: :func:`open_page`, :func:`assert_clean` and the pages' paths;
- a real server and Chromium: :func:`find_chromium` (scripts/test.sh asks it too, through conftest),
  :func:`free_port`, :func:`streamlit_server`, :func:`wait_for_app`, :func:`screenshot`.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rnnviz.engine import training

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
STEPPER = "pages/1_Cell_stepper.py"
GRADIENTS = "pages/2_Gradient_flow.py"
LAB = "pages/3_Training_lab.py"
SCREENSHOTS = ROOT / "tests" / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


CHROMIUM_NAMES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]  # Debian, Ubuntu, Google
MAC_APPS = [
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
]


def _playwright_roots() -> list[Path]:
    """Where `python -m playwright install chromium` puts its browsers."""
    custom = os.environ.get("PLAYWRIGHT_BROWSERS_PATH")
    if custom == "0":  # inside the installed playwright package
        import playwright

        return [Path(playwright.__file__).parent / "driver" / "package" / ".local-browsers"]
    if custom:
        return [Path(custom).expanduser()]
    home = Path.home()
    return [
        Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "ms-playwright",  # Linux
        home / "Library" / "Caches" / "ms-playwright",  # macOS
        Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local") / "ms-playwright",  # Windows
    ]


def find_chromium() -> str | None:
    """The Chromium the browser tests drive; scripts/test.sh asks this same function.

    In this order: the CHROMIUM environment variable (an error if it names nothing runnable); chromium
    (Debian), chromium-browser (Ubuntu), google-chrome, google-chrome-stable on PATH; Chromium or Google
    Chrome in macOS's /Applications; the newest Playwright download (PLAYWRIGHT_BROWSERS_PATH, else its cache).
    """
    named = os.environ.get("CHROMIUM")
    if named:
        found = shutil.which(named)
        if found is None:
            raise RuntimeError(f"CHROMIUM={named!r} is not an executable file")
        return found
    for name in CHROMIUM_NAMES:
        if found := shutil.which(name):
            return found
    for app in MAC_APPS:
        if os.access(app, os.X_OK):
            return app
    layouts = ["chrome-linux*/chrome", "chrome-mac*/Chromium.app/Contents/MacOS/Chromium", "chrome-win*/chrome.exe"]
    for root in _playwright_roots():
        builds = [b for b in root.glob("chromium-*") if b.name.removeprefix("chromium-").isdigit()]
        for build in sorted(builds, key=lambda b: int(b.name.removeprefix("chromium-")), reverse=True):
            for layout in layouts:
                for binary in sorted(build.glob(layout)):
                    if os.access(binary, os.X_OK):
                        return str(binary)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(*options: str, log_name: str = ".streamlit-server.log"):
    """A real ``streamlit run app.py`` on a free port (``options`` are more of its flags); yields its URL."""
    port = free_port()
    log = open(ROOT / "tests" / log_name, "w")  # noqa: SIM115  (closed at teardown)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--server.fileWatcherType",
            "none",
            *options,
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError(f"streamlit did not start; see tests/{log_name}")
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def wait_for_app(pg, charts: int = 0, timeout: float = 60_000) -> None:
    """Wait until the script has finished running and at least ``charts`` Plotly charts are drawn
    (Streamlit loads the chart component lazily, after the script state already reads notRunning)."""
    pg.wait_for_selector("[data-testid=stMain] h1", timeout=timeout)  # the script has started rendering
    pg.wait_for_function(
        "() => { const a = document.querySelector('[data-testid=stApp]');"
        " return a && a.getAttribute('data-test-script-state') === 'notRunning'; }",
        timeout=timeout,
    )
    pg.wait_for_function(
        "n => { const c = Array.from(document.querySelectorAll('[data-testid=stPlotlyChart]'));"
        " return c.length >= n && c.every(e => e.querySelector('.main-svg')); }",
        arg=charts,
        timeout=timeout,
    )
    pg.wait_for_timeout(300)


def screenshot(pg, name: str) -> Path:
    """The whole page: Streamlit scrolls an inner container, so grow the viewport to its content first."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    size = pg.viewport_size
    height = pg.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    pg.set_viewport_size({"width": size["width"], "height": min(max(height, size["height"]), 12000)})
    pg.wait_for_timeout(500)
    pg.screenshot(path=str(path))
    pg.set_viewport_size(size)
    return path


# --------------------------------------------------------------------------------------------------
# AppTest


def open_page(path=None, *, timeout: float = 120, **query) -> AppTest:
    """Open a page by a link that carries ``query`` (as a shared URL does)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=timeout)
    if path:
        at.run()  # AppTest starts at the main script; the link then opens the page
        for key in list(at.query_params):
            del at.query_params[key]
    for key, value in query.items():
        at.query_params[key] = [str(v) for v in value] if isinstance(value, list) else str(value)
    if path:
        at.switch_page(path)
    at.run()
    return at


def assert_clean(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    for element in (*at.error, *at.warning, *at.markdown, *at.caption):
        text = str(element.value)
        assert "Traceback" not in text and "RuntimeWarning" not in text, text


# --------------------------------------------------------------------------------------------------
# Numbers and training


def rel_err(a, b) -> float:
    """Relative error of the norms, |a - b| / max(|a|, |b|) over all elements: never a loose elementwise tolerance."""
    a, b = np.ravel(a), np.ravel(b)
    return np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b), 1e-300)


TINY = training.TrainConfig(length=6, hidden_size=3, steps=12, eval_every=5, n_train=40, n_test=20)


def tiny(cell: str = "rnn", **changes) -> training.TrainConfig:
    """A training config that trains in a blink: length 6, 3 units, 12 updates, evaluated at 5, 10 and 12."""
    return dataclasses.replace(TINY, cell=cell, **changes)


def finish(handle, timeout: float = 120):
    """The snapshot of a training-service handle once its job has finished (done, stopped or failed)."""
    deadline = time.monotonic() + timeout
    snap = handle.snapshot()
    while not snap.finished:
        assert time.monotonic() < deadline, f"job {snap.job_id} still {snap.status} after {timeout} s"
        snap = handle.wait(snap.version, timeout=1)
    return snap


def first_point(handle, timeout: float = 120, every_model: bool = False):
    """The snapshot of a training-service handle once its first model (``every_model``: each of its models) has
    an evaluation point, or its job has finished."""
    ready = all if every_model else any
    deadline = time.monotonic() + timeout
    snap = handle.snapshot()
    while not ready(snap.histories) and not snap.finished:
        assert time.monotonic() < deadline, f"no progress arrived in {timeout} s"
        snap = handle.wait(snap.version, timeout=1)
    return snap


def outcome_problems(rerun: dict, shipped: dict, peers: list[dict], eval_every: int) -> list[str]:
    """How a rerun of a shipped run differs from it in what it means; empty when the result is the same.

    A float32 run trained on another CPU (another BLAS kernel: OPENBLAS_CORETYPE=Haswell here, SkylakeX for
    the shipped runs) follows the shipped trajectory to about 1e-7 for a few hundred updates, then parts from
    it (measured: after 800 updates for the lessons' RNN, 475 for their LSTM), so results are compared, not
    trajectories. ``peers`` are the same config's shipped runs at other seeds; their spread sets the bands:
    the solved update within the seeds' range widened by two evaluations each side, the final metric within
    the seeds' range widened by its own width each side (three seeds underestimate the spread)."""
    problems = []
    if rerun["solved"] != shipped["solved"]:
        problems.append(f"solved {rerun['solved']}, shipped {shipped['solved']}")
    elif shipped["solved"]:
        steps = [p["solved_step"] for p in (shipped, *peers) if p["solved"]]
        low, high = min(steps) - 2 * eval_every, max(steps) + 2 * eval_every
        if not low <= rerun["solved_step"] <= high:
            problems.append(f"solved at update {rerun['solved_step']}, outside {low} to {high}")
    metrics = [p["test_metric"] for p in (shipped, *peers)]
    width = max(metrics) - min(metrics)
    low, high = min(metrics) - width, max(metrics) + width
    if not low <= rerun["test_metric"] <= high:
        problems.append(f"test {rerun['metric']} {rerun['test_metric']:.4g}, outside {low:.4g} to {high:.4g}")
    return problems


# The Gradient flow page's figures, read back from an AppTest run

SCENARIOS = 4  # sidebar buttons: start view, vanishing, LSTM keeps it, exploding
LAG, REACH, EIGEN, CLIP = range(4)  # the page's charts, in order


def decoded(node):
    """Plotly's JSON with its typed arrays ({"dtype", "bdata"[, "shape"]}: base64 numpy) as arrays."""
    if isinstance(node, dict):
        if "bdata" in node and "dtype" in node:
            a = np.frombuffer(base64.b64decode(node["bdata"]), dtype=node["dtype"])
            shape = node.get("shape")
            return a.reshape([int(n) for n in str(shape).split(",")]) if shape else a
        return {k: decoded(v) for k, v in node.items()}
    if isinstance(node, list):
        return [decoded(v) for v in node]
    return node


def charts(at) -> list[dict]:
    """The page's figures as dicts, in the order the page shows them."""
    return [decoded(json.loads(c.proto.spec)) for c in at.get("plotly_chart")]


def traces(fig: dict) -> dict:
    return {t["name"]: t for t in fig["data"] if t.get("name")}


def ys(trace: dict) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in np.ravel(trace["y"])], dtype=float)


def readout(at) -> dict:
    """Each model's readout word and the caption under it (the cards are the metrics labelled "...: dL/d...")."""
    boxes = [m for m in at.metric if ": dL/d" in m.label]
    details = [c.value for c in at.caption if re.match(r"^(below|never below|down to|up to|above|overflowed)", c.value)]
    return {m.label: (m.value, d) for m, d in zip(boxes, details, strict=True)}


def metric(at, label: str) -> str:
    """The value of the one metric whose label starts with ``label``."""
    (value,) = [m.value for m in at.metric if m.label.startswith(label)]
    return value


# The Cell stepper's animated figure, read in the browser

RENDERED_IMAGES = """i => Array.from(document.querySelectorAll('[data-testid=stPlotlyChart] .js-plotly-plot')[i]
  .querySelectorAll('.imagelayer image')).filter(e => {
    const href = e.getAttribute('href') || e.getAttributeNS('http://www.w3.org/1999/xlink', 'href') || '';
    const box = e.getBBox();
    return href.startsWith('data:image/png') && box.width > 50 && box.height > 10 && e.style.opacity !== '0';
  }).length"""
FIGURE_TEXT = """i => Array.from(document.querySelectorAll('[data-testid=stPlotlyChart] .js-plotly-plot')[i]
  .querySelectorAll('.textpoint text')).map(e => e.textContent.replace(/\u200b/g, '').replace(/\u2212/g, '-'))"""
SLIDER_STEP = """i => Number(Array.from(document.querySelectorAll('[data-testid=stPlotlyChart] .js-plotly-plot')[i]
  .querySelectorAll('.slider-container .slider-label')).find(e => e.textContent.startsWith('step t')).textContent
  .split('=')[1])"""


def click_slider(page, fraction: float, chart: int = 0) -> None:
    rail = page.locator("[data-testid=stPlotlyChart]").nth(chart).locator(".slider-rail-touch-rect").first
    box = rail.bounding_box()
    rail.click(position={"x": box["width"] * fraction, "y": box["height"] / 2})
    page.wait_for_timeout(400)


def numeric_grad(f, array, eps=1e-6):
    """Central differences of f() with respect to every element of ``array`` (perturbed in place)."""
    grad = np.zeros_like(array)
    for idx in np.ndindex(array.shape):
        old = array[idx]
        array[idx] = old + eps
        plus = f()
        array[idx] = old - eps
        minus = f()
        array[idx] = old
        grad[idx] = (plus - minus) / (2 * eps)
    return grad


def sidebar_link(page, label: str):
    """The sidebar's link to the page named ``label``, its folded page list opened first (as a student opens it)."""
    link = page.locator("[data-testid=stSidebar] a", has_text=label)
    if not link.is_visible():
        page.locator("[data-testid=stSidebar] [data-testid=stExpander] summary").first.click()
    return link


def choose_in_sidebar(page, option: str, menu: int = 0) -> None:
    """Pick ``option`` in the sidebar's ``menu``-th select box."""
    page.locator("[data-testid=stSidebar] [data-testid=stSelectbox]").nth(menu).click()
    page.get_by_role("option", name=option).click()


@dataclasses.dataclass(frozen=True)
class CountPoint:
    """A job spec's progress point: what the service needs (``step``, ``seconds``) and a value of its own."""

    step: int
    seconds: float
    total: float


@dataclasses.dataclass(frozen=True)
class CountingSpec:
    """The smallest job spec (``rnnviz.app.trainer.is_job_spec``): it sums ``step`` numbers, one per update,
    reporting every ``every`` updates with a payload that holds the sum so far as an array. Importable by a
    worker process (the service puts the repository root on its path)."""

    steps: int = 6
    every: int = 2
    delay: float = 0.0  # seconds per update, for tests that must stop it mid-run
    cost: float = 1e6

    def check(self) -> None:
        if self.steps < 1:
            raise ValueError("steps must be at least 1")

    def work(self) -> float:
        return self.cost

    def run(self):
        import time as _time

        total = 0.0
        for step in range(1, self.steps + 1):
            total += step
            if self.delay:
                _time.sleep(self.delay)
            if step % self.every == 0 or step == self.steps:
                yield CountPoint(step, float(step), total), {"sum": np.array([total])}


def run_async(make_coroutine) -> None:
    """Run ``make_coroutine()`` to completion on a fresh event loop in its own thread, re-raising what it raised.
    Not ``asyncio.run`` in the test's thread: Playwright's sync API (the browser tests) leaves an event loop
    running in the main thread, and asyncio.run refuses to start inside one."""
    import asyncio
    import threading

    failure = []

    def main() -> None:
        try:
            asyncio.run(make_coroutine())
        except BaseException as err:  # noqa: BLE001 - handed back to the test's thread
            failure.append(err)

    thread = threading.Thread(target=main, name="run_async")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


# A cell diagram's round operations (circle shapes) and their labels (the annotation at the circle's centre):
# a label wider than its circle runs over the circle's outline and the wires beside it ("tanh" at a projector's
# 23 px did). Problems as sentences; none when every label fits (1 px slack).
OP_LABELS = """() => {
  const out = [];
  document.querySelectorAll('[data-testid=stPlotlyChart] .js-plotly-plot').forEach((gd, f) => {
    if (gd.getBoundingClientRect().width === 0) return;
    const L = gd._fullLayout, notes = L.annotations || [];
    gd.querySelectorAll('.shapelayer path[data-index]').forEach(p => {
      const s = L.shapes[Number(p.dataset.index)];
      if (!s || s.type !== 'circle') return;
      const cx = (s.x0 + s.x1) / 2, cy = (s.y0 + s.y1) / 2;
      const k = notes.findIndex(a => !a.showarrow && a.xref === s.xref && Math.abs(a.x - cx) < 1e-9
        && Math.abs(a.y - cy) < 1e-9);
      const t = k < 0 ? null : gd.querySelector(`.annotation[data-index="${k}"] .annotation-text`);
      if (!t || !t.textContent.trim()) return;
      const r = p.getBoundingClientRect(), b = t.getBoundingClientRect();
      if (b.left < r.left - 1 || b.right > r.right + 1)
        out.push(`figure ${f}: "${t.textContent}" is ${b.width.toFixed(0)} px wide, its circle ${r.width.toFixed(0)}`);
    });
  });
  return out;
}"""

# A cell diagram's box labels (the first line of a box's text: a gate's letter, c_t) and every wire drawn over the
# boxes (arrows, which are annotations; line shapes not laid below the traces; line traces drawn after the boxes):
# a label that a wire's stroke or arrow head reaches by more than ``slack`` px (a gate's letter sat under the arrow
# leaving its box, on a phone). Wires are sampled every pixel along their path, heads measured by their box.
LABELS_UNDER_WIRES = r"""(slack) => {
  const out = [];
  document.querySelectorAll('[data-testid=stPlotlyChart] .js-plotly-plot').forEach((gd, f) => {
    if (gd.getBoundingClientRect().width === 0) return;
    const L = gd._fullLayout, labels = [], wires = [];
    let boxTrace = Infinity;
    gd.querySelectorAll('.scatterlayer .trace').forEach(g => {
      const trace = g.__data__ && g.__data__[0] && g.__data__[0].trace;
      if (!trace || trace.visible !== true || trace.marker?.symbol !== 'square' || !trace.mode.includes('text')) return;
      boxTrace = Math.min(boxTrace, trace.index);
      g.querySelectorAll('.textpoint text').forEach((t, k) => {
        const r = (t.querySelector('tspan.line') || t).getBoundingClientRect();
        if (r.width > 0) labels.push({name: String(trace.text[k]).split('<br>')[0], r, axis: trace.xaxis});
      });
    });
    const add = (p, what, axis) => {
      const s = getComputedStyle(p), w = parseFloat(s.strokeWidth) || 0;
      if (s.display !== 'none' && s.visibility !== 'hidden' && Number(s.opacity) !== 0)
        wires.push({p, what, axis, width: s.fill !== 'none' && w === 0 ? 0 : w});
    };
    gd.querySelectorAll('.annotation').forEach(a => {
      const note = L.annotations[Number(a.dataset.index)];
      if (!note || !note.showarrow) return;
      a.querySelectorAll('.annotation-arrow-g path').forEach(p => add(p, 'an arrow', note.xref));
    });
    gd.querySelectorAll('.shapelayer path[data-index]').forEach(p => {
      const shape = L.shapes[Number(p.dataset.index)];
      if (shape && shape.type === 'line' && shape.layer !== 'below') add(p, 'a line', shape.xref);
    });
    gd.querySelectorAll('.scatterlayer .trace').forEach(g => {
      const trace = g.__data__ && g.__data__[0] && g.__data__[0].trace;
      if (trace && trace.visible === true && trace.index > boxTrace && trace.mode.includes('lines'))
        g.querySelectorAll('path.js-line, path.point').forEach(p => add(p, 'a line', trace.xaxis));
    });
    labels.forEach(({name, r, axis}) => {
      const wire = wires.find(({p, axis: a, width}) => {
        if (a !== axis) return false;
        if (width === 0) {  // an arrow head
          const b = p.getBoundingClientRect();
          return b.width > 0 && Math.min(b.right, r.right) - Math.max(b.left, r.left) > slack
            && Math.min(b.bottom, r.bottom) - Math.max(b.top, r.top) > slack;
        }
        const m = p.getScreenCTM(), n = p.getTotalLength(), half = width * Math.hypot(m.a, m.b) / 2;
        // Plotly shortens an arrow (its head's length, a standoff) by a dash pattern, not in the path: drawn parts only
        let dashes = (getComputedStyle(p).strokeDasharray.match(/[\d.]+/g) || []).map(Number);
        if (dashes.length % 2) dashes = dashes.concat(dashes);
        const period = dashes.reduce((a, b) => a + b, 0);
        const drawn = s => {
          if (!period) return true;
          let at = s % period;
          for (let i = 0; i < dashes.length; i++) { if (at < dashes[i]) return i % 2 === 0; at -= dashes[i]; }
          return true;
        };
        for (let s = 0; s <= n; s += 1) {
          if (!drawn(s)) continue;
          const q = p.getPointAtLength(s), x = m.a * q.x + m.c * q.y + m.e, y = m.b * q.x + m.d * q.y + m.f;
          if (Math.hypot(Math.max(r.left - x, 0, x - r.right), Math.max(r.top - y, 0, y - r.bottom)) < half - slack)
            return true;
        }
        return false;
      });
      if (wire) out.push(`figure ${f}: the box label "${name}" lies under ${wire.what}`);
    });
  });
  return out;
}"""

# Every text node of the main area that is drawn inside the viewport, with its computed font size; SVG text
# counts too (Plotly writes its sizes as inline styles). Zero-width spaces and invisible texts are skipped, and so
# are parts shown on hover only. page.evaluate(SMALL_TEXT, [min_px, viewport_height]): the texts under min_px.
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

# The element focused inside the keyboard player's frame (app/player.py): its id, text and focus ring; None when
# the focus is not in a frame.
PLAYER_FOCUSED = """() => { const f = document.activeElement;
  if (!f || f.tagName !== 'IFRAME') return null;
  const b = f.contentDocument.activeElement; const s = f.contentWindow.getComputedStyle(b);
  return {id: b.id, text: b.textContent, outline: s.outlineStyle, width: parseFloat(s.outlineWidth)}; }"""


def tab_to_player(page, button: str = "play", presses: int = 80) -> dict:
    """From the top of the page, press Tab until the keyboard player's ``button`` has the focus (keys only after
    one click on the page's title); what PLAYER_FOCUSED reads there. AssertionError if Tab never reaches it."""
    page.locator("[data-testid=stMain] h1").click()
    for _ in range(presses):
        page.keyboard.press("Tab")
        focused = page.evaluate(PLAYER_FOCUSED)
        if focused and focused["id"] == button:
            return focused
    raise AssertionError(f"Tab never reached the player's {button} button")
