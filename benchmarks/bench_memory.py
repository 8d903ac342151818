"""What keeping freed memory buys a training process (rnnviz/threads.py ``keep_freed_memory``), run by hand:
``python benchmarks/bench_memory.py [rounds]``.

One process trains 100 updates at a time, in turn with glibc's default allocator settings and with the
settings the CLI and the Training lab's workers use, ``rounds`` times each (default 6), and prints the
median CPU time and the page faults per 100 updates. The two settings are switched with ``mallopt`` between
rounds, so a load change on the machine hits both alike. Linux with glibc only.
"""

from __future__ import annotations

import ctypes
import os
import resource
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnnviz import tasks, threads, training  # noqa: E402

GLIBC_DEFAULT = 128 * 1024  # bytes: glibc's initial mmap and trim thresholds
SETTINGS = {
    "glibc's default": (GLIBC_DEFAULT, GLIBC_DEFAULT),
    "freed memory kept": (threads.MMAP_BELOW_BYTES, threads.KEEP_FREED_BYTES),
}
CONFIGS = {
    "default preset (LSTM, H=16, T=50)": training.TrainConfig(steps=100, eval_every=100),
    "LSTM, H=64, T=100": training.TrainConfig(steps=100, eval_every=100, hidden_size=64, length=100),
}


def main(rounds: int) -> None:
    libc = ctypes.CDLL("libc.so.6")
    print("| training run, 100 updates | allocator | CPU time (s, median) | page faults |")
    print("|---|---|---|---|")
    for label, config in CONFIGS.items():
        data = tasks.make_task(config.task, config.length, config.n_train, config.n_test, seed=0)
        seconds = {name: [] for name in SETTINGS}
        faults = {name: [] for name in SETTINGS}
        for _ in range(rounds):
            for name, (mmap_below, keep) in SETTINGS.items():
                libc.mallopt(threads._M_MMAP_THRESHOLD, mmap_below)
                libc.mallopt(threads._M_TRIM_THRESHOLD, keep)
                before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                start = time.process_time()
                for _ in training.train_steps(config, data):
                    pass
                seconds[name].append(time.process_time() - start)
                faults[name].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
        for name in SETTINGS:
            print(
                f"| {label} | {name} | {statistics.median(seconds[name]):.3f} | "
                f"{statistics.median(faults[name]):,.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 6)
