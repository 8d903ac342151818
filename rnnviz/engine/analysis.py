"""Measurements the pages plot, all taken from the engine's real forward and backward passes.

Theory curves (the RNN bound, the product of forget gates) are here too, each named as theory, so a
page can draw them beside the measurement they bound or approximate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnviz.engine.cells import Cell, Grads, Trace

VANISHED = 1e-3  # a gradient below this fraction of its start counts as gone (the "memory horizon")


@dataclass(frozen=True)
class LagProfile:
    """How much of a loss at the last step reaches each earlier step.

    Index k is the lag: entry k belongs to step T-1-k. ``h_norm[k]`` = ||dL/dh_{T-1-k}||, ``h_unit[k, j]``
    = |dL/dh_{T-1-k, j}|; ``c_norm`` and ``c_unit`` likewise for the LSTM's cell state (else None).
    ``x_norm[k]`` = ||dL/dx_{T-1-k}||: how much the input at that step can change the loss.
    For a batch, norms are averaged over the sequences. ``overflow_lag`` is the first lag whose
    gradient is no longer finite (None when all are finite).
    """

    kind: str
    h_norm: np.ndarray
    h_unit: np.ndarray
    c_norm: np.ndarray | None
    c_unit: np.ndarray | None
    x_norm: np.ndarray
    overflow_lag: int | None
    trace: Trace
    grads: Grads

    @property
    def lags(self) -> np.ndarray:
        return np.arange(self.h_norm.shape[0])


def norm(a: np.ndarray, axis=-1) -> np.ndarray:
    """Euclidean norm that stays finite as long as every element is: scaled by the largest magnitude
    first, because squaring overflows float64 already near 1e154."""
    a = np.asarray(a)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        top = np.max(np.abs(a), axis=axis, keepdims=True)
        safe_top = np.where((top > 0) & np.isfinite(top), top, 1.0)
        scaled = np.sqrt(np.sum(np.square(a / safe_top), axis=axis, keepdims=True)) * safe_top
        result = np.where(np.isfinite(top), scaled, np.where(np.isnan(top), np.nan, np.inf))
    return np.squeeze(result, axis=axis)


def _batched(a: np.ndarray, batched: bool) -> np.ndarray:
    return a if batched else a[:, None]


def last_step_gradient(cell: Cell, trace: Trace, direction: np.ndarray | None = None):
    """Backward pass for the loss L = u . h_{T-1}, u a unit vector (default: all units equally)."""
    H = cell.hidden_size
    u = np.full(H, 1.0 / np.sqrt(H)) if direction is None else np.asarray(direction, dtype=float)
    if u.shape != (H,):
        raise ValueError(f"direction must have shape ({H},), got {u.shape}")
    d_h = np.zeros_like(trace.h)
    d_h[-1] = u
    return cell.backward(trace, d_h, params=False)  # the states' and the input's gradients are what is read


def gradient_vs_lag(cell: Cell, x, h0=None, c0=None, direction=None) -> LagProfile:
    """||dL/dh_{T-1-k}|| (and ||dL/dc_{T-1-k}||) for k = 0 .. T-1, for a loss at the last step."""
    trace = cell.forward(x, h0, c0)
    grads = last_step_gradient(cell, trace, direction)
    batched = trace.batched
    with np.errstate(over="ignore", invalid="ignore"):
        h_unit = np.abs(_batched(grads.h, batched))[::-1]  # (T, B, H), lag-first
        h_norm = norm(h_unit).mean(axis=1)
        x_norm = norm(_batched(grads.x, batched)).mean(axis=1)[::-1]
        c_unit = c_norm = None
        if grads.c is not None:
            c_unit = np.abs(_batched(grads.c, batched))[::-1]
            c_norm = norm(c_unit).mean(axis=1)
            c_unit = c_unit.mean(axis=1)
    bad = ~np.isfinite(h_norm) | ~np.isfinite(x_norm)
    if c_norm is not None:
        bad |= ~np.isfinite(c_norm)
    overflow_lag = int(np.argmax(bad)) if bad.any() else None
    return LagProfile(
        kind=cell.kind,
        h_norm=h_norm,
        h_unit=h_unit.mean(axis=1),
        c_norm=c_norm,
        c_unit=c_unit,
        x_norm=x_norm,
        overflow_lag=overflow_lag,
        trace=trace,
        grads=grads,
    )


def jacobian_norms(cell: Cell, x, h0=None, c0=None) -> np.ndarray:
    """Spectral norm of the Jacobian dh_{T-1}/dh_t for t = 0 .. T-1 (c_t held fixed for the LSTM).

    Runs one backward pass with the H unit vectors as a batch, which gives every row of every Jacobian.
    Infinite where the backward pass overflowed.
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"jacobian_norms takes one sequence of shape (T, D), got {x.shape}")
    H = cell.hidden_size
    x_rep = np.repeat(x[:, None, :], H, axis=1)  # (T, H, D): one copy per output unit
    h0_rep = None if h0 is None else np.repeat(np.asarray(h0)[None], H, axis=0)
    c0_rep = None if c0 is None else np.repeat(np.asarray(c0)[None], H, axis=0)
    trace = cell.forward(x_rep, h0_rep, c0_rep)
    d_h = np.zeros_like(trace.h)
    d_h[-1] = np.eye(H)
    grads = cell.backward(trace, d_h)
    J = grads.h  # (T, H, H): J[t, j, :] = d h_{T-1, j} / d h_t
    finite = np.all(np.isfinite(J), axis=(1, 2))
    norms = np.full(J.shape[0], np.inf)
    if finite.any():
        norms[finite] = np.linalg.norm(J[finite], ord=2, axis=(1, 2))
    return norms


def gate_saturation(trace: Trace) -> dict[str, float]:
    """Fraction of gate values that are saturated: sigmoid gates below 0.1 or above 0.9, tanh
    candidates ("cell", "new") with |value| above 0.9."""
    out = {}
    for name, values in trace.gates.items():
        if name in ("cell", "new"):
            out[name] = float(np.mean(np.abs(values) > 0.9))
        else:
            out[name] = float(np.mean((values < 0.1) | (values > 0.9)))
    return out


def memory_half_life(trace: Trace) -> np.ndarray:
    """Each unit's memory half-life in steps, from its "keep" gate: the LSTM's forget gate f, or the GRU's
    update gate z (h_t = (1 - z) n + z h_{t-1}). With the geometric mean keep value m over the sequence,
    what is stored decays as m^k, so the half-life is ln(1/2) / ln(m). Infinite when m is 1."""
    gate = {"lstm": "forget", "gru": "update"}.get(trace.kind)
    if gate is None:
        raise ValueError("memory half-life needs a gated cell (lstm or gru)")
    keep = trace.gates[gate]
    keep = keep.reshape(-1, keep.shape[-1])  # (T*B, H)
    with np.errstate(divide="ignore"):
        mean_log = np.mean(np.log(np.clip(keep, 1e-300, 1.0)), axis=0)
        return np.where(mean_log < 0, np.log(0.5) / np.where(mean_log < 0, mean_log, -1.0), np.inf)


KEPT = 0.1  # a gradient still at least this fraction of its start after the whole sequence counts as kept


@dataclass(frozen=True)
class Regime:
    """``label`` is "vanishing", "stable" or "exploding"; ``factor`` the fitted change per step of the
    gradient norm; ``horizon`` the first lag where it falls below ``VANISHED`` of its start (None: never
    within the sequence); ``overflow_lag`` as in LagProfile. ``left`` is the measured ratio of the last
    finite gradient to the first, ``steps`` how many steps back that last one lies. (The Gradient flow page's
    words are judged over the whole curve: rnnviz.figures.gradient_flow.regime_card.)"""

    label: str
    factor: float
    horizon: int | None
    overflow_lag: int | None
    left: float = 1.0
    steps: int = 0


def classify(norms: np.ndarray, tolerance: float = 0.01) -> Regime:
    """Fit log ||g_k|| = a + k log(factor) by least squares over the finite, non-zero lags."""
    norms = np.asarray(norms, dtype=float)
    bad = ~np.isfinite(norms)
    overflow_lag = int(np.argmax(bad)) if bad.any() else None
    usable = norms[:overflow_lag] if overflow_lag is not None else norms
    start = usable[0] if usable.size else np.inf
    horizon = None
    if usable.size and start > 0:
        below = np.nonzero(usable < VANISHED * start)[0]
        horizon = int(below[0]) if below.size else None
    k = np.nonzero(usable > 0)[0]
    factor = float(np.exp(np.polyfit(k, np.log(usable[k]), 1)[0])) if k.size >= 2 else (0.0 if horizon else 1.0)
    if overflow_lag is not None or factor > 1 + tolerance:
        label = "exploding"
    elif factor < 1 - tolerance or horizon is not None:
        label = "vanishing"
    else:
        label = "stable"
    left = float(usable[-1] / start) if usable.size and 0 < start < np.inf else 0.0
    return Regime(
        label=label,
        factor=factor,
        horizon=horizon,
        overflow_lag=overflow_lag,
        left=left,
        steps=max(usable.size - 1, 0),
    )


def rnn_bound(cell: Cell, length: int, start: float, gamma: float = 1.0) -> np.ndarray:
    """Theory (Pascanu et al. 2013): ||dL/dh_{T-1-k}|| <= start * (gamma * sigma_max(W_hh))^k, where gamma
    bounds the activation's derivative (1 for tanh and relu). Overflows to inf rather than warning."""
    if cell.kind != "rnn":
        raise ValueError("the singular-value bound is for the plain RNN")
    sigma_max = float(np.linalg.norm(cell.params["weight_hh"], ord=2))
    with np.errstate(over="ignore", under="ignore"):
        return start * (gamma * sigma_max) ** np.arange(length, dtype=float)


def forget_gate_path(profile: LagProfile) -> np.ndarray:
    """Theory: the gradient along the LSTM's cell-state path alone. Backward through c_t = f_t c_{t-1} + ...
    multiplies by f_t at each step, so dL/dc_{T-1-k} ~ dL/dc_{T-1} * prod_{s=T-k}^{T-1} f_s (ignoring
    the paths through the gates and h). Returns its norm against k, from the trace's forget gates."""
    if profile.kind != "lstm":
        raise ValueError("the forget-gate path is for the LSTM")
    trace = profile.trace
    f = _batched(trace.gates["forget"], trace.batched)[::-1]  # lag-first (T, B, H)
    g0 = _batched(profile.grads.c, trace.batched)[-1]  # (B, H) measured dL/dc_{T-1}
    products = np.concatenate([np.ones_like(f[:1]), np.cumprod(f[:-1], axis=0)])  # k=0 has no factor
    return norm(products * g0[None]).mean(axis=1)


def eigenvalues(cell: Cell, gate: int = 0) -> np.ndarray:
    """Eigenvalues of one H x H block of W_hh (the whole matrix for the RNN)."""
    H = cell.hidden_size
    return np.linalg.eigvals(cell.params["weight_hh"][gate * H : (gate + 1) * H])


def clip_by_norm(grads: dict[str, np.ndarray], max_norm: float) -> tuple[dict[str, np.ndarray], float]:
    """Scale all gradients together so that their joint norm is at most ``max_norm``; returns the new
    gradients (copies) and the norm before clipping. Non-finite gradients are zeroed (the step skipped)."""
    if not max_norm > 0:
        raise ValueError(f"clipping threshold must be positive, got {max_norm}")
    total = global_norm(grads)
    if not np.isfinite(total):
        return {k: np.zeros_like(g) for k, g in grads.items()}, total
    scale = min(1.0, max_norm / total) if total > 0 else 1.0
    return {k: g * scale for k, g in grads.items()}, total


def global_norm(grads: dict[str, np.ndarray]) -> float:
    """The norm of all gradients taken together as one vector."""
    return float(norm(np.concatenate([np.ravel(g) for g in grads.values()]), axis=0))
