"""Per page: first render time, rerun time after a widget change (AppTest timing), and the size of the
page's figure JSON at its defaults and at its largest settings. Run by hand:
``python benchmarks/bench_app.py``. Prints Markdown tables for docs/speed.md.

Streamlit's caches are in-process, so the first render includes the engine work and a rerun after a
widget change pays only for what that change invalidates. Sizes are the JSON Plotly sends to the
browser, summed over the page's charts.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

from streamlit.testing.v1 import AppTest  # noqa: E402

APP = str(ROOT / "app.py")


def open_page(page: str | None, **query) -> tuple[AppTest, float]:
    """Open a page by a link carrying ``query`` (AppTest starts at the main script, so go there first)."""
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    for k in list(at.query_params):
        del at.query_params[k]
    for k, v in query.items():
        at.query_params[k] = str(v)
    start = time.perf_counter()
    if page:
        at.switch_page(page).run()
    else:
        at.run()
    return at, time.perf_counter() - start


def figure_bytes(at: AppTest) -> int:
    return sum(len(chart.proto.spec.encode()) for chart in at.get("plotly_chart"))


def timed(action, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    print(f"# machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    rows = []

    # Landing page: a rerun after the guess (its preview is cached after the first reveal).
    at, first = open_page(None)
    guesses = iter(["RNN", "LSTM", "GRU", "none of them"] * 10)
    at.radio(key="home.guess").set_value("LSTM").run()
    rerun = timed(lambda: at.radio(key="home.guess").set_value(next(guesses)).run())
    rows.append(("Start here", first, rerun, figure_bytes(at), None))

    # Stepper: change the unit on the diagram (the runs are cached; the figure is rebuilt), at defaults; then
    # the largest settings.
    at, first = open_page("pages/1_Cell_stepper.py")
    units = iter(range(2, 10_000))
    rerun = timed(lambda: at.number_input(key="stepper.unit").set_value(next(units) % 8).run())
    big, _ = open_page("pages/1_Cell_stepper.py", kind="all", hidden_size=32, length=200, preset="random")
    big_lstm, _ = open_page("pages/1_Cell_stepper.py", kind="lstm", hidden_size=32, length=200, preset="random")
    rows.append(("Cell stepper", first, rerun, figure_bytes(at), max(figure_bytes(big), figure_bytes(big_lstm))))

    # Gradient flow: a new seed each time (nothing cached), at defaults and at T = 500.
    at, first = open_page("pages/2_Gradient_flow.py")
    seeds = iter(range(1, 10_000))
    rerun = timed(lambda: at.number_input(key="gradient.seed").set_value(next(seeds)).run())
    at500, _ = open_page("pages/2_Gradient_flow.py", length=500, hidden_size=64)
    rerun500 = timed(lambda: at500.number_input(key="gradient.seed").set_value(next(seeds)).run(), repeats=3)
    rows.append(("Gradient flow", first, rerun, figure_bytes(at), figure_bytes(at500)))

    # Training lab: a rerun that does not train (changing the prediction).
    at, first = open_page("pages/3_Training_lab.py")
    choices = iter(["RNN", "LSTM", "GRU", "all", "none"] * 10)
    rerun = timed(lambda: at.radio(key="lab.prediction").set_value(next(choices)).run())
    at.button[0].click().run()
    trained_bytes = figure_bytes(at)
    rows.append(("Training lab", first, rerun, figure_bytes(open_page("pages/3_Training_lab.py")[0]), trained_bytes))

    print("| page | first render (ms) | rerun after a widget change (ms) | figure JSON at defaults | largest |")
    print("|---|---|---|---|---|")
    for name, first, rerun, size, largest in rows:
        big = "n/a" if largest is None else f"{largest / 1e3:.0f} kB"
        print(f"| {name} | {1000 * first:.0f} | {1000 * rerun:.0f} | {size / 1e3:.0f} kB | {big} |")
    print(f"\nGradient flow at T=500, H=64 (a new seed, nothing cached): rerun {1000 * rerun500:.0f} ms")
    print("Training lab 'largest' is after training at the defaults (curves + trained gates + sweep).")


if __name__ == "__main__":
    main()
