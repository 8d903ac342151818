"""Forecasting a real series: read it strictly, cut it into windows, split it in time, scale it on the past
only, train RNN, LSTM and GRU forecasters, and score them beside the baselines a forecaster tries first.

The pieces, in the order data flows through them:

- ``parse_csv`` / ``parse_text`` / ``load_series``: a :class:`Series` (float64 values, optional time labels),
  or a ValueError that names the row, the column and the problem. The bytes are capped before anything is
  decoded (``MAX_BYTES``), the values after (``MAX_POINTS``).
- ``split``: a chronological train / validation / test split, as three index ranges of the series.
- :class:`Scaler`: mean and standard deviation fitted on the training part only. Fitting them on the whole
  series would hand the model the level of the future it is asked to forecast.
- ``windows``: the inputs ``(N, W)`` and targets ``(N, K)`` of every forecast origin ``t``: the window is
  ``v[t-W:t]``, the targets ``v[t:t+K]``. Inputs may reach back into an earlier part (the past is known when
  forecasting); targets never leave their part.
- Baselines: persistence (the last value), seasonal naive (the value one season earlier), and a linear
  autoregression on the same window fitted by least squares on the training part.
- ``train_model``: a cell of the engine with a linear readout of its last hidden state, trained for one-step
  forecasts with the shared Adam optimiser (``rnnviz.engine.training.Optimizer``); the parameters kept are
  those at the lowest validation error (the curves show every evaluation).
- With ``difference``, the networks and the linear AR model the changes ``v[t] - v[t-1]`` (scaled on the
  training part's changes) and their forecasts are summed back onto the last known value: a trend then stays
  inside what the training part showed.
- ``recursive``: K-step forecasts by feeding each one-step forecast back as the newest input; every model
  and every baseline forecasts the same test origins, and the errors are in the series' own units.
- ``run``: all of it for one series and one :class:`ForecastConfig` (``prepare``, then ``training`` per
  model, then ``assemble``); ``describe`` turns the numbers into sentences.
- :class:`ForecastJob`: one model's training as a job of the app's shared training service (a job spec,
  ``rnnviz.app.trainer.is_job_spec``): it runs the same ``prepare`` and ``training`` in a worker process and
  reports a :class:`JobPayload` after each evaluation; ``collect`` assembles the result from what came back.

The module is longer than 500 lines because strict parsing is a third of it and belongs with the limits it
enforces, and the job spec must run exactly the code the session ran (a split would put the two apart).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnnviz.engine import tasks
from rnnviz.engine.cells import GATE_COUNT
from rnnviz.engine.model import Model, score
from rnnviz.engine.training import Optimizer
from rnnviz.engine.weights import from_state_dict, init_cell

MAX_BYTES = 1_048_576  # an uploaded or read file, before decoding (the app's upload limit is the same 1 MB)
MAX_POINTS = 5000  # values in a series: training cost grows with the number of windows
MIN_POINTS = 20
MAX_LINE = 1000  # characters in one line of a CSV: a date, a value and a few other columns fit easily
MAX_ABS = 1e12  # larger magnitudes are almost always a unit or parsing mistake; float32 training needs sane values
MAX_PROBE = 128  # windows of each part a model is evaluated on while it trains
MAX_EVALUATIONS = 30  # evaluation points of one training run
MAX_TEST_ORIGINS = 100  # test forecasts: K recursive steps, each a forward pass over the window, per origin
MISSING_TOKENS = {"", "na", "n/a", "nan", "null", "none", "-", "?", "#n/a"}
MISSING_POLICIES = ("refuse", "drop", "interpolate")
KINDS = ("rnn", "lstm", "gru")
BASELINES = ("persistence", "seasonal naive", "linear AR")
SERIES_DIR = Path(__file__).resolve().parents[1] / "content" / "data" / "series"


# --------------------------------------------------------------------------------------------------
# Series: parsing and validation


@dataclass(frozen=True)
class Series:
    """A univariate series: ``values`` ``(N,)`` float64, all finite; ``labels`` the time of each value as text
    (a date or year column) or None; ``notes`` what was done to the input (missing values filled, ...)."""

    name: str
    values: np.ndarray
    labels: tuple | None = None
    unit: str = ""
    season: int | None = None  # steps in one season (12 for monthly data), None when the series has none
    notes: tuple = ()

    def __len__(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class ShippedSeries:
    file: str
    title: str
    unit: str
    season: int | None
    sampling: str
    window: int  # the page's and the CLI's defaults
    horizon: int
    difference: bool = False
    copied_from: str = "the data sets shipped in statsmodels"  # where the file was copied from (the README says more)


SHIPPED = {
    "co2": ShippedSeries(
        "co2_mauna_loa.csv", "CO2 at Mauna Loa (monthly, 1958-2001)", "ppm", 12, "monthly", 24, 12, True
    ),
    "elnino": ShippedSeries("elnino_sst.csv", "Sea temperature, Niño 1+2 (monthly)", "°C", 12, "monthly", 24, 12),
    "sunspots": ShippedSeries("sunspots.csv", "Sunspots (yearly, 1700-2008)", "sunspot number", 11, "yearly", 22, 5),
    "nile": ShippedSeries("nile.csv", "Nile flow at Aswan (yearly, 1871-1970)", "10^8 m^3", None, "yearly", 10, 5),
    "seattle": ShippedSeries(
        "seattle_weather.csv",
        "Daily maximum temperature, Seattle (2012-2015)",
        "°C",
        365,
        "daily",
        14,
        7,
        copied_from="NOAA's records as shipped in the vega_datasets package",
    ),
}


def load_series(name: str) -> Series:
    """A shipped series (see rnnviz/content/data/series/README.md); its few missing months are interpolated."""
    if name not in SHIPPED:
        raise ValueError(f"unknown series {name!r}; expected one of {', '.join(SHIPPED)}")
    info = SHIPPED[name]
    series = parse_csv((SERIES_DIR / info.file).read_bytes(), missing="interpolate", name=name)
    return Series(name, series.values, series.labels, info.unit, info.season, series.notes)


def _decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise ValueError(f"the file has {len(data):,} bytes; at most {MAX_BYTES:,} (1 MB) are read")
    if data.startswith(b"PK\x03\x04"):
        raise ValueError("this is a zip archive (an Excel .xlsx?), not a CSV: save it as 'CSV UTF-8' and upload that")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ValueError(
                "the file starts like UTF-16 text but is not valid UTF-16: save it as 'CSV UTF-8'"
            ) from None
    if b"\x00" in data[:4096]:
        raise ValueError("this is a binary file, not text (NUL bytes): upload a CSV or a .txt of numbers")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ValueError(
            f"line {line} is not UTF-8 text (byte 0x{data[err.start]:02x} at position {err.start}): "
            "save the file as 'CSV UTF-8'"
        ) from None


def _number(cell: str, decimal_comma: bool) -> float | None:
    """The number in a cell, None when the cell marks a missing value; ValueError when it is neither."""
    text = cell.strip().strip('"').strip()
    if text.lower() in MISSING_TOKENS:
        return None
    if decimal_comma:
        text = text.replace(",", ".")
    return float(text)  # ValueError for text; 'inf' and '1e400' come back infinite


def _is_number(cell: str) -> bool:
    try:
        return _number(cell, False) is not None
    except ValueError:
        return False


def _fill_missing(values: np.ndarray, rows: list[int], policy: str, where: str) -> tuple[np.ndarray, list, str]:
    """Drop or interpolate the NaNs of ``values``; returns the values, the kept positions and a note."""
    missing = np.isnan(values)
    n = int(missing.sum())
    if n == 0:
        return values, list(range(len(values))), ""
    first = rows[int(np.argmax(missing))]
    if policy == "refuse":
        raise ValueError(
            f"{n} missing value{'s' if n > 1 else ''} in {where} (the first at row {first}): choose to drop "
            "them or to fill them by linear interpolation"
        )
    if policy == "drop":
        keep = list(np.flatnonzero(~missing))
        return values[~missing], keep, f"{n} missing value{'s' if n > 1 else ''} dropped (the first at row {first})"
    known = np.flatnonzero(~missing)
    if len(known) < 2:
        raise ValueError(f"{where} has fewer than two numbers: nothing to interpolate between")
    # Interpolation needs a value on both sides: missing values at the very start or end are dropped.
    keep = list(range(known[0], known[-1] + 1))
    inside = np.arange(known[0], known[-1] + 1)
    filled = np.interp(inside, known, values[known])
    edge = n - int(missing[inside].sum())
    note = f"{n - edge} missing value{'s' if n - edge != 1 else ''} filled by linear interpolation"
    if edge:
        note += f", {edge} at the start or end dropped"
    return filled, keep, note + f" (the first at row {first})"


def _check_values(values: np.ndarray, what: str) -> None:
    if len(values) < MIN_POINTS:
        raise ValueError(f"{what} has {len(values)} values: too short to forecast, at least {MIN_POINTS} are needed")
    if np.ptp(values) == 0:
        raise ValueError(f"{what} is constant (every value is {values[0]:g}): there is nothing to forecast")


def _check_number(value: float, where: str, cell: str) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{where}: {cell.strip()[:20]!r} is not a finite number")
    if abs(value) > MAX_ABS:
        raise ValueError(f"{where}: {value:g} is too large (keep values within ±{MAX_ABS:g}; change the unit?)")


def sniff(text: str) -> tuple[str, bool]:
    """The CSV delimiter (comma, semicolon or tab) and whether numbers use a decimal comma (``1,5``)."""
    head = text[:4096]
    counts = {d: head.count(d) for d in ("\t", ";")}
    delimiter = max(counts, key=counts.get) if max(counts.values()) > 0 else ","
    decimal_comma = delimiter != "," and re.search(r"\d,\d", head) is not None
    return delimiter, decimal_comma


@dataclass(frozen=True)
class Table:
    """A CSV read as text cells: the header (names), the rows, and which columns hold numbers."""

    names: tuple
    rows: list = field(repr=False)
    first_row: int  # the file's line number of rows[0]
    numeric: tuple  # indices of the columns whose filled cells are mostly numbers
    decimal_comma: bool

    def default_column(self) -> int:
        """The value column a student most likely means: the last numeric one that is not a plain counter
        (a year or index column goes up by exactly 1 on every row)."""
        for j in reversed(self.numeric):
            cells = [r[j] for r in self.rows if j < len(r)]
            try:
                v = np.array([float(c) for c in cells])
            except ValueError:
                return j
            if not (len(v) > 1 and np.all(np.diff(v) == 1)):
                return j
        return self.numeric[-1]

    def label_column(self, value_column: int) -> int | None:
        """A column of times to label the values with: the first non-value column."""
        others = [j for j in range(len(self.names)) if j != value_column]
        return others[0] if others else None


def read_table(data: bytes) -> Table:
    """The cells of a CSV (comma, semicolon or tab separated; a header row is optional; blank lines are
    skipped). Memory stays within a few MB: the bytes, the lines and the rows are each capped before the
    next step makes Python objects of them."""
    text = _decode(data)
    if not text.strip():
        raise ValueError("the file is empty")
    long_line = re.search(f"[^\n]{{{MAX_LINE + 1}}}", text)
    if long_line:  # before the CSV reader makes a Python string of every cell in it
        raise ValueError(
            f"line {text.count(chr(10), 0, long_line.start()) + 1} has more than {MAX_LINE:,} characters: "
            "a series needs one value per row (and at most a few columns)"
        )
    delimiter, decimal_comma = sniff(text)
    rows = []
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    while True:
        try:
            row = next(reader, None)
        except csv.Error as err:
            raise ValueError(f"line {reader.line_num}: not readable as CSV ({err})") from None
        if row is None:
            break
        number = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        rows.append((number, row))
        if len(rows) > MAX_POINTS + 1:
            raise ValueError(f"the file has more than {MAX_POINTS:,} rows: at most {MAX_POINTS:,} values are allowed")
    if not rows:
        raise ValueError("the file holds no values (only blank lines or empty cells)")
    header = rows[0][1]
    has_header = not all(_is_number(c) or not c.strip() for c in header) and len(rows) > 1
    if has_header:
        names = tuple(c.strip() or f"column {j + 1}" for j, c in enumerate(header))
        rows = rows[1:]
    else:
        names = tuple(f"column {j + 1}" for j in range(max(len(r) for _, r in rows)))
    width = len(names)
    numeric = []
    for j in range(width):
        cells = [r[j] for _, r in rows if j < len(r) and r[j].strip().lower() not in MISSING_TOKENS]
        good = 0
        for c in cells:
            try:
                _number(c, decimal_comma)
                good += 1
            except ValueError:
                pass
        if cells and good >= 0.5 * len(cells):
            numeric.append(j)
    if not numeric:
        raise ValueError(
            f"no column of numbers found (columns: {', '.join(names)[:200]}): the file needs one column of values"
        )
    # Pad short rows so a missing trailing cell reads as a missing value.
    padded = [r + [""] * (width - len(r)) for _, r in rows]
    return Table(names, padded, rows[0][0], tuple(numeric), decimal_comma)


def parse_csv(data: bytes, column: int | str | None = None, missing: str = "refuse", name: str = "uploaded") -> Series:
    """A series from the bytes of a CSV: the value column ``column`` (its index or name; by default the
    last numeric column that is not a counter such as a year), labelled by the first other column.

    ValueError, with the row and column, for: a file over ``MAX_BYTES``, a binary or zip file, text that is
    not UTF-8 (or UTF-16 with its byte-order mark), a cell that is not a number, a non-finite or huge value,
    missing values under ``missing="refuse"``, more than ``MAX_POINTS`` rows, fewer than ``MIN_POINTS`` values,
    a constant series.
    """
    if missing not in MISSING_POLICIES:
        raise ValueError(f"missing must be one of {', '.join(MISSING_POLICIES)}, got {missing!r}")
    table = read_table(data)
    if column is None:
        j = table.default_column()
    elif isinstance(column, str):
        if column not in table.names:
            raise ValueError(f"no column named {column!r}; the columns are {', '.join(table.names)}")
        j = table.names.index(column)
    else:
        if not 0 <= column < len(table.names):
            raise ValueError(f"column {column} does not exist; the file has {len(table.names)} columns")
        j = column
    col_name = table.names[j]
    values, rows = np.empty(len(table.rows)), []
    for i, row in enumerate(table.rows):
        line = table.first_row + i
        rows.append(line)
        where = f"row {line}, column {col_name!r}"
        try:
            value = _number(row[j], table.decimal_comma)
        except ValueError:
            raise ValueError(f"{where}: {row[j].strip()[:30]!r} is not a number") from None
        if value is None:
            values[i] = np.nan
            continue
        _check_number(value, where, row[j])
        values[i] = value
    values, keep, note = _fill_missing(values, rows, missing, f"column {col_name!r}")
    _check_values(values, f"column {col_name!r}")
    label_j = table.label_column(j)
    labels = tuple(table.rows[k][label_j].strip() for k in keep) if label_j is not None else None
    return Series(name, values, labels, notes=(note,) if note else ())


def parse_text(text: str, missing: str = "refuse", name: str = "pasted") -> Series:
    """A series from pasted numbers separated by commas, semicolons, spaces or new lines (``NA`` marks a
    missing value). ValueError naming the entry for anything else."""
    if missing not in MISSING_POLICIES:
        raise ValueError(f"missing must be one of {', '.join(MISSING_POLICIES)}, got {missing!r}")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("nothing pasted: paste numbers separated by commas, spaces or new lines")
    if len(text.encode()) > MAX_BYTES:
        raise ValueError(f"the text has more than {MAX_BYTES:,} bytes; paste at most {MAX_POINTS:,} numbers")
    tokens = [t for t in re.split(r"[,;\s]+", text.strip()) if t]
    if len(tokens) > MAX_POINTS:
        raise ValueError(f"{len(tokens):,} numbers pasted: at most {MAX_POINTS:,} are allowed")
    values = np.empty(len(tokens))
    for i, token in enumerate(tokens):
        where = f"entry {i + 1}"
        try:
            value = _number(token, False)
        except ValueError:
            raise ValueError(f"{where}: {token[:30]!r} is not a number") from None
        if value is None:
            values[i] = np.nan
            continue
        _check_number(value, where, token)
        values[i] = value
    values, _, note = _fill_missing(values, list(range(1, len(tokens) + 1)), missing, "the pasted numbers")
    _check_values(values, "the pasted series")
    return Series(name, values, notes=(note.replace("row", "entry"),) if note else ())


# --------------------------------------------------------------------------------------------------
# Setup: the split in time, the scaler fitted on the past, the windows


@dataclass(frozen=True)
class ForecastConfig:
    """Everything that decides a forecast run (small and hashable: the page caches on it)."""

    window: int = 12  # W: how many past values the model sees
    horizon: int = 6  # K: how many steps ahead it forecasts (recursively, one step at a time)
    season: int | None = None  # the seasonal naive baseline's lag; None: no season (it becomes persistence)
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    hidden_size: int = 16
    updates: int = 600  # optimiser updates per model
    batch_size: int = 32
    lr: float = 0.01
    clip: float = 1.0
    forget_bias: float = 1.0  # LSTM forget / GRU update gate bias at initialisation (Jozefowicz et al. 2015)
    eval_every: int = 20
    seed: int = 0
    difference: bool = False  # model the changes v[t] - v[t-1] instead of the values (for a trend)

    def check(self) -> None:
        for name, low, high in (("window", 1, 200), ("horizon", 1, 100), ("hidden_size", 1, 64)):
            value = getattr(self, name)
            if not low <= value <= high:
                raise ValueError(f"{name} must be between {low} and {high}, got {value}")
        if not 1 <= self.updates <= 5000:
            raise ValueError(f"updates must be between 1 and 5000, got {self.updates}")
        if self.season is not None and not 2 <= self.season <= 1000:
            raise ValueError(f"season must be between 2 and 1000 steps, got {self.season}")
        for name in ("val_fraction", "test_fraction"):
            if not 0.05 <= getattr(self, name) <= 0.4:
                raise ValueError(f"{name} must be between 0.05 and 0.4, got {getattr(self, name)}")
        if not 1 <= self.batch_size <= 512 or not self.lr > 0 or not self.clip > 0 or self.eval_every < 1:
            raise ValueError("batch size 1-512, positive learning rate and clipping, eval_every >= 1")


@dataclass(frozen=True)
class Split:
    """Three consecutive parts of the series: train ``[0, train_end)``, validation ``[train_end, val_end)``,
    test ``[val_end, n)``; and the first forecast origin any method may use, ``start`` (a full window and, for
    seasonal naive, a full season of history before it)."""

    n: int
    train_end: int
    val_end: int
    start: int

    def origins(self, part: str, horizon: int) -> np.ndarray:
        """Forecast origins t whose targets ``t .. t+horizon-1`` all lie inside ``part``."""
        lo, hi = {"train": (0, self.train_end), "val": (self.train_end, self.val_end), "test": (self.val_end, self.n)}[
            part
        ]
        return np.arange(max(lo, self.start), hi - horizon + 1)


def split(n: int, config: ForecastConfig) -> Split:
    """The chronological split, or a ValueError that says which part is too short for the window and horizon."""
    config.check()
    n_test = max(int(round(n * config.test_fraction)), 1)
    n_val = max(int(round(n * config.val_fraction)), 1)
    train_end, val_end = n - n_test - n_val, n - n_test
    start = max(config.window + int(config.difference), config.season or 0)
    s = Split(n, train_end, val_end, start)
    need = 4  # training windows at the very least
    if train_end - start < need:
        raise ValueError(
            f"the series has {n} values; its training part ({train_end} values) is too short for a window of "
            f"{config.window}{' and a season of ' + str(config.season) if config.season else ''}: it needs at "
            f"least {start + need} values. Shorten the window or use a longer series."
        )
    if n_test < config.horizon:  # the validation part is scored one step ahead: one value is enough
        raise ValueError(
            f"the test part has {n_test} values, fewer than the horizon {config.horizon}: shorten the horizon "
            "or give the test part a larger share"
        )
    return s


@dataclass(frozen=True)
class Scaler:
    """``(v - mean) / scale``, fitted on the training part only."""

    mean: float
    scale: float

    @classmethod
    def fit(cls, train_values: np.ndarray) -> Scaler:
        scale = float(np.std(train_values))
        if not scale > 0:
            raise ValueError("the training part (or its changes) is constant: there is nothing to learn from it")
        return cls(float(np.mean(train_values)), scale)

    def transform(self, v: np.ndarray) -> np.ndarray:
        return (np.asarray(v, dtype=float) - self.mean) / self.scale

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(z, dtype=float) * self.scale + self.mean


def windows(values: np.ndarray, origins: np.ndarray, window: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``(N, W)`` = ``v[t-W:t]`` and targets ``(N, K)`` = ``v[t:t+K]`` for each origin t."""
    origins = np.asarray(origins, dtype=int)
    if len(origins) and (origins.min() < window or origins.max() + horizon > len(values)):
        raise ValueError("an origin's window or targets fall outside the series")
    x = values[origins[:, None] + np.arange(-window, 0)]
    y = values[origins[:, None] + np.arange(horizon)]
    return x, y


def recursive(predict_one: Callable[[np.ndarray], np.ndarray], x: np.ndarray, horizon: int) -> np.ndarray:
    """K-step forecasts ``(N, K)``: forecast one step from each window ``(N, W)``, append the forecast to the
    window, drop its oldest value, and again."""
    out = np.empty((x.shape[0], horizon))
    current = np.array(x, dtype=float)
    for k in range(horizon):
        out[:, k] = predict_one(current)
        current = np.concatenate([current[:, 1:], out[:, k : k + 1]], axis=1)
    return out


# --------------------------------------------------------------------------------------------------
# Baselines


def persistence(values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """Every step ahead forecast as the last known value ``v[t-1]``."""
    return np.repeat(values[np.asarray(origins) - 1][:, None], horizon, axis=1)


def seasonal_naive(values: np.ndarray, origins: np.ndarray, horizon: int, season: int | None) -> np.ndarray:
    """Step ``t+h`` forecast as the value of the same phase in the last season known at t:
    ``v[t + h - s * ceil((h + 1) / s)]`` (h = 0 .. K-1). Without a season, persistence."""
    if not season:
        return persistence(values, origins, horizon)
    h = np.arange(horizon)
    back = season * ((h // season) + 1)
    return values[np.asarray(origins)[:, None] + h - back]


@dataclass(frozen=True)
class LinearAR:
    """``v_t = w . v[t-W:t] + b``, fitted by least squares on the training windows (scaled values)."""

    coef: np.ndarray  # (W + 1,): weights of the window, oldest first, then the intercept

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray) -> LinearAR:
        design = np.column_stack([x, np.ones(len(x))])
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        return cls(coef)

    def predict_one(self, x: np.ndarray) -> np.ndarray:
        return x @ self.coef[:-1] + self.coef[-1]

    @property
    def num_params(self) -> int:
        return len(self.coef)


# --------------------------------------------------------------------------------------------------
# Models: a cell and a linear readout of its last hidden state, trained for one step ahead


@dataclass(frozen=True)
class Forecaster:
    kind: str
    params: dict = field(repr=False)  # PyTorch's cell keys, plus readout.weight (1, H) and readout.bias (1,)

    def cell(self):
        return from_state_dict(self.kind, {k: v for k, v in self.params.items() if not k.startswith("readout.")})

    @property
    def num_params(self) -> int:
        return int(sum(v.size for v in self.params.values()))

    def predict_one(self, x: np.ndarray) -> np.ndarray:
        """One-step forecasts ``(N,)`` from scaled windows ``(N, W)``."""
        h = self.cell().forward(_time_first(x, self.params["weight_hh"].dtype)).h[-1]  # (N, H)
        return (h @ self.params["readout.weight"].T + self.params["readout.bias"])[:, 0].astype(float)


def _time_first(x: np.ndarray, dtype) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(x, dtype=dtype).T[:, :, None])  # (W, N, 1)


@dataclass(frozen=True)
class Point:
    update: int
    train_mse: float  # one-step, on every training window, scaled units
    val_mse: float  # one-step, on every validation window, scaled units
    seconds: float  # training time so far (evaluation excluded)

    @property
    def step(self) -> int:  # what the training service reads (rnnviz.app.trainer.is_job_spec)
        return self.update


@dataclass(frozen=True)
class TrainedModel:
    forecaster: Forecaster  # the parameters at the lowest validation error
    history: tuple  # of Point
    best_update: int
    seconds: float

    @property
    def seconds_per_update(self) -> float:
        return self.seconds / max(self.history[-1].update, 1)


def _probe(n: int, most: int = MAX_PROBE) -> np.ndarray:
    """Up to ``most`` indices evenly spread over ``range(n)``, first and last included."""
    return np.unique(np.linspace(0, n - 1, min(n, most)).round().astype(int))


def _loss_and_grads(cell, readout_w, readout_b, x, y):
    """MSE of one-step forecasts of a batch, and its gradients: the engine's one readout and loss
    (``model.score``) on the windows as a regression data set."""
    s = score(Model(cell, readout_w, readout_b), tasks.Dataset(x, y, True, 1), grads=True)
    return s.loss, s.grads


def training(
    kind: str,
    train_xy: tuple[np.ndarray, np.ndarray],
    val_xy: tuple[np.ndarray, np.ndarray],
    config: ForecastConfig,
):
    """Train one forecaster on scaled one-step windows (``x`` ``(N, W)``, ``y`` ``(N,)``) with Adam and
    global-norm clipping, as a generator: after every evaluation it yields ``(point, model)``, the new
    :class:`Point` and the :class:`TrainedModel` so far (its parameters those at the lowest validation error
    yet). Every ``eval_every`` updates (more sparsely for long runs: at most ``MAX_EVALUATIONS`` points) it
    evaluates the one-step MSE on up to ``MAX_PROBE`` training windows and up to ``MAX_PROBE`` validation
    windows, evenly spread over each part (the same ones every time). The first point is update 0."""
    if kind not in KINDS:
        raise ValueError(f"unknown cell {kind!r}; expected one of {', '.join(KINDS)}")
    dtype = np.dtype("float32")
    H = config.hidden_size
    cell = init_cell(
        kind, 1, H, seed=config.seed, dtype=dtype, forget_bias=None if kind == "rnn" else config.forget_bias
    )
    rng = np.random.default_rng([config.seed, 2])
    k = 1 / np.sqrt(H)  # PyTorch's nn.Linear initialisation
    params = {
        **cell.params,
        "readout.weight": rng.uniform(-k, k, (1, H)).astype(dtype),
        "readout.bias": rng.uniform(-k, k, 1).astype(dtype),
    }
    x_train, y_train = _time_first(train_xy[0], dtype), np.asarray(train_xy[1], dtype=dtype)
    probe_train, probe_val = _probe(len(train_xy[1])), _probe(len(val_xy[1]))
    probe_x, probe_y = train_xy[0][probe_train], np.asarray(train_xy[1], dtype=float)[probe_train]
    val_x, y_val = val_xy[0][probe_val], np.asarray(val_xy[1], dtype=float)[probe_val]
    every = evaluation_interval(config)
    opt = Optimizer("adam", config.lr, config.clip)
    batch_rng = np.random.default_rng([config.seed, 3])
    B = min(config.batch_size, len(y_train))
    history, best, seconds = [], None, 0.0

    def evaluate(update: int) -> tuple[Point, TrainedModel]:
        nonlocal best
        f = Forecaster(kind, params)
        with np.errstate(over="ignore", invalid="ignore"):
            train_mse = float(np.mean((f.predict_one(probe_x) - probe_y) ** 2))
            val_mse = float(np.mean((f.predict_one(val_x) - y_val) ** 2))
        point = Point(update, train_mse, val_mse, seconds)
        history.append(point)
        if best is None or val_mse < best[0]:
            best = (val_mse, update, f)
        return point, TrainedModel(best[2], tuple(history), best[1], seconds)

    yield evaluate(0)
    for update in range(1, config.updates + 1):
        start = time.perf_counter()
        index = batch_rng.choice(len(y_train), size=B, replace=False)
        cell = cell.with_params({k: v for k, v in params.items() if not k.startswith("readout.")})
        with np.errstate(over="ignore", invalid="ignore"):
            _, grads = _loss_and_grads(
                cell, params["readout.weight"], params["readout.bias"], x_train[:, index], y_train[index]
            )
            new, _ = opt.step(params, grads)
        if all(np.all(np.isfinite(v)) for v in new.values()):  # a non-finite update is skipped
            params = new
        seconds += time.perf_counter() - start
        if update % every == 0 or update == config.updates:
            yield evaluate(update)


def evaluation_interval(config: ForecastConfig) -> int:
    """Updates between two evaluation points: ``eval_every``, or more for a long run (``MAX_EVALUATIONS``)."""
    return max(config.eval_every, math.ceil(config.updates / MAX_EVALUATIONS))


def train_model(
    kind: str,
    train_xy: tuple[np.ndarray, np.ndarray],
    val_xy: tuple[np.ndarray, np.ndarray],
    config: ForecastConfig,
    on_point: Callable[[Point], None] | None = None,
) -> TrainedModel:
    """:func:`training` to its end: the model at the lowest validation error, with every point."""
    model = None
    for point, trained in training(kind, train_xy, val_xy, config):
        model = trained
        if on_point is not None:
            on_point(point)
    return model


# --------------------------------------------------------------------------------------------------
# Errors and the whole run


def errors(truth: np.ndarray, forecast: np.ndarray) -> dict:
    """MAE and RMSE over every origin and step ahead, and the MAE of each step ahead (``(K,)``)."""
    err = np.asarray(forecast, dtype=float) - truth
    return {
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mae_by_step": np.mean(np.abs(err), axis=0),
    }


@dataclass(frozen=True)
class ForecastResult:
    """One run: the split, the scaler, the test origins and truth ``(N, K)`` in the series' units, every
    method's forecasts there, its errors, and the trained models."""

    config: ForecastConfig
    split: Split
    scaler: Scaler
    origins: np.ndarray  # test origins
    truth: np.ndarray  # (N, K)
    forecasts: dict  # name -> (N, K)
    errors: dict  # name -> errors() + "relative" (MAE over the seasonal naive's MAE) + "params"
    models: dict  # kind -> TrainedModel

    def table(self) -> list[dict]:
        """One row per method, best MAE first: what the page's table and the CLI's JSON show."""
        rows = []
        for name, e in self.errors.items():
            model = self.models.get(name)
            rows.append(
                {
                    "method": name,
                    "kind": "model" if model else "baseline",
                    "mae": e["mae"],
                    "rmse": e["rmse"],
                    "relative_mae": e["relative"],
                    "mae_first_step": float(e["mae_by_step"][0]),
                    "mae_last_step": float(e["mae_by_step"][-1]),
                    "params": e["params"],
                    "ms_per_update": round(1000 * model.seconds_per_update, 3) if model else None,
                    "best_update": model.best_update if model else None,
                }
            )
        return sorted(rows, key=lambda r: r["mae"])


@dataclass(frozen=True, eq=False)
class Setup:
    """What every method of one run shares: the split, the scaler fitted on the training part, the scaled
    one-step windows of the training and validation parts, the test origins, their truth ``(N, K)`` and
    their scaled windows. :meth:`forecast` turns a one-step predictor into K-step forecasts in the series'
    units."""

    values: np.ndarray
    config: ForecastConfig
    split: Split
    scaler: Scaler
    train_xy: tuple  # (N, W) windows and (N,) next values, scaled
    val_xy: tuple
    origins: np.ndarray  # test origins
    truth: np.ndarray  # (N, K), the series' units
    test_z: np.ndarray  # (N, W) scaled windows of the test origins

    def levels(self, forecast_z: np.ndarray) -> np.ndarray:
        """Scaled forecasts ``(N, K)`` in the series' units (with ``difference``: changes summed onto the last
        known value)."""
        forecast = self.scaler.inverse(forecast_z)
        if self.config.difference:
            return self.values[self.origins - 1][:, None] + np.cumsum(forecast, axis=1)
        return forecast

    def forecast(self, predict_one: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            return self.levels(recursive(predict_one, self.test_z, self.config.horizon))


def prepare(values: np.ndarray, config: ForecastConfig) -> Setup:
    """Split, scale on the training part, and cut the windows every method uses."""
    values = np.asarray(values, dtype=float)
    s = split(len(values), config)
    W, K, lag = config.window, config.horizon, int(config.difference)
    # What the networks and the linear AR model: the values, or with ``difference`` their changes
    # m[u] = v[u+1] - v[u]; the changes known at level origin t end at m[t-2], so their origin is u = t - 1.
    modelled = np.diff(values) if lag else values
    scaler = Scaler.fit(modelled[: s.train_end - lag])
    z = scaler.transform(modelled)
    train_x, train_y = windows(z, s.origins("train", 1) - lag, W, 1)
    val_x, val_y = windows(z, s.origins("val", 1) - lag, W, 1)
    origins = s.origins("test", K)
    if len(origins) > MAX_TEST_ORIGINS:  # a long series: evenly spread origins, the same for every method
        origins = origins[_probe(len(origins), MAX_TEST_ORIGINS)]
    truth = values[origins[:, None] + np.arange(K)]
    test_z = windows(z, origins - lag, W, 0)[0]
    return Setup(values, config, s, scaler, (train_x, train_y[:, 0]), (val_x, val_y[:, 0]), origins, truth, test_z)


def assemble(setup: Setup, models: dict, model_forecasts: dict | None = None) -> ForecastResult:
    """The baselines beside the trained ``models`` (kind -> TrainedModel), every method forecasting the test
    origins; ``model_forecasts`` (kind -> (N, K)) those already made (the training service's), the others are
    made here from each model's kept parameters."""
    values, config, K = setup.values, setup.config, setup.config.horizon
    ar = LinearAR.fit(*setup.train_xy)
    forecasts = {
        "persistence": persistence(values, setup.origins, K),
        "seasonal naive": seasonal_naive(values, setup.origins, K, config.season),
        "linear AR": setup.forecast(ar.predict_one),
    }
    params = {"persistence": 0, "seasonal naive": 0, "linear AR": ar.num_params}
    for kind, model in models.items():
        made = (model_forecasts or {}).get(kind)
        forecasts[kind] = made if made is not None else setup.forecast(model.forecaster.predict_one)
        params[kind] = model.forecaster.num_params
    table = {name: errors(setup.truth, f) for name, f in forecasts.items()}
    reference = table["seasonal naive"]["mae"]
    for name, e in table.items():
        e["relative"] = e["mae"] / reference if reference > 0 else float("nan")
        e["params"] = params[name]
    return ForecastResult(config, setup.split, setup.scaler, setup.origins, setup.truth, forecasts, table, models)


def run(
    values: np.ndarray,
    config: ForecastConfig,
    kinds=KINDS,
    on_point: Callable[[str, Point], None] | None = None,
) -> ForecastResult:
    """Split, scale on the training part, fit the linear AR, train each of ``kinds`` here, in turn, and
    forecast every test origin K steps ahead with every method (in the series' units). The page trains the
    same models through the training service instead, one :class:`ForecastJob` per model."""
    setup = prepare(values, config)
    models = {}
    for kind in kinds:
        callback = (lambda p, kind=kind: on_point(kind, p)) if on_point else None
        models[kind] = train_model(kind, setup.train_xy, setup.val_xy, config, callback)
    return assemble(setup, models)


# --------------------------------------------------------------------------------------------------
# One model's training as a job of the shared training service


BACKWARD_FACTOR = 3.0  # an update: the forward products and about twice again backward (app.admission's too)


@dataclass(frozen=True)
class JobPayload:
    """What a :class:`ForecastJob` reports after each evaluation: the model so far (kept parameters, best
    update, training seconds) and, after its last update, its K-step forecasts of the test origins."""

    forecaster: Forecaster
    best_update: int
    seconds: float
    forecasts: np.ndarray | None = None  # (N, K) in the series' units, at the end only

    def model(self, history) -> TrainedModel:
        return TrainedModel(self.forecaster, tuple(history), self.best_update, self.seconds)


@dataclass(frozen=True)
class ForecastJob:
    """One model of a press of Train in the Forecast lab, as the shared training service runs it (a job
    spec: ``rnnviz.app.trainer.is_job_spec``). Frozen and hashable, so identical presses of any session
    share one computation: the series travels as its float64 bytes, compared and hashed by their SHA-256
    ``digest`` (the bytes themselves are left out of ``==`` and ``hash``; :meth:`check` verifies the digest)."""

    values: bytes = field(repr=False, compare=False)  # the series, float64 little-endian
    digest: str  # sha256 of ``values``
    config: ForecastConfig
    kind: str

    @classmethod
    def of(cls, values: np.ndarray, config: ForecastConfig, kind: str) -> ForecastJob:
        data = np.ascontiguousarray(values, dtype="<f8").tobytes()
        return cls(data, hashlib.sha256(data).hexdigest(), config, kind)

    def series(self) -> np.ndarray:
        return np.frombuffer(self.values, dtype="<f8")

    @property
    def steps(self) -> int:
        return self.config.updates

    def check(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown cell {self.kind!r}; expected one of {', '.join(KINDS)}")
        if hashlib.sha256(self.values).hexdigest() != self.digest:
            raise ValueError("the series' bytes do not match their digest")
        v = self.series()
        if not MIN_POINTS <= len(v) <= MAX_POINTS or not np.all(np.isfinite(v)):
            raise ValueError(f"the series must have {MIN_POINTS} to {MAX_POINTS:,} finite values")
        split(len(v), self.config)  # the config's own check, and the parts long enough

    def work(self) -> float:
        """The admission's work units (``rnnviz.app.admission.model_work``): multiply-adds of the recurrent
        products over the window, for the updates (forward and backward over a batch), the evaluations (the
        probe windows of both parts) and the K recursive steps of each test forecast."""
        c, n = self.config, len(self.values) // 8
        s = split(n, c)
        per_sequence_step = GATE_COUNT[self.kind] * c.hidden_size * (c.hidden_size + 2)
        n_train, n_val = len(s.origins("train", 1)), len(s.origins("val", 1))
        probes = min(n_train, MAX_PROBE) + min(n_val, MAX_PROBE)
        evaluations = (c.updates // evaluation_interval(c) + 2) * probes
        updates = c.updates * min(c.batch_size, n_train) * BACKWARD_FACTOR
        tests = min(len(s.origins("test", c.horizon)), MAX_TEST_ORIGINS) * c.horizon
        return float(per_sequence_step * c.window * (updates + evaluations + tests))

    def run(self):
        """In the worker: train, yielding ``(Point, JobPayload)`` after each evaluation; the last payload
        carries the test forecasts. The same code as :func:`run` trains in the session."""
        setup = prepare(self.series(), self.config)
        for point, model in training(self.kind, setup.train_xy, setup.val_xy, self.config):
            last = point.update == self.config.updates
            forecasts = setup.forecast(model.forecaster.predict_one) if last else None
            yield point, JobPayload(model.forecaster, model.best_update, model.seconds, forecasts)


def collect(values: np.ndarray, config: ForecastConfig, jobs, histories, payloads) -> ForecastResult:
    """A result from the training service's snapshot of a press (its ``configs``, ``histories`` and
    ``trained``): each model at its kept parameters; a model stopped before its first point is left out."""
    models, made = {}, {}
    for job, history, payload in zip(jobs, histories, payloads, strict=True):
        if history and payload is not None:
            models[job.kind] = payload.model(history)
            made[job.kind] = payload.forecasts
    return assemble(prepare(values, config), models, made)


def model_window(result: ForecastResult, values: np.ndarray, origin: int) -> tuple[np.ndarray, np.ndarray]:
    """What the networks read to forecast from ``origin``: the scaled window ``(W, 1)`` (with ``difference``,
    the scaled changes) and the positions in the series of its W values (a change at position p is
    ``v[p] - v[p-1]``), for opening a model in the Cell stepper on a stretch of its own data."""
    c, lag = result.config, int(result.config.difference)
    if not c.window + lag <= origin <= len(values):
        raise ValueError(f"origin {origin} has no full window of {c.window} values before it")
    modelled = np.diff(values) if lag else np.asarray(values, dtype=float)
    z = result.scaler.transform(modelled[origin - lag - c.window : origin - lag])
    return z[:, None], np.arange(origin - c.window, origin)


# --------------------------------------------------------------------------------------------------
# Words from the numbers


NAMES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def _name(method: str) -> str:
    return NAMES.get(method, method)


def describe(result: ForecastResult, unit: str = "") -> list[str]:
    """Sentences about a run, every claim computed from its numbers."""
    e, K = result.errors, result.config.horizon
    unit = f" {unit}" if unit else ""
    out = []
    best = min(e, key=lambda m: e[m]["mae"])
    best_base = min(BASELINES, key=lambda m: e[m]["mae"])
    steps = f"{K} step{'s' if K > 1 else ''} ahead"
    if best == best_base:
        out.append(
            f"Over the test part, up to {steps}, the lowest mean absolute error is a baseline's, the {best}'s: "
            f"{e[best]['mae']:.3g}{unit}.{' No network beats it.' if result.models else ''}"
        )
    else:
        out.append(
            f"Over the test part, up to {steps}, the lowest mean absolute error is the {_name(best)}'s: "
            f"{e[best]['mae']:.3g}{unit}; the best baseline, {best_base}, reaches {e[best_base]['mae']:.3g}{unit}."
        )
    if not result.config.season:
        out.append("This series has no season set, so seasonal naive is persistence.")
    if K > 1:
        first = min(e, key=lambda m: e[m]["mae_by_step"][0])
        last = min(e, key=lambda m: e[m]["mae_by_step"][-1])
        if first == last:
            out.append(f"The {_name(first)} is best both one step ahead and {K} steps ahead.")
        else:
            out.append(f"One step ahead the {_name(first)} is best; {K} steps ahead, the {_name(last)}.")
    if e[best_base]["mae"] <= 1e-9 * result.scaler.scale:  # an exact baseline: ratios to it mean nothing
        out.append(f"The {best_base} forecasts this series exactly (to rounding): no model can beat it here.")
    else:
        for kind in result.models:
            ratio = e[kind]["mae"] / e[best_base]["mae"]
            verdict = "beats" if ratio < 1 else "does not beat"
            shown = f"{ratio:.3f}" if round(ratio, 2) == 1 else f"{ratio:.2f}"  # never "beats ... 1.00 times"
            out.append(
                f"The {_name(kind)} ({e[kind]['params']} parameters) {verdict} {best_base}: its error is "
                f"{shown} times the baseline's."
            )
    for kind, model in result.models.items():
        last, at_best = model.history[-1], next(p for p in model.history if p.update == model.best_update)
        if (
            last.update > model.best_update
            and last.val_mse > 1.1 * at_best.val_mse
            and last.train_mse < 0.9 * at_best.train_mse
        ):
            out.append(
                f"The {_name(kind)} began to overfit: after update {model.best_update} its training error kept "
                f"falling ({at_best.train_mse:.3g} to {last.train_mse:.3g}) while its validation error rose "
                f"({at_best.val_mse:.3g} to {last.val_mse:.3g}); the page uses its parameters from update "
                f"{model.best_update}."
            )
    return out


def range_note(values: np.ndarray, result: ForecastResult, unit: str = "") -> str | None:
    """A sentence when the test part leaves the range of the training part (a trend): the models never
    saw such inputs."""
    if result.config.difference:  # the models read changes, whose range a trend does not leave
        return None
    train = values[: result.split.train_end]
    test = values[result.split.val_end :]
    lo, hi = float(train.min()), float(train.max())
    above, below = float(np.mean(test > hi)), float(np.mean(test < lo))
    if above + below < 0.1:
        return None
    unit = f" {unit}" if unit else ""
    return (
        f"{100 * (above + below):.0f}% of the test values lie outside the range of the training part "
        f"({lo:.4g} to {hi:.4g}{unit}): the models have never seen inputs like them, and a tanh network cannot "
        "extrapolate a trend. Persistence and seasonal naive only copy recent values, so they follow it. "
        "Forecasting the changes instead (differencing) keeps the inputs inside what training showed."
    )


# --------------------------------------------------------------------------------------------------
# The command line: `rnnviz forecast` (argument parsing lives in rnnviz/__main__.py)


def read_file(path) -> bytes:
    """At most MAX_BYTES + 1 bytes of a file: a larger one is refused without reading it all."""
    with open(path, "rb") as f:
        return f.read(MAX_BYTES + 1)


def main(args) -> int:
    """Train the asked-for cells on a shipped series or a CSV and print the test errors of every method."""
    import json

    if args.series is not None:
        series = load_series(args.series)
        info = SHIPPED[args.series]
        window, horizon, season, difference = info.window, info.horizon, info.season, info.difference
    else:
        column = int(args.column) if args.column is not None and args.column.isdigit() else args.column
        series = parse_csv(read_file(args.csv), column, args.missing, name=str(args.csv))
        window, horizon, season, difference = 12, 6, None, False
    if args.season is not None:
        season = args.season or None
    kinds = () if args.cell == "none" else tuple(k.strip() for k in args.cell.split(","))
    for kind in kinds:
        if kind not in KINDS:
            raise ValueError(f"unknown cell {kind!r}; expected rnn, lstm, gru or none")
    config = ForecastConfig(
        window=args.window or window,
        horizon=args.horizon or horizon,
        season=season,
        hidden_size=args.hidden,
        updates=args.updates,
        seed=args.seed,
        difference=difference if args.difference is None else args.difference,
    )
    result = run(series.values, config, kinds)
    summary = {
        "series": series.name,
        "values": len(series),
        "notes": list(series.notes),
        "split": {
            "train": result.split.train_end,
            "val": result.split.val_end - result.split.train_end,
            "test": result.split.n - result.split.val_end,
        },
        "test_origins": len(result.origins),
        "config": {k: getattr(config, k) for k in ForecastConfig.__dataclass_fields__},
        "errors": result.table(),
    }
    if args.json:
        print(json.dumps(summary))
        return 0
    print(
        f"{series.name}: {len(series)} values; window {config.window}, horizon {config.horizon}, "
        f"{len(result.origins)} test origins"
    )
    for row in summary["errors"]:
        print(
            f"  {row['method']:>15}  MAE {row['mae']:.4g}  RMSE {row['rmse']:.4g}  "
            f"relative {row['relative_mae']:.3f}  {row['params']} parameters"
        )
    return 0
