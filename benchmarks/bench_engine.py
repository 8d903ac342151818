"""Forward + backward time of the NumPy cells against torch.nn.RNN / LSTM / GRU (float32, one thread),
when torch is installed. Run by hand: ``python benchmarks/bench_engine.py [repeats]``. Prints a Markdown
table for docs/speed.md.

The loss is what training uses: it reads only the last hidden state, L = sum(h_{T-1}), so the gradient
decays backwards through time, and over the 200 steps of the last config it passes through float32's
subnormal range (below 1.2e-38), where arithmetic is up to a hundred times slower. Both engines get the
same weights (torch loads the NumPy cell's state dict) and the same input, so both meet the same small
numbers: without that, torch's time swings with its random initialisation. ``torch flush`` is torch
with ``torch.set_flush_denormal(True)``; the NumPy engine flushes float32 subnormal gradients itself
(see rnnviz/engine/cells.py). ``torch native`` is torch with oneDNN switched off
(``torch.backends.mkldnn.flags(enabled=False)``): by default torch runs an LSTM through oneDNN's fused
RNN kernels (``aten::mkldnn_rnn_layer`` in its profiler), and the native column shows what that kernel is
worth. The first ratio column is against torch's default, the second against torch native.

The engines run interleaved (one call each, in turn, ``repeats`` times after a warm-up) so that a load
change on the machine hits all of them alike; each figure is the median of the CPU time of this process
(``time.process_time``), not of wall time: on a shared machine wall time also counts the waits for a
core, and with one thread each the CPU time is the work. The two torch variants run in groups of their
own, each interleaved with the NumPy float32 run it is compared with: switching oneDNN off and on again
between calls made torch's default run up to twice as slow (1.05 against 2.2 ms at H = 8), which
interleaving all five flattered the NumPy engine with. torch is never a dependency of rnnviz.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnnviz.engine import blas  # noqa: E402  (imports no NumPy)

blas.default_to_one_thread()  # before NumPy loads: a fair comparison with torch

import numpy as np  # noqa: E402

import rnnviz  # noqa: E402

CONFIGS = [(100, 32, 8, 64), (50, 32, 1, 8), (200, 32, 4, 32)]  # (T, B, D, H)
KINDS = tuple(os.environ.get("BENCH_KINDS", "lstm,rnn,gru").split(","))


def numpy_run(cell, x):
    T, B, _ = x.shape
    d_h = np.zeros((T, B, cell.hidden_size), x.dtype)
    d_h[-1] = 1.0  # L = sum(h_{T-1})

    def run():
        cell.backward(cell.forward(x), d_h)

    return run


def torch_run(kind, cell, x, flush=False, onednn=True):
    import torch

    torch.manual_seed(0)
    module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](cell.input_size, cell.hidden_size)
    module.load_state_dict({k + "_l0": torch.from_numpy(v.astype(np.float32)) for k, v in cell.params.items()})
    x_t = torch.from_numpy(x.astype(np.float32)).requires_grad_(True)

    def run():
        torch.set_flush_denormal(flush)
        with torch.backends.mkldnn.flags(enabled=onednn):
            module.zero_grad(set_to_none=True)
            x_t.grad = None
            out, _ = module(x_t)
            out[-1].sum().backward()
        torch.set_flush_denormal(False)

    return run


def interleaved_ms(runs: dict, repeats: int) -> dict:
    """Median CPU milliseconds of each run, the runs taking turns."""
    times = {name: [] for name in runs}
    for run in runs.values():
        run()  # warm-up
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.process_time()
            run()
            times[name].append(time.process_time() - start)
    return {name: 1000 * statistics.median(values) for name, values in times.items()}


def main(repeats: int = 30) -> None:
    try:
        import torch

        torch.set_num_threads(1)
        have_torch = True
    except ImportError:
        have_torch = False
    print(
        f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, NumPy {np.__version__}, BLAS threads {blas.blas_threads()}"
        + (f", torch {torch.__version__} (1 thread)" if have_torch else ", torch not installed")
        + f"; forward + backward, median CPU time of {repeats} interleaved runs"
    )
    print()
    print(
        "| cell | T, B, D, H | NumPy float64 (ms) | NumPy float32 (ms) | torch float32 (ms) | torch flush (ms) "
        "| torch native (ms) | NumPy/torch float32 | NumPy/torch native |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for kind in KINDS:
        for T, B, D, H in CONFIGS:
            cell64 = rnnviz.init_cell(kind, D, H, seed=0)
            cell32 = rnnviz.init_cell(kind, D, H, seed=0, dtype=np.float32)
            x = np.random.default_rng(0).normal(size=(T, B, D))
            f32 = numpy_run(cell32, x.astype(np.float32))
            runs = {"f64": numpy_run(cell64, x), "f32": f32}
            if have_torch:
                runs["torch"] = torch_run(kind, cell32, x)
            ms = interleaved_ms(runs, repeats)
            if have_torch:
                flush = interleaved_ms({"f32": f32, "flush": torch_run(kind, cell32, x, flush=True)}, repeats)
                native = interleaved_ms({"f32": f32, "native": torch_run(kind, cell32, x, onednn=False)}, repeats)
                tail = (
                    f"{ms['torch']:.2f} | {flush['flush']:.2f} | {native['native']:.2f} | "
                    f"{ms['f32'] / ms['torch']:.2f}x | {native['f32'] / native['native']:.2f}x"
                )
            else:
                tail = "torch not installed | | | | "
            print(f"| {kind} | {T}, {B}, {D}, {H} | {ms['f64']:.2f} | {ms['f32']:.2f} | {tail} |", flush=True)


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
