"""Long-lag tasks from Hochreiter & Schmidhuber (1997), seeded, with a held-out test set.

Every generator returns a :class:`Dataset` whose inputs are time-first ``(T, N, D)`` float arrays. The
target depends only on what the sequence shows at its beginning (or at two marked places), so a model
must carry information across the lag to do better than the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TASKS = {
    "first": "Remember the first symbol (task 2a)",
    "adding": "Adding problem",
    "order": "Temporal order (task 6a)",
}


@dataclass(frozen=True)
class Dataset:
    """``x`` is ``(T, N, D)``; ``y`` is ``(N,)``: floats for regression, class indices for classification."""

    x: np.ndarray
    y: np.ndarray
    regression: bool
    n_outputs: int  # 1 for regression, the number of classes otherwise

    def __len__(self) -> int:
        return self.x.shape[1]

    def take(self, index: np.ndarray) -> Dataset:
        return Dataset(self.x[:, index], self.y[index], self.regression, self.n_outputs)


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
