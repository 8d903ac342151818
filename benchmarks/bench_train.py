"""Training benchmarks, run by hand: ``python benchmarks/bench_train.py``.

1. The default preset's claim: over 5 seeds, how often the LSTM solves the default task within its
   budget, how long that takes, and how often the plain RNN (same data, same budget) does.
2. Training throughput (sequences per second) of the NumPy loop against the same model, batch and
   optimiser in PyTorch on the CPU (one thread, float32), when torch happens to be installed.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnnviz.engine import blas  # noqa: E402  (imports no NumPy)

blas.default_to_one_thread()  # before NumPy loads

import numpy as np  # noqa: E402

from rnnviz.engine import tasks, training  # noqa: E402


def default_preset(seeds=range(5)) -> None:
    base = training.TrainConfig()
    print(
        f"## Default preset: {base.task}, length {base.length}, {base.steps} updates, batch {base.batch_size}, "
        f"H={base.hidden_size}, Adam lr {base.lr}, clip {base.clip}, forget bias {base.forget_bias}"
    )
    print("| model | seeds solved | solved at update (per seed) | training seconds (per seed) | final test MSE |")
    print("|---|---|---|---|---|")
    for cell in ("lstm", "rnn", "gru"):
        results = [training.train(training.TrainConfig(cell=cell, seed=s)) for s in seeds]
        solved = sum(r.solved for r in results)
        steps = ", ".join(str(r.solved_step) if r.solved_step else "-" for r in results)
        secs = ", ".join(f"{r.seconds:.1f}" for r in results)
        mse = ", ".join(f"{r.test_metric:.3f}" for r in results)
        print(f"| {cell.upper()} | {solved}/{len(results)} | {steps} | {secs} | {mse} |", flush=True)


def numpy_throughput(cell: str, updates: int = 200) -> float:
    config = training.TrainConfig(cell=cell, steps=updates, eval_every=10**9)  # evaluation only once, at the end
    train_set, test_set = tasks.make_task(config.task, config.length, config.n_train, 1, seed=0)
    start = time.perf_counter()
    for progress, _ in training.train_steps(config, (train_set, test_set)):
        seconds = progress.seconds
    del start
    return updates * config.batch_size / seconds


def torch_throughput(cell: str, updates: int = 200) -> float:
    import torch

    torch.set_num_threads(1)
    config = training.TrainConfig(cell=cell)
    train_set, _ = tasks.make_task(config.task, config.length, config.n_train, 1, seed=0)
    rnn = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](2, config.hidden_size)
    readout = torch.nn.Linear(config.hidden_size, 1)
    params = list(rnn.parameters()) + list(readout.parameters())
    opt = torch.optim.Adam(params, lr=config.lr)
    x = torch.tensor(train_set.x, dtype=torch.float32)
    y = torch.tensor(train_set.y, dtype=torch.float32)
    rng = np.random.default_rng(0)
    seconds = 0.0
    for _ in range(updates):
        start = time.perf_counter()
        index = torch.tensor(rng.choice(len(train_set), config.batch_size, replace=False))
        out, _ = rnn(x[:, index])
        loss = torch.mean((readout(out[-1])[:, 0] - y[index]) ** 2)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, config.clip)
        opt.step()
        seconds += time.perf_counter() - start
    return updates * config.batch_size / seconds


def throughput() -> None:
    try:
        import torch

        version = torch.__version__
    except ImportError:
        version = None
    config = training.TrainConfig()
    print(
        f"\n## Training throughput, {config.task} T={config.length}, batch {config.batch_size}, "
        f"H={config.hidden_size}, float32, one thread" + (f", torch {version}" if version else ", torch not installed")
    )
    print("| model | NumPy (sequences/s) | torch (sequences/s) | NumPy time / torch time |")
    print("|---|---|---|---|")
    for cell in ("rnn", "lstm", "gru"):
        mine = numpy_throughput(cell)
        if version:
            ref = torch_throughput(cell)
            print(f"| {cell.upper()} | {mine:,.0f} | {ref:,.0f} | {ref / mine:.2f}x |", flush=True)
        else:
            print(f"| {cell.upper()} | {mine:,.0f} | n/a | n/a |", flush=True)


if __name__ == "__main__":
    print(
        f"# machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"NumPy {np.__version__}"
    )
    if "--throughput-only" not in sys.argv:
        default_preset()
    throughput()
