"""The long-lag tasks, seeded, with a held-out test set: the live lab's simple versions, and the papers' own.

Every generator returns a :class:`Dataset` whose inputs are time-first ``(T, N, D)`` float arrays. The
target depends only on what the sequence shows at its beginning (or at two marked places), so a model
must carry information across the lag to do better than the baseline.

Two families, told apart by name:

- ``remember_first``, ``adding``, ``temporal_order`` (``make_task``): the Training lab's simplified tasks,
  every sequence of one length, read at the last step.
- ``remember_first_1997``, ``adding_problem_1997``, ``temporal_order_1997``, ``latch_1994``
  (``paper_task``): Hochreiter & Schmidhuber (1997) as the paper defines them, and the latch task after
  Bengio, Simard & Frasconi (1994) (its inputs and noise are ours: see ``latch_1994``),
  for ``python -m rnnviz reproduce``. Sequences have their own lengths (the adding problem draws each from
  [T, T + T/10], temporal order from [100, 110]); a batch is padded at the end with zeros and the readout
  reads each sequence's hidden state at its own last step (``Dataset.lengths``). Padding comes after that
  step, so it changes neither the output nor any gradient. Each carries the paper's per-sequence criterion
  (``Dataset.tolerance``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

TASKS = {
    "first": "Remember the first symbol (task 2a)",
    "adding": "Adding problem",
    "order": "Temporal order (task 6a)",
}


@dataclass(frozen=True)
class Dataset:
    """A batch of sequences, time-first.

    ``x`` is ``(T, N, D)``; ``y`` is ``(N,)``: floats for regression, class indices for classification, or
    ``(T, N)`` class indices when ``every_step`` (a target at every step: the next symbol, Experiment 2a).
    ``lengths`` (``(N,)``) gives each sequence its own length, the batch padded at the end with zeros; None
    means every sequence runs to ``T``. ``tolerance`` is the papers' per-sequence criterion: a sequence is
    right when the absolute error of every output (at its end, or at every step) is below it; None: unused.
    """

    x: np.ndarray
    y: np.ndarray
    regression: bool
    n_outputs: int  # 1 for regression, the number of classes otherwise
    lengths: np.ndarray | None = None
    every_step: bool = False
    tolerance: float | None = None

    def __len__(self) -> int:
        return self.x.shape[1]

    def take(self, index: np.ndarray) -> Dataset:
        """The sequences at ``index``; with ``lengths``, trimmed to the longest one kept."""
        x, y = self.x[:, index], (self.y[:, index] if self.every_step else self.y[index])
        if self.lengths is None:
            return replace(self, x=x, y=y)
        lengths = self.lengths[index]
        T = int(lengths.max())
        return replace(self, x=x[:T], y=y[:T] if self.every_step else y, lengths=lengths)

    def as_dtype(self, dtype) -> Dataset:
        """Inputs (and regression targets) in ``dtype``; class indices stay integers."""
        return replace(self, x=self.x.astype(dtype), y=self.y.astype(dtype) if self.regression else self.y)


@dataclass(frozen=True)
class TaskSpec:
    name: str
    regression: bool
    n_outputs: int
    input_size: int
    metric: str  # what the test metric is called on screen
    baseline: float  # the metric of the best input-blind guess
    solved_below: float | None = None  # regression: solved when the test MSE is below this
    solved_above: float | None = None  # classification: solved when the test accuracy is at least this

    @property
    def threshold(self) -> float:
        """The metric value that counts as solved (an upper bound for MSE, a lower one for accuracy)."""
        return self.solved_below if self.regression else self.solved_above


N_CLASSES_FIRST = 4
SPECS = {
    "first": TaskSpec(
        "first", False, N_CLASSES_FIRST, N_CLASSES_FIRST + 1, "accuracy", 1 / N_CLASSES_FIRST, solved_above=0.95
    ),
    # two uniform values summed: predicting the mean 1.0 leaves the variance 2/12 = 0.1667
    "adding": TaskSpec("adding", True, 1, 2, "MSE", 2 / 12, solved_below=0.04),
    "order": TaskSpec("order", False, 4, 6, "accuracy", 0.25, solved_above=0.95),
}


def _check(name: str, length: int, n: int, minimum: int) -> None:
    if name not in SPECS:
        raise ValueError(f"unknown task {name!r}; expected one of {', '.join(SPECS)}")
    if not minimum <= length <= 1000:
        raise ValueError(f"the {name} task needs a sequence length between {minimum} and 1000, got {length}")
    if n < 1:
        raise ValueError(f"need at least one sequence, got {n}")


def remember_first(length: int, n: int, rng: np.random.Generator) -> Dataset:
    """Task 2a, with noise: step 0 shows one of 4 classes as a one-hot code; every later step shows only
    uniform noise on a separate channel. The target is the class seen at step 0."""
    K = N_CLASSES_FIRST
    y = rng.integers(0, K, n)
    x = np.zeros((length, n, K + 1))
    x[0, np.arange(n), y] = 1.0
    x[1:, :, K] = rng.uniform(-1.0, 1.0, (length - 1, n))
    return Dataset(x, y, regression=False, n_outputs=K)


def adding(length: int, n: int, rng: np.random.Generator) -> Dataset:
    """The adding problem in its common later form: channel 0 holds values uniform in [0, 1], channel 1
    marks two positions (one in the first half, one in the second); the target is the sum of the two
    marked values."""
    values = rng.uniform(0.0, 1.0, (length, n))
    half = length // 2
    first = rng.integers(0, half, n)
    second = rng.integers(half, length, n)
    marks = np.zeros((length, n))
    marks[first, np.arange(n)] = 1.0
    marks[second, np.arange(n)] = 1.0
    y = values[first, np.arange(n)] + values[second, np.arange(n)]
    return Dataset(np.stack([values, marks], axis=-1), y, regression=True, n_outputs=1)


def temporal_order(length: int, n: int, rng: np.random.Generator) -> Dataset:
    """Task 6a: each step shows one of six symbols (one-hot): X, Y, or a distractor a-d. X or Y appears at
    exactly two places, t1 in the first 10-20% of the sequence and t2 at 50-60%; everything else is a
    distractor. The class is the order: XX, XY, YX or YY."""
    symbols = rng.integers(2, 6, (length, n))  # distractors a..d
    t1 = rng.integers(int(0.1 * length), max(int(0.2 * length), int(0.1 * length) + 1), n)
    t2 = rng.integers(int(0.5 * length), max(int(0.6 * length), int(0.5 * length) + 1), n)
    first, second = rng.integers(0, 2, n), rng.integers(0, 2, n)  # 0 = X, 1 = Y
    symbols[t1, np.arange(n)] = first
    symbols[t2, np.arange(n)] = second
    x = np.eye(6)[symbols]  # (T, N, 6)
    return Dataset(x, 2 * first + second, regression=False, n_outputs=4)


GENERATORS = {"first": (remember_first, 2), "adding": (adding, 2), "order": (temporal_order, 10)}


def make_task(name: str, length: int, n_train: int, n_test: int, seed: int = 0) -> tuple[Dataset, Dataset]:
    """Training and held-out test sets, from separate random streams of one seed."""
    generator, minimum = GENERATORS.get(name, (None, 2))
    _check(name, length, max(n_train, n_test), minimum)
    train_rng, test_rng = (np.random.default_rng([seed, stream]) for stream in (0, 1))
    return generator(length, n_train, train_rng), generator(length, n_test, test_rng)


# --------------------------------------------------------------------------------------------------
# The papers' tasks (the latch after its paper): sequences of their own lengths, padded, with the paper's criterion


def _check_n(n: int) -> None:
    if n < 1:
        raise ValueError(f"need at least one sequence, got {n}")


def adding_problem_1997(T: int, n: int, rng: np.random.Generator) -> Dataset:
    """Hochreiter & Schmidhuber (1997), Experiment 4, the adding problem, as the paper defines it.

    Each step is a pair (value uniform in [-1, 1], marker). Every sequence has its own length, uniform in
    [T, T + T//10]. One pair among the first ten is marked (value X1), then one among the first T/2 - 1
    pairs not yet marked (X2: T/2 - 2 candidates when X1 lies among those pairs, as it does for T >= 22,
    uniform over them); markers are 1 there, -1 at the first and the final pair (unless the first
    pair is the one marked: then it is marked 1), 0 elsewhere. "In the rare case where the first pair of
    the sequence gets marked, we set X1 to zero": we set that pair's value to 0 on the input too, so the
    target is still the sum of what the marked pairs show (the same for X2, which can also land on the
    first pair). Target 0.5 + (X1 + X2) / 4, in [0, 1]; a sequence is right if the absolute error at its
    end is below 0.04.
    """
    if T < 20:
        raise ValueError(f"the adding problem needs T >= 20 (ten pairs for X1, T/2 - 1 for X2), got {T}")
    if T > 2000:
        raise ValueError(f"T must be at most 2000, got {T}")
    _check_n(n)
    lengths = rng.integers(T, T + T // 10 + 1, n)
    T_max = T + T // 10
    cols = np.arange(n)
    values = rng.uniform(-1.0, 1.0, (T_max, n))
    first = rng.integers(0, 10, n)
    # X2: uniform over the first T/2 - 1 positions except the one already marked
    window = T // 2 - 1
    if window > 9:  # X1 lies inside the window: skip its position
        second = rng.integers(0, window - 1, n)
        second = second + (second >= first)
    else:  # T < 22: X1 may lie beyond the window
        inside = first < window
        second = rng.integers(0, window - inside, n)
        second = second + (inside & (second >= first))
    markers = np.zeros((T_max, n))
    markers[0] = -1.0
    markers[lengths - 1, cols] = -1.0
    markers[first, cols] = 1.0
    markers[second, cols] = 1.0
    values[0, (first == 0) | (second == 0)] = 0.0
    padding = np.arange(T_max)[:, None] >= lengths[None, :]
    values[padding] = 0.0
    x1, x2 = values[first, cols], values[second, cols]
    x = np.stack([values, markers], axis=-1)
    return Dataset(x, 0.5 + (x1 + x2) / 4.0, True, 1, lengths=lengths, tolerance=0.04)


ORDER_SYMBOLS = ("E", "B", "a", "b", "c", "d", "X", "Y")  # the 8 input units of Experiment 6a
ORDER_CLASSES = ("Q", "R", "S", "U")  # XX, XY, YX, YY


def temporal_order_1997(n: int, rng: np.random.Generator) -> Dataset:
    """Hochreiter & Schmidhuber (1997), Experiment 6a, two relevant, widely separated symbols.

    A sequence starts with E, ends with the trigger B, and is otherwise random symbols from {a, b, c, d}
    except at positions t1 and t2, which hold X or Y. Length uniform in [100, 110], t1 in [10, 20], t2 in
    [50, 60] (the paper counts positions from 1, as we do here: t1 = 10 is index 9). Symbols are one-hot
    over the 8 units (E, B, a, b, c, d, X, Y). Class from the order: X,X -> Q; X,Y -> R; Y,X -> S;
    Y,Y -> U. A sequence is right if the final error of every output unit is below 0.3.
    """
    _check_n(n)
    lengths = rng.integers(100, 111, n)
    cols = np.arange(n)
    symbols = rng.integers(2, 6, (110, n))  # a..d
    symbols[0] = 0  # E
    symbols[lengths - 1, cols] = 1  # B
    t1, t2 = rng.integers(10, 21, n), rng.integers(50, 61, n)
    first, second = rng.integers(0, 2, n), rng.integers(0, 2, n)  # 0 = X, 1 = Y
    symbols[t1 - 1, cols] = 6 + first
    symbols[t2 - 1, cols] = 6 + second
    x = np.eye(len(ORDER_SYMBOLS))[symbols]  # (110, N, 8)
    x[np.arange(110)[:, None] >= lengths[None, :]] = 0.0
    return Dataset(x, 2 * first + second, False, 4, lengths=lengths, tolerance=0.3)


def remember_first_1997(p: int, n: int, rng: np.random.Generator) -> Dataset:
    """Hochreiter & Schmidhuber (1997), Experiment 2a, noise-free sequences with long time lags.

    p + 1 symbols a_1 .. a_{p-1}, a_p = x, a_{p+1} = y, each coded locally (one-hot over p + 1 units).
    The only two sequences are (y, a_1, ..., a_{p-1}, y) and (x, a_1, ..., a_{p-1}, x), each with
    probability 1/2. The net reads one symbol per step and predicts the next at every step (p
    predictions; the last one needs the first symbol, p steps back). A sequence is right if the absolute
    error of every output unit at every step is below 0.25.
    """
    if not 2 <= p <= 1000:
        raise ValueError(f"p must be between 2 and 1000, got {p}")
    _check_n(n)
    first = rng.integers(0, 2, n)  # 0: x (index p-1), 1: y (index p)
    edge = p - 1 + first
    seq = np.empty((p + 1, n), dtype=int)
    seq[0] = edge
    seq[1:p] = np.arange(p - 1)[:, None]  # a_1 .. a_{p-1} are indices 0 .. p-2
    seq[p] = edge
    x = np.eye(p + 1)[seq[:p]]  # (p, N, p+1): the inputs
    return Dataset(x, seq[1:], False, p + 1, lengths=np.full(n, p), every_step=True, tolerance=0.25)


def latch_1994(T: int, n: int, rng: np.random.Generator, noise: float = 0.2, L: int = 3) -> Dataset:
    """Bengio, Simard & Frasconi (1994), the latch (information latching) problem, in our reading.

    One input channel; two classes. The first L steps show the class (+1 or -1 for class 1 or 0); every
    later step is Gaussian noise of standard deviation ``noise``, which carries nothing about the class.
    Only the output at the final step is trained. In the paper the first L inputs are free parameters that
    training also adjusts; we fix them at +-1. A sequence is right if the final error of both output units
    is below 0.3 (as in 6a; the paper uses the sign of a single output).
    """
    if not L < T <= 2000:
        raise ValueError(f"the latch task needs {L} < T <= 2000, got {T}")
    _check_n(n)
    y = rng.integers(0, 2, n)
    x = rng.normal(0.0, noise, (T, n, 1))
    x[:L, :, 0] = (2.0 * y - 1.0)[None, :]
    return Dataset(x, y, False, 2, lengths=np.full(n, T), tolerance=0.3)


PAPER_TASKS = ("adding", "order", "first", "latch")


def paper_task(task: str, length: int, n: int, rng: np.random.Generator) -> Dataset:
    """``n`` sequences of one of the papers' tasks: T for the adding problem and the latch, p for remember
    the first symbol; temporal order has its own fixed range and ignores ``length``."""
    if task == "adding":
        return adding_problem_1997(length, n, rng)
    if task == "order":
        return temporal_order_1997(n, rng)
    if task == "first":
        return remember_first_1997(length, n, rng)
    if task == "latch":
        return latch_1994(length, n, rng)
    raise ValueError(f"unknown task {task!r}; expected one of {', '.join(PAPER_TASKS)}")
