"""The model every trainer trains: a cell with a linear readout, and its one loss (:func:`score`).

The readout reads the hidden state at the last step (of each sequence, when a batch holds sequences of
their own lengths: ``Dataset.lengths``), or at every step for targets at every step (``Dataset.every_step``).
The loss is the mean squared error for regression and softmax cross-entropy for classes; ``score`` also
gives the task metric (MSE or accuracy), the papers' per-sequence criterion when the data carry a tolerance,
and the gradients of the loss for every parameter. The Training lab, the lessons and the papers' runner all
score through it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnviz.engine import tasks
from rnnviz.engine.cells import Cell
from rnnviz.engine.weights import init_cell


@dataclass(frozen=True)
class Model:
    cell: Cell
    readout_weight: np.ndarray  # (O, H)
    readout_bias: np.ndarray  # (O,)

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {**self.cell.params, "readout.weight": self.readout_weight, "readout.bias": self.readout_bias}

    @property
    def num_params(self) -> int:
        return int(sum(v.size for v in self.params.values()))

    def with_params(self, params: dict[str, np.ndarray]) -> Model:
        """A model with other parameters; ValueError (from the cell's checks, or here for the readout) when
        any of them is not finite."""
        for name in ("readout.weight", "readout.bias"):
            if not np.all(np.isfinite(params[name])):
                raise ValueError(f"{name} contains NaN or infinite values")
        cell_params = {k: v for k, v in params.items() if not k.startswith("readout.")}
        return Model(self.cell.with_params(cell_params), params["readout.weight"], params["readout.bias"])

    def readout(self, h: np.ndarray) -> np.ndarray:
        """The linear readout of hidden states ``(..., H)``: ``(..., O)``."""
        return h @ self.readout_weight.T + self.readout_bias

    def outputs(self, x: np.ndarray):
        """Readout of the last hidden state: ``(N, O)``, and the trace it came from."""
        trace = self.cell.forward(x)
        return self.readout(trace.h[-1]), trace


def init_model(config, spec: tasks.TaskSpec) -> Model:
    """A cell as PyTorch initialises it (the LSTM's forget gate and the GRU's update gate biased by
    ``config.forget_bias``; the RNN has neither) and a readout as ``nn.Linear`` initialises it. ``config`` is a
    :class:`~rnnviz.engine.training.TrainConfig`: its cell, hidden_size, seed, dtype and forget_bias are read."""
    dtype = np.dtype(config.dtype)
    cell = init_cell(
        config.cell,
        spec.input_size,
        config.hidden_size,
        seed=config.seed,
        dtype=dtype,
        forget_bias=config.forget_bias if config.cell in ("lstm", "gru") else None,
    )
    rng = np.random.default_rng([config.seed, 2])
    k = 1 / np.sqrt(config.hidden_size)  # PyTorch's nn.Linear initialisation
    weight = rng.uniform(-k, k, (spec.n_outputs, config.hidden_size)).astype(dtype)
    bias = rng.uniform(-k, k, spec.n_outputs).astype(dtype)
    return Model(cell, weight, bias)


@dataclass(frozen=True)
class Score:
    """What :func:`score` measures on one batch."""

    loss: float  # mean over the readouts: MSE, or softmax cross-entropy
    metric: float  # the task metric: MSE for regression, accuracy for classes
    right: np.ndarray | None  # (N,) bool: the papers' criterion per sequence; None when the data carry no tolerance
    grads: dict[str, np.ndarray] | None  # d loss / d every parameter, when asked for


def _loss(out: np.ndarray, data: tasks.Dataset):
    """(loss, metric, right, d loss / d out) for readouts ``out``: ``(N, O)``, or ``(T, N, O)`` at every step."""
    M = out[..., 0].size  # readouts averaged over: N, or T * N
    if data.regression:
        err = out[..., 0] - data.y
        loss = float(np.mean(err**2))
        metric, d_out = loss, ((2.0 / M) * err[..., None]).astype(out.dtype)
        wrong_by = np.abs(err)[..., None]  # (..., N, 1)
    else:
        z = out - out.max(axis=-1, keepdims=True)
        log_p = z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))
        loss = float(-np.mean(np.take_along_axis(log_p, data.y[..., None], axis=-1)))
        metric = float(np.mean(np.argmax(out, axis=-1) == data.y))
        # The probabilities against the one-hot target: the gradient of the cross-entropy, and for the
        # papers' criterion the error of each output (like the paper's logistic units against local targets).
        err = np.exp(log_p) - np.eye(data.n_outputs, dtype=out.dtype)[data.y]
        d_out = (err / M).astype(out.dtype)
        wrong_by = np.abs(err)
    right = None
    if data.tolerance is not None:
        below = wrong_by < data.tolerance
        right = np.all(below, axis=(0, 2)) if data.every_step else np.all(below, axis=1)
    return loss, metric, right, d_out


def score(model: Model, data: tasks.Dataset, grads: bool = False) -> Score:
    """The loss, the task metric and the papers' criterion on ``data``, and with ``grads`` the gradients of
    the loss for every parameter (backpropagation through time from each readout)."""
    trace = model.cell.forward(data.x)  # trace.h: (T, N, H)
    N = len(data)
    if data.every_step:
        h = trace.h  # (T, N, H): a readout at every step
    elif data.lengths is None:
        h = trace.h[-1]  # (N, H)
    else:
        last = (data.lengths - 1, np.arange(N))
        h = trace.h[last]  # (N, H): each sequence at its own last step
    out = model.readout(h)  # (N, O) or (T, N, O)
    loss, metric, right, d_out = _loss(out, data)
    if not grads:
        return Score(loss, metric, right, None)
    if data.every_step:
        d_h = d_out @ model.readout_weight  # (T, N, H)
        d_w = np.einsum("tno,tnh->oh", d_out, h)
        d_b = d_out.sum(axis=(0, 1))
    else:
        d_h = np.zeros_like(trace.h)  # the loss reads one step of each sequence
        if data.lengths is None:
            d_h[-1] = d_out @ model.readout_weight
        else:
            d_h[last] = d_out @ model.readout_weight
        d_w = d_out.T @ h
        d_b = d_out.sum(axis=0)
    g = model.cell.backward(trace, d_h).params
    g["readout.weight"] = d_w
    g["readout.bias"] = d_b
    return Score(loss, metric, right, g)


EVAL_CHUNK = 100  # sequences per forward pass when evaluating: bounds a worker's memory (see evaluate)


def evaluate(model: Model, data: tasks.Dataset, chunk: int = EVAL_CHUNK) -> tuple[float, float]:
    """(loss, metric) on a whole data set, without gradients, ``chunk`` sequences at a time: the forward pass
    keeps every step of every sequence for a backward pass that evaluation never makes, so 500 test sequences
    of 200 steps at 64 units held about 340 MB at once; a chunk of 100 holds a fifth. Both are means over the
    readouts, so the chunks' means are weighted by their readouts (the same number up to rounding)."""
    if len(data) <= chunk:
        s = score(model, data)
        return s.loss, s.metric
    loss = metric = weight = 0.0
    for start in range(0, len(data), chunk):
        part = data.take(np.arange(start, min(start + chunk, len(data))))
        s = score(model, part)
        readouts = part.x.shape[0] * len(part) if part.every_step else len(part)
        loss, metric, weight = loss + s.loss * readouts, metric + s.metric * readouts, weight + readouts
    return loss / weight, metric / weight


def wrong(model: Model, data: tasks.Dataset, chunk: int = 500) -> int:
    """How many sequences of ``data`` the model gets wrong by the papers' criterion (``data.tolerance``)."""
    if data.tolerance is None:
        raise ValueError("these data carry no criterion (tolerance)")
    total = 0
    for start in range(0, len(data), chunk):
        right = score(model, data.take(np.arange(start, min(start + chunk, len(data))))).right
        total += int(np.sum(~right))
    return total
