"""Forecast lab at its defaults, on every shipped series: the time to train each model and its test errors
beside the baselines'. Run by hand: ``nice python benchmarks/bench_forecast.py [--seeds 0,1,2]``; with
``--series elnino --windows 3,6,12,24,36`` instead the test error as the window grows past the season.

With ``--service``: a press of the page's defaults (three models) through the shared training service, one worker,
per series: seconds from the press to its result, and of an identical second press (the replay).

Prints two Markdown tables (the ones in docs/forecast.md) and the machine. Each model trains alone (its own
``forecast.run`` call), so its seconds are its own; training time excludes evaluation, as on the page.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnnviz.engine import blas  # noqa: E402  (imports no NumPy)

blas.default_to_one_thread()  # before NumPy loads

import numpy as np  # noqa: E402

from rnnviz.engine import forecast as fc  # noqa: E402


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def window_study(name: str, windows: list[int], seeds: list[int]) -> None:
    """Memory: the test MAE of every method as the window grows past the season (the horizon fixed)."""
    info, series = fc.SHIPPED[name], fc.load_series(name)
    print(f"\n{name}, horizon {info.horizon}, season {info.season}: test MAE (median over seeds {seeds}) by window")
    methods = [*fc.KINDS, "linear AR"]
    print("\n| window | " + " | ".join(fc.NAMES.get(m, m) for m in methods) + " |")
    print("|---|" + "---|" * len(methods))
    for window in windows:
        cells = []
        for method in methods:
            maes = []
            for seed in seeds if method in fc.KINDS else seeds[:1]:
                config = fc.ForecastConfig(window, info.horizon, info.season, seed=seed, difference=info.difference)
                result = fc.run(series.values, config, kinds=(method,) if method in fc.KINDS else ())
                maes.append(result.errors[method]["mae"])
            cells.append(f"{np.median(maes):.4g}")
        print(f"| {window} | " + " | ".join(cells) + " |", flush=True)


def through_service(names: list[str]) -> None:
    """The page's press through the training service: wall seconds to the result, and to its replay."""
    from rnnviz.app import forecast_lab, trainer

    print("\n| series | values | work units | press to result, s | identical press (replay), s |")
    print("|---|---|---|---|---|")
    with trainer.TrainingService(workers=1) as service:
        warm = fc.ForecastConfig(10, 5, updates=20)  # the worker's start (a fresh interpreter) is not a press's time
        handle = service.submit(forecast_lab.jobs_for(fc.load_series("nile").values, warm, ("rnn",)), kind="forecast")
        while not handle.wait(timeout=1).finished:
            pass
        for name in names:
            info, series = fc.SHIPPED[name], fc.load_series(name)
            config = fc.ForecastConfig(info.window, info.horizon, info.season, difference=info.difference)
            jobs = forecast_lab.jobs_for(series.values, config, fc.KINDS)
            times = []
            for owner in ("first", "second"):
                start = time.perf_counter()
                handle = service.submit(jobs, owner=owner, kind="forecast")
                while not (snap := handle.wait(timeout=1)).finished:
                    pass
                fc.collect(series.values, config, snap.configs, snap.histories, snap.trained)
                times.append(time.perf_counter() - start)
            work = sum(job.work() for job in jobs)
            print(f"| {name} | {len(series)} | {work:.2g} | {times[0]:.2f} | {times[1]:.3f} |", flush=True)
    print(f"\nMachine: {cpu_name()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--series", default=",".join(fc.SHIPPED))
    parser.add_argument("--windows", help="instead: the window study on --series (one name), e.g. 3,6,12,24,36")
    parser.add_argument("--service", action="store_true", help="instead: a default press through the service")
    args = parser.parse_args()
    if args.service:
        through_service(args.series.split(","))
        return
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.windows:
        window_study(args.series, [int(w) for w in args.windows.split(",")], seeds)
        return
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    timing, errors = [], []
    runs = []
    for name in args.series.split(","):
        info = fc.SHIPPED[name]
        runs += [(name, info.difference)] + ([(name, False)] if info.difference else [])  # changes, then levels
    for name, difference in runs:
        info, series = fc.SHIPPED[name], fc.load_series(name)
        config = fc.ForecastConfig(info.window, info.horizon, info.season, difference=difference)
        label = f"{name} (changes)" if difference else name
        base = fc.run(series.values, config, kinds=())
        mae = {m: [base.errors[m]["mae"]] for m in fc.BASELINES}
        seconds = {}
        for kind in fc.KINDS:
            mae[kind], seconds[kind] = [], []
            for seed in seeds:
                cfg = fc.ForecastConfig(**{**config.__dict__, "seed": seed})
                start = time.perf_counter()
                result = fc.run(series.values, cfg, kinds=(kind,))
                wall = time.perf_counter() - start
                model = result.models[kind]
                mae[kind].append(result.errors[kind]["mae"])
                seconds[kind].append((model.seconds, wall, model.seconds_per_update * 1000))
                print(f"{label} {kind} seed {seed}: MAE {mae[kind][-1]:.4g}, {wall:.2f} s", file=sys.stderr, flush=True)
            s = np.array(seconds[kind])
            timing.append(
                f"| {label} | {len(series)} | {kind.upper()} | "
                f"{result.errors[kind]['params']} | {s[:, 0].mean():.2f} | {s[:, 1].mean():.2f} | "
                f"{s[:, 2].mean():.2f} |"
            )
        reference = mae["seasonal naive"][0]
        for method, values in mae.items():
            v = np.array(values)
            spread = f" ({v.min():.4g}-{v.max():.4g})" if len(v) > 1 else ""
            errors.append(
                f"| {label} | {fc.NAMES.get(method, method)} | {np.median(v):.4g}{spread} | "
                f"{np.median(v) / reference:.3f} |"
            )
    print(
        f"\nDefaults: updates {config.updates}, hidden {config.hidden_size}, batch {config.batch_size}, "
        f"lr {config.lr}, "
        f"clip {config.clip}; window/horizon/season/difference per series (fc.SHIPPED); seeds {seeds}"
    )
    print(
        "\n| series | values | model | parameters | training s | wall s (with evaluation and forecasts) | ms / update |"
    )
    print("|---|---|---|---|---|---|---|")
    print("\n".join(timing))
    print("\n| series | method | test MAE, median over seeds (range) | relative to seasonal naive |")
    print("|---|---|---|---|")
    print("\n".join(errors))
    print(
        f"\nMachine: {cpu_name()}, {os.cpu_count()} cores (shared; load average {load:.1f} at the start), "
        f"Python {platform.python_version()}, NumPy {np.__version__}, one BLAS thread, float32."
    )


if __name__ == "__main__":
    main()
