"""The fast LSTM (rnnviz/engine/cells.py) against the textbook step (rnnviz/engine/reference.py).

Forward + backward of an LSTM at (T, B, D, H) = (100, 32, 8, 64) and (50, 32, 1, 8), L = sum(h_{T-1}), in float32
and float64; median CPU time of interleaved runs, one BLAS thread (as bench_engine.py). The numbers go in
LSTMCell's docstring.

    python3 benchmarks/bench_reference.py [repeats]
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnnviz.engine import blas  # noqa: E402  (imports no NumPy)

blas.default_to_one_thread()  # before NumPy loads

import numpy as np  # noqa: E402
from bench_engine import interleaved_ms, numpy_run  # noqa: E402

import rnnviz  # noqa: E402
from rnnviz.engine import reference  # noqa: E402


def main(repeats: int = 20) -> None:
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"NumPy {np.__version__}, BLAS threads {blas.blas_threads()}; LSTM forward + backward, median CPU ms of "
        f"{repeats} interleaved runs"
    )
    for T, B, D, H in ((100, 32, 8, 64), (50, 32, 1, 8)):
        compare(repeats, T, B, D, H)


def compare(repeats: int, T: int, B: int, D: int, H: int) -> None:
    x = np.random.default_rng(0).normal(size=(T, B, D))
    d_h = np.zeros((T, B, H))
    d_h[-1] = 1.0
    for dtype in (np.float32, np.float64):
        cell = rnnviz.init_cell("lstm", D, H, seed=0, dtype=dtype)
        xs, d_hs = x.astype(dtype), d_h.astype(dtype)

        def textbook(cell=cell, xs=xs, d_hs=d_hs, dtype=dtype):
            reference.run_sequence("lstm", cell.params, xs, d_h=d_hs, dtype=dtype)

        ms = interleaved_ms({"fast": numpy_run(cell, xs), "reference": textbook}, repeats)
        print(
            f"T={T} B={B} D={D} H={H} {np.dtype(dtype).name}: fast {ms['fast']:.2f} ms, "
            f"reference {ms['reference']:.2f} ms, {ms['reference'] / ms['fast']:.2f}x"
        )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
