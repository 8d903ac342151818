"""The Cell stepper's animated figure: JSON size, build time, and time to first paint in Chromium.

Run by hand: ``python benchmarks/bench_stepper.py``. It builds the figure at the defaults and at the largest
settings (all three cells, 32 units, 200 steps, the default rows; and one LSTM with every row), then starts
``streamlit run app.py`` on a free 127.0.0.1 port and times, in headless Chromium, how long the page takes from
navigation until every heatmap image is drawn, and how many heatmap images are still drawn after Play.
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from rnnviz.engine import studies, weights  # noqa: E402
from rnnviz.figures import equations, stepper  # noqa: E402

SETTINGS = {
    "defaults (LSTM, 8 units, 60 steps)": dict(kinds=("lstm",), hidden_size=8, length=60, preset="pulse", rows=None),
    "all three, 32 units, 200 steps": dict(
        kinds=("rnn", "lstm", "gru"), hidden_size=32, length=200, preset="random", rows=None
    ),
    "LSTM, 32 units, 200 steps, every row": dict(
        kinds=("lstm",),
        hidden_size=32,
        length=200,
        preset="random",
        rows=("h", "c", "input", "forget", "cell", "output"),
    ),
}
DEFAULT_ROWS = ("h", "c", "forget", "update")


def build(kinds, hidden_size, length, preset, rows):
    runs = {}
    for k in kinds:
        config = studies.CellConfig(kind=k, hidden_size=hidden_size, length=length, preset=preset)
        runs[k] = studies.run(config.make_cell(), config.make_input())
    keep = rows or DEFAULT_ROWS
    panels = [
        p
        for k, r in runs.items()
        for p in stepper.trace_panels(k, r.h, r.c, r.gates, prefix=f"{k}: " if len(runs) > 1 else "")
        if p.quantity in keep
    ]
    run = runs["lstm"]
    cell = weights.from_state_dict("lstm", run.state_dict)
    detail = stepper.Detail("lstm", 0, equations.unit_series(cell, run.x, run.h, run.c, run.gates, 0))
    return stepper.timeline_figure(run.x, panels, detail=detail)


def first_paint(repeats: int = 5) -> list[dict]:
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address",
         "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        out = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"])
            for query, images in (("", 3), ("?page=stepper&kind=all&hidden_size=32&length=200&preset=random", 6)):
                times, titles, after_play = [], [], []
                for _ in range(repeats):
                    page = browser.new_page(viewport={"width": 1280, "height": 720})
                    start = time.perf_counter()
                    page.goto(f"http://127.0.0.1:{port}/Cell_stepper{query}")
                    page.wait_for_selector("[data-testid=stMain] h1", timeout=120_000)
                    titles.append(time.perf_counter() - start)
                    page.wait_for_function(
                        "n => document.querySelectorAll('.js-plotly-plot .imagelayer image').length >= n",
                        arg=images,
                        timeout=120_000,
                    )
                    times.append(time.perf_counter() - start)
                    page.locator(".updatemenu-button", has_text="Play").first.click()
                    page.wait_for_timeout(1000)
                    after_play.append(
                        page.evaluate("() => document.querySelectorAll('.js-plotly-plot .imagelayer image').length")
                    )
                    page.close()
                out.append(
                    dict(
                        query=query or "(defaults)",
                        title_s=statistics.median(titles),
                        median_s=statistics.median(times),
                        after_play=after_play,
                    )
                )
            browser.close()
        return out
    finally:
        server.terminate()
        server.wait(timeout=20)


def main() -> None:
    print(f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, NumPy {np.__version__}")
    print("| settings | figure JSON | frames | build (ms, median of 5) |")
    print("|---|---|---|---|")
    for name, kwargs in SETTINGS.items():
        times = []
        for _ in range(5):
            start = time.perf_counter()
            fig = build(**kwargs)
            times.append(time.perf_counter() - start)
        size, build_ms = len(fig.to_json()) / 1e3, 1000 * statistics.median(times)
        print(f"| {name} | {size:.0f} kB | {len(fig.built_frames)} | {build_ms:.0f} |")
    print(
        "\n| page (a new browser context each time: nothing cached) | title shown (s) | every heatmap drawn (s) |"
        " heatmap images drawn 1 s after Play |"
    )
    print("|---|---|---|---|")
    for row in first_paint():
        print(f"| Cell stepper {row['query']} | {row['title_s']:.2f} | {row['median_s']:.2f} | {row['after_play']} |")


if __name__ == "__main__":
    main()
