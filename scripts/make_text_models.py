"""Train the small character models the Text lab ships: rnnviz/content/data/text/<corpus>_<cell>.npz + .json.

    nice -n 10 python scripts/make_text_models.py              # all nine: about ten minutes on one core
    nice -n 10 python scripts/make_text_models.py language     # only that corpus

Each .npz holds the cell's parameters under PyTorch's keys, the readout and the vocabulary (no pickles);
the .json beside it says how it was trained, what it reached, what made it (``made_on``: the engine version,
the machine, the BLAS kernel) and the seconds taken. Training is seeded; the seconds are a measurement of the machine.
"""

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnnviz.engine import blas  # noqa: E402  (imports no NumPy)

blas.default_to_one_thread()  # before NumPy loads


from rnnviz.engine import provenance, text  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "rnnviz" / "content" / "data" / "text"
CONFIG = text.TextConfig(hidden_size=32, steps=8000, window=50, batch=16, lr=0.01, seed=0, eval_every=1000)
# Prose asks more of a model: at H = 32 and windows of 50 no LSTM unit followed Alice's dialogue (best r = 0.19);
# at H = 64 and windows of 100 one does (r = 0.49), in about two minutes of a core per model.
CHANGES = {"prose": dict(hidden_size=64, window=100)}


def main() -> None:
    corpora = tuple(sys.argv[1:]) or text.BUILTIN
    OUT.mkdir(parents=True, exist_ok=True)
    for name in corpora:
        corpus = text.builtin_corpus(name)
        for kind in text.KINDS:
            start = time.perf_counter()
            config = text.TextConfig(**{**asdict(CONFIG), **CHANGES.get(name, {}), "cell": kind})
            run = text.train_text(config, corpus)
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
                "made_on": provenance.made_on(),
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
