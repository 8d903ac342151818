"""Train the small character models the Text lab ships: rnnviz/content/data/text/<corpus>_<cell>.npz + .json.

    nice -n 10 python scripts/make_text_models.py              # all six: about four minutes on one core
    nice -n 10 python scripts/make_text_models.py language     # only that corpus

Each .npz holds the cell's parameters under PyTorch's keys, the readout and the vocabulary (no pickles);
the .json beside it says how it was trained, what it reached, the engine version, the machine, the BLAS
kernel and the seconds taken. Training is seeded; the seconds are a measurement of the machine.
"""

import json
import os
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from rnnviz.engine import text  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "rnnviz" / "content" / "data" / "text"
CONFIG = text.TextConfig(hidden_size=32, steps=8000, window=50, batch=16, lr=0.01, seed=0, eval_every=1000)


def engine_version() -> str:
    try:
        from importlib.metadata import version

        return version("rnnviz")
    except Exception:
        import tomllib

        root = Path(__file__).resolve().parents[1]
        return tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]


def blas_info() -> list:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return ["threadpoolctl not installed"]
    keep = ("internal_api", "version", "architecture", "num_threads")
    return [{k: pool.get(k) for k in keep} for pool in threadpool_info()]


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas_info(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "unset"),
    }


def main() -> None:
    corpora = tuple(sys.argv[1:]) or text.BUILTIN
    OUT.mkdir(parents=True, exist_ok=True)
    for name in corpora:
        corpus = text.builtin_corpus(name)
        for kind in text.KINDS:
            start = time.perf_counter()
            run = text.train_text(text.TextConfig(**{**asdict(CONFIG), "cell": kind}), corpus)
            wall = time.perf_counter() - start
            stem = OUT / f"{name}_{kind}"
            text.save_model(run.model, stem.with_suffix(".npz"))
            summary = text.describe(run, corpus)
            sidecar = {
                **summary,
                "config": asdict(run.config),
                "history": [list(p) for p in run.history],
                "corpus_chars": len(corpus.text),
                "training_seconds": round(run.seconds, 2),
                "wall_seconds_with_evaluation": round(wall, 2),
                "engine_version": engine_version(),
                "machine": machine(),
            }
            stem.with_suffix(".json").write_text(json.dumps(sidecar, indent=1) + "\n")
            bits = summary["bits_per_char"]
            print(
                f"{name} {kind}: {bits['held_out']:.3f} bits/char held out (unigram {bits['unigram']:.3f}), "
                f"{run.seconds:.1f} s; best depth unit {summary['best_unit']['bracket depth']}",
                flush=True,
            )


if __name__ == "__main__":
    main()
