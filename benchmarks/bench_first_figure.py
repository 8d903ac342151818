"""First figure in the browser: seconds from navigation until a page's first Plotly figure is drawn, against
Streamlit's own floor (benchmarks/floor_app.py, one small chart) measured in the same run. Run by hand:

    python benchmarks/bench_first_figure.py                          # this copy of the app
    python benchmarks/bench_first_figure.py --before /tmp/old_copy   # and an older copy, interleaved (A/B)
    python benchmarks/bench_first_figure.py --profile /tmp/prof      # Chromium CPU profiles, top functions

Each server (the floor, the app, the older copy) runs on its own 127.0.0.1 port; every visit opens a new
browser context (nothing cached, as a student's first visit), 1280x720. "Drawn" is the first
``.js-plotly-plot`` whose SVG holds a trace or a layout image (the Cell stepper's heatmaps). The landing page
draws its figure after a guess: the visit waits for the page, picks "LSTM", and counts from navigation.
"Data" is when the largest websocket message (the figure) arrived. Run it serialised with the browser tests
(``flock /tmp/browser.lock``): the machine is shared and other browsers skew it.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {  # name -> URL path and query on the app's server
    "landing page (after a guess)": "",
    "lesson 1": "Lessons?lesson=1",
    "lesson 5": "Lessons?lesson=5",
    "Cell stepper, defaults": "Cell_stepper",
    "Cell stepper, largest (all three cells, 32 units, 200 steps)": (
        "Cell_stepper?page=stepper&kind=all&hidden_size=32&length=200&preset=random"
    ),
}
DRAWN = """() => [...document.querySelectorAll('.js-plotly-plot')].some(p => p.querySelector('.main-svg') &&
  (p.querySelector('.imagelayer image') || p.querySelector('.main-svg g.trace')))"""


def serve(script: str, cwd: Path) -> tuple[subprocess.Popen, int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port)]
        + ["--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(200):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return proc, port
        except OSError:
            time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGTERM)
    raise SystemExit(f"{script} in {cwd} did not come up")


def visit(browser, url: str, guess: bool, profile: Path | None = None) -> dict:
    """One first visit: seconds to the data (largest websocket message) and to the drawn figure."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    frames: list[tuple[float, int]] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append((time.perf_counter(), len(f)))))
    cdp = None
    if profile is not None:
        cdp = context.new_cdp_session(page)
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 500})
        cdp.send("Profiler.start")
    start = time.perf_counter()
    page.goto(url)
    if guess:
        page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=120_000)
        page.locator("[data-testid=stRadio] label").filter(has_text="LSTM").first.click()
    page.wait_for_function(DRAWN, timeout=120_000, polling=50)
    drawn = time.perf_counter() - start
    if cdp is not None:
        json.dump(cdp.send("Profiler.stop")["profile"], profile.open("w"))
    context.close()
    when, size = max(frames, key=lambda f: f[1], default=(start, 0))
    return {"drawn": drawn, "data": when - start, "bytes": size}


def top_functions(profile: Path, n: int = 8) -> list[str]:
    """The functions with the most self time in a Chromium CPU profile (idle and the collector included)."""
    data = json.loads(profile.read_text())
    nodes = {node["id"]: node["callFrame"] for node in data["nodes"]}
    spent: collections.Counter = collections.Counter()
    for sample, delta in zip(data["samples"], data["timeDeltas"], strict=True):
        frame = nodes[sample]
        spent[f"{frame['functionName'] or '(anonymous)'} {frame['url'].rsplit('/', 1)[-1]}"] += delta / 1000
    return [f"{ms:.0f} ms {name}" for name, ms in spent.most_common(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5, help="visits per page and copy (median)")
    parser.add_argument("--before", type=Path, help="an older copy of the app, measured in the same run")
    parser.add_argument("--pages", nargs="+", choices=list(TARGETS), default=list(TARGETS))
    parser.add_argument("--profile", type=Path, help="write one Chromium CPU profile per page here")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    copies = {"now": ROOT} | ({"before": args.before.resolve()} if args.before else {})
    servers = [serve("floor_app.py", ROOT / "benchmarks")]
    ports = {}
    for name, folder in copies.items():
        servers.append(serve("app.py", folder))
        ports[name] = servers[-1][1]
    floor_url = f"http://127.0.0.1:{servers[0][1]}/"
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    times: dict[tuple[str, str], list[dict]] = collections.defaultdict(list)
    print(f"# {os.cpu_count()} cores; load average before {os.getloadavg()[0]:.2f}", flush=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"])
            visits = [("floor", "Streamlit floor", floor_url, False)] + [
                (copy, page, f"http://127.0.0.1:{ports[copy]}/{TARGETS[page]}", TARGETS[page] == "")
                for page in args.pages
                for copy in copies
            ]
            for _, _, url, guess in visits:  # warm every server (imports, caches) outside the measurement
                visit(browser, url, guess)
            for rep in range(args.reps):
                for copy, page, url, guess in visits:
                    profile = None
                    if args.profile and rep == 0:
                        args.profile.mkdir(parents=True, exist_ok=True)
                        profile = args.profile / f"{copy}-{page.split(',')[0].replace(' ', '_')}-{len(times)}.json"
                    times[(copy, page)].append(visit(browser, url, guess, profile))
                    if profile:
                        print(f"  {copy} {page}: " + "; ".join(top_functions(profile, 5)), flush=True)
            browser.close()
    finally:
        for proc, _ in servers:
            os.killpg(proc.pid, signal.SIGTERM)
    floor = statistics.median(v["drawn"] for v in times[("floor", "Streamlit floor")])
    print(f"\nload average after {os.getloadavg()[0]:.2f}; median of {args.reps} first visits each\n")
    print("| page | copy | data arrived (s) | figure drawn (s) | × floor | figure message |\n|---|---|---|---|---|---|")
    print(f"| Streamlit floor (one small chart) | | | {floor:.2f} | 1.00 | |")
    for (copy, page), rows in times.items():
        if copy == "floor":
            continue
        drawn = statistics.median(r["drawn"] for r in rows)
        data = statistics.median(r["data"] for r in rows)
        size = max(r["bytes"] for r in rows) / 1000
        print(f"| {page} | {copy} | {data:.2f} | {drawn:.2f} | {drawn / floor:.2f} | {size:.0f} kB |")


if __name__ == "__main__":
    main()
