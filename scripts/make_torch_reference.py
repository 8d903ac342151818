"""Write tests/data/torch_reference.npz: what torch.nn computes for small seeded one-layer models.

Run once with torch installed (torch is never a dependency of rnnviz)::

    python3 scripts/make_torch_reference.py

For each model (RNN with tanh, RNN with relu, LSTM, GRU; float64, every parameter random, biases
included) it stores, under keys ``<model>/<name>``:

    weight_ih_l0 ... bias_hh_l0        the state dict, PyTorch's keys and layout
    x (T, B, D), h0 (B, H), c0 (B, H)  the input and the initial state (c0: LSTM only)
    w_out (T, B, H), w_hn (B, H), w_cn  the loss L = sum(w_out * out) + sum(w_hn * h_n) [+ sum(w_cn * c_n)]
    out (T, B, H), h_n, c_n            torch's outputs
    grad.<key>, grad.x, grad.h0, ...   dL/d(every parameter, the input and the initial state)

``tests/test_weights.py::test_agrees_with_torch_reference`` loads the models through rnnviz, reruns forward
and backward, and compares (no torch needed in CI).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "torch_reference.npz"
T, B, D, H = 7, 3, 3, 5
MODELS = {
    "rnn_tanh": lambda: torch.nn.RNN(D, H, nonlinearity="tanh"),
    "rnn_relu": lambda: torch.nn.RNN(D, H, nonlinearity="relu"),
    "lstm": lambda: torch.nn.LSTM(D, H),
    "gru": lambda: torch.nn.GRU(D, H),
}


def reference(name: str, make, seed: int) -> dict[str, np.ndarray]:
    torch.manual_seed(seed)
    module = make().double()
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0.0, 0.5)  # every parameter random, biases too: zero biases hide bugs
    lstm = name == "lstm"
    x = torch.randn(T, B, D, dtype=torch.float64, requires_grad=True)
    h0 = (0.5 * torch.randn(1, B, H, dtype=torch.float64)).requires_grad_()
    c0 = (0.5 * torch.randn(1, B, H, dtype=torch.float64)).requires_grad_() if lstm else None
    w_out = torch.randn(T, B, H, dtype=torch.float64)
    w_hn = torch.randn(B, H, dtype=torch.float64)
    w_cn = torch.randn(B, H, dtype=torch.float64) if lstm else None
    if lstm:
        out, (h_n, c_n) = module(x, (h0, c0))
        loss = (w_out * out).sum() + (w_hn * h_n[0]).sum() + (w_cn * c_n[0]).sum()
    else:
        out, h_n = module(x, h0)
        c_n = None
        loss = (w_out * out).sum() + (w_hn * h_n[0]).sum()
    loss.backward()
    record = {key: value.detach().numpy().copy() for key, value in module.state_dict().items()}
    record.update(x=x, h0=h0[0], w_out=w_out, w_hn=w_hn, out=out, h_n=h_n[0])
    record.update({f"grad.{key}": p.grad for key, p in module.named_parameters()})
    record.update({"grad.x": x.grad, "grad.h0": h0.grad[0]})
    if lstm:
        record.update(c0=c0[0], w_cn=w_cn, c_n=c_n[0], **{"grad.c0": c0.grad[0]})
    return {f"{name}/{k}": _numpy(v) for k, v in record.items()}


def _numpy(value) -> np.ndarray:
    return (value.detach().numpy() if torch.is_tensor(value) else value).astype(np.float64)


def main() -> None:
    torch.set_num_threads(1)
    arrays = {"torch_version": np.array(torch.__version__)}
    for seed, (name, make) in enumerate(MODELS.items()):
        arrays.update(reference(name, make, seed))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes, {len(arrays)} arrays, torch {torch.__version__})")


if __name__ == "__main__":
    main()
