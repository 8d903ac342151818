"""The backward pass of one sequence, step by step: the record the Cell stepper's backward view plays.

A loss sits at the last step (index T-1, written T on the page): one unit's value, the squared distance of
h_{T-1} from a target, or all units equally (the Gradient flow page's loss). :func:`backward_pass` runs the
engine's own ``Cell.forward`` and ``Cell.backward`` and keeps what they computed, per step t, as (T, H)
arrays; nothing here is a formula standing in for the engine, only the engine's numbers taken apart:

- ``d_h[t]`` = dL/dh_t (total, c_t held fixed) and ``d_c[t]`` = dL/dc_t (LSTM): ``Grads.h``, ``Grads.c``;
- ``d_gates[name][t]``: each gate's pre-activation gradient (``Grads.gates``; the RNN's is named "a");
- what step t sends back: ``d_h_prev[t]`` reaches h_{t-1} through the recurrence (``Grads.h[t-1]`` less the
  loss's own share, ``Grads.h0`` at t = 0), split into ``d_h_parts`` by the weight block it passes
  (W_hi^T d_a_i, ... and the GRU's direct path d_h_t * z_t); ``d_c_prev[t]`` = d_c_t * dc_t/dc_{t-1} reaches
  c_{t-1};
- ``c_factor[t]`` = dc_t/dc_{t-1} with h_{t-1} held fixed (the LSTMs): what the cell-state path multiplies the
  gradient by at step t, measured by the engine's own one-step backward (a unit gradient put on c_t, read back
  at c_{t-1}), not written in. It is f_t for today's LSTM and 1 for the 1997 LSTM (no forget gate: the
  "constant error carousel").

And the two running products that decide whether anything arrives far back:

- ``h_left[t]`` = ||dL/dh_t|| / ||dL/dh_{T-1}||: how much of the gradient at the loss is left at step t,
  measured (this is the Gradient flow page's curve, divided by its value at lag 0);
- ``keep_product[t, j]`` = keep_{t+1} * ... * keep_{T-1} for unit j, keep = the LSTMs' ``c_factor`` (the
  GRU's update gate z): the factor the cell-state path alone (the GRU's direct path z * h_{t-1} alone)
  multiplies the gradient by on its way from T-1 back to t. It is a product of gates, not the whole
  gradient; ``c_left`` is the measured whole, ||dL/dc_t|| / ||dL/dh_{T-1}||, against the same start as
  ``h_left`` (the gradient the loss puts on h_{T-1}; dL/dc_{T-1} itself is smaller when tanh(c) saturates).

Shapes: one sequence, unbatched; T steps, H units, D inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnviz.engine.analysis import norm
from rnnviz.engine.cells import GATE_NAMES, Cell, Grads, Trace

LOSSES = {
    "unit": "one unit's value, L = h_T[u]",
    "target": "squared distance from a target, L = ½‖h_T − 0.5‖²",
    "all": "all units equally, L = Σ h_T / √H (the Gradient flow page's loss)",
}
TARGET = 0.5  # the "target" loss's goal for every unit
KEEP_GATE = {"lstm": "forget", "gru": "update"}  # the gate named in the words; the LSTMs' factor is c_factor
LSTMS = ("lstm", "lstm1997")  # the kinds with a cell state


@dataclass(frozen=True)
class BackwardRecord:
    """One backward pass, per step (every array (T, H) unless said otherwise; see the module docstring)."""

    kind: str
    loss: str
    unit: int  # the loss's unit for loss "unit"; the page's chosen unit otherwise
    nonlinearity: str
    trace: Trace
    grads: Grads
    weight_hh: np.ndarray  # (G*H, H), PyTorch's layout: what d_h_prev's parts are multiplied by
    bias_hn: np.ndarray | None  # (H,): the GRU's b_hn, for W_hn h_{t-1} + b_hn in its equations
    d_loss: np.ndarray  # dL/dh_t arriving from the loss itself: zero except at the last step
    d_h: np.ndarray
    d_c: np.ndarray | None
    d_gates: dict[str, np.ndarray]
    d_h_prev: np.ndarray
    d_h_parts: dict[str, np.ndarray]
    d_c_prev: np.ndarray | None
    c_factor: np.ndarray | None  # (T, H): dc_t/dc_{t-1}, the engine's (LSTMs only)
    h_left: np.ndarray  # (T,)
    c_left: np.ndarray | None  # (T,)
    keep_product: np.ndarray | None

    @property
    def steps(self) -> int:
        return self.d_h.shape[0]

    def h_prev(self) -> np.ndarray:
        """h_{t-1} for every step, (T, H)."""
        return np.vstack([self.trace.h0[None], self.trace.h[:-1]])

    def c_prev(self) -> np.ndarray | None:
        if self.trace.c is None:
            return None
        return np.vstack([self.trace.c0[None], self.trace.c[:-1]])

    def arrived(self, t: int) -> tuple[np.ndarray, np.ndarray | None]:
        """What reaches step t from step t+1 (and from the loss): d_h arriving at h_t is all of d_h_t; the
        cell state's share from c_{t+1} is d_c_{t+1} * dc_{t+1}/dc_t (zero at the last step)."""
        if self.d_c_prev is None:
            return self.d_h[t], None
        return self.d_h[t], self.d_c_prev[t + 1] if t + 1 < self.steps else np.zeros_like(self.d_h[t])

    def at(self, t: int, unit: int) -> dict[str, float]:
        """Everything the backward equations of step t use, for one unit, as floats: the forward values
        (h, h_prev, c, c_prev, tanh_c and the gates) and the gradients (``d_`` + name)."""
        T, H = self.d_h.shape
        if not (0 <= t < T and 0 <= unit < H):
            raise ValueError(f"step must be in 0..{T - 1} and unit in 0..{H - 1}, got step {t}, unit {unit}")
        tr = self.trace
        v = {"h": tr.h[t, unit], "h_prev": self.h_prev()[t, unit]}
        v.update({name: g[t, unit] for name, g in tr.gates.items()})
        v.update(
            d_h=self.d_h[t, unit],
            d_loss=self.d_loss[t, unit],
            d_h_next=self.d_h[t, unit] - self.d_loss[t, unit],
            d_h_prev=self.d_h_prev[t, unit],
            h_left=self.h_left[t],
        )
        v.update({"d_" + name: g[t, unit] for name, g in self.d_gates.items()})
        v.update({"part_" + name: g[t, unit] for name, g in self.d_h_parts.items()})
        if self.d_c is not None:
            _, d_c_next = self.arrived(t)
            v.update(
                c=tr.c[t, unit],
                c_prev=self.c_prev()[t, unit],
                tanh_c=np.tanh(tr.c[t, unit]),
                d_c=self.d_c[t, unit],
                d_c_next=d_c_next[unit],  # = d_c_after * forget_next
                d_c_after=self.d_c[t + 1, unit] if t + 1 < T else 0.0,
                forget_next=self.c_factor[t + 1, unit] if t + 1 < T else 0.0,  # f_{t+1}; 1 in the 1997 cell
                c_factor=self.c_factor[t, unit],
                d_c_prev=self.d_c_prev[t, unit],
                c_left=self.c_left[t],
            )
        if tr.kind == "gru":  # W_hn h_{t-1} + b_hn, what the reset gate multiplies
            v["hn"] = float(self.weight_hh[2 * H + unit] @ self.h_prev()[t]) + self.bias_hn[unit]
        if self.keep_product is not None:
            v["keep_product"] = self.keep_product[t, unit]
        return {k: float(x) for k, x in v.items()}


def loss_gradient(loss: str, h_last: np.ndarray, unit: int = 0) -> np.ndarray:
    """dL/dh_{T-1} for each loss of ``LOSSES``: e_unit, h_{T-1} - TARGET, or 1/sqrt(H) everywhere."""
    H = h_last.shape[-1]
    if loss == "unit":
        if not 0 <= unit < H:
            raise ValueError(f"unit must be in 0..{H - 1}, got {unit}")
        return np.eye(H)[unit]
    if loss == "target":
        return h_last - TARGET
    if loss == "all":
        return np.full(H, 1.0 / np.sqrt(H))
    raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")


def backward_pass(cell: Cell, x, loss: str = "unit", unit: int = 0, h0=None, c0=None) -> BackwardRecord:
    """Run ``cell`` over one sequence ``x`` (T, D), put the loss ``loss`` at the last step and take the
    engine's backward pass apart step by step (see the module docstring)."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"the backward view takes one sequence of shape (T, D), got {x.shape}")
    trace = cell.forward(x, h0, c0)
    T, H = trace.h.shape
    d_loss = np.zeros_like(trace.h)
    with np.errstate(over="ignore", invalid="ignore"):
        d_loss[-1] = loss_gradient(loss, trace.h[-1], unit)
        grads = cell.backward(trace, d_loss)
    names = GATE_NAMES[cell.kind] or ("a",)
    d_a = grads.gates  # (T, G*H), PyTorch's gate order
    d_gates = {name: d_a[:, k * H : (k + 1) * H] for k, name in enumerate(names)}
    w_hh = np.asarray(cell.params["weight_hh"], dtype=d_a.dtype)
    # what each weight block carries back to h_{t-1}: W_h<gate>^T times the gradient at that block's output
    d_hw = dict(d_gates)
    if cell.kind == "gru":
        d_hw["new"] = d_gates["new"] * trace.gates["reset"]  # r_t multiplies W_hn h_{t-1} + b_hn
    with np.errstate(over="ignore", invalid="ignore"):
        parts = {name: d_hw[name] @ w_hh[k * H : (k + 1) * H] for k, name in enumerate(names)}
        if cell.kind == "gru":  # h_t = ... + z_t * h_{t-1}: a path that passes no weight
            parts = {"direct": grads.h * trace.gates["update"], **parts}
        d_h_prev = np.vstack([grads.h0[None], grads.h[:-1] - d_loss[:-1]])
        c_factor = cell_state_factor(cell, trace) if grads.c is not None else None
        d_c_prev = None if grads.c is None else grads.c * c_factor
        h_norm = norm(grads.h)
        h_left = h_norm / h_norm[-1]
        c_left = None
        if grads.c is not None:
            c_norm = norm(grads.c)
            c_left = c_norm / h_norm[-1]
    keep_product = None
    if cell.kind in KEEP_GATE or c_factor is not None:
        keep = c_factor if c_factor is not None else trace.gates[KEEP_GATE[cell.kind]]
        later = np.concatenate([keep[1:], np.ones((1, H), keep.dtype)])  # keep_{t+1}, 1 after the last step
        keep_product = np.cumprod(later[::-1], axis=0)[::-1]
    return BackwardRecord(
        kind=cell.kind,
        loss=loss,
        unit=int(unit),
        nonlinearity=getattr(cell, "nonlinearity", "tanh"),
        trace=trace,
        grads=grads,
        weight_hh=w_hh,
        bias_hn=np.asarray(cell.params["bias_hh"][2 * H :], dtype=float) if cell.kind == "gru" else None,
        d_loss=d_loss,
        d_h=grads.h,
        d_c=grads.c,
        d_gates=d_gates,
        d_h_prev=d_h_prev,
        d_h_parts=parts,
        d_c_prev=d_c_prev,
        c_factor=c_factor,
        h_left=h_left,
        c_left=c_left,
        keep_product=keep_product,
    )


def cell_state_factor(cell: Cell, trace: Trace) -> np.ndarray:
    """dc_t/dc_{t-1} for every step and unit, (T, H), with h_{t-1} (and x_t) held fixed: the factor the cell-state
    path multiplies the gradient by at step t. Measured by the engine: every step is run again as a batch of
    one-step sequences from its own (h_{t-1}, c_{t-1}), and the engine's backward is given a unit gradient on c_t
    and nothing on h_t; what it hands back to c_{t-1} is the factor (c_t depends on c_{t-1} unit by unit, so the
    diagonal is all of it). Today's LSTM gives f_t; the 1997 LSTM gives 1, step after step."""
    T, H = trace.h.shape
    h_prev = np.vstack([trace.h0[None], trace.h[:-1]])  # (T, H): step t's h_{t-1}, one batch row per step
    c_prev = np.vstack([trace.c0[None], trace.c[:-1]])
    with np.errstate(over="ignore", invalid="ignore"):
        one_step = cell.forward(np.asarray(trace.x)[None], h_prev, c_prev)  # (1, T, D): T sequences of one step
        grads = cell.backward(one_step, np.zeros_like(one_step.h), np.ones_like(one_step.c))
    return grads.c0  # (T, H)
