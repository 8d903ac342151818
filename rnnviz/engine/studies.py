"""Small frozen configs that pages build from their widgets, and the engine runs they describe.

A config holds only scalars and short strings, so the Streamlit cache can key on it and a URL can
carry it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from rnnviz.engine.cells import KINDS, Cell
from rnnviz.engine.inputs import make_sequence, parse_sequence
from rnnviz.engine.weights import init_cell


@dataclass(frozen=True)
class CellConfig:
    """A freshly initialised cell and the sequence fed to it."""

    kind: str = "lstm"
    hidden_size: int = 8
    length: int = 60
    preset: str = "pulse"
    custom: str = ""
    seed: int = 0
    forget_bias: float = 3.0
    spectral_radius: float = 1.0
    nonlinearity: str = "tanh"
    dtype: str = "float64"  # "float32" computes as most training runs do, and overflows near 3e38

    def make_cell(self, input_size: int = 1) -> Cell:
        return init_cell(
            self.kind,
            input_size,
            self.hidden_size,
            seed=self.seed,
            forget_bias=None if self.kind in ("rnn", "lstm1997") else self.forget_bias,  # 1997: no forget gate
            spectral_radius=self.spectral_radius,
            nonlinearity=self.nonlinearity if self.kind == "rnn" else "tanh",  # the gated cells have no choice
            dtype=self.dtype,
        )

    def make_input(self, input_size: int = 1) -> np.ndarray:
        if self.preset == "custom":
            x = parse_sequence(self.custom, input_size)
        else:
            x = make_sequence(self.preset, self.length, self.seed, input_size)
        return x.astype(self.dtype)


@dataclass(frozen=True)
class Run:
    """A cell's forward pass, as plain arrays (unbatched, (T, H)) that cache and pickle cheaply."""

    kind: str
    nonlinearity: str
    state_dict: dict
    x: np.ndarray
    h: np.ndarray
    c: np.ndarray | None
    gates: dict
    overflowed: bool


def run(cell: Cell, x: np.ndarray) -> Run:
    trace = cell.forward(x)
    return Run(
        kind=cell.kind,
        nonlinearity=getattr(cell, "nonlinearity", "tanh"),
        state_dict=cell.state_dict(),
        x=trace.x,
        h=trace.h,
        c=trace.c,
        gates=dict(trace.gates),
        overflowed=trace.overflowed,
    )


def pulse_memory(cell: Cell, length: int) -> np.ndarray:
    """How much of a pulse at step 0 is still in the hidden state at each later step:
    ||h_t(pulse) - h_t(no pulse)||, both runs otherwise identical (computed, not modelled)."""
    pulse = make_sequence("pulse", length, input_size=cell.input_size)
    silence = np.zeros_like(pulse)
    return np.linalg.norm(cell.forward(pulse).h - cell.forward(silence).h, axis=-1)


@dataclass(frozen=True)
class ModelGradients:
    """One model's gradient measurements (lag-first arrays: entry k is k steps before the loss)."""

    kind: str
    h_norm: np.ndarray
    c_norm: np.ndarray | None
    x_norm: np.ndarray
    regime: object  # analysis.Regime of the hidden-state gradient
    c_regime: object | None
    theory: np.ndarray  # RNN: the singular-value bound; LSTM: the forget-gate path; GRU: None
    state_overflow_step: int | None  # first step whose forward state was not finite (None: all finite)
    loss_step: int  # where the loss sits: the last step, or the last finite one if the state overflowed
    c_factor: np.ndarray | None = None  # LSTMs: dc_t/dc_{t-1} per step and unit, (T, H) in time order, the engine's


@dataclass(frozen=True)
class GradientStudy:
    models: dict  # kind -> ModelGradients
    eigenvalues: np.ndarray  # of the RNN's W_hh
    sigma_max: float  # its largest singular value (Pascanu et al.'s bound uses this one)
    rho: float = 0.0  # its spectral radius, max |eigenvalue| (what the config's spectral_radius sets); <= sigma_max


def gradient_study(config: CellConfig, kinds=KINDS) -> GradientStudy:
    """Everything the gradient page shows, for each model fed the same input: a loss at the last step,
    backpropagated by the engine. ``kinds`` may include "lstm1997" (engine.cells.ALL_KINDS): its cell-state
    factor per step (``c_factor``, measured by engine.backward.cell_state_factor) is 1, the carousel."""
    from rnnviz.engine import analysis
    from rnnviz.engine.backward import cell_state_factor

    x = config.make_input()
    models = {}
    eig, sigma = np.zeros(0, complex), 0.0
    for kind in kinds:
        cell = replace(config, kind=kind).make_cell()
        profile = analysis.gradient_vs_lag(cell, x)
        overflow_step = None
        if profile.trace.overflowed:  # a loss on an infinite state has no gradient: end before it
            finite = np.all(np.isfinite(profile.trace.h.reshape(x.shape[0], -1)), axis=1)
            overflow_step = int(np.argmin(finite))
            if overflow_step >= 2:
                profile = analysis.gradient_vs_lag(cell, x[:overflow_step])
        if kind == "rnn":
            theory = analysis.rnn_bound(cell, profile.h_norm.shape[0], start=float(profile.h_norm[0]))
            eig = analysis.eigenvalues(cell)
            sigma = float(np.linalg.norm(cell.params["weight_hh"], ord=2))
        elif kind == "lstm":
            theory = analysis.forget_gate_path(profile)
        else:
            theory = None
        models[kind] = ModelGradients(
            kind=kind,
            h_norm=profile.h_norm,
            c_norm=profile.c_norm,
            x_norm=profile.x_norm,
            regime=analysis.classify(profile.h_norm),
            c_regime=None if profile.c_norm is None else analysis.classify(profile.c_norm),
            theory=theory,
            state_overflow_step=overflow_step,
            loss_step=profile.h_norm.shape[0] - 1,
            c_factor=None if profile.c_norm is None else cell_state_factor(cell, profile.trace),
        )
    rho = float(np.max(np.abs(eig))) if eig.size else 0.0
    return GradientStudy(models=models, eigenvalues=eig, sigma_max=sigma, rho=rho)


CLIP_LENGTH = 60  # the longest start of the input the clipping demo trains on
CLIP_FIRST_NORM = 3e3  # ... shortened until the first gradient is at most this large (see clipping_study)


@dataclass(frozen=True)
class ClipStudy:
    """training.ClipRun's curves, and the settings the demo chose: it trained on ``length`` steps of the
    input with SGD at learning rate ``lr``. ``first_norm`` is the gradient norm of the first update."""

    norm_plain: np.ndarray
    loss_plain: np.ndarray
    norm_clipped: np.ndarray
    loss_clipped: np.ndarray
    threshold: float
    length: int
    lr: float
    first_norm: float


def _first_gradient_norm(cell: Cell, x: np.ndarray, target: np.ndarray) -> float:
    from rnnviz.engine import analysis

    trace = cell.forward(x)
    d_h = np.zeros_like(trace.h)
    with np.errstate(over="ignore", invalid="ignore"):
        d_h[-1] = trace.h[-1] - target
        return analysis.global_norm(cell.backward(trace, d_h).params)


def clip_length(cell: Cell, x: np.ndarray, target: np.ndarray, max_norm: float = CLIP_FIRST_NORM) -> int:
    """The longest start of ``x`` (at most CLIP_LENGTH steps, at least 2) whose first gradient is at most
    ``max_norm``, found by bisection (an exploding RNN's gradient grows with every step of input). Past
    this size one unclipped SGD step throws the weights so far that the loss overflows at once, and there
    is nothing left to compare."""
    lo, hi = 2, min(CLIP_LENGTH, x.shape[0])
    if _first_gradient_norm(cell, x[:hi], target) <= max_norm:
        return hi
    while hi - lo > 1:  # invariant: lo is short enough (or 2), hi is too long
        mid = (lo + hi) // 2
        if _first_gradient_norm(cell, x[:mid], target) <= max_norm:
            lo = mid
        else:
            hi = mid
    return lo


def clipping_study(config: CellConfig, threshold: float, steps: int = 25, lr: float = 0.03) -> ClipStudy:
    """The plain RNN of ``config`` (in float64) trained by SGD to reach a fixed target at the last step,
    once without and once with gradient-norm clipping (training.clipping_run), on the first
    ``clip_length`` steps of its input: as many as keep the two runs comparable."""
    from rnnviz.engine import training

    short = replace(config, kind="rnn", dtype="float64")
    cell = short.make_cell()
    target = np.full(cell.hidden_size, 0.5)
    x = short.make_input()
    length = clip_length(cell, x, target)
    x = x[:length]
    run = training.clipping_run(cell, x, target, steps=steps, lr=lr, threshold=threshold)
    return ClipStudy(
        norm_plain=run.norm_plain,
        loss_plain=run.loss_plain,
        norm_clipped=run.norm_clipped,
        loss_clipped=run.loss_clipped,
        threshold=run.threshold,
        length=length,
        lr=lr,
        first_norm=_first_gradient_norm(cell, x, target),
    )
