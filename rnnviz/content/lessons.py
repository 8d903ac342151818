"""The Lessons: a guided path through the app, one idea per lesson, as data and pure functions.

Each lesson pins the settings of one full page, measures something with the engine at those settings
(``measure``), draws one figure from the measurement (``figure``) and asks a predict-then-reveal question
whose answer is read off the same measurement (``reveal``): nothing in a reveal is typed in by hand.
Training lessons read replayed results (``rnnviz/content/data/lessons.json``, made by
``python scripts/make_lessons_data.py``), or the same records trained live (``lesson_runs.train_record``).
A sentence that names what its figure draws (a grid line's factor, a line's style) is a function of that
figure's JSON (``Lesson.words``); tests/test_sentences.py reads every such sentence against its figure. The
landing page's question lives here too (``landing_*``). Longer than the house's 500 lines on purpose: each
lesson's measure, figure, reveal and text sit together, so one can be read against the other.
Nothing here imports streamlit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import plotly.graph_objects as go

from rnnviz.content import DATA, lesson_labs
from rnnviz.content.lesson_runs import TRAIN, small_config, time_updates, train_record
from rnnviz.engine import analysis, studies, tasks, training
from rnnviz.figures import common, equations, gradient_flow, stepper, training_lab
from rnnviz.figures.theme import COLORS, MODEL_COLORS, MODEL_NAMES

DATA_PATH = DATA / "lessons.json"
PAGE_FILES = {
    "lessons": "pages/0_Lessons.py",
    "stepper": "pages/1_Cell_stepper.py",
    "gradient": "pages/2_Gradient_flow.py",
    "lab": "pages/3_Training_lab.py",
    "forecast": "pages/5_Forecast_lab.py",
    "text": "pages/6_Text_lab.py",
}
PAGE_NAMES = {
    "stepper": "Cell stepper",
    "gradient": "Gradient flow",
    "lab": "Training lab",
    "forecast": "Forecast lab",
    "text": "Text lab",
}

# Two measured sizes count as "about the same" when the larger is less than SAME_FACTOR times the smaller.
# The lessons compare quantities that differ by orders of magnitude when they differ at all (a pulse kept
# after 100 steps: 1e-8 against 4e-2), so a factor of 2 only calls a tie what the eye sees as one on a log
# axis. Timings are the exception: on the shared machine that measured them they vary by about +-20% from
# run to run, so two timings within TIME_FACTOR (25%) are called the same.
SAME_FACTOR = 2.0
TIME_FACTOR = 1.25


def compare(a: float, b: float, factor: float = SAME_FACTOR) -> str:
    """Which is larger: "a" when ``a`` is larger than ``b`` by at least ``factor``, "b" when the reverse, else "same".
    Non-negative sizes; zero against a positive number is never the same; inf counts as largest."""
    a, b = float(a), float(b)
    if not (a >= 0 and b >= 0):
        raise ValueError(f"compare takes sizes (non-negative numbers), got {a} and {b}")
    if a == b:
        return "same"
    if a >= factor * b:
        return "a"
    if b >= factor * a:
        return "b"
    return "same"


def most_kept(kept: dict[str, float], factor: float = SAME_FACTOR) -> tuple[str, ...]:
    """The keys whose value is within ``factor`` of the largest (the winner and whoever ties with it)."""
    best = max(kept.values())
    return tuple(k for k, v in kept.items() if compare(best, v, factor) == "same")


@dataclass(frozen=True)
class Reveal:
    answer: str  # one of the question's options
    text: str  # the measured outcome, in words and numbers


# A lesson's sentence: a string, or a function of the lesson figure's JSON (``fig.to_dict()``) for a sentence
# that names what the figure draws (a grid line's factor, a line's style), so it cannot contradict it.
Text = str | Callable[[dict], str]


@dataclass(frozen=True)
class Lesson:
    name: str  # the lesson's own key (its number follows from its place in LESSONS)
    title: str
    paragraphs: tuple[Text, ...]
    notice: Text  # the "notice this" line under the figure
    question: str
    options: tuple[str, ...]
    target: str  # the page id of the full page: "stepper", "gradient" or "lab"
    settings: dict  # that page's fields, pinned
    measure: Callable[[dict], dict]  # data (the replayed training records) -> the measurement
    figure: Callable[[dict], go.Figure]
    reveal: Callable[[dict], Reveal]
    veil: bool = True  # the figure gives the answer away: its curves wait for the student's prediction
    trains: bool = False  # replays training results (and can train live)
    anchor: str = ""  # the element of the full page the link scrolls to (its figure), as the URL's #fragment
    action: str = ""  # what the link does, when more than opening the page ("Play it backwards on ...")
    number: int = 0  # 1-based, as in ?lesson=N: set from the lesson's place in LESSONS

    def words(self, spec: dict) -> tuple[tuple[str, ...], str]:
        """The paragraphs and the notice as shown beside the figure whose JSON is ``spec``."""

        def said(text: Text) -> str:
            return text(spec) if callable(text) else text

        return tuple(said(p) for p in self.paragraphs), said(self.notice)

    def link(self) -> tuple[str, dict]:
        """The full page at these settings: (page file, query parameters), for st.page_link."""
        query = {"page": self.target}
        for field, value in self.settings.items():
            query[field] = [str(v) for v in value] if isinstance(value, (list, tuple)) else str(value)
        return PAGE_FILES[self.target], query

    def link_label(self) -> str:
        return f"{self.action or 'Open the ' + PAGE_NAMES[self.target]} at these settings"

    def href(self) -> str:
        """The link as a relative URL, the anchor included (st.page_link cannot carry a #fragment)."""
        path, query = self.link()
        page = Path(path).stem.split("_", 1)[1]  # Streamlit's URL for pages/2_Gradient_flow.py: Gradient_flow
        return f"{page}?{urlencode(query, doseq=True)}" + (f"#{self.anchor}" if self.anchor else "")


def presenter_query(number: int) -> dict:
    """The Lessons page's query parameters that open lesson ``number`` in presenter mode."""
    return {"page": "lessons", "lesson": str(number), "present": "1"}


STEPPER_FIELDS = ("kind", "hidden_size", "preset", "length", "seed", "forget_bias", "spectral_radius", "nonlinearity")
# The Gradient flow page's headings over the two figures lessons 3 and 4 draw (st.subheader's anchor= there):
# a link ending in #<anchor> opens the page scrolled to that figure. Such a link sets every one of the page's
# fields: a field it left out is added to the URL when the page opens, and that rewrite drops the #anchor.
GRADIENT_ANCHORS = {"lag": "how-far-back", "clip": "clipping"}
GRADIENT_FIELDS = ("spectral_radius", "forget_bias", "length", "hidden_size", "nonlinearity", "preset", "seed", "dtype")


def page_settings(config: studies.CellConfig, fields: tuple[str, ...], **extra) -> dict:
    """A page's URL fields for a lesson's cell config (so the link and the lesson cannot disagree)."""
    return {**{f: getattr(config, f) for f in fields}, **extra}


def _fmt(v: float) -> str:
    return f"{v:.2g}" if 1e-2 <= abs(v) < 1e3 else f"{v:.1e}"


def per_step(total: float, steps: int) -> float:
    """The average factor per step that, multiplied ``steps`` times, gives ``total`` (a geometric mean)."""
    return float(total) ** (1 / steps)


def _shape_at(spec: dict, **where) -> dict:
    """The one shape of a figure's JSON whose fields have these values (e.g. x0=100)."""
    (shape,) = [s for s in spec["layout"].get("shapes", ()) if all(s.get(k) == v for k, v in where.items())]
    return shape


# --------------------------------------------------------------------------------------------------
# 1. The recurrence

RECURRENCE = studies.CellConfig(kind="rnn", hidden_size=8, length=30, preset="pulse", seed=0)
RECURRENCE_STEP, RECURRENCE_UNIT = 1, 3


def measure_recurrence(data: dict) -> dict:
    config = RECURRENCE
    cell = config.make_cell()
    run = studies.run(cell, config.make_input())
    t, j = RECURRENCE_STEP, RECURRENCE_UNIT
    p = cell.params
    values = equations.unit_values(cell, run.x, run.h, run.c, run.gates, t, j)
    return {
        "run": run,
        "input_part": float(p["weight_ih"][j] @ run.x[t] + p["bias_ih"][j]),
        "recurrent_part": float(p["weight_hh"][j] @ run.h[t - 1] + p["bias_hh"][j]),
        "values": values,
        "equations": equations.equations_with_numbers("rnn", values, run.nonlinearity),
    }


def figure_recurrence(m: dict) -> go.Figure:
    run = m["run"]
    panels = stepper.trace_panels(run.kind, run.h, run.c, run.gates, pick=False)
    return stepper.timeline_figure(run.x, panels, step=RECURRENCE_STEP, title="RNN, 8 units, fed one pulse")


def reveal_recurrence(m: dict) -> Reveal:
    a, b = abs(m["input_part"]), abs(m["recurrent_part"])
    answer = {"a": 0, "b": 1, "same": 2}[compare(a, b)]
    text = (
        f"Measured for unit {RECURRENCE_UNIT} at step {RECURRENCE_STEP}: the input part W_ih·x_t + b_ih is "
        f"{m['input_part']:+.3f} (x_t is 0, so only its bias is left), the recurrent part W_hh·h_(t−1) + b_hh is "
        f"{m['recurrent_part']:+.3f}. Their sum {m['values']['a']:+.3f} goes through tanh to give "
        f"h_t = {m['values']['h']:+.3f}. "
    )
    text += {
        0: "Here the input's bias outweighs what the past brings in.",
        1: "What the cell saw before, carried in h_(t−1), is the larger part.",
        2: f"The two are within a factor of {SAME_FACTOR:g} of each other: about the same.",
    }[answer]
    return Reveal(LESSONS_OPTIONS["recurrence"][answer], text)


# --------------------------------------------------------------------------------------------------
# 2. Forgetting

FORGET = studies.CellConfig(kind="rnn", hidden_size=16, length=200, preset="pulse", seed=0, spectral_radius=1.0)


def first_below(values: np.ndarray, fraction: float = analysis.VANISHED) -> int | None:
    """The first step whose value is below ``fraction`` of the value at step 0 (None: never)."""
    values = np.asarray(values, dtype=float)
    below = np.nonzero(values < fraction * values[0])[0]
    return int(below[0]) if below.size else None


def measure_forget(data: dict) -> dict:
    memory = studies.pulse_memory(FORGET.make_cell(), FORGET.length)
    return {"memory": memory, "gone_at": first_below(memory)}


def figure_forget(m: dict) -> go.Figure:
    t = np.arange(m["memory"].shape[0])
    series = {"RNN: ‖h_t(pulse) − h_t(no pulse)‖": (t, m["memory"], *common.model_style("rnn"))}
    fig = common.lines_figure(
        series, x_title="step t (the pulse came at t = 0)", y_title="pulse left in h_t", log_y=True
    )
    fig.add_hline(y=analysis.VANISHED * m["memory"][0], line=dict(color=COLORS["theory"], dash="dot", width=2))
    fig.add_annotation(
        x=t[-1],
        y=np.log10(analysis.VANISHED * m["memory"][0]),
        text="1/1000 of step 0",
        showarrow=False,
        xanchor="right",
        yanchor="bottom",
    )
    return fig


FORGET_BINS = ((0, 20), (20, 100), (100, None))


def reveal_forget(m: dict) -> Reveal:
    gone, memory = m["gone_at"], m["memory"]
    options = LESSONS_OPTIONS["forget"]
    if gone is None:
        answer = options[3]
        text = f"The pulse never fell below 1/1000 within {memory.shape[0]} steps."
    else:
        answer = next(options[i] for i, (lo, hi) in enumerate(FORGET_BINS) if gone >= lo and (hi is None or gone < hi))
        text = (
            f"Measured: the difference the pulse makes falls below 1/1000 of its size at step 0 at step {gone}; "
            f"at step {memory.shape[0] - 1} it is {_fmt(memory[-1] / memory[0])} of it."
        )
    return Reveal(answer, text)


# --------------------------------------------------------------------------------------------------
# 3. The vanishing gradient

# Spectral radius 0.55 puts σ_max(W_hh) at 0.90, below 1: the theory bound shrinks and is drawn under the
# measured curve's start, as the lesson's text says (at 1.0, σ_max is 1.64 and the bound leaves the chart at once).
VANISH = studies.CellConfig(
    kind="rnn", hidden_size=16, length=200, preset="pulse_noise", seed=0, spectral_radius=0.55, forget_bias=1.0
)
EXPLODE = replace(VANISH, spectral_radius=1.5, nonlinearity="relu", length=300, dtype="float32")
VANISH_LAG = 50
VANISH_MEASURED, VANISH_BOUND = "RNN ‖∂L/∂h_(T−k)‖", "σ_max(W_hh)^k bound"


def theory_words(spec: dict) -> str:
    """Lesson 3's theory curve in words (its trace is named "theory: ..." by the figure)."""
    (trace,) = [t for t in spec["data"] if str(t.get("name", "")).startswith(f"theory: {VANISH_BOUND}")]
    return common.line_words(trace["line"])


def gradient_share(h_norm: np.ndarray, lag: int) -> float:
    """||dL/dh_(T-lag)|| / ||dL/dh_T||; inf when it overflowed, nan when the sequence is shorter."""
    h_norm = np.asarray(h_norm, dtype=float)
    if lag >= h_norm.shape[0]:
        return float("nan")
    with np.errstate(over="ignore", invalid="ignore"):
        share = h_norm[lag] / h_norm[0]
    return float(share) if np.isfinite(share) else float("inf")


def measure_vanish(data: dict) -> dict:
    study = studies.gradient_study(VANISH, kinds=("rnn",))
    rnn = study.models["rnn"]
    exploding = studies.gradient_study(EXPLODE, kinds=("rnn",)).models["rnn"]
    return {
        "rnn": rnn,
        "sigma_max": study.sigma_max,
        "share": gradient_share(rnn.h_norm, VANISH_LAG),
        "explode_share": gradient_share(exploding.h_norm, VANISH_LAG),
        "explode_regime": exploding.regime.label,
    }


def figure_vanish(m: dict) -> go.Figure:
    rnn = m["rnn"]
    overflow = {} if rnn.regime.overflow_lag is None else {"RNN": rnn.regime.overflow_lag}
    return gradient_flow.lag_figure(
        {VANISH_MEASURED: (rnn.h_norm, *common.model_style("rnn"))},
        {VANISH_BOUND: rnn.theory},
        overflow,
    )


def reveal_vanish(m: dict) -> Reveal:
    share, options = m["share"], LESSONS_OPTIONS["vanish"]
    answer = options[0] if share < analysis.VANISHED else options[1] if share <= 1 else options[2]
    rate = f" (×{per_step(share, VANISH_LAG):.4f} per step on average)" if 0 < share < np.inf else ""
    text = (
        f"Measured: {VANISH_LAG} steps back the gradient is {_fmt(share)} of its size at the loss{rate}. "
        f"Here σ_max(W_hh) is "
        f"{m['sigma_max']:.3f}, so the bound {'shrinks' if m['sigma_max'] < 1 else 'grows'} by that factor per step"
        f"{': the tanh slopes, below 1, did the rest' if m['sigma_max'] >= 1 and share < 1 else ''}. "
        f"With relu and spectral radius {EXPLODE.spectral_radius:g} (float32) the same measurement gives "
        f"{'an overflow' if not np.isfinite(m['explode_share']) else _fmt(m['explode_share'])} "
        f"({m['explode_regime']})."
    )
    return Reveal(answer, text)


# --------------------------------------------------------------------------------------------------
# 4. Clipping

CLIP = studies.CellConfig(
    kind="rnn", hidden_size=16, length=300, preset="pulse_noise", seed=0, spectral_radius=2.0, forget_bias=1.0
)
CLIP_THRESHOLD = 1.0


def last_finite(values: np.ndarray) -> float:
    """The last value of a run, or inf when it stopped being a number."""
    v = float(np.asarray(values, dtype=float)[-1])
    return v if np.isfinite(v) else float("inf")


def measure_clip(data: dict) -> dict:
    run = studies.clipping_study(CLIP, CLIP_THRESHOLD)
    return {"run": run, "plain": last_finite(run.loss_plain), "clipped": last_finite(run.loss_clipped)}


def figure_clip(m: dict) -> go.Figure:
    r = m["run"]
    return gradient_flow.clip_figure(r.norm_plain, r.loss_plain, r.norm_clipped, r.loss_clipped, r.threshold)


def reveal_clip(m: dict) -> Reveal:
    r = m["run"]
    answer = {"a": 1, "b": 0, "same": 2}[compare(m["plain"], m["clipped"])]  # "a": the unclipped loss is larger
    norms = np.asarray(r.norm_plain, dtype=float)
    finite = np.where(np.isfinite(norms), norms, np.nan)
    big = int(np.nanargmax(finite))
    loss = np.asarray(r.loss_plain, dtype=float)
    text = (
        f"Measured after {len(norms)} SGD steps: loss {_fmt(m['plain'])} without clipping, {_fmt(m['clipped'])} "
        f"with the gradient clipped to norm {r.threshold:g}. The largest gradient norm of the unclipped run was "
        f"{_fmt(finite[big])} at step {big}"
    )
    if big + 1 < loss.shape[0]:
        text += f"; its loss went from {_fmt(loss[big])} to {_fmt(loss[big + 1])} on that step"
    text += ". "
    text += {
        0: "Clipping did not help here: the clipped run's steps were too short to go as far.",
        1: "Each clipped step kept its gradient's direction with the length capped, and that run ended lower.",
        2: f"The two losses are within a factor of {SAME_FACTOR:g}: clipping made no real difference here.",
    }[answer]
    return Reveal(LESSONS_OPTIONS["clip"][answer], text)


# --------------------------------------------------------------------------------------------------
# 5. Gates and the cell state

GATED = studies.CellConfig(kind="lstm", hidden_size=16, length=200, preset="pulse", seed=0, forget_bias=3.0)
GATED_AT = 100


def measure_gated(data: dict) -> dict:
    memory = {k: studies.pulse_memory(replace(GATED, kind=k).make_cell(), GATED.length) for k in ("rnn", "lstm")}
    run = studies.run(GATED.make_cell(), GATED.make_input())
    study = studies.gradient_study(GATED, kinds=("rnn", "lstm")).models
    return {
        "memory": memory,
        "at": {k: float(v[GATED_AT]) for k, v in memory.items()},  # what the figure shows at the dotted line
        "kept": {k: float(v[GATED_AT] / v[0]) for k, v in memory.items()},  # as a share of each curve's start
        "forget_mean": float(np.mean(run.gates["forget"])),
        "grad": {
            "rnn": gradient_share(study["rnn"].h_norm, GATED_AT),
            "lstm": gradient_share(study["lstm"].c_norm, GATED_AT),
        },
    }


def figure_gated(m: dict) -> go.Figure:
    t = np.arange(GATED.length)
    series = {f"{MODEL_NAMES[k]}": (t, v, *common.model_marks(k)) for k, v in m["memory"].items()}
    fig = common.lines_figure(
        series, x_title="step t (the pulse came at t = 0)", y_title="pulse left in h_t", log_y=True
    )
    fig.add_vline(x=GATED_AT, line=dict(color=COLORS["theory"], dash="dot", width=2))
    return fig


def reveal_gated(m: dict) -> Reveal:
    at, kept, grad = m["at"], m["kept"], m["grad"]
    answer = {"a": 0, "b": 1, "same": 2}[compare(at["rnn"], at["lstm"])]
    text = (
        f"Measured at step {GATED_AT} (the dotted line): the RNN's curve is at {_fmt(at['rnn'])}, the LSTM's at "
        f"{_fmt(at['lstm'])}; that is {_fmt(kept['rnn'])} and {_fmt(kept['lstm'])} of where each started at step 0. "
        f"Over those {GATED_AT} steps the LSTM's curve shrank by ×{per_step(kept['lstm'], GATED_AT):.4f} per step "
        f"on average. Its forget gate, which multiplies the cell state at every step, averaged "
        f"{m['forget_mean']:.3f}: the cell state is mostly kept from step to step, not rewritten. The gradient "
        f"tells the same story: {GATED_AT} steps back from a loss at the end, ‖∂L/∂h‖ of the RNN is "
        f"{_fmt(grad['rnn'])} of its start, ‖∂L/∂c‖ of the LSTM {_fmt(grad['lstm'])}. "
    )
    if answer == 2:
        text += f"The two are within a factor of {SAME_FACTOR:g}: about the same."
    return Reveal(LESSONS_OPTIONS["gated"][answer], text)


# --------------------------------------------------------------------------------------------------
# Training records (the lessons train, gru and costs): made by lesson_runs.make_data, or live by live_update


def lab_settings(config: training.TrainConfig, models) -> dict:
    """The Training lab's URL fields for a config (few training sequences: its small-data toggle)."""
    return {**training.settings_of(config), "models": list(models)}


def history(record: dict) -> list[training.Progress]:
    return [training.Progress(**p) for p in record["history"]]


# Lesson "train" retrains these kinds; "gru" re-times the updates; "costs" retrains "small".
LIVE_RUNS = {"train": ("rnn", "lstm")}


def _trained(number: int) -> str:
    """The name of lesson ``number``, a lesson that trains (ValueError otherwise)."""
    name = lesson(number).name
    if name not in ("train", "gru", "costs"):
        raise ValueError(f"lesson {number} trains nothing")
    return name


def live_seconds(number: int, data: dict) -> float:
    """How long lesson ``number``'s live rerun took when the data were recorded."""
    name = _trained(number)
    if name == "train":
        return sum(data["train"][k]["wall_seconds"] for k in LIVE_RUNS["train"])
    if name == "gru":
        t = data["timing"]
        return t["repeats"] * sum(t["ms_per_update"].values()) / 1000
    if name == "costs":
        return data["small"]["wall_seconds"]
    raise ValueError(f"lesson {number} trains nothing")


def live_configs(number: int) -> tuple | None:
    """The training runs lesson ``number``'s live rerun needs, for the server's training service (one job, its
    models trained in turn); None for the GRU lesson, which times a few updates instead of training (under a second,
    in the page)."""
    name = _trained(number)
    if name == "train":
        return tuple(replace(TRAIN, cell=kind) for kind in LIVE_RUNS["train"])
    if name == "costs":
        return (small_config(),)
    if name == "gru":
        return None
    raise ValueError(f"lesson {number} trains nothing")


def with_records(number: int, data: dict, records: list[dict]) -> dict:
    """``data`` with lesson ``number``'s runs replaced by ``records`` (one per ``live_configs(number)``, as
    ``lesson_runs.train_record`` writes a run; the training service's ``Snapshot.record`` gives the same)."""
    configs = live_configs(number)
    name = lesson(number).name
    if configs is None or len(records) != len(configs):
        raise ValueError(f"lesson {number} takes {0 if configs is None else len(configs)} records")
    out = {**data, "train": dict(data["train"]), "made_by": "live training on this server"}
    if name == "train":
        out["train"].update({c.cell: r for c, r in zip(configs, records, strict=True)})
    else:
        out["small"] = records[0]
    return out


def live_update(number: int, data: dict) -> dict:
    """``data`` with lesson ``number``'s part trained (or timed) again, now."""
    name = _trained(number)
    out = {**data, "train": dict(data["train"]), "made_by": "live training in this session"}
    if name == "train":
        for kind in LIVE_RUNS["train"]:
            out["train"][kind] = train_record(replace(TRAIN, cell=kind))
    elif name == "gru":
        out["timing"] = time_updates(TRAIN)
    elif name == "costs":
        out["small"] = train_record(small_config())
    else:
        raise ValueError(f"lesson {number} trains nothing")
    return out


def load_data(path: Path = DATA_PATH) -> dict:
    with open(path) as f:
        return json.load(f)


SMALL = small_config()
SMALL_SPEC = tasks.SPECS[SMALL.task]


# --------------------------------------------------------------------------------------------------
# 6. Training on a long lag


def measure_train(data: dict) -> dict:
    runs = data["train"]
    return {"runs": runs, "solved": {k: bool(runs[k]["solved"]) for k in ("rnn", "lstm")}}


def figure_train(m: dict) -> go.Figure:
    spec = tasks.SPECS[TRAIN.task]
    return training_lab.learning_curves(
        {k: history(m["runs"][k]) for k in ("rnn", "lstm")}, spec.metric, spec.baseline, spec.threshold
    )


def baseline_words(spec: dict, task: str) -> str:
    """The style of the input-blind baseline's line in a learning-curve figure ("dotted")."""
    return common.line_words(_shape_at(spec, y0=tasks.SPECS[task].baseline)["line"]).split()[-1]


def reveal_train(m: dict) -> Reveal:
    solved, runs = m["solved"], m["runs"]
    options = LESSONS_OPTIONS["train"]
    answer = options[
        {(True, True): 0, (False, True): 1, (True, False): 2, (False, False): 3}[solved["rnn"], solved["lstm"]]
    ]
    parts = []
    for k in ("rnn", "lstm"):
        r = runs[k]
        how = f"solved at update {r['solved_step']}" if r["solved"] else "not solved"
        parts.append(f"the {MODEL_NAMES[k]} ends at test MSE {r['test_metric']:.3g} ({how})")
    spec = tasks.SPECS[TRAIN.task]
    text = (
        f"Measured after {runs['rnn']['steps']} updates on the same data: {parts[0]}; {parts[1]}. Solved means a "
        f"held-out MSE below {spec.threshold}; always answering the mean scores {spec.baseline:.3f}."
    )
    return Reveal(answer, text)


# --------------------------------------------------------------------------------------------------
# 7. The GRU


def measure_gru(data: dict) -> dict:
    return {"timing": data["timing"], "runs": data["train"]}


def cost_figure(timing: dict) -> go.Figure:
    """Parameters and measured milliseconds per training update, per model, side by side."""
    kinds = list(timing["params"])
    names = [MODEL_NAMES[k] for k in kinds]
    colors = [MODEL_COLORS[k] for k in kinds]
    fig = go.Figure()
    for col, (key, fmt) in enumerate((("params", "{:d}"), ("ms_per_update", "{:.2f} ms")), start=1):
        ys = [timing[key][k] for k in kinds]
        fig.add_trace(
            go.Bar(
                x=names,
                y=ys,
                marker_color=colors,
                text=[fmt.format(y) for y in ys],
                textposition="outside",
                xaxis=f"x{'' if col == 1 else 2}",
                yaxis=f"y{'' if col == 1 else 2}",
                showlegend=False,
                cliponaxis=False,
            )
        )
    top = lambda key: 1.25 * max(timing[key].values())  # noqa: E731  (room for the labels above the bars)
    fig.update_layout(
        xaxis=dict(domain=[0, 0.44]),
        xaxis2=dict(domain=[0.56, 1], anchor="y2"),
        yaxis=dict(title=dict(text="trainable parameters"), range=[0, top("params")]),
        yaxis2=dict(title=dict(text="ms per training update"), anchor="x2", range=[0, top("ms_per_update")]),
    )
    return common.base_layout(fig, height=420)


def reveal_gru(m: dict) -> Reveal:
    timing, runs = m["timing"], m["runs"]
    ms, params = timing["ms_per_update"], timing["params"]
    answer = {"a": 0, "b": 1, "same": 2}[compare(ms["lstm"], ms["gru"], TIME_FACTOR)]
    options = LESSONS_OPTIONS["gru"]
    answer = options[{0: 1, 1: 0, 2: 2}[answer]]  # larger LSTM time: the GRU is cheaper
    gru_how = f"solved it at update {runs['gru']['solved_step']}" if runs["gru"]["solved"] else "did not solve it"
    lstm_how = f"at update {runs['lstm']['solved_step']}" if runs["lstm"]["solved"] else "not at all"
    text = (
        f"Measured (median of {timing['repeats']} interleaved updates, batch {TRAIN.batch_size}, lag {TRAIN.length}): "
        f"LSTM {ms['lstm']:.2f} ms, GRU {ms['gru']:.2f} ms per update; within {TIME_FACTOR - 1:.0%} counts as the "
        f"same on the shared machine that timed them. Parameters: LSTM {params['lstm']}, GRU {params['gru']} "
        f"({params['gru'] / params['lstm']:.0%}). On lesson {number_of('train')}'s task the GRU {gru_how} "
        f"(the LSTM {lstm_how})."
    )
    if timing.get("load_average"):
        text += (
            f" The machine was busy while timing (load average {timing['load_average']:g}), which slows every model; "
            "compare the models with each other, not with other machines."
        )
    return Reveal(answer, text)


# --------------------------------------------------------------------------------------------------
# 8. The costs


def measure_costs(data: dict) -> dict:
    small = data["small"]
    last = small["history"][-1]
    return {
        "small": small,
        "train_metric": last["train_metric"],
        "test_metric": last["test_metric"],
        "timing": data["timing"],
    }


def figure_costs(m: dict) -> go.Figure:
    spec = tasks.SPECS[m["small"]["task"]]
    return training_lab.learning_curves(
        {"lstm": history(m["small"])}, spec.metric, spec.baseline, spec.threshold, show_train=True
    )


def reveal_costs(m: dict) -> Reveal:
    small = m["small"]
    spec = tasks.SPECS[small["task"]]
    train_m, test_m = m["train_metric"], m["test_metric"]
    options = LESSONS_OPTIONS["costs"]
    if training.is_solved(spec, test_m):
        answer = options[0]
    elif (test_m < spec.baseline) if spec.regression else (test_m > spec.baseline):
        answer = options[1]
    else:
        answer = options[2]
    ms = m["timing"]["ms_per_update"]
    n_train = small["config"]["n_train"]
    text = (
        f"Measured after {small['steps']} updates on {n_train} training sequences: training {spec.metric} "
        f"{train_m:.3f} ({'past' if training.is_solved(spec, train_m) else 'short of'} the solved line "
        f"{spec.threshold}), held-out {spec.metric} {test_m:.3f} (the input-blind baseline is {spec.baseline:.3f}). "
        f"And every update costs more: {ms['lstm']:.2f} ms for the LSTM against {ms['rnn']:.2f} ms for the RNN "
        f"(×{ms['lstm'] / ms['rnn']:.1f}, measured as in lesson {number_of('gru')})."
    )
    return Reveal(answer, text)


# --------------------------------------------------------------------------------------------------
# The landing page's question: which untrained cell keeps the most of one pulse after LANDING_AT steps?

LANDING = studies.CellConfig(hidden_size=16, forget_bias=3.0, spectral_radius=1.0)
LANDING_LENGTH, LANDING_AT = 150, 100
LANDING_KINDS = ("rnn", "lstm", "gru")


def landing_memory() -> dict[str, np.ndarray]:
    """‖h_t(pulse) − h_t(silence)‖ of each untrained cell, the quantity the landing page plots."""
    return {k: studies.pulse_memory(replace(LANDING, kind=k).make_cell(), LANDING_LENGTH) for k in LANDING_KINDS}


def landing_figure(memory: dict[str, np.ndarray]) -> go.Figure:
    t = np.arange(LANDING_LENGTH)
    series = {MODEL_NAMES[k]: (t, v, *common.model_marks(k)) for k, v in memory.items()}
    fig = common.lines_figure(series, x_title="steps after the pulse", y_title="pulse left in h_t", log_y=True)
    fig.add_vline(x=LANDING_AT, line=dict(color=COLORS["theory"], dash="dot", width=2))
    return fig


def landing_verdict(memory: dict[str, np.ndarray]) -> tuple[str, str]:
    """(verdict, sentence), read off the plotted curves at step LANDING_AT: the largest wins, those within
    SAME_FACTOR of it tie with it; "none of them" when every curve there is below VANISHED of its start."""
    at = {k: float(v[LANDING_AT]) for k, v in memory.items()}
    winners = most_kept(at)
    names = " and ".join(MODEL_NAMES[k] for k in winners)
    read = ", ".join(f"{MODEL_NAMES[k]} {v:.1e}" for k, v in at.items())
    text = f"At step {LANDING_AT} (the dotted line) the curves read: {read}."
    if all(at[k] < analysis.VANISHED * memory[k][0] for k in at):
        return "none of them", text + f" Every one is below 1/{1 / analysis.VANISHED:g} of where it started."
    if len(winners) > 1:
        return f"{names}, about the same", text + f" {names} are within a factor of {SAME_FACTOR:g} of each other."
    (best,) = winners
    runner = max((k for k in at if k != best), key=at.get)
    ratio = at[best] / at[runner] if at[runner] > 0 else float("inf")
    return names, text + f" The {names}'s is {ratio:.2g} times the {MODEL_NAMES[runner]}'s."


# --------------------------------------------------------------------------------------------------
# The lessons, in order

LESSONS_OPTIONS = {
    "recurrence": ("the input part", "the recurrent part", f"about the same (within ×{SAME_FACTOR:g})"),
    "forget": (
        f"before step {FORGET_BINS[0][1]}",
        f"between steps {FORGET_BINS[1][0]} and {FORGET_BINS[1][1]}",
        f"after step {FORGET_BINS[2][0]}",
        f"never within {FORGET.length} steps",
    ),
    "vanish": ("below 1/1000 of it (vanished)", "between 1/1000 and all of it", "more than at the loss (exploded)"),
    "clip": ("without clipping", "with clipping", f"about the same (within ×{SAME_FACTOR:g})"),
    "gated": ("the RNN", "the LSTM", f"about the same (within ×{SAME_FACTOR:g})"),
    "train": ("both", "only the LSTM", "only the RNN", "neither"),
    "gru": ("the LSTM", "the GRU", f"about the same (within {TIME_FACTOR - 1:.0%})"),
    "costs": ("solved, like the training score", "better than the baseline, not solved", "no better than the baseline"),
    "backward": lesson_labs.BACKWARD_OPTIONS,
    "real": lesson_labs.REAL_OPTIONS,
    "cell": lesson_labs.TEXT_OPTIONS,
}


def _wrap(name: str, reveal: Callable[[dict], tuple[int, str]]) -> Callable[[dict], Reveal]:
    """A lesson_labs reveal (option index, text) as a Reveal of lesson ``name``'s options."""

    def wrapped(m: dict) -> Reveal:
        index, text = reveal(m)
        return Reveal(LESSONS_OPTIONS[name][index], text)

    return wrapped


LESSONS = (
    Lesson(
        "recurrence",
        "An RNN carries the past in its hidden state",
        (
            "A recurrent network reads a sequence one step at a time. At every step it computes a new hidden "
            "state h_t from two things: the current input x_t, and its own previous state h_(t−1).",
            "That second term is the network's only memory: anything it saw earlier can reach step t only "
            f"through h_(t−1). The figure shows an untrained RNN with {RECURRENCE.hidden_size} units fed a single "
            "pulse at step 0 and then zeros; each row of the heatmap is one unit's h_t.",
            f"Under the figure is the equation of unit {RECURRENCE_UNIT} at step {RECURRENCE_STEP}, with the numbers "
            "the engine computed.",
        ),
        "After step 0 the input is zero, yet h_t keeps changing: only h_(t−1) and the biases feed it.",
        f"At step {RECURRENCE_STEP} the input is 0 again. Which part of unit {RECURRENCE_UNIT}'s pre-activation is "
        "larger in size?",
        LESSONS_OPTIONS["recurrence"],
        "stepper",
        page_settings(
            RECURRENCE, STEPPER_FIELDS, step=RECURRENCE_STEP, unit=RECURRENCE_UNIT, view="values", rows=["h"]
        ),
        measure_recurrence,
        figure_recurrence,
        reveal_recurrence,
        veil=False,
    ),
    Lesson(
        "forget",
        "It forgets",
        (
            "Feed the RNN one pulse and then silence, and run it a second time on silence alone. Everything "
            "the network still knows about the pulse is the difference between the two hidden states.",
            "The curve is that difference, ‖h_t(pulse) − h_t(no pulse)‖, for an untrained RNN with "
            f"{FORGET.hidden_size} units whose recurrent weights have spectral radius {FORGET.spectral_radius:g}. "
            "The axis is logarithmic.",
        ),
        lambda spec: (
            f"Each grid line down the log axis is {common.grid_factor(spec):,} times less of the pulse left in the "
            "hidden state."
        ),
        "When does the pulse's trace fall below 1/1000 of its size at step 0?",
        LESSONS_OPTIONS["forget"],
        "stepper",
        page_settings(FORGET, STEPPER_FIELDS, view="effect", rows=["h"]),
        measure_forget,
        figure_forget,
        reveal_forget,
    ),
    Lesson(
        "vanish",
        "Why: the vanishing gradient",
        (
            "To learn from something seen k steps ago, the gradient of a loss at the end must travel k steps "
            "back. By the chain rule, ∂L/∂h_(T−k) is ∂L/∂h_T multiplied by k Jacobians ∂h_t/∂h_(t−1), one per step.",
            lambda spec: (
                "Each Jacobian is W_hh scaled by the slope of tanh, which is at most 1. So the product is bounded by "
                f"σ_max(W_hh)^k, the {theory_words(spec)} grey theory curve: when the factors are below 1 the "
                "product shrinks geometrically."
            ),
            lambda spec: (
                f"The {common.line_words(common.trace_named(spec, VANISH_MEASURED)['line'])} curve is measured: the "
                f"engine backpropagates a loss at the last of {VANISH.length} steps through an RNN with "
                f"{VANISH.hidden_size} units. If the factors are above 1 instead, the same product grows: the "
                "gradient explodes."
            ),
        ),
        "The grey curve is an upper bound, not a prediction: the measured curve can lie far below it.",
        f"What is left of the gradient {VANISH_LAG} steps back from the loss?",
        LESSONS_OPTIONS["vanish"],
        "gradient",
        page_settings(VANISH, GRADIENT_FIELDS, clip=CLIP_THRESHOLD, clipping=False),  # every field: see below
        measure_vanish,
        figure_vanish,
        reveal_vanish,
        anchor=GRADIENT_ANCHORS["lag"],
    ),
    Lesson(
        "backward",
        "The backward pass, step by step",
        (
            "Lesson 3 measured what is left of the gradient; here is where it goes. Backpropagation starts at the "
            "loss at the last step T and walks back one step at a time, each step multiplying the gradient by "
            "that step's Jacobian: ∂L/∂h_(t−1) = W_hhᵀ · (∂L/∂h_t ⊙ (1 − h_t²)) for the RNN.",
            f"The curves are that walk for an untrained RNN and LSTM ({lesson_labs.BACKWARD.hidden_size} units, "
            f"{lesson_labs.BACKWARD.length} steps, the same input; forget bias "
            f"{lesson_labs.BACKWARD.forget_bias:+g}): the size of ∂L/∂h at k steps back, over its size at the "
            "loss, computed by the engine's backward pass.",
            "The LSTM has a second way back, through its cell state: ∂L/∂c_(t−1) = ∂L/∂c_t ⊙ f_t + …, a product "
            "of forget gates. The Cell stepper's backward view plays the same pass, unit by unit.",
        ),
        "The dotted line is 1/1000 of the gradient at the loss.",
        "How far back from the loss does the RNN's gradient first fall below a thousandth of its size there?",
        LESSONS_OPTIONS["backward"],
        "stepper",
        page_settings(
            lesson_labs.BACKWARD,
            STEPPER_FIELDS,
            kind=lesson_labs.BACKWARD_SHOWN,
            **{"pass": "backward"},
            loss=lesson_labs.BACKWARD_LOSS,
            rows=["h"],
        ),
        lesson_labs.measure_backward,
        lesson_labs.figure_backward,
        _wrap("backward", lesson_labs.reveal_backward),
        action="◀ Play it backwards on the Cell stepper,",
    ),
    Lesson(
        "clip",
        "Exploding gradients and clipping",
        (
            f"With recurrent weights of spectral radius {CLIP.spectral_radius:g} the Jacobian product can grow "
            "instead, and a single "
            "training step can get a gradient far larger than the others. Plain gradient descent then takes a "
            "step of that size, which can throw the loss up instead of down.",
            "Clipping rescales any gradient whose norm exceeds a threshold down to the threshold: the direction "
            "stays, the step length is capped. Here the same RNN is trained twice by SGD on the same target, once "
            f"without and once with clipping at norm {CLIP_THRESHOLD:g}.",
        ),
        "Left: the gradient norm before clipping, on a log axis. Right: the loss of the two runs.",
        "After the same number of steps, which run has the lower loss?",
        LESSONS_OPTIONS["clip"],
        "gradient",
        page_settings(CLIP, GRADIENT_FIELDS, clip=CLIP_THRESHOLD, clipping=True),  # its section open
        measure_clip,
        figure_clip,
        reveal_clip,
        anchor=GRADIENT_ANCHORS["clip"],
    ),
    Lesson(
        "gated",
        "Gates and the cell state",
        (
            "An LSTM keeps a second state, the cell state c_t, and changes it only by addition: "
            "c_t = f_t ⊙ c_(t−1) + i_t ⊙ g_t. The forget gate f_t, between 0 and 1, decides per unit how much "
            "of the old cell state to keep.",
            f"With the forget gate's bias set to {GATED.forget_bias:+g}, f_t starts close to 1. Going back one step "
            "through c_t then "
            "multiplies the gradient by f_t instead of by W_hh and a tanh slope.",
            f"The figure repeats lesson 2's measurement for the RNN and an LSTM, both untrained, {GATED.hidden_size} "
            "units, the same pulse.",
        ),
        lambda spec: (
            f"The {common.line_words(_shape_at(spec, x0=GATED_AT)['line']).split()[-1]} line marks step {GATED_AT}; "
            "the reveal also gives the gradient that reaches that far back."
        ),
        f"Forget bias {GATED.forget_bias:+g}: which keeps more of the pulse after {GATED_AT} steps?",
        LESSONS_OPTIONS["gated"],
        "stepper",
        page_settings(GATED, STEPPER_FIELDS, kind="rnn_lstm", view="effect", rows=["h"]),
        measure_gated,
        figure_gated,
        reveal_gated,
    ),
    Lesson(
        "train",
        "Training on a long lag",
        (
            f"The adding problem: a sequence of {TRAIN.length} random numbers between 0 and 1, two of them "
            "marked, one in the first half and one in the second; the answer is their sum. The model has to hold "
            "the first marked number until the end.",
            f"Both models get the same data and the same {TRAIN.steps} updates (Adam, learning rate {TRAIN.lr}, "
            f"{TRAIN.hidden_size} units, gradients clipped at {TRAIN.clip}). The curves are the held-out test "
            "MSE, measured every few updates.",
            "These runs were recorded with the app's own training code, so the lesson does not make a class wait; "
            "the button below trains them again live.",
        ),
        lambda spec: (
            f"Watch the {baseline_words(spec, TRAIN.task)} baseline: a model that never learns to use the marks "
            "sits on it."
        ),
        "Same data, same budget: which of the two solves the task?",
        LESSONS_OPTIONS["train"],
        "lab",
        lab_settings(TRAIN, ("rnn", "lstm")),
        measure_train,
        figure_train,
        reveal_train,
        trains=True,
    ),
    Lesson(
        "gru",
        "The GRU",
        (
            "The GRU merges the LSTM's forget and input gates into one update gate z_t and keeps no separate "
            "cell state: h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_(t−1). Where z_t is near 1 the old state is copied "
            "forward, the same kind of memory as the LSTM's forget gate.",
            "It has three weight blocks where the LSTM has four. Whether that makes an update faster depends on "
            "the implementation; the right panel is measured with this app's engine.",
        ),
        "Fewer parameters is a count; less time is a measurement on one machine. The reveal gives both.",
        "Which needs less time per training update in this engine?",
        LESSONS_OPTIONS["gru"],
        "lab",
        lab_settings(TRAIN, ("rnn", "lstm", "gru")),  # the figure draws all three; the question asks of two
        measure_gru,
        lambda m: cost_figure(m["timing"]),
        reveal_gru,
        trains=True,
    ),
    Lesson(
        "costs",
        "The costs",
        (
            "Gates are not free. Every update computes four gates instead of one nonlinearity, and the model has "
            "four blocks of recurrent weights to fit where the RNN has one.",
            f"More weights can also fit what is not there. Here an LSTM with {SMALL.hidden_size} units trains on "
            f"only {SMALL.n_train} sequences of the task '{tasks.TASKS[SMALL.task]}' (lag {SMALL.length}) for "
            f"{SMALL.steps} updates.",
            lambda spec: (
                f"The {common.line_words(common.trace_named(spec, 'LSTM test')['line'])} curve is its "
                f"{SMALL_SPEC.metric} on held-out sequences, the "
                f"{common.line_words(common.trace_named(spec, 'LSTM training')['line'])} one (open markers) on its "
                "own training sequences."
            ),
        ),
        "Any gap between the two curves is fitted to the training sequences and does not carry over to new ones.",
        f"Where does the held-out test {SMALL_SPEC.metric} end?",
        LESSONS_OPTIONS["costs"],
        "lab",
        lab_settings(SMALL, ("lstm",)),
        measure_costs,
        figure_costs,
        reveal_costs,
        trains=True,
    ),
    Lesson(
        "real",
        "A real series: the sunspots",
        (
            f"Everything so far was made up. The sunspot numbers ({lesson_labs.REAL_INFO.title.split('(')[1]} "
            f"rise and fall in a cycle of about {lesson_labs.REAL_INFO.season} years, never quite the same twice.",
            f"An LSTM ({lesson_labs.REAL_CONFIG.hidden_size} units) learns to forecast the next year from the last "
            f"{lesson_labs.REAL_CONFIG.window}, on the early part of the series only; then it forecasts the last "
            f"years, up to {lesson_labs.REAL_CONFIG.horizon} ahead, each forecast fed back as the newest input.",
            "Beside it, the baselines a forecaster tries first: the last value (persistence), the value one cycle "
            "earlier (seasonal naive) and a straight-line autoregression on the same window (linear AR).",
        ),
        "Lower is better: each bar is the mean absolute error (MAE) over the years no model saw.",
        "Which of the three baselines does the LSTM beat?",
        LESSONS_OPTIONS["real"],
        "forecast",
        {
            "source": "shipped",
            "series": lesson_labs.REAL,
            "window": lesson_labs.REAL_CONFIG.window,
            "horizon": lesson_labs.REAL_CONFIG.horizon,
            "season": lesson_labs.REAL_CONFIG.season or 0,
            "difference": lesson_labs.REAL_CONFIG.difference,
            "hidden_size": lesson_labs.REAL_CONFIG.hidden_size,
            "updates": lesson_labs.REAL_CONFIG.updates,
            "seed": lesson_labs.REAL_CONFIG.seed,
            "models": [lesson_labs.REAL_KIND],
        },
        lesson_labs.measure_real,
        lesson_labs.figure_real,
        _wrap("real", lesson_labs.reveal_real),
    ),
    Lesson(
        "cell",
        "A cell that counts brackets",
        (
            "A character-level LSTM reads text one character at a time and learns to predict the next. The text "
            "here is a generated language of nested brackets and quoted strings, so the true bracket depth of "
            "every character is known.",
            "Nobody told the model about brackets. But to close them right it must count them somewhere, and the "
            "Text lab's finder looks for where: it correlates every unit (h, c and each gate) with the true depth.",
            "Top: the text coloured by the unit the finder ranks first. Bottom: that unit's mean at each depth.",
        ),
        "Look at the colours where brackets open and close: does the unit change with the depth?",
        "How closely does the best unit follow the bracket depth?",
        LESSONS_OPTIONS["cell"],
        "text",
        {
            "corpus": lesson_labs.TEXT_CORPUS,
            "cell": lesson_labs.TEXT_CELL,
            "source": "shipped",
            "quantity": "c",
            "view": lesson_labs.TEXT_START,
        },
        lesson_labs.measure_text,
        lesson_labs.figure_text,
        _wrap("cell", lesson_labs.reveal_text),
    ),
)
LESSONS = tuple(replace(L, number=i) for i, L in enumerate(LESSONS, start=1))
NUMBERS = {L.name: L.number for L in LESSONS}


def number_of(name: str) -> int:
    """The number of the lesson called ``name`` (its place in the story)."""
    return NUMBERS[name]


def veil(fig: go.Figure) -> go.Figure:
    """The figure before the student predicts: the axes stay as they will be, the measured marks wait (a trace
    whose meta is lesson_labs.SHOWN_BEFORE, such as the coloured text, stays: it is what the question asks about)."""
    return fig.update_traces(
        opacity=0, hoverinfo="skip", hovertemplate=None, selector=lambda t: t.meta != lesson_labs.SHOWN_BEFORE
    )


def lesson(number: int) -> Lesson:
    if not 1 <= number <= len(LESSONS):
        raise ValueError(f"there are lessons 1 to {len(LESSONS)}, not {number}")
    return LESSONS[number - 1]
