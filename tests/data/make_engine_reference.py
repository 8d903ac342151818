"""Write ``engine_reference.npz``: forward and backward outputs of small float64 problems, so a change
to the engine's arithmetic is checked against what it computed before (tests/test_cells.py).

Made once with the engine as of commit 7cfe253 (before the preallocated-buffer rewrite)::

    git show 7cfe253:rnnviz/engine/cells.py > /tmp/cells_7cfe253.py
    python tests/data/make_engine_reference.py /tmp/cells_7cfe253.py

Without an argument it uses the installed ``rnnviz.engine.cells``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).with_name("engine_reference.npz")
CASES = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]
T, B, D, H = 7, 3, 3, 5


def problem(kind, nonlinearity, batched, seed):
    """Every parameter random, biases included; random states and outside gradients."""
    rng = np.random.default_rng(seed)
    G = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    sd = {
        "weight_ih": rng.normal(0, 0.6, (G * H, D)),
        "weight_hh": rng.normal(0, 0.6, (G * H, H)),
        "bias_ih": rng.normal(0, 0.6, G * H),
        "bias_hh": rng.normal(0, 0.6, G * H),
    }
    lead = (T, B) if batched else (T,)
    x = rng.normal(size=lead + (D,))
    h0 = 0.5 * rng.normal(size=lead[1:] + (H,))
    c0 = 0.5 * rng.normal(size=lead[1:] + (H,)) if kind == "lstm" else None
    d_h = rng.normal(size=lead + (H,))
    d_c = rng.normal(size=lead + (H,)) if kind == "lstm" else None
    return sd, x, h0, c0, d_h, d_c


def outputs(from_state_dict) -> dict:
    """``{"<kind>-<nonlinearity>-<batched|single>/<name>": array or None}`` for every case: the trace's h, c and
    gates, every gradient. ``from_state_dict`` is the engine's (the one that makes the file or the one tested)."""
    out = {}
    for seed, (kind, nonlinearity) in enumerate(CASES):
        for batched in (False, True):
            sd, x, h0, c0, d_h, d_c = problem(kind, nonlinearity, batched, seed)
            cell = from_state_dict(kind, sd, nonlinearity=nonlinearity)
            trace = cell.forward(x, h0, c0)
            grads = cell.backward(trace, d_h, d_c)
            key = f"{kind}-{nonlinearity}-{'batched' if batched else 'single'}"
            values = {"h": trace.h, "c": trace.c, **{f"gate.{k}": v for k, v in trace.gates.items()}}
            values |= {"d.x": grads.x, "d.h": grads.h, "d.c": grads.c, "d.h0": grads.h0, "d.c0": grads.c0}
            values |= {f"d.{k}": v for k, v in grads.params.items()}
            out |= {f"{key}/{name}": v for name, v in values.items()}
    return out


def main(cells_path: str | None = None) -> None:
    if cells_path is None:
        from rnnviz import from_state_dict  # today's engine (from_state_dict now lives in rnnviz.weights)
    else:
        spec = importlib.util.spec_from_file_location("reference_cells", cells_path)
        cells = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = cells  # dataclasses look their module up while the class is built
        spec.loader.exec_module(cells)
        from_state_dict = cells.from_state_dict  # the engine of 7cfe253 had it in cells.py
    out = {name: v for name, v in outputs(from_state_dict).items() if v is not None}
    np.savez_compressed(OUT, **out)
    print(f"wrote {OUT} ({len(out)} arrays)")


if __name__ == "__main__":
    main(*sys.argv[1:])
