"""Models go both ways between rnnviz and PyTorch, through an ``.npz`` file and nothing else.

Run by hand with torch installed (torch is never a dependency of rnnviz)::

    python3 benchmarks/torch_roundtrip.py

For RNN (tanh and relu), LSTM and GRU, in float64 and float32:

- **rnnviz -> torch**: ``rnnviz.init_cell`` (with a forget/update-gate bias for the gated cells), then
  ``rnnviz.save_npz``; the file is read back with ``np.load`` and given to
  ``torch.nn.LSTM/GRU/RNN(D, H).load_state_dict(..., strict=True)`` with no renaming. Both run the same
  sequence from the same initial state.
- **torch -> rnnviz**: a seeded ``torch.nn`` module's ``state_dict()``, saved with ``np.savez`` as the
  Cell stepper page tells users to, then ``rnnviz.load_npz`` (the safe loader the upload goes through).

Prints the largest difference of the hidden states h_t over all steps (absolute; |h| <= 1) and, for the
LSTM, of the cell states c_t relative to the largest |c_t|, as a Markdown table; each figure is the
largest over three seeds. Sizes: T = 100 steps, B = 4 sequences, D = 3 inputs, H = 16 units.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import rnnviz  # noqa: E402

T, B, D, H = 100, 4, 3, 16
MODELS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]
TORCH_DTYPES = {np.float64: torch.float64, np.float32: torch.float32}


def torch_module(kind: str, nonlinearity: str, dtype) -> torch.nn.Module:
    if kind == "rnn":
        module = torch.nn.RNN(D, H, nonlinearity=nonlinearity)
    else:
        module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](D, H)
    return module.to(TORCH_DTYPES[dtype])


def torch_states(module, kind, x, h0, c0):
    with torch.no_grad():
        state = (
            (torch.from_numpy(h0)[None], torch.from_numpy(c0)[None]) if kind == "lstm" else torch.from_numpy(h0)[None]
        )
        out, _ = module(torch.from_numpy(x), state)
        if kind != "lstm":
            return out.numpy(), None
        cs, c = [], state  # torch returns only the last c: step once at a time for every c_t
        for t in range(x.shape[0]):
            _, c = module(torch.from_numpy(x[t : t + 1]), c)
            cs.append(c[1][0].numpy())
        return out.numpy(), np.stack(cs)


def max_diff(cell, module, kind, dtype, seed) -> float:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(T, B, D)).astype(dtype)
    h0 = (0.5 * rng.normal(size=(B, H))).astype(dtype)
    c0 = (0.5 * rng.normal(size=(B, H))).astype(dtype) if kind == "lstm" else None
    trace = cell.forward(x, h0, c0)
    h_torch, c_torch = torch_states(module, kind, x, h0, c0)
    diff = float(np.max(np.abs(trace.h - h_torch)))  # |h| <= 1: absolute is relative
    if kind == "lstm":  # c_t grows with a forget bias of 3 (to ~20 here): relative to its largest value
        diff = max(diff, float(np.max(np.abs(trace.c - c_torch)) / np.max(np.abs(c_torch))))
    return diff


def to_torch(kind, nonlinearity, dtype, seed) -> float:
    gated = {} if kind == "rnn" else {"forget_bias": 3.0}
    cell = rnnviz.init_cell(kind, D, H, seed=seed, dtype=dtype, nonlinearity=nonlinearity, **gated)
    buffer = io.BytesIO()
    rnnviz.save_npz(cell, buffer)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as data:
        state = {k: torch.from_numpy(data[k]) for k in data.files}
    module = torch_module(kind, nonlinearity, dtype)
    module.load_state_dict(state, strict=True)  # raises on any missing, extra or misshapen key
    return max_diff(cell, module, kind, dtype, seed)


def from_torch(kind, nonlinearity, dtype, seed) -> float:
    torch.manual_seed(seed)
    module = torch_module(kind, nonlinearity, dtype)
    buffer = io.BytesIO()
    np.savez(buffer, **{k: v.numpy() for k, v in module.state_dict().items()})
    cell = rnnviz.load_npz(io.BytesIO(buffer.getvalue()), nonlinearity=nonlinearity)
    assert cell.kind == kind and cell.dtype == dtype
    return max_diff(cell, module, kind, dtype, seed)


def main() -> None:
    torch.set_num_threads(1)
    print(
        f"torch {torch.__version__}, numpy {np.__version__}; T={T}, B={B}, D={D}, H={H}; "
        "largest |difference| of h_t, and of c_t / max|c_t|"
    )
    print()
    print("| model | dtype | rnnviz -> torch | torch -> rnnviz |")
    print("|---|---|---|---|")
    for kind, nonlinearity in MODELS:
        label = f"RNN ({nonlinearity})" if kind == "rnn" else kind.upper()
        for dtype in (np.float64, np.float32):
            there = max(to_torch(kind, nonlinearity, dtype, seed) for seed in range(3))
            back = max(from_torch(kind, nonlinearity, dtype, seed) for seed in range(3))
            print(f"| {label} | {np.dtype(dtype).name} | {there:.1e} | {back:.1e} |")


if __name__ == "__main__":
    main()
