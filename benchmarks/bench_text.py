"""Text lab: updates per second of each character model, and the time the shipped models took to train.

    nice -n 10 python benchmarks/bench_text.py [updates]     # default 300 updates per model

One update is one window of 50 characters in 16 streams (the shipped models' settings): forward, softmax over
the vocabulary at every character, backward through the window, Adam. The shipped models' times come from
the .json beside each (written by scripts/make_text_models.py on the machine that trained them).
"""

import json
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnnviz.engine import blas  # noqa: E402  (imports no NumPy)

blas.default_to_one_thread()  # before NumPy loads

import numpy as np  # noqa: E402

from rnnviz.engine import text  # noqa: E402

SHIPPED = Path(__file__).resolve().parents[1] / "rnnviz" / "content" / "data" / "text"


def main() -> None:
    updates = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    print(f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, NumPy {np.__version__}")
    print(f"# load average at start: {os.getloadavg()[0]:.2f}")
    print("corpus    cell  H   V   updates/s  ms/update  chars/s")
    for name in text.BUILTIN:
        corpus = text.builtin_corpus(name)
        for kind in text.KINDS:
            config = text.TextConfig(cell=kind, hidden_size=32, steps=updates, eval_every=updates)
            run = text.train_text(config, corpus)
            per = run.seconds / updates
            chars = config.window * config.batch / per
            print(f"{name:9} {kind:5} 32  {len(corpus.vocab):3} {1 / per:9.0f}  {1e3 * per:9.2f}  {chars:7.0f}")
    print("\nshipped models (their .json):")
    total = 0.0
    for path in sorted(SHIPPED.glob("*.json")):
        meta = json.loads(path.read_text())
        total += meta["training_seconds"]
        print(
            f"{path.stem:14} {meta['updates']} updates in {meta['training_seconds']:.1f} s on {meta['made_on']['cpu']}"
        )
    print(f"all shipped models: {total:.0f} s of training")


if __name__ == "__main__":
    main()
