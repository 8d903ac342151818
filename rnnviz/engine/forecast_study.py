"""Memory on real data: how each forecaster's test error changes as its window grows past the season.

A window shorter than the season cannot show the model the value one season ago, which seasonal naive uses;
a window of several seasons gives the linear AR more coefficients to fit on the same training values. The
study trains every cell at each window and seed with ``forecast.run`` (everything else at the series'
defaults) and keeps the test MAE of every method. Training three cells at five windows and three seeds takes
a minute or more a series, too much for a press, so the numbers are shipped
(``rnnviz/content/data/series/window_study.json``, made by ``python -m rnnviz.engine.forecast_study``) and a
test retrains some of them (tests/test_forecast_study.py); :func:`describe` turns them into sentences.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time

import numpy as np

from rnnviz.engine import forecast as fc

PATH = fc.SERIES_DIR / "window_study.json"
PLAN = {  # series -> windows, each list crossing the series' season
    "elnino": (3, 6, 12, 24, 36),
    "sunspots": (3, 6, 11, 22, 33),
    "co2": (3, 6, 12, 24, 36),
}
SEEDS = (0, 1, 2)


def config_for(name: str, window: int, seed: int) -> fc.ForecastConfig:
    """The study's config: the series' defaults (``forecast.SHIPPED``) with this window and seed."""
    info = fc.SHIPPED[name]
    return fc.ForecastConfig(window, info.horizon, info.season, seed=seed, difference=info.difference)


def study(name: str, windows=None, seeds=SEEDS, kinds=fc.KINDS) -> dict:
    """The test MAE of every method at every window and seed: ``mae[method]`` is ``(windows, seeds)``."""
    values = fc.load_series(name).values
    windows = tuple(windows or PLAN[name])
    methods = (*kinds, "linear AR", "seasonal naive", "persistence")
    mae = {m: [[0.0] * len(seeds) for _ in windows] for m in methods}
    start = time.perf_counter()
    for i, window in enumerate(windows):
        for j, seed in enumerate(seeds):
            result = fc.run(values, config_for(name, window, seed), kinds)
            for m in methods:
                mae[m][i][j] = result.errors[m]["mae"]
    info = fc.SHIPPED[name]
    return {
        "series": name,
        "unit": info.unit,
        "horizon": info.horizon,
        "season": info.season,
        "difference": info.difference,
        "windows": list(windows),
        "seeds": list(seeds),
        "mae": mae,
        "seconds": round(time.perf_counter() - start, 1),
    }


def medians(record: dict) -> dict:
    """``{method: (windows,)}``: the median over seeds of each window's test MAE."""
    return {m: np.median(np.asarray(v, dtype=float), axis=1) for m, v in record["mae"].items()}


def _name(method: str) -> str:
    return fc.NAMES.get(method, method)


def describe(record: dict) -> list[str]:
    """Sentences about one series' study, every claim computed from its numbers (medians over seeds)."""
    med, windows, season = medians(record), np.asarray(record["windows"]), record["season"]
    unit = f" {record['unit']}" if record["unit"] else ""
    nets = [m for m in med if m in fc.KINDS]
    learned = [*nets, "linear AR"]
    out = []
    short, long = windows < season, windows >= season
    if short.any() and long.any():
        for m in learned:
            a, b = float(med[m][short].min()), float(med[m][long].min())
            change = (a - b) / a
            if change > 0.05:
                verb = f"gains {100 * change:.0f}% from a window of at least a season"
            elif change < -0.05:
                verb = f"does {100 * -change:.0f}% worse with a window of at least a season"
            else:
                verb = "changes little (within 5%) once its window covers a season"
            out.append(
                f"The {_name(m)} {verb}: best test MAE {a:.3g}{unit} with W < {season}, {b:.3g}{unit} with "
                f"W ≥ {season}."
            )
    first, last = int(np.argmin(windows)), int(np.argmax(windows))
    best_first = min(learned, key=lambda m: med[m][first])
    best_last = min(learned, key=lambda m: med[m][last])
    out.append(
        f"At the shortest window ({windows[first]}) the best is the {_name(best_first)} "
        f"({med[best_first][first]:.3g}{unit}); at the longest ({windows[last]}), the {_name(best_last)} "
        f"({med[best_last][last]:.3g}{unit})."
    )
    ar_best = int(np.argmin(med["linear AR"]))
    if ar_best != last and med["linear AR"][last] > 1.1 * med["linear AR"][ar_best]:
        out.append(
            f"The linear AR is best at W = {windows[ar_best]} ({med['linear AR'][ar_best]:.3g}{unit}) and worse "
            f"again at W = {windows[last]} ({med['linear AR'][last]:.3g}{unit}): more coefficients fitted on the "
            "same training values."
        )
    if len(nets) > 1 and len(record["seeds"]) > 1:
        spread = max(float(np.ptp(np.asarray(record["mae"][m], dtype=float), axis=1).max()) for m in nets)
        gaps = [float(np.ptp([med[m][i] for m in nets])) for i in range(len(windows)) if windows[i] >= season]
        if gaps and max(gaps) < spread:
            out.append(
                f"At windows of a season or more the three cells differ by at most {max(gaps):.3g}{unit} (median "
                f"over seeds), less than the spread between seeds (up to {spread:.3g}{unit}): these runs do not "
                "rank them; more seeds would."
            )
    return out


def load(path=PATH) -> dict:
    """The shipped study: ``{"machine": ..., "series": {name: record}}``."""
    return json.loads(path.read_text())


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def main() -> int:
    """Run the study on every series of PLAN and write PATH (nice it: minutes on a shared machine)."""
    records = {}
    for name in PLAN:
        records[name] = study(name)
        print(name, records[name]["seconds"], "s", file=sys.stderr, flush=True)
    machine = (
        f"{_cpu_name()}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f} at the end, Python {platform.python_version()}, NumPy {np.__version__}"
    )
    PATH.write_text(json.dumps({"machine": machine, "series": records}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
