"""Mini-batch training through the engine: the config, the optimiser and the one training loop.

:class:`Trainer` is the loop: draw a batch, score it with gradients (:func:`rnnviz.engine.model.score`, the
one readout and loss), take an Adam or SGD step (clipping happens in the optimiser step, never inside the
gradient), skip a non-finite update, evaluate every ``eval_every`` updates and after the last. ``train_many``
drives several trainers together on the same data, one update each in turn, reporting progress after every
round and stopping when asked; the page, ``train`` (the CLI), ``train_steps`` and the lag sweep all run on
it. The papers' runner (:mod:`rnnviz.engine.paper_runs`) and the lessons' timing drive the same Trainer. A run
that has not spent its budget gets no verdict.

``TrainConfig``'s fields say how each is named outside (a command-line flag, a Training lab URL key):
``config_from_settings`` and ``settings_of`` translate, so the mapping is written once.

(About 550 lines, over the house's 500: the config, the optimiser, the loop and the runs built on it read
together; the model and its loss are already in :mod:`rnnviz.engine.model`, the papers' runner in
:mod:`rnnviz.engine.paper_runs`.)
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import Field, asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np

from rnnviz.engine import analysis, tasks
from rnnviz.engine.cells import ALL_KINDS, KINDS, Cell
from rnnviz.engine.model import Model, evaluate, init_model, score

OPTIMIZERS = ("adam", "sgd")
DTYPES = ("float32", "float64")


def _outside(default, flag: str | None = None, url: bool = False, choices=None, off=None, help: str | None = None):
    """A TrainConfig field and its names outside: ``flag`` on the command line (train and sweep), the field's
    own name in the Training lab's URL when ``url``. ``off``: the outside value (and any below it) that stands
    for None (clipping: 0 is off)."""
    return field(default=default, metadata={"flag": flag, "url": url, "choices": choices, "off": off, "help": help})


@dataclass(frozen=True)
class TrainConfig:
    cell: str = "lstm"  # train's --cell and the lab's models choose it per run
    task: str = _outside(
        "adding",
        "--task",
        url=True,
        choices=tuple(sorted(tasks.SPECS)),
        help="adding: the sum of two marked numbers; first: remember the first symbol; order: the order of two "
        "marked symbols",
    )
    length: int = _outside(50, "--length", url=True, help="sequence length: the lag to bridge")
    hidden_size: int = _outside(16, "--hidden", url=True, help="hidden units")
    steps: int = _outside(1000, "--steps", url=True, help="optimiser updates (the budget every model gets)")
    batch_size: int = _outside(32, "--batch", help="sequences per update")
    lr: float = _outside(0.01, "--lr", url=True, help="learning rate")
    optimizer: str = _outside("adam", "--optimizer", url=True, choices=OPTIMIZERS, help="optimiser")
    # global gradient-norm clipping in the optimiser step; None: off
    clip: float | None = _outside(
        1.0, "--clip", url=True, off=0.0, help="gradient-norm clipping threshold; 0 turns it off"
    )
    seed: int = _outside(0, url=True)  # train's --seed; the sweep takes --seeds
    # LSTM forget gate / GRU update gate bias at initialisation
    forget_bias: float = _outside(
        3.0, "--forget-bias", url=True, help="initial LSTM forget-gate (GRU update-gate) bias"
    )
    n_train: int = _outside(2000, "--n-train", help="training sequences")
    n_test: int = 500
    eval_every: int = 25
    dtype: str = _outside("float32", "--dtype", choices=DTYPES, help="number format")

    def check(self) -> None:
        if self.cell not in ALL_KINDS:
            raise ValueError(f"unknown cell {self.cell!r}")
        if self.task not in tasks.SPECS:
            raise ValueError(f"unknown task {self.task!r}; expected one of {', '.join(tasks.SPECS)}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        if not 1 <= self.steps <= 100_000:
            raise ValueError(f"steps must be between 1 and 100000, got {self.steps}")
        if not 1 <= self.batch_size <= 4096:
            raise ValueError(f"batch size must be between 1 and 4096, got {self.batch_size}")
        if not (np.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"learning rate must be a positive number, got {self.lr}")
        if self.clip is not None and not self.clip > 0:
            raise ValueError(f"clipping threshold must be positive, got {self.clip}")
        if self.n_train < 1 or self.n_test < 1:
            raise ValueError("need at least one training and one test sequence")


# Small data, where the LSTM overfits: 16 training sequences of the temporal-order task, 32 units, 1500 updates.
# Measured by benchmarks/bench_overfit.py (seeds 0, 1, 2): the LSTM's training accuracy reaches 100% while its
# held-out test accuracy stays at 32-64% (solved needs 95%). The Training lab's "Small data" toggle applies it.
SMALL_DATA = dict(task="order", length=50, n_train=16, hidden_size=32, steps=1500)


def flag_fields() -> list[Field]:
    """The fields the command line sets (``--task`` ... ``--dtype``), in order, with their metadata."""
    return [f for f in fields(TrainConfig) if f.metadata.get("flag")]


URL_FIELDS = tuple(f.name for f in fields(TrainConfig) if f.metadata.get("url"))  # + "small" in the lab's URL


def _inside(f: Field, value):
    """An outside value of field ``f`` as the config holds it (clipping 0 is None; numbers as the field's type)."""
    off = f.metadata.get("off")
    if off is not None and not (value is not None and value > off):
        return None
    if isinstance(f.default, str):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{f.name} must be a number, got {value!r}") from None
    if isinstance(f.default, int):
        if not (np.isfinite(number) and number == int(number)):
            raise ValueError(f"{f.name} must be a whole number, got {value!r}")
        return int(number)
    return number


def _outward(f: Field, value):
    """A config's value as it is written outside (None as the field's ``off`` value)."""
    return f.metadata["off"] if value is None and f.metadata.get("off") is not None else value


def config_from_settings(settings: Mapping[str, Any], **override) -> TrainConfig:
    """A checked TrainConfig from outside values keyed by field name (command-line values, the Training lab's
    URL settings): clipping 0 is off; ``small`` (the lab's toggle) means SMALL_DATA's few training sequences.
    Fields not named keep their defaults; ``override`` sets fields as the config holds them. ValueError on
    an unknown name or a bad value."""
    by_name = {f.name: f for f in fields(TrainConfig)}
    settings = dict(settings)
    values = {"n_train": SMALL_DATA["n_train"]} if settings.pop("small", False) else {}
    unknown = set(settings) - set(by_name)
    if unknown:
        raise ValueError(f"unknown training setting(s) {', '.join(sorted(unknown))}")
    values.update({name: _inside(by_name[name], v) for name, v in settings.items()})
    config = TrainConfig(**{**values, **override})
    config.check()
    return config


def settings_of(config: TrainConfig) -> dict:
    """The Training lab's URL settings of a config (clipping off is 0; ``small`` when it has no more training
    sequences than SMALL_DATA): the inverse of ``config_from_settings`` for those fields."""
    by_name = {f.name: f for f in fields(TrainConfig)}
    out = {name: _outward(by_name[name], getattr(config, name)) for name in URL_FIELDS}
    out["small"] = config.n_train <= SMALL_DATA["n_train"]
    return out


# --------------------------------------------------------------------------------------------------
# Optimisers: the step is where clipping happens


@dataclass
class Optimizer:
    """Adam (Kingma & Ba, defaults beta1 0.9, beta2 0.999, eps 1e-8, as torch.optim.Adam) or plain SGD.
    ``step`` returns new parameter arrays and the gradient norm before clipping."""

    kind: str
    lr: float
    clip: float | None = None
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    t: int = 0
    m: dict = field(default_factory=dict)
    v: dict = field(default_factory=dict)

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]):
        if self.clip is not None:
            grads, norm = analysis.clip_by_norm(grads, self.clip)
        else:
            norm = analysis.global_norm(grads)
            if not np.isfinite(norm):
                grads = {k: np.zeros_like(g) for k, g in grads.items()}  # skip a non-finite step
        if self.kind == "sgd":
            return {k: params[k] - self.lr * grads[k] for k in params}, norm
        self.t += 1
        new = {}
        for k, g in grads.items():
            self.m[k] = self.beta1 * self.m.get(k, 0.0) + (1 - self.beta1) * g
            self.v[k] = self.beta2 * self.v.get(k, 0.0) + (1 - self.beta2) * g * g
            m_hat = self.m[k] / (1 - self.beta1**self.t)
            v_hat = self.v[k] / (1 - self.beta2**self.t)
            new[k] = (params[k] - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)).astype(params[k].dtype)
        return new, norm


# --------------------------------------------------------------------------------------------------
# The loop (Trainer), and the Training lab's runs on it: several models together on the same data


@dataclass(frozen=True)
class Progress:
    """One evaluation point: after ``step`` updates."""

    step: int
    train_loss: float  # mean over the updates since the last point
    grad_norm: float  # mean gradient norm (before clipping) since the last point
    train_metric: float  # on the first n_test training sequences (the same ones each time)
    test_metric: float  # on the held-out test set
    seconds: float  # training time so far (evaluation excluded)
    solved: bool  # the test metric counts as solved (a verdict only once the budget is spent: ModelRun)


def is_solved(spec: tasks.TaskSpec, metric: float) -> bool:
    """The one solved rule: the metric beats the task's threshold (below it for MSE, at least it for accuracy)."""
    return metric < spec.threshold if spec.regression else metric >= spec.threshold


@dataclass(frozen=True)
class ModelRun:
    """One model's training so far: its evaluation points, the updates it has had, and the model after them.
    A run that has not spent its budget (``finished`` False) gets no verdict: ``solved`` is None."""

    config: TrainConfig
    history: tuple  # of Progress in the lab; of whatever the Trainer's check makes (paper_runs.Check)
    updates: int
    seconds: float  # training time so far (evaluation excluded)
    model: Model = field(repr=False)
    pending: tuple = (0.0, 0.0, 0)  # sums of loss and gradient norm over the updates since the last point, count

    @property
    def finished(self) -> bool:
        return self.updates >= self.config.steps

    @property
    def last(self) -> Progress | None:
        return self.history[-1] if self.history else None

    @property
    def solved(self) -> bool | None:
        return self.history[-1].solved if self.finished else None

    @property
    def solved_step(self) -> int | None:
        """The first evaluation at which the test set counted as solved."""
        return next((p.step for p in self.history if p.solved), None)

    def summary(self) -> dict:
        """A JSON-ready summary (what the CLI prints and the lag sweep stores)."""
        last = self.last
        return {
            "cell": self.config.cell,
            "task": self.config.task,
            "length": self.config.length,
            "seed": self.config.seed,
            "solved": self.solved,
            "solved_step": self.solved_step,
            "metric": tasks.SPECS[self.config.task].metric,
            "test_metric": last.test_metric if last else None,
            "train_metric": last.train_metric if last else None,
            "steps": self.config.steps,
            "updates": self.updates,
            "seconds": round(self.seconds, 3),
            "params": self.model.num_params,
            "seconds_per_step": round(self.seconds / max(self.updates, 1), 6),
        }


def _sets(config: TrainConfig, data) -> tuple[tasks.Dataset, tasks.Dataset, tasks.Dataset]:
    """Training set, test set and the training probe (the first n_test training sequences), in the config's
    dtype; made from the config's seed unless ``data`` (train, test) is given."""
    train_set, test_set = data or tasks.make_task(
        config.task, config.length, config.n_train, config.n_test, seed=config.seed
    )
    spec = tasks.SPECS[config.task]
    if train_set.x.shape[-1] != spec.input_size or test_set.x.shape[-1] != spec.input_size:
        raise ValueError(
            f"the data has {train_set.x.shape[-1]} input features; the {config.task} task has {spec.input_size}"
        )
    train_set = train_set.as_dtype(config.dtype)
    test_set = replace(test_set, x=test_set.x.astype(config.dtype))  # targets as they are: the metric in float64
    return train_set, test_set, train_set.take(np.arange(min(len(train_set), config.n_test)))


def _progress(run: ModelRun, probe: tasks.Dataset, test_set: tasks.Dataset) -> Progress:
    """The lab's evaluation point at the run's current update."""
    loss_sum, norm_sum, n = run.pending
    with np.errstate(over="ignore", invalid="ignore"):
        _, train_metric = evaluate(run.model, probe)
        _, test_metric = evaluate(run.model, test_set)
    return Progress(
        run.updates,
        loss_sum / n if n else float("nan"),
        norm_sum / n if n else float("nan"),
        train_metric,
        test_metric,
        run.seconds,
        is_solved(tasks.SPECS[run.config.task], test_metric),
    )


def _with_point(run: ModelRun, point) -> ModelRun:
    return replace(run, history=(*run.history, point), pending=(0.0, 0.0, 0))


class Trainer:
    """One model's training, advanced one update at a time: the one loop every runner drives.

    ``batches()`` gives each update its mini-batch (a ``tasks.Dataset``: sequences of one length read at the
    end, of their own lengths, or with a target at every step; :func:`score` reads each as its data say).
    An update scores the batch with gradients, takes the optimiser step (Adam or SGD, clipping in the step)
    and skips a non-finite update. Every ``config.eval_every`` updates and after the last (``config.steps``)
    ``check(run)`` makes an evaluation point that is appended to the run's history; it sees the run's sums of
    loss and gradient norm since the last point (``pending``). Without ``check`` nothing is evaluated.
    ``run.seconds`` counts the updates' time only, evaluation excluded.
    """

    def __init__(self, config: TrainConfig, model: Model, batches: Callable[[], tasks.Dataset], check=None):
        self.config, self.batches, self.check = config, batches, check
        self.opt = Optimizer(config.optimizer, config.lr, config.clip)
        self.run = ModelRun(config, (), 0, 0.0, model)

    def update(self) -> None:
        run, start = self.run, time.perf_counter()
        with np.errstate(over="ignore", invalid="ignore"):
            scored = score(run.model, self.batches(), grads=True)
            params, norm = self.opt.step(run.model.params, scored.grads)
        model = run.model
        try:  # with_params refuses non-finite parameters: such an update is skipped
            model = model.with_params(params)
        except ValueError:
            pass
        loss_sum, norm_sum, n = run.pending
        self.run = replace(
            run,
            updates=run.updates + 1,
            seconds=run.seconds + time.perf_counter() - start,
            model=model,
            pending=(loss_sum + scored.loss, norm_sum + norm, n + 1),
        )
        if self.run.updates % self.config.eval_every == 0 or self.run.finished:
            self.evaluate()

    def evaluate(self) -> None:
        """An evaluation point at the current update, unless it has one."""
        if self.check is not None and (self.run.last is None or self.run.last.step < self.run.updates):
            self.run = _with_point(self.run, self.check(self.run))


def lab_trainer(config: TrainConfig, data=None) -> Trainer:
    """The Training lab's trainer: batches drawn without replacement from a fixed training set, evaluated on
    the training probe and the held-out test set (its data made from the config unless ``data`` is given)."""
    config.check()
    train_set, test_set, probe = _sets(config, data)
    rng = np.random.default_rng([config.seed, 3])
    batch = min(config.batch_size, len(train_set))
    return Trainer(
        config,
        init_model(config, tasks.SPECS[config.task]),
        lambda: train_set.take(rng.choice(len(train_set), size=batch, replace=False)),
        lambda run: _progress(run, probe, test_set),
    )


def _same_data(configs) -> None:
    keys = {(c.task, c.length, c.n_train, c.n_test, c.seed) for c in configs}
    if len(keys) > 1:
        raise ValueError("models trained together need the same task, length, data sizes and seed (the same data)")


def train_many(
    configs: Mapping[str, TrainConfig],
    data: tuple[tasks.Dataset, tasks.Dataset] | None = None,
    on_progress: Callable[[dict[str, ModelRun]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, ModelRun]:
    """Train several models together on the same data (the configs' own unless ``data`` = (train, test) is
    given): one update each in turn, so after every round all have had the same number of updates; each is
    evaluated every ``eval_every`` updates and after its last one.

    After every round ``on_progress(runs)`` gets each model's :class:`ModelRun` so far (the same names as
    ``configs``); when ``should_stop()`` returns True the training ends there, and every model is first
    evaluated at the update it reached, so each one shows its result so far (``finished`` False: no verdict).
    Returns the runs. Each model's result does not depend on which others train beside it.
    """
    if not configs:
        raise ValueError("no models to train")
    if data is None:
        _same_data(configs.values())
    trainers = {name: lab_trainer(config, data) for name, config in configs.items()}
    while True:
        live = [t for t in trainers.values() if not t.run.finished]
        for trainer in live:
            trainer.update()
        runs = {name: t.run for name, t in trainers.items()}
        if on_progress is not None:
            on_progress(runs)
        if all(run.finished for run in runs.values()):
            return runs
        if should_stop is not None and should_stop():
            for trainer in trainers.values():
                trainer.evaluate()
            return {name: t.run for name, t in trainers.items()}


def evaluate_now(run: ModelRun, data: tuple[tasks.Dataset, tasks.Dataset] | None = None) -> ModelRun:
    """``run`` with an evaluation point at the update it reached, if it has none there: for a run whose loop
    was cut off between evaluation points, or an untrained model (update 0); its data made again from its
    config unless given."""
    if run.last is not None and run.last.step >= run.updates:
        return run
    _, test_set, probe = _sets(run.config, data)
    return _with_point(run, _progress(run, probe, test_set))


def train_steps(config: TrainConfig, data=None) -> Iterator[tuple[Progress, Model]]:
    """One model, yielding (progress, model) at every evaluation point (the same loop as train_many)."""
    trainer = lab_trainer(config, data)
    while not trainer.run.finished:
        seen = len(trainer.run.history)
        trainer.update()
        if len(trainer.run.history) > seen:
            yield trainer.run.last, trainer.run.model


@dataclass(frozen=True)
class TrainResult:
    config: TrainConfig
    history: tuple  # of Progress
    solved: bool  # at the end, on the held-out test set
    solved_step: int | None  # first evaluation at which the test set counted as solved
    test_metric: float
    metric: str
    seconds: float
    params: int
    state_dict: dict = field(repr=False)  # trained cell parameters
    readout: tuple = field(repr=False)  # (weight, bias)
    run: ModelRun = field(repr=False, default=None)

    def summary(self) -> dict:
        return self.run.summary()


def train(config: TrainConfig) -> TrainResult:
    """One model to the end of its budget (the CLI's ``train``)."""
    run = train_many({config.cell: config})[config.cell]
    model = run.model
    return TrainResult(
        config,
        run.history,
        run.solved,
        run.solved_step,
        run.last.test_metric,
        tasks.SPECS[config.task].metric,
        run.seconds,
        model.num_params,
        model.cell.state_dict(),
        (model.readout_weight, model.readout_bias),
        run,
    )


# --------------------------------------------------------------------------------------------------
# The lag sweep: success rate against sequence length


def sweep_groups(
    base: TrainConfig, cells=KINDS, lengths=(5, 10, 20, 50, 100), seeds=(0, 1, 2)
) -> list[dict[str, TrainConfig]]:
    """The sweep's runs, one group per (length, seed): the models of a group train together on the same data."""
    return [
        {cell: replace(base, cell=cell, length=length, seed=seed) for cell in cells}
        for length in lengths
        for seed in seeds
    ]


def sweep_result(base: TrainConfig, cells, lengths, seeds, summaries: list[dict]) -> dict:
    """The JSON-ready sweep record from run summaries (in any order; stored by length, cell, seed)."""
    order = {key: i for i, key in enumerate(itertools.product(lengths, cells, seeds))}
    runs = sorted(summaries, key=lambda r: order[r["length"], r["cell"], r["seed"]])
    return {"base": asdict(base), "cells": list(cells), "lengths": list(lengths), "seeds": list(seeds), "runs": runs}


def sweep(
    base: TrainConfig, cells=KINDS, lengths=(5, 10, 20, 50, 100), seeds=(0, 1, 2), on_result=None
) -> dict:
    """Train every (cell, length, seed) with the base config's budget; returns a JSON-ready dict.
    ``on_result(summary)`` is called after each finished group, once per model."""
    summaries = []
    for group in sweep_groups(base, cells, lengths, seeds):
        for run in train_many(group).values():
            summaries.append(run.summary())
            if on_result is not None:
                on_result(summaries[-1])
    return sweep_result(base, cells, lengths, seeds, summaries)


def success_rates(result: dict) -> dict[str, list[float]]:
    """Fraction of seeds solved, per cell, per length (in the sweep's order); NaN where no run finished."""
    rates = {}
    for cell in result["cells"]:
        rates[cell] = []
        for length in result["lengths"]:
            runs = [
                r for r in result["runs"] if r["cell"] == cell and r["length"] == length and r["solved"] is not None
            ]
            rates[cell].append(sum(r["solved"] for r in runs) / len(runs) if runs else float("nan"))
    return rates


# --------------------------------------------------------------------------------------------------
# Clipping, shown on the gradient page


@dataclass(frozen=True)
class ClipRun:
    """Gradient norm (before clipping) and loss at each SGD step, for the same run with and without
    clipping."""

    norm_plain: np.ndarray
    loss_plain: np.ndarray
    norm_clipped: np.ndarray
    loss_clipped: np.ndarray
    threshold: float


def clipping_run(cell: Cell, x, target, steps: int = 30, lr: float = 0.05, threshold: float = 1.0) -> ClipRun:
    """Plain SGD on L = 1/2 ||h_{T-1} - target||^2, once without and once with norm clipping (the
    Optimizer's own step). A run that overflows stays at inf from there on."""
    target = np.asarray(target, dtype=float)
    runs = []
    for clip in (None, threshold):
        current, opt = cell, Optimizer("sgd", lr, clip)
        norms, losses = np.full(steps, np.inf), np.full(steps, np.inf)
        for s in range(steps):
            trace = current.forward(x)
            with np.errstate(over="ignore", invalid="ignore"):
                err = trace.h[-1] - target
                losses[s] = 0.5 * float(np.sum(err**2))
            if not np.isfinite(losses[s]):
                break
            d_h = np.zeros_like(trace.h)
            d_h[-1] = err
            with np.errstate(over="ignore", invalid="ignore"):
                new, norms[s] = opt.step(current.params, current.backward(trace, d_h).params)
            if not np.isfinite(norms[s]):
                break
            try:  # from_state_dict refuses parameters that are no longer numbers: the run ends there
                current = current.with_params(new)
            except ValueError:
                break
        runs.append((norms, losses))
    (n0, l0), (n1, l1) = runs
    return ClipRun(norm_plain=n0, loss_plain=l0, norm_clipped=n1, loss_clipped=l1, threshold=threshold)
