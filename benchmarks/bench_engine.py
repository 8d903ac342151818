"""Forward + backward time of the NumPy LSTM against torch.nn.LSTM (one thread, float32) when torch is
installed. Run by hand: ``python benchmarks/bench_engine.py``. Prints a Markdown table for the README.

Each figure is the median of repeated runs after a warm-up. torch is never a dependency of rnnviz.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread for NumPy's BLAS too: a fair comparison
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import rnnviz  # noqa: E402

CONFIGS = [(100, 32, 8, 64), (50, 32, 1, 8), (200, 32, 4, 32)]  # (T, B, D, H)


def median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def numpy_run(T, B, D, H, dtype):
    cell = rnnviz.init_cell("lstm", D, H, seed=0, dtype=dtype)
    x = np.random.default_rng(0).normal(size=(T, B, D)).astype(dtype)
    d_h = np.ones((T, B, H), dtype)

    def run():
        trace = cell.forward(x)
        cell.backward(trace, d_h)

    return run


def torch_run(T, B, D, H):
    import torch

    torch.set_num_threads(1)
    lstm = torch.nn.LSTM(D, H)
    x = torch.randn(T, B, D, requires_grad=True)

    def run():
        out, _ = lstm(x)
        out.sum().backward()

    return run


def main(repeats: int = 30) -> None:
    try:
        import torch  # noqa: F401

        have_torch = True
    except ImportError:
        have_torch = False
    print(
        f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, NumPy {np.__version__}"
        + (f", torch {__import__('torch').__version__}" if have_torch else ", torch not installed")
    )
    print("| T, B, D, H | NumPy float64 (ms) | NumPy float32 (ms) | torch float32 (ms) | float32 ratio NumPy/torch |")
    print("|---|---|---|---|---|")
    for T, B, D, H in CONFIGS:
        f64 = median_ms(numpy_run(T, B, D, H, np.float64), repeats)
        f32 = median_ms(numpy_run(T, B, D, H, np.float32), repeats)
        if have_torch:
            ref = median_ms(torch_run(T, B, D, H), repeats)
            tail = f"{ref:.2f} | {f32 / ref:.2f}x"
        else:
            tail = "n/a | n/a"
        print(f"| {T}, {B}, {D}, {H} | {f64:.2f} | {f32:.2f} | {tail} |")


if __name__ == "__main__":
    main()
