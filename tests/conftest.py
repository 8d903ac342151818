"""Fixtures: a real streamlit server on a free port, and headless Chromium (found by find_chromium) driven by
Playwright."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(*options: str, log_name: str = ".streamlit-server.log"):
    """A real ``streamlit run app.py`` on a free port (``options`` are more of its flags); yields its URL."""
    port = _free_port()
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


@pytest.fixture(scope="session")
def app_url():
    with streamlit_server() as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    chromium = find_chromium()
    if chromium is None:  # never skip: the README test command installs or finds it, so its absence is a failure
        raise RuntimeError(
            "Chromium not found (see find_chromium in tests/conftest.py for where it looks): run the README test "
            "command (bash scripts/test.sh), or set CHROMIUM to a Chromium or Chrome binary"
        )
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 720}, device_scale_factor=1)
    pg = context.new_page()
    yield pg
    context.close()


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


os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
