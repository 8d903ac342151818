"""Where does the LSTM overfit? Run by hand: ``python benchmarks/bench_overfit.py [--quick]``.

For each candidate small-data setting and seed, train the model and print the training metric (on every
training sequence) and the held-out test metric at the end of the budget, and whether each one counts as
solved by the task's threshold. "Overfits" means: the training metric is solved, the test metric is not.
The numbers in docs/speed.md and in training.SMALL_DATA come from this script.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnnviz.engine import blas  # noqa: E402  (imports no NumPy)

blas.default_to_one_thread()  # before NumPy loads

from rnnviz.engine import tasks, training  # noqa: E402

CANDIDATES = {
    "adding n16 h64": dict(task="adding", length=50, n_train=16, hidden_size=64, steps=1500),
    "adding n8 h32": dict(task="adding", length=50, n_train=8, hidden_size=32, steps=1500),
    "order n16 h32": dict(task="order", length=50, n_train=16, hidden_size=32, steps=1500),
    "order n32 h32": dict(task="order", length=50, n_train=32, hidden_size=32, steps=1500),
}


def measure(name: str, settings: dict, cells, seeds) -> None:
    spec = tasks.SPECS[settings["task"]]
    for cell in cells:
        for seed in seeds:
            config = replace(training.TrainConfig(**settings), cell=cell, seed=seed, eval_every=settings["steps"])
            start = time.perf_counter()
            last = training.train_many({cell: config})[cell].last
            train_ok = training.is_solved(spec, last.train_metric)
            test_ok = training.is_solved(spec, last.test_metric)
            verdict = "OVERFITS" if train_ok and not test_ok else ("solves" if test_ok else "fails to fit")
            print(
                f"{name:18s} {cell:4s} seed {seed}: train {spec.metric} {last.train_metric:.4g}, "
                f"test {last.test_metric:.4g} -> {verdict} ({time.perf_counter() - start:.0f} s)",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", default=list(CANDIDATES))
    parser.add_argument("--cells", default="lstm")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--preset", action="store_true", help="measure training.SMALL_DATA instead")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    cells = args.cells.split(",")
    if args.preset:
        measure("SMALL_DATA", {**training.TrainConfig().__dict__, **training.SMALL_DATA}, cells, seeds)
        return
    for name in args.only:
        measure(name, CANDIDATES[name], cells, seeds)


if __name__ == "__main__":
    main()
