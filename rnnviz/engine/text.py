"""Character-level language models on text, and the finder of the units that track its structure.

Everything here is NumPy and runs on the engine's cells (``Cell.forward`` / ``Cell.backward``) and its Adam
(``training.Optimizer``). Longer than the house's 500 lines because the text lab is one chain whose parts are
tested against each other: corpora with their per-character features, the softmax-over-time loss, truncated
BPTT, the training service's job (:class:`TextJob`, which must train exactly as :func:`train_text` does),
sampling, and the unit finder that reads the trained model's states against those features.

Shapes, time-first as in the cells: ``T`` characters in a window, ``B`` parallel streams, ``V`` characters in
the vocabulary (the one-hot input size D = V), ``H`` hidden units.

Equations of the loss (one window; x_t and y_t = x_{t+1} are character indices)::

    h_t = cell(onehot(x_t), h_{t-1})                   (LSTM: c_t as well)
    logits_t = W_out h_t + b_out                       (T, B, V)
    p_t = softmax(logits_t)
    L = -1/(T B) sum_{t,b} log p_t[y_t]                nats; bits per character = L / ln 2
    d_logits_t = (p_t - onehot(y_t)) / (T B)
    d_h_t = W_out^T d_logits_t                         (what Cell.backward takes as d_h)

Truncated BPTT: the text is cut into ``B`` contiguous streams, each read in windows of ``T`` characters. The
state at the end of a window is the start of the next (carried), but no gradient crosses the boundary.
"""

from __future__ import annotations

import hashlib
import math
import string
import sysconfig
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from rnnviz.engine.cells import GATE_COUNT, GATE_NAMES, KINDS, Cell
from rnnviz.engine.training import Model, Optimizer
from rnnviz.engine.weights import from_state_dict, init_cell

OTHER = "\ufffd"  # stands for every character outside a vocabulary
FEATURES = ("inside quote", "bracket depth", "column", "indentation")
OPENERS, CLOSERS = "([{", ")]}"

# --------------------------------------------------------------------------------------------------
# Corpora


@dataclass(frozen=True)
class Corpus:
    """A text to learn from. ``exact``: its features are the generator's own ground truth (else a scanner's)."""

    name: str
    title: str
    text: str
    vocab: str  # index -> character; the last is OTHER
    source: str  # where the text comes from, in words
    exact: bool = False

    def encode(self, text: str | None = None) -> np.ndarray:
        return encode(self.text if text is None else text, self.vocab)


def encode(text: str, vocab: str) -> np.ndarray:
    """Character indices ``(N,)`` (int32); characters outside ``vocab`` become OTHER."""
    index = {ch: i for i, ch in enumerate(vocab)}
    other = index[OTHER]
    return np.fromiter((index.get(ch, other) for ch in text), dtype=np.int32, count=len(text))


LANGUAGE_WORDS = ("x", "y", "n", "key", "val", "item", "map", "list", "sum", "len", "name", "ok", "add", "get")
QUOTE_WORDS = ("hi", "a (b", "see [1", "ok", "no {", "it is", "x)", "c]", "end")


def bracket_language(n_chars: int = 200_000, seed: int = 0) -> tuple[str, dict[str, np.ndarray]]:
    """A seeded small language of assignments whose values nest ( [ { up to depth 5 and hold quoted
    strings (which may contain bracket characters that do not count). Returns the text and its exact
    per-character truth, recorded while generating: ``depth`` and ``in_quote`` after each character."""
    rng = np.random.default_rng(seed)
    chars: list[str] = []
    depths: list[int] = []
    quotes: list[int] = []

    def emit(s: str, depth: int, quote: int) -> None:
        chars.extend(s)
        depths.extend([depth] * len(s))
        quotes.extend([quote] * len(s))

    def expr(depth: int) -> None:
        r = rng.random()
        if depth < 5 and r < 0.6 * 0.75**depth:
            kind = int(rng.integers(3))
            emit(OPENERS[kind], depth + 1, 0)
            broken = depth < 4 and rng.random() < 0.25  # one item per line, indented by depth
            for k in range(int(rng.integers(1, 5))):
                if broken:
                    emit("\n" + "  " * (depth + 1), depth + 1, 0)
                elif k:
                    emit(", " if kind else " ", depth + 1, 0)
                expr(depth + 1)
            if broken:
                emit("\n" + "  " * depth, depth + 1, 0)
            emit(CLOSERS[kind], depth, 0)
        elif r < 0.75:
            emit('"', depth, 1)
            emit(" ".join(rng.choice(QUOTE_WORDS, size=int(rng.integers(1, 4)))), depth, 1)
            emit('"', depth, 0)
        elif r < 0.87:
            emit(str(int(rng.integers(100))), depth, 0)
        else:
            emit(str(rng.choice(LANGUAGE_WORDS)), depth, 0)

    while len(chars) < n_chars:
        emit(f"{rng.choice(LANGUAGE_WORDS)} = ", 0, 0)
        expr(0)
        emit("\n", 0, 0)
    n = n_chars
    return "".join(chars[:n]), {"bracket depth": np.array(depths[:n]), "inside quote": np.array(quotes[:n])}


def text_features(text: str, comments: bool = False, prose: bool = False) -> dict[str, np.ndarray]:
    """Per-character features after reading each character, by a scanner: ``inside quote`` (1 from an
    opening ' or " up to its closing one, which reads 0 again), ``bracket depth`` (open ( [ {
    outside quotes; never below 0), ``column`` (characters since the line began; 0 at a newline) and
    ``indentation`` (the leading spaces of the current line so far). With ``comments`` a # outside quotes
    starts a comment to the end of the line (Python). With ``prose`` the quotes are the old typewriter
    dialogue marks of Alice's text: ` opens and a ' that no letter follows closes (so the apostrophe of
    "it's" does not), and a blank line ends both a quote and any open bracket (the book has a stray "(" that
    would otherwise stay open to the end). Exact for the generated language; an approximation for Python (no
    triple-quote or prefix handling) and for prose (a possessive "the Rabbits'" closes a quote too early)."""
    n = len(text)
    quote_a, depth_a, col_a, ind_a = (np.zeros(n, np.int32) for _ in range(4))
    depth, quote, col, indent, leading, comment, escaped = 0, "", 0, 0, True, False, False
    for t, ch in enumerate(text):
        if ch == "\n":
            col, indent, leading, comment, escaped = 0, 0, True, False, False  # a quote may span lines
            if prose and text[t - 1 : t] == "\n":  # in prose neither spans a paragraph (the text has strays)
                depth, quote = 0, ""
        else:
            col += 1
            if leading and ch == " ":
                indent += 1
            else:
                leading = False
            if comment:
                pass
            elif prose:
                if ch == "`":
                    quote = "`"
                elif quote and ch == "'" and not text[t + 1 : t + 2].isalpha():
                    quote = ""
                elif ch in OPENERS:  # a parenthesis inside dialogue counts too
                    depth += 1
                elif ch in CLOSERS:
                    depth = max(depth - 1, 0)
            elif quote:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == quote:
                    quote = ""
            elif ch in "'\"":
                quote = ch
            elif comments and ch == "#":
                comment = True
            elif ch in OPENERS:
                depth += 1
            elif ch in CLOSERS:
                depth = max(depth - 1, 0)
        quote_a[t], depth_a[t], col_a[t], ind_a[t] = bool(quote), depth, col, indent
    return {"inside quote": quote_a, "bracket depth": depth_a, "column": col_a, "indentation": ind_a}


LANGUAGE_VOCAB = "".join(sorted(set(string.ascii_lowercase + string.digits + ' =,"()[]{}\n'))) + OTHER
CODE_VOCAB = string.printable[:95] + "\n" + OTHER  # printable ASCII (tab and the like become OTHER)

# A fixed, deterministic subset of the standard library of the Python that runs the app: present on every
# machine with Python, so nothing is downloaded. Files missing from a Python version are skipped.
STDLIB_FILES = (
    "textwrap.py", "shlex.py", "fnmatch.py", "glob.py", "bisect.py", "heapq.py", "colorsys.py", "string.py",
    "calendar.py", "queue.py", "copy.py", "graphlib.py", "difflib.py", "keyword.py", "operator.py", "abc.py",
)  # fmt: skip
STDLIB_FILE_CAP = 40_000  # characters kept from each file
STDLIB_TOTAL_CAP = 250_000


@lru_cache(maxsize=4)
def builtin_corpus(name: str) -> Corpus:
    """``language`` (the generated bracket language), ``stdlib`` (Python source of the running interpreter) or
    ``prose`` (Alice's Adventures in Wonderland, shipped)."""
    if name == "language":
        text, _ = bracket_language()
        return Corpus(
            "language",
            "Generated bracket language",
            text,
            LANGUAGE_VOCAB,
            "200,000 characters from a seeded generator (rnnviz.engine.text.bracket_language, seed 0): nested "
            "brackets and quoted strings, with exact per-character truth.",
            exact=True,
        )
    if name == "stdlib":
        root = Path(sysconfig.get_paths()["stdlib"])
        parts, used = [], []
        for file in STDLIB_FILES:
            path = root / file
            if path.is_file() and sum(map(len, parts)) < STDLIB_TOTAL_CAP:
                parts.append(path.read_text(encoding="utf-8", errors="replace")[:STDLIB_FILE_CAP].expandtabs(4))
                used.append(file)
        text = "\n".join(parts)[:STDLIB_TOTAL_CAP]
        return Corpus(
            "stdlib",
            "Python standard library source",
            text,
            CODE_VOCAB,
            f"{len(text):,} characters of {len(used)} files read from this Python's standard library ({root}): "
            + ", ".join(used)
            + f" (each cut at {STDLIB_FILE_CAP:,} characters). Another Python version gives slightly other text.",
        )
    if name == "prose":
        raw = PROSE_FILE.read_bytes()
        text = raw.decode("ascii").replace("\r\n", "\n").rstrip("\x1a").strip("\n") + "\n"  # DOS line ends, EOF mark
        vocab = "".join(sorted(set(text))) + OTHER
        return Corpus(
            "prose",
            "Alice's Adventures in Wonderland",
            text,
            vocab,
            f"Lewis Carroll, Alice's Adventures in Wonderland (1865; public domain), the Millennium Fulcrum "
            f"Edition 2.9 as its title page says: {len(text):,} characters, shipped in rnnviz/content/data/text "
            "(its README says where the file comes from).",
        )
    raise ValueError(f"unknown corpus {name!r}: choose language, stdlib or prose")


BUILTIN = ("language", "stdlib", "prose")
# The prose text ships as data beside the models (content/data/text); named by path, not imported, so the
# engine stays below the content layer.
PROSE_FILE = Path(__file__).resolve().parents[1] / "content" / "data" / "text" / "alice29.txt"


def corpus_features(corpus: Corpus) -> dict[str, np.ndarray]:
    return text_features(corpus.text, comments=corpus.name == "stdlib", prose=corpus.name == "prose")


# The student's own text
MAX_UPLOAD_BYTES = 1_000_000
MAX_CHARS = 100_000  # longer texts are cut here (said in the page)
MIN_CHARS = 500
MAX_VOCAB = 96  # the most frequent characters; the rest become OTHER


def read_upload(data: bytes) -> str:
    """The text of an uploaded file, or a ValueError that says what is wrong with it."""
    if len(data) == 0:
        raise ValueError("the file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValueError(f"the file has {len(data):,} bytes; the limit is {MAX_UPLOAD_BYTES:,}")
    if b"\x00" in data[:8192]:
        raise ValueError("this looks like a binary file (it contains zero bytes), not a plain-text .txt file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(
            f"the file is not UTF-8 text (byte {err.start} is 0x{data[err.start]:02x}); save it as UTF-8 and retry"
        ) from None
    return text


def user_corpus(text: str) -> tuple[Corpus, list[str]]:
    """A corpus from a student's text, and notes on what was changed. ValueError if it cannot be learned."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").expandtabs(4)
    notes = []
    controls = sum(1 for ch in text if ord(ch) < 32 and ch != "\n")
    if text and controls > 0.01 * len(text):
        raise ValueError(f"{controls} of {len(text)} characters are control characters: this is not plain text")
    if not text.strip():
        raise ValueError("the text is empty (or only spaces and line breaks)")
    if len(text) < MIN_CHARS:
        raise ValueError(f"the text has {len(text)} characters; a model needs at least {MIN_CHARS} to learn from")
    if len(text) > MAX_CHARS:
        notes.append(f"Only the first {MAX_CHARS:,} of {len(text):,} characters are used.")
        text = text[:MAX_CHARS]
    counts = Counter(text)
    kept = sorted(ch for ch, _ in counts.most_common(MAX_VOCAB))
    if len(counts) > MAX_VOCAB:
        notes.append(f"{len(counts) - MAX_VOCAB} rare characters (of {len(counts)}) are read as one symbol, {OTHER}.")
    vocab = "".join(ch for ch in kept if ch != OTHER) + OTHER
    return Corpus("own", "Your text", text, vocab, f"your text, {len(text):,} characters"), notes


def unigram_bits(idx: np.ndarray, size: int) -> float:
    """Entropy of the character frequencies in bits: what a model that ignores context achieves at best."""
    p = np.bincount(idx, minlength=size) / len(idx)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def split(idx: np.ndarray, held_out: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """The training text and the held-out text after it (the last ``held_out`` fraction)."""
    cut = int(len(idx) * (1 - held_out))
    return idx[:cut], idx[cut:]


# --------------------------------------------------------------------------------------------------
# The model and its loss


@dataclass(frozen=True)
class TextModel:
    """A cell with a linear readout to the vocabulary (``net``, the engine's Model) and that vocabulary."""

    net: Model
    vocab: str

    @property
    def kind(self) -> str:
        return self.net.cell.kind

    @property
    def hidden_size(self) -> int:
        return self.net.cell.hidden_size


def init_text_model(kind: str, vocab: str, hidden_size: int, seed: int = 0, dtype=np.float32) -> TextModel:
    V = len(vocab)
    cell = init_cell(kind, V, hidden_size, seed, dtype=dtype, forget_bias=None if kind == "rnn" else 1.0)
    rng = np.random.default_rng([seed, 2])
    k = 1 / math.sqrt(hidden_size)
    weight = rng.uniform(-k, k, (V, hidden_size)).astype(dtype)
    return TextModel(Model(cell, weight, np.zeros(V, dtype)), vocab)


def one_hot(idx: np.ndarray, size: int, dtype) -> np.ndarray:
    """``idx`` (T, B) -> (T, B, size)."""
    return np.eye(size, dtype=dtype)[idx]


@dataclass(frozen=True)
class WindowResult:
    loss: float  # nats per character
    grads: dict[str, np.ndarray]  # every parameter of Model.params
    d_h0: np.ndarray  # dL/dh0 (B, H)
    d_c0: np.ndarray | None
    h_last: np.ndarray  # (B, H): the state carried into the next window
    c_last: np.ndarray | None


def _log_probs(net: Model, h: np.ndarray) -> np.ndarray:
    logits = h @ net.readout_weight.T + net.readout_bias  # (T, B, V)
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def window_loss(net: Model, x: np.ndarray, y: np.ndarray, h0=None, c0=None, grads: bool = True) -> WindowResult:
    """The softmax-over-time loss of one window ``x``, ``y`` (T, B) of character indices from state ``h0``
    (``c0``) ``(B, H)``, and (with ``grads``) its gradients by BPTT inside the window (module docstring)."""
    cell = net.cell
    T, B = x.shape
    V = net.readout_weight.shape[0]
    trace = cell.forward(one_hot(x, V, cell.dtype), h0, c0)
    log_p = _log_probs(net, trace.h)  # (T, B, V)
    t_i, b_i = np.meshgrid(np.arange(T), np.arange(B), indexing="ij")
    loss = float(-log_p[t_i, b_i, y].mean())
    h_last, c_last = trace.h[-1].copy(), None if trace.c is None else trace.c[-1].copy()
    if not grads:
        return WindowResult(loss, {}, None, None, h_last, c_last)
    d_logits = np.exp(log_p)
    d_logits[t_i, b_i, y] -= 1.0
    d_logits /= T * B
    d_h = d_logits @ net.readout_weight  # (T, B, H)
    g = cell.backward(trace, d_h)
    out = dict(g.params)
    out["readout.weight"] = np.einsum("tbv,tbh->vh", d_logits, trace.h)
    out["readout.bias"] = d_logits.sum(axis=(0, 1))
    return WindowResult(loss, out, g.h0, g.c0, h_last, c_last)


def streams(idx: np.ndarray, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and next-character targets as ``batch`` contiguous streams: two ``(L, B)`` arrays."""
    L = (len(idx) - 1) // batch
    if L < 1:
        raise ValueError(f"the text is too short for {batch} streams")
    x = idx[: L * batch].reshape(batch, L).T
    y = idx[1 : L * batch + 1].reshape(batch, L).T
    return x, y


def tbptt_grads(net: Model, x: np.ndarray, y: np.ndarray, window: int, h0=None, c0=None) -> tuple[float, dict]:
    """Loss and gradients of a whole ``(L, B)`` stream read in windows of ``window`` with the state carried
    and the gradient cut at each boundary, each window's loss weighted by its share of the characters (so
    with one window covering the stream this is full BPTT)."""
    L = x.shape[0]
    total, grads, h, c = 0.0, None, h0, c0
    for start in range(0, L, window):
        r = window_loss(net, x[start : start + window], y[start : start + window], h, c)
        share = (min(start + window, L) - start) / L
        total += share * r.loss
        scaled = {k: share * v for k, v in r.grads.items()}
        grads = scaled if grads is None else {k: grads[k] + scaled[k] for k in grads}
        h, c = r.h_last, r.c_last
    return total, grads


def bits_per_char(net: Model, idx: np.ndarray) -> float:
    """Bits per character predicting ``idx[1:]`` from ``idx[:-1]``, one stream from a zero state."""
    r = window_loss(net, idx[:-1, None], idx[1:, None], grads=False)
    return r.loss / math.log(2)


# --------------------------------------------------------------------------------------------------
# Training


@dataclass(frozen=True)
class TextConfig:
    cell: str = "lstm"
    hidden_size: int = 32
    steps: int = 1000  # optimiser updates, one per window
    window: int = 50  # T: characters per window (the truncation length of BPTT)
    batch: int = 16  # B: parallel streams
    lr: float = 0.01
    clip: float = 1.0
    seed: int = 0
    eval_every: int = 100
    eval_chars: int = 5000  # characters of training and held-out text the bits per character are measured on
    dtype: str = "float32"

    def check(self) -> None:
        if self.cell not in KINDS:
            raise ValueError(f"unknown cell {self.cell!r}")
        if not 1 <= self.hidden_size <= 128:
            raise ValueError(f"hidden size must be between 1 and 128, got {self.hidden_size}")
        if not 1 <= self.steps <= 50_000 or not 2 <= self.window <= 500 or not 1 <= self.batch <= 128:
            raise ValueError("steps 1-50000, window 2-500 and batch 1-128, please")


@dataclass(frozen=True)
class TextRun:
    config: TextConfig
    model: TextModel
    history: tuple  # of (update, train bits per char, held-out bits per char)
    seconds: float  # training time (evaluation excluded)
    unigram_bits: float
    updates: int = 0
    stopped: bool = False

    @property
    def train_bits(self) -> float:
        return self.history[-1][1]

    @property
    def held_out_bits(self) -> float:
        return self.history[-1][2]


def train_steps(config: TextConfig, corpus: Corpus):
    """Train a character model on ``corpus`` by truncated BPTT with Adam: a generator that yields the run so
    far (a :class:`TextRun`) every ``eval_every`` updates and at the last one, so a caller may stop between
    two evaluation points (the training service's worker does, :class:`TextJob`)."""
    config.check()
    idx = corpus.encode()
    train_idx, held_idx = split(idx)
    x, y = streams(train_idx, config.batch)
    model = init_text_model(config.cell, corpus.vocab, config.hidden_size, config.seed, np.dtype(config.dtype))
    net = model.net
    opt = Optimizer("adam", config.lr, config.clip)
    probe_train, probe_held = train_idx[: config.eval_chars], held_idx[: config.eval_chars]
    run = TextRun(config, model, (), 0.0, unigram_bits(train_idx, len(corpus.vocab)))
    h = c = None
    position, seconds = 0, 0.0
    for update in range(1, config.steps + 1):
        start = time.perf_counter()
        if position + config.window > x.shape[0]:  # the end of the streams: start again from a zero state
            position, h, c = 0, None, None
        window = slice(position, position + config.window)
        with np.errstate(over="ignore", invalid="ignore"):
            r = window_loss(net, x[window], y[window], h, c)
            params, _ = opt.step(net.params, r.grads)
        try:
            net = net.with_params(params)
        except ValueError:  # a non-finite update is skipped
            pass
        h, c, position = r.h_last, r.c_last, position + config.window
        seconds += time.perf_counter() - start
        if update % config.eval_every == 0 or update == config.steps:
            point = (update, bits_per_char(net, probe_train), bits_per_char(net, probe_held))
            run = replace(run, model=replace(model, net=net), history=(*run.history, point), seconds=seconds)
            run = replace(run, updates=update)
            yield run


def train_text(
    config: TextConfig,
    corpus: Corpus,
    on_progress: Callable[[TextRun], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TextRun:
    """:func:`train_steps` to the end, or until ``should_stop()`` says so at an evaluation point."""
    run = None
    for run in train_steps(config, corpus):
        stop = should_stop is not None and should_stop() and run.updates < config.steps
        run = replace(run, stopped=stop)
        if on_progress is not None:
            on_progress(run)
        if stop:
            break
    return run


# --------------------------------------------------------------------------------------------------
# Training as a job of the shared training service (rnnviz.app.trainer.is_job_spec)

SAMPLE_CHARS = 160  # generated at every evaluation point, so the page shows how the samples improve
SAMPLE_TEMPERATURE = 0.7
BACKWARD_FACTOR = 3.0  # as rnnviz.app.admission counts a training update: forward, and about twice that backward


@dataclass(frozen=True)
class TextPoint:
    """One evaluation point of a :class:`TextJob`: what the service needs (``step``, ``seconds``: training
    time, evaluation excluded) and bits per character on training and held-out text, with a sample."""

    step: int
    seconds: float
    train_bits: float
    held_out_bits: float
    sample: str  # SAMPLE_CHARS generated at SAMPLE_TEMPERATURE after the held-out text's first characters


@dataclass(frozen=True)
class TextJob:
    """One character model trained by the shared training service (a job spec: ``rnnviz.app.trainer
    .is_job_spec``): a built-in corpus by name, or the student's own text as UTF-8 bytes with its SHA-256
    (``corpus="own"``), and the training settings of :class:`TextConfig`. Frozen, hashable and picklable:
    the service keys identical presses by it, so two sessions with the same text and settings share one run.
    Built with :meth:`of`."""

    corpus: str
    cell: str
    hidden_size: int
    steps: int
    window: int = 50
    batch: int = 16
    lr: float = 0.01
    seed: int = 0
    eval_every: int = 50
    own: bytes = b""  # the student's text (corpus "own"), UTF-8
    digest: str = ""  # SHA-256 of ``own``, hex: names the text in a run's description without its bytes

    @classmethod
    def of(cls, corpus: Corpus, config: TextConfig) -> TextJob:
        own = corpus.text.encode("utf-8") if corpus.name == "own" else b""
        return cls(
            corpus.name,
            config.cell,
            config.hidden_size,
            config.steps,
            config.window,
            config.batch,
            config.lr,
            config.seed,
            config.eval_every,
            own,
            hashlib.sha256(own).hexdigest() if own else "",
        )

    @property
    def config(self) -> TextConfig:
        return TextConfig(
            cell=self.cell,
            hidden_size=self.hidden_size,
            steps=self.steps,
            window=self.window,
            batch=self.batch,
            lr=self.lr,
            seed=self.seed,
            eval_every=self.eval_every,
        )

    def text_corpus(self) -> Corpus:
        if self.corpus == "own":
            return user_corpus(self.own.decode("utf-8"))[0]
        return builtin_corpus(self.corpus)

    def check(self) -> None:
        self.config.check()
        if self.corpus == "own":
            if hashlib.sha256(self.own).hexdigest() != self.digest:
                raise ValueError("the text does not match its digest")
            user_corpus(self.own.decode("utf-8"))  # ValueError with the student's reason
        elif self.corpus not in BUILTIN:
            raise ValueError(f"unknown corpus {self.corpus!r}: choose {', '.join(BUILTIN)} or own")
        elif self.own:
            raise ValueError("a built-in corpus takes no text of its own")

    def work(self) -> float:
        """Work units as ``rnnviz.app.admission.model_work`` counts them: the recurrent products and the
        readout, per character, for every training update (x3: forward and backward), every evaluation
        (forward over the training and held-out probes) and every sample."""
        config = self.config
        V = len(self.text_corpus().vocab)
        H = self.hidden_size
        per_char = GATE_COUNT[self.cell] * H * (H + V + 1) + V * (H + 1)
        updates = self.steps * self.batch * self.window * BACKWARD_FACTOR
        evaluations = (self.steps // self.eval_every + 1) * (2 * config.eval_chars + SAMPLE_CHARS)
        return float(per_char * (updates + evaluations))

    def run(self):
        """Train in the worker: ``(TextPoint, payload)`` at every evaluation point; the payload holds the
        parameters (:func:`payload`; :func:`model_of` builds the model again)."""
        corpus = self.text_corpus()
        prime = corpus.text[int(len(corpus.text) * 0.9) :][:40]  # the held-out text's start (split's cut)
        for run in train_steps(self.config, corpus):
            step, train_bits, held_bits = run.history[-1]
            text = sample(run.model, prime, SAMPLE_CHARS, SAMPLE_TEMPERATURE, seed=step)
            yield TextPoint(step, run.seconds, train_bits, held_bits, text), payload(run.model)


def payload(model: TextModel) -> dict:
    """A model as plain arrays (picklable, no engine objects): the cell's state dict, the readout, the
    vocabulary and the kind."""
    net = model.net
    return {
        "kind": model.kind,
        "state_dict": net.cell.state_dict(),
        "readout_weight": net.readout_weight,
        "readout_bias": net.readout_bias,
        "vocab": model.vocab,
    }


def model_of(plain: dict) -> TextModel:
    """The model of a :func:`payload` (its own copies of the arrays)."""
    cell = from_state_dict(plain["kind"], {k: np.array(v) for k, v in plain["state_dict"].items()})
    return TextModel(Model(cell, np.array(plain["readout_weight"]), np.array(plain["readout_bias"])), plain["vocab"])


def sample(model: TextModel, prime: str, n: int, temperature: float = 1.0, seed: int = 0) -> str:
    """``n`` characters generated after ``prime``: each drawn from softmax(logits / temperature)."""
    if not temperature > 0:
        raise ValueError("temperature must be positive")
    net, V = model.net, len(model.vocab)
    rng = np.random.default_rng(seed)
    prime = prime or "\n"
    trace = net.cell.forward(one_hot(encode(prime, model.vocab)[:, None], V, net.cell.dtype))
    h, c = trace.h[-1], None if trace.c is None else trace.c[-1]
    out = []
    for _ in range(n):
        logits = (h @ net.readout_weight.T + net.readout_bias)[0].astype(np.float64) / temperature
        p = np.exp(logits - logits.max())
        k = int(rng.choice(V, p=p / p.sum()))
        out.append(model.vocab[k])
        trace = net.cell.forward(one_hot(np.array([[k]]), V, net.cell.dtype), h, c)
        h, c = trace.h[-1], None if trace.c is None else trace.c[-1]
    return "".join(out)


# --------------------------------------------------------------------------------------------------
# Saving and loading (npz without pickles, and a JSON sidecar written by scripts/make_text_models.py)


def save_model(model: TextModel, path) -> None:
    net = model.net
    np.savez(
        path,
        **net.cell.state_dict(),
        readout_weight=net.readout_weight,
        readout_bias=net.readout_bias,
        vocab=np.array([ord(ch) for ch in model.vocab], dtype=np.int32),
        kind=np.array([KINDS.index(model.kind)], dtype=np.int32),
    )


def load_model(path) -> TextModel:
    with np.load(path, allow_pickle=False) as f:
        kind = KINDS[int(f["kind"][0])]
        cell = from_state_dict(kind, {k: f[k] for k in f.files if k.endswith("_l0")})
        vocab = "".join(chr(int(v)) for v in f["vocab"])
        net = Model(cell, f["readout_weight"].astype(cell.dtype), f["readout_bias"].astype(cell.dtype))
    if net.readout_weight.shape != (len(vocab), cell.hidden_size) or cell.input_size != len(vocab):
        raise ValueError(f"{path}: the readout or input size does not match the vocabulary of {len(vocab)}")
    return TextModel(net, vocab)


# --------------------------------------------------------------------------------------------------
# Reading the units


def quantities(kind: str) -> tuple[str, ...]:
    """What can colour the text: h, c (LSTM) and each gate."""
    return ("h", "c", *GATE_NAMES[kind]) if kind == "lstm" else ("h", *GATE_NAMES[kind])


def activations(model: TextModel, idx: np.ndarray) -> dict[str, np.ndarray]:
    """Every quantity of the model read over ``idx`` (one stream from a zero state): name -> (T, H) float64."""
    cell: Cell = model.net.cell
    trace = cell.forward(one_hot(idx[:, None], len(model.vocab), cell.dtype))
    out = {"h": trace.h[:, 0]}
    if trace.c is not None:
        out["c"] = trace.c[:, 0]
    out.update({name: g[:, 0] for name, g in trace.gates.items()})
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def correlations(values: np.ndarray, feature: np.ndarray) -> np.ndarray:
    """Pearson correlation of each unit's column of ``values`` (T, H) with ``feature`` (T,); 0 where either
    is constant."""
    v = values - values.mean(axis=0)
    f = feature.astype(np.float64) - feature.mean()
    denom = np.sqrt((v * v).sum(axis=0) * (f * f).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (v * f[:, None]).sum(axis=0) / denom
    return np.where(denom > 0, r, 0.0)


@dataclass(frozen=True)
class UnitMatch:
    feature: str
    quantity: str
    unit: int
    r: float

    def label(self) -> str:
        return f"{self.quantity}[{self.unit}]"


def rank_units(acts: dict[str, np.ndarray], features: dict[str, np.ndarray], top: int = 5) -> dict[str, list]:
    """For each feature, the ``top`` (quantity, unit) pairs by |correlation|, best first."""
    ranked = {}
    for fname, feature in features.items():
        found = [
            UnitMatch(fname, q, int(j), float(r))
            for q, a in acts.items()
            for j, r in enumerate(correlations(a, feature))
        ]
        ranked[fname] = sorted(found, key=lambda m: -abs(m.r))[:top]
    return ranked


@dataclass(frozen=True)
class Stretch:
    start: int
    end: int  # exclusive

    @property
    def length(self) -> int:
        return self.end - self.start


def units_on(values: np.ndarray, start: int, end: int, threshold: float, off_around: bool = True) -> np.ndarray:
    """LSTMVis's selection: units whose value stays at or above ``threshold`` on every character of
    [start, end) and, with ``off_around``, is below it on the characters just before and after (so a unit
    that is on everywhere is not picked); ordered by how much higher they are there than elsewhere."""
    T = values.shape[0]
    if not 0 <= start < end <= T:
        raise ValueError(f"the stretch must lie inside the text: 0 <= start < end <= {T}, got {start}..{end}")
    inside = values[start:end]
    on = inside.min(axis=0) >= threshold
    if off_around:
        for edge in (start - 1, end):
            if 0 <= edge < T:
                on &= values[edge] < threshold
    on = np.flatnonzero(on)
    rest = np.delete(values, np.s_[start:end], axis=0)
    margin = inside.mean(axis=0)[on] - (rest.mean(axis=0)[on] if len(rest) else 0.0)
    return on[np.argsort(-margin, kind="stable")]


def matching_stretches(
    values: np.ndarray, units, threshold: float, exclude: Stretch | None = None, min_length: int = 2, limit: int = 8
) -> list[Stretch]:
    """Other stretches where all of ``units`` are on together (at or above ``threshold``); those closest in
    length to ``exclude`` (the selection) first, else the longest first."""
    units = np.asarray(units, dtype=int)
    if units.size == 0:
        return []
    on = np.all(values[:, units] >= threshold, axis=1).astype(np.int8)
    edges = np.diff(np.concatenate([[0], on, [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    runs = [Stretch(int(s), int(e)) for s, e in zip(starts, ends, strict=True) if e - s >= min_length]
    if exclude is None:
        return sorted(runs, key=lambda r: (-r.length, r.start))[:limit]
    runs = [r for r in runs if r.end <= exclude.start or r.start >= exclude.end]
    return sorted(runs, key=lambda r: (abs(r.length - exclude.length), r.start))[:limit]


def saturation(acts: dict[str, np.ndarray], kind: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per sigmoid gate and unit, the fraction of steps below 0.1 and above 0.9 (Karpathy et al. 2015)."""
    gates = [g for g in GATE_NAMES[kind] if g not in ("cell", "new")]
    return {g: ((acts[g] < 0.1).mean(axis=0), (acts[g] > 0.9).mean(axis=0)) for g in gates}


def summary(run: TextRun, corpus: Corpus) -> dict:
    """A JSON-ready summary of a run: bits per character (train, held-out, unigram), size, time."""
    return {
        "corpus": corpus.name,
        "cell": run.config.cell,
        "hidden_size": run.config.hidden_size,
        "updates": run.updates,
        "seconds": round(run.seconds, 2),
        "params": run.model.net.num_params,
        "bits_per_char": {"train": run.train_bits, "held_out": run.held_out_bits, "unigram": run.unigram_bits},
    }


def describe(run: TextRun, corpus: Corpus, chars: int = 20_000) -> dict:
    """``summary`` and the best unit per feature on the first ``chars`` characters (what the CLI prints)."""
    idx = corpus.encode()[:chars]
    feats = {k: v[:chars] for k, v in corpus_features(corpus).items()}
    ranked = rank_units(activations(run.model, idx), feats, top=1)
    best = {f: {"unit": m[0].label(), "r": round(m[0].r, 4)} for f, m in ranked.items()}
    return {**summary(run, corpus), "best_unit": best}


# --------------------------------------------------------------------------------------------------
# Long range: how well the model closes what was opened long ago

DISTANCE_BINS = (1, 3, 6, 11, 21, 51, 101)  # left edges: 1-2, 3-5, 6-10, 11-20, 21-50, 51-100, 101+


def closings(text: str, prose: bool = False) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every closing bracket (outside quotes) and closing quote of ``text``: its index and how many characters
    before it its opener stands. ``{"bracket": (positions, distances), "quote": (...)}``; brackets that close
    nothing (a stray closer) are left out. With ``prose`` the quotes are read as :func:`text_features` reads
    them: ` opens, a ' that no letter follows closes, and a blank line drops what is open."""
    found = {"bracket": ([], []), "quote": ([], [])}
    stack, quote, opened = [], "", 0
    for t, ch in enumerate(text):
        if prose and ch == "\n" and text[t - 1 : t] == "\n":
            stack, quote = [], ""
        elif quote:
            if ch == quote or (prose and ch == "'" and not text[t + 1 : t + 2].isalpha()):
                found["quote"][0].append(t)
                found["quote"][1].append(t - opened)
                quote = ""
        elif ch in ("`" if prose else "'\""):
            quote, opened = ch, t
        elif ch in OPENERS:
            stack.append(t)
        elif ch in CLOSERS and stack:
            start = stack.pop()
            found["bracket"][0].append(t)
            found["bracket"][1].append(t - start)
    return {k: (np.array(p, dtype=int), np.array(d, dtype=int)) for k, (p, d) in found.items()}


def next_char_probability(model: TextModel, idx: np.ndarray, among: str | None = None) -> np.ndarray:
    """``p[t]``: the probability the model gave to character ``idx[t]`` having read ``idx[:t]`` from a zero
    state; with ``among`` (say ``")]}"``), its share of the probability of those characters: which one, given
    that one of them comes. ``p[0]`` is NaN: nothing came before it."""
    net = model.net
    trace = net.cell.forward(one_hot(idx[:-1, None], len(model.vocab), net.cell.dtype))
    probs = np.exp(_log_probs(net, trace.h)[:, 0].astype(np.float64))  # (T-1, V)
    p = np.full(len(idx), np.nan)
    p[1:] = probs[np.arange(len(idx) - 1), idx[1:]]
    if among is not None:
        columns = [model.vocab.index(ch) for ch in among if ch in model.vocab]
        p[1:] /= probs[:, columns].sum(axis=1)
    return p


def by_distance(probs: np.ndarray, positions: np.ndarray, distances: np.ndarray, bins=DISTANCE_BINS):
    """Mean probability of the right closing character per distance bin: (labels, means, counts); a bin with
    no closing in it has mean NaN."""
    labels, means, counts = [], [], []
    edges = (*bins, np.inf)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        labels.append(f"{lo}+" if hi == np.inf else (f"{lo}" if hi == lo + 1 else f"{lo}-{int(hi) - 1}"))
        keep = (distances >= lo) & (distances < hi)
        counts.append(int(keep.sum()))
        means.append(float(probs[positions[keep]].mean()) if keep.any() else float("nan"))
    return labels, np.array(means), np.array(counts)


def cli(args) -> int:
    """``rnnviz text``: train, then print bits per character and the best unit per feature."""
    import json

    corpus = builtin_corpus(args.corpus)
    config = TextConfig(cell=args.cell, hidden_size=args.hidden, steps=args.steps, seed=args.seed)
    summary = describe(train_text(config, corpus), corpus)
    if args.json:
        print(json.dumps(summary))
        return 0
    bits = summary["bits_per_char"]
    print(
        f"{args.cell} on {args.corpus}: {bits['held_out']:.3f} bits/char held out, {bits['train']:.3f} train, "
        f"{bits['unigram']:.3f} without context; "
        + "; ".join(f"{f}: {b['unit']} r={b['r']:+.2f}" for f, b in summary["best_unit"].items())
    )
    return 0
