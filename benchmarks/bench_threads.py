"""One BLAS thread against OpenBLAS's default, for the CLI's training run. Run by hand:

    python benchmarks/bench_threads.py [repeats] [-- extra arguments for `rnnviz train`]

Each repeat runs ``python -m rnnviz train --json`` (the default LSTM preset unless arguments follow ``--``)
twice, in turn: with ``OPENBLAS_NUM_THREADS=1`` (what the app and the CLI choose, rnnviz/engine/blas.py) and
with it set to the number of cores (OpenBLAS's own default, since an explicit setting wins). It prints the
median wall time of the whole process, its CPU time (user + system of the child, all threads), and the
training seconds the run reports itself. Both runs train the same model (same seed), so the results match.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnnviz.engine import blas  # noqa: E402


def run(threads: int, extra: list[str]) -> dict:
    env = {**os.environ, **dict.fromkeys(blas.ENV_VARIABLES, str(threads))}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "rnnviz", "train", "--json", *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result = json.loads(out)
    return {"wall": wall, "cpu": cpu, "train": result["seconds"], "metric": result["test_metric"]}


def main() -> None:
    args = sys.argv[1:]
    extra = args[args.index("--") + 1 :] if "--" in args else []
    repeats = int(args[0]) if args and args[0] != "--" else 5
    cores = os.cpu_count() or 1
    settings = {"1 thread": 1, f"{cores} threads (OpenBLAS default)": cores}
    runs = {name: [] for name in settings}
    for _ in range(repeats):
        for name, threads in settings.items():
            runs[name].append(run(threads, extra))
    metrics = {name: {r["metric"] for r in results} for name, results in runs.items()}
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    print(
        f"# `rnnviz train {' '.join(extra) or '(defaults: LSTM, adding problem, T=50, 1000 updates)'}`; "
        f"{platform.processor() or platform.machine()}, {cores} cores, Python {platform.python_version()}; "
        f"median of {repeats} interleaved runs; load average at the end {' '.join(load)}"
    )
    print()
    print("| BLAS threads | wall (s) | CPU, all threads (s) | training time it reports (s) |")
    print("|---|---|---|---|")
    for name, results in runs.items():
        med = {k: statistics.median(r[k] for r in results) for k in ("wall", "cpu", "train")}
        print(f"| {name} | {med['wall']:.2f} | {med['cpu']:.2f} | {med['train']:.2f} |")
    same = len(set().union(*metrics.values())) == 1
    print()
    print(f"Same final test metric in every run: {same} ({sorted(set().union(*metrics.values()))})")


if __name__ == "__main__":
    main()
