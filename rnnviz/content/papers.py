"""The papers' own experiments, set beside their published numbers: a registry of experiments that follow
Hochreiter & Schmidhuber (1997), Bengio, Simard & Frasconi (1994) and Jozefowicz, Zaremba & Sutskever (2015),
each with the paper's figures and every way our setup differs; the shipped results
(``rnnviz/content/data/papers.json``) and how a new run is merged into them; and the report text (tables,
headline, where our numbers differ and why).

The papers' tasks are in :mod:`rnnviz.engine.tasks` (``adding_problem_1997`` ...), their protocol and runner
in :mod:`rnnviz.engine.paper_runs`, and the command ``python -m rnnviz reproduce NAME`` in :mod:`rnnviz.__main__`.
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from rnnviz.content import DATA
from rnnviz.engine.cells import ALL_KINDS, KINDS
from rnnviz.engine.paper_runs import INPUT_GATE_BIASES_1997, summarise

SHIPPED = DATA / "papers.json"


# --------------------------------------------------------------------------------------------------
# The registry: each experiment with the paper's figures and our deviations


@dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    paper: str  # citation
    task: str  # "adding", "order", "first", "latch"
    lengths: tuple[int, ...]  # T (adding, latch), p (first); temporal order has its own fixed range
    hidden_size: int
    lr: float
    batch_size: int
    check_every: int  # training sequences between two validation checks
    max_sequences: int  # budget cap per run
    seeds: tuple[int, ...]
    models: tuple[str, ...] = KINDS
    forget_bias: float | None = 1.0  # LSTM forget gate / GRU update gate bias at initialisation
    forget_biases: tuple[float, ...] = ()  # a sweep over the LSTM's forget bias instead of over models
    clip: float | None = 1.0
    paper_trials: int | None = None  # how many trials the paper's figures are the mean of
    # fewer seeds for the RNN and GRU where the paper ran the LSTM alone (they are our comparison, and a model
    # that fails runs to the cap, the costliest run there is); empty: every model gets ``seeds``
    comparison_seeds: tuple[int, ...] = ()
    # the 1997 cell's initial input-gate biases (paper_runs.INPUT_GATE_BIASES_1997); () leaves PyTorch's
    input_gate_biases_1997: tuple[float, ...] = INPUT_GATE_BIASES_1997
    paper_figures: dict = field(default_factory=dict)  # what the paper reports, by length or variant
    paper_note: str = ""
    deviations: tuple[str, ...] = ()

    def seeds_for(self, model: str) -> tuple[int, ...]:
        """The seeds ``model`` is trained with."""
        return self.comparison_seeds if self.comparison_seeds and model in ("rnn", "gru") else self.seeds

    def variants(self) -> list[dict]:
        """Every (length, model, forget bias) this experiment trains, seeds aside."""
        if self.forget_biases:
            return [{"length": L, "model": "lstm", "forget_bias": b} for L in self.lengths for b in self.forget_biases]
        return [
            {"length": L, "model": m, "forget_bias": None if m in ("rnn", "lstm1997") else self.forget_bias}
            for L in self.lengths
            for m in self.models
        ]


MODEL_LABELS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU", "lstm1997": "LSTM (1997)"}
PAPER_MODELS = (*KINDS, "lstm1997")  # the adding problem, temporal order and 2a train all four


def _common(hidden: int, lr: float, batch: int, paper_weights: int, paper_lr: str) -> tuple[str, ...]:
    return (
        f"Optimiser: Adam (lr {lr}, gradient-norm clipping at 1) on mini-batches of {batch}; the paper used plain "
        f"gradient descent on one sequence at a time (learning rate {paper_lr}).",
        "Models: 'LSTM (1997)' is the paper's cell (input and output gates, no forget gate: its cell state "
        "only accumulates), with the paper's initial input-gate biases of Experiment 4 (-3 for half the "
        "units, -6 for the other half) and tanh where the paper squashes with 4 sigmoid - 2 (cell input) and "
        "2 sigmoid - 1 (cell output); trained by full backpropagation through time, where the paper truncated "
        "the gradient at the cell's input. 'LSTM' is today's (PyTorch's equations, with a forget gate), its "
        "forget bias set to 3 at initialisation (f = sigmoid(3) = 0.953 at first: sigmoid(3)^100 = 0.0078 of a "
        "memory left after 100 steps at that setting); the GRU's update gate gets the same bias of 3.",
        f"Size: {hidden} hidden units for every model (the paper's net had {paper_weights} weights; see the "
        "weight counts in the table); every other weight as PyTorch initialises it (uniform in ±1/sqrt(H); "
        "Experiment 4 of the paper: ±0.1).",
        "Stopping rule: every check, a fixed validation set of 2000 fresh sequences must be all right (the paper "
        "stopped once the 2000 most recent training sequences were all right and the training error was low).",
        "Budget cap: a model that has not succeeded by the cap is reported as not succeeded within the cap.",
        "The RNN and GRU are ours, for comparison, with the same data, optimiser, size and budget, on 3 seeds "
        "(a run that fails costs the whole budget): the paper ran no other method on this task.",
    )


# Table 7 of Hochreiter & Schmidhuber (1997): the adding problem's means over 10 trials, by minimal length T.
ADDING_TABLE_7 = {
    100: {"sequences": 74_000, "wrong": 1, "weights": 93},
    500: {"sequences": 209_000, "wrong": 0, "weights": 93},
    1000: {"sequences": 853_000, "wrong": 1, "weights": 93},
}

EXPERIMENTS = {
    e.name: e
    for e in (
        Experiment(
            name="adding",
            title="Adding problem (H&S 1997, Experiment 4)",
            paper="Hochreiter & Schmidhuber (1997), Long Short-Term Memory, Neural Computation 9(8), Table 7",
            task="adding",
            lengths=(50, 100),
            hidden_size=16,
            lr=0.01,
            batch_size=32,
            check_every=4000,
            max_sequences=400_000,
            seeds=tuple(range(10)),
            comparison_seeds=(0, 1, 2),
            models=PAPER_MODELS,
            forget_bias=3.0,
            paper_trials=10,
            paper_figures=ADDING_TABLE_7,
            paper_note="The 1997 LSTM only, 2 cell blocks of size 2; success after that many training sequences "
            "(mean over 10 trials); wrong of the 2560 test sequences afterwards.",
            deviations=(
                *_common(16, 0.01, 32, 93, "0.5"),
                "T = 50 is ours (the paper starts at T = 100); T = 500 and 1000 are run with the 1997 cell alone, in "
                "the experiment 'Adding problem at T = 500 and 1000'.",
            ),
        ),
        Experiment(
            name="adding_long",
            title="Adding problem at T = 500 and 1000, the 1997 cell (H&S 1997, Experiment 4)",
            paper="Hochreiter & Schmidhuber (1997), Long Short-Term Memory, Neural Computation 9(8), Table 7",
            task="adding",
            lengths=(500, 1000),
            hidden_size=16,
            lr=0.01,
            batch_size=32,
            check_every=8000,
            max_sequences=400_000,
            seeds=tuple(range(10)),
            models=("lstm1997",),
            paper_trials=10,
            paper_figures={T: ADDING_TABLE_7[T] for T in (500, 1000)},
            paper_note="The 1997 LSTM, 2 cell blocks of size 2; success after that many training sequences "
            "(mean over 10 trials); wrong of the 2560 test sequences afterwards. Ours: the 1997 cell alone, the "
            "seeds this machine's budget allowed (the table says how many).",
            deviations=(
                _common(16, 0.01, 32, 93, "0.5")[0],
                "Model: the paper's cell (input and output gates, no forget gate), with its initial input-gate "
                "biases of this experiment (-3 for half the units, -6 for the other half) and tanh where the "
                "paper squashes with 4 sigmoid - 2 and 2 sigmoid - 1; full backpropagation through time, where "
                "the paper truncated the gradient at the cell's input.",
                *_common(16, 0.01, 32, 93, "0.5")[2:5],
                "Only the 1997 cell; validation checks every 8,000 sequences, since one check of 2000 sequences "
                "of 500 steps costs as much as training on about 700.",
            ),
        ),
        Experiment(
            name="adding_ablation",
            title="Adding problem, T = 100: the 1997 cell without its initial input-gate biases (ours)",
            paper="Ours, after Hochreiter & Schmidhuber (1997), Experiment 4",
            task="adding",
            lengths=(100,),
            hidden_size=16,
            lr=0.01,
            batch_size=32,
            check_every=4000,
            max_sequences=400_000,
            seeds=tuple(range(10)),
            models=("lstm1997",),
            input_gate_biases_1997=(),
            paper_note="Our experiment: today's LSTM and the 1997 cell differ in two ways, the forget gate and the "
            "1997 cell's negative initial input-gate biases. Here the 1997 cell starts with every bias as PyTorch "
            "initialises it, so the forget gate is the one difference left between it and today's LSTM.",
            deviations=(
                _common(16, 0.01, 32, 93, "0.5")[0],
                "Model: the paper's cell (input and output gates, no forget gate) without the paper's initial "
                "input-gate biases: every bias uniform in ±1/sqrt(H), as PyTorch initialises it; tanh squashing "
                "and full backpropagation through time, as in the adding problem above.",
                *_common(16, 0.01, 32, 93, "0.5")[2:5],
            ),
        ),
        Experiment(
            name="order",
            title="Temporal order (H&S 1997, Experiment 6a)",
            paper="Hochreiter & Schmidhuber (1997), Table 9",
            task="order",
            lengths=(100,),
            hidden_size=16,
            lr=0.01,
            batch_size=32,
            check_every=4000,
            max_sequences=200_000,
            seeds=tuple(range(20)),
            comparison_seeds=(0, 1, 2),
            models=PAPER_MODELS,
            forget_bias=3.0,
            input_gate_biases_1997=(-2.0, -4.0),
            paper_trials=20,
            paper_figures={100: {"sequences": 31_390, "wrong": 1, "weights": 156}},
            paper_note="The 1997 LSTM, 2 cell blocks of size 2; lengths 100-110, t1 in [10, 20], t2 in [50, 60]; "
            "success after that many training sequences (mean over 20 trials).",
            deviations=(
                *_common(16, 0.01, 32, 156, "0.5"),
                "The 1997 cell's initial input-gate biases are Experiment 6a's own (-2, -4).",
                "Outputs: a softmax over the four classes, trained with cross-entropy; the paper used four "
                "logistic units and squared error. The criterion (every output within 0.3 of its target) is "
                "the paper's.",
            ),
        ),
        Experiment(
            name="first",
            title="Remember the first symbol, p = 100 (H&S 1997, Experiment 2a)",
            paper="Hochreiter & Schmidhuber (1997), Table 2",
            task="first",
            lengths=(100,),
            hidden_size=16,
            lr=0.01,
            batch_size=4,
            check_every=320,
            max_sequences=20_000,
            seeds=tuple(range(5)),
            models=PAPER_MODELS,
            forget_bias=5.0,
            paper_trials=18,
            paper_figures={100: {"sequences": 5_040, "success": 1.0, "rtrl_success": 0.0, "bptt_success": 0.0}},
            paper_note="The 1997 LSTM succeeded in every trial, after 5,040 sequences (mean over its trials); "
            "RTRL and BPTT never did.",
            deviations=(
                "Optimiser: Adam (lr 0.01, gradient-norm clipping at 1) on mini-batches of 4 (the paper: plain "
                "gradient descent, one sequence at a time). With only two distinct sequences a larger batch "
                "buys nothing but fewer updates per sequence.",
                "Models: 'LSTM (1997)' is the paper's cell (no forget gate), with Experiment 4's initial "
                "input-gate biases (-3, -6) and tanh squashing, trained by full backpropagation through time "
                "(the paper truncated the gradient at the cell's input). 'LSTM' is today's, its forget bias "
                "set to 5 at initialisation (f = 0.993 at first): with 100 steps to bridge, the bias of 3 that "
                "our other experiments use (f = sigmoid(3) = 0.953 per step, sigmoid(3)^100 = 0.0078 over 100 "
                "steps) did not learn within a short trial budget. The GRU's update gate gets the same bias.",
                "Size: 16 hidden units for every model; the readout sees the hidden state only.",
                "Stopping rule: both sequences right at every step (every output within 0.25 of its target), "
                "checked every 320 sequences; with only two possible sequences that is the paper's criterion "
                "of 10,000 successive right sequences.",
                "Outputs: softmax over the p + 1 symbols with cross-entropy at every step; the paper used "
                "logistic units and squared error.",
                "Budget cap: 20,000 sequences (the paper gave its baselines 5 million).",
                "The RNN and GRU beside it get the same data, optimiser, size and budget; the paper's baselines "
                "on this task were RTRL and BPTT (Table 2), with their own settings.",
            ),
        ),
        Experiment(
            name="latch",
            title="Information latching (after Bengio, Simard & Frasconi 1994)",
            paper="Bengio, Simard & Frasconi (1994), Learning long-term dependencies with gradient descent is "
            "difficult, IEEE Trans. Neural Networks 5(2)",
            task="latch",
            lengths=(10, 20, 40, 60, 80, 100),
            hidden_size=8,
            lr=0.01,
            batch_size=32,
            check_every=640,
            max_sequences=12_800,
            seeds=(0, 1, 2, 3),
            forget_bias=3.0,
            paper_figures={},
            paper_note="After the paper, not its setup: the paper shows the shape, the fraction of gradient-descent "
            "runs that learn to latch one bit falling towards zero as the sequence grows from 10 towards 100 "
            "steps (a single recurrent unit, with noise after the first L = 3 steps).",
            deviations=(
                "Model: 8 units per model and a 2-class softmax readout; the paper used a single tanh unit. "
                "The LSTM's forget bias and the GRU's update bias start at 3, as in the other experiments.",
                "Inputs: the first 3 steps show the class as +1 or -1, fixed; in the paper those first inputs "
                "are free parameters that training adjusts.",
                "Noise: Gaussian with standard deviation 0.2 after the first 3 steps; the paper's variance of "
                "0.2 is a standard deviation of 0.45, so our noise is weaker.",
                "Optimiser: Adam (lr 0.01, clipping at 1), mini-batches of 32.",
                "Stopping rule: 2000 fresh validation sequences all right (both outputs within 0.3 of the "
                "target), checked every 640 sequences; budget cap 12,800 sequences.",
            ),
        ),
        Experiment(
            name="forget_bias",
            title="Forget-gate bias 0, 1 and 3 on the latch task (ours, after Jozefowicz et al. 2015)",
            paper="Jozefowicz, Zaremba & Sutskever (2015), An empirical exploration of recurrent network "
            "architectures, ICML",
            task="latch",
            lengths=(20, 30),
            hidden_size=8,
            lr=0.01,
            batch_size=32,
            check_every=640,
            max_sequences=12_800,
            seeds=(0, 1, 2, 3),
            models=("lstm",),
            forget_biases=(0.0, 1.0, 3.0),
            paper_figures={},
            paper_note="Our experiment, not the paper's: Jozefowicz et al. found that adding a bias of 1 to the "
            "LSTM's forget gate closed most of the gap between the LSTM and the GRU in their search; PyTorch "
            "still initialises it near 0. We ask only the smaller question, what the bias does to the LSTM on "
            "a task of ours; the LSTM-against-GRU comparison, which is the paper's claim, is not made here.",
            deviations=(
                "Task: the latch task at lengths 20 and 30, where a small bias decides (the paper measured on "
                "arithmetic, XML modelling, language modelling and music). Bias 3, which our other experiments "
                "use, is shown as a third variant.",
                "Forget bias: the total bias (bias_ih + bias_hh) is set to 0, 1 or 3; every other weight as "
                "PyTorch initialises it.",
                "Optimiser: Adam (lr 0.01, clipping at 1), mini-batches of 32, 8 units.",
            ),
        ),
    )
}


def get(name: str) -> Experiment:
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; expected one of {', '.join(EXPERIMENTS)}")
    return EXPERIMENTS[name]


def select(name: str, seeds=None, lengths=None, max_sequences: int | None = None, models=None) -> Experiment:
    """The experiment ``name`` with the command's choices instead of its own seeds, lengths, cap or models."""
    exp = get(name)
    if lengths:
        exp = replace(exp, lengths=tuple(int(v) for v in lengths))
    if seeds is not None:
        exp = replace(exp, seeds=tuple(int(s) for s in seeds), comparison_seeds=())
    if max_sequences is not None:
        exp = replace(exp, max_sequences=int(max_sequences))
    if models:
        unknown = set(models) - set(ALL_KINDS)
        if unknown:
            raise ValueError(f"unknown model(s) {', '.join(sorted(unknown))}; expected some of {', '.join(ALL_KINDS)}")
        exp = replace(exp, models=tuple(models))
    return exp


# --------------------------------------------------------------------------------------------------
# The shipped results: one file, merged into run by run, under a lock


def load_shipped(path: Path = SHIPPED) -> dict:
    """The shipped results: ``{"experiments": {name: reproduce(...) result}, ...}``."""
    if not path.exists():
        return {"experiments": {}}
    return json.loads(path.read_text())


def ship(result: dict, path: Path = SHIPPED) -> None:
    """Merge one experiment's result into the shipped file: its runs replace any earlier run of the same
    (length, model, forget bias, seed), so an experiment can be run in parts (say one T per process).
    Locked, because two runners may finish together."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = Path(tempfile.gettempdir()) / f"rnnviz-{path.name}.lock"  # not beside the shipped file
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = load_shipped(path)
        experiments = data.setdefault("experiments", {})
        old = experiments.get(result["experiment"])
        if old is not None:
            key = lambda r: (r["length"], r["model"], r["forget_bias"], r["seed"])  # noqa: E731
            fresh = {key(r) for r in result["runs"]}
            runs = [r for r in old["runs"] if key(r) not in fresh] + result["runs"]
            order = {
                (v["length"], v["model"], v["forget_bias"]): i
                for i, v in enumerate(get(result["experiment"]).variants())
            }
            runs.sort(key=lambda r: (order.get(key(r)[:3], len(order)), r["seed"]))
            parts = old.get("parts", [_part(old)]) + [_part(result)]
            result = {**result, "runs": runs, "summary": summarise(runs), "parts": parts}
            result["seconds"] = round(sum(p["seconds"] for p in parts), 1)
            result["settings"] = {
                **result["settings"],
                "seeds": sorted({r["seed"] for r in runs}),
                "lengths": sorted({r["length"] for r in runs}),
            }
        else:
            result = {**result, "parts": [_part(result)]}
        experiments[result["experiment"]] = result
        data.pop("ci_cell", None)
        data["ci_cells"] = list(CI_CELLS)
        path.write_text(json.dumps(data, indent=1) + "\n")


def _part(result: dict) -> dict:
    """When, where and with what settings one invocation of the command made its runs."""
    s = result["settings"]
    return {
        "created": result["created"],
        "seconds": result["seconds"],
        "machine": result["machine"],
        "lengths": s["lengths"],
        "seeds": s["seeds"],
        "models": s["models"],
        "max_sequences": s["max_sequences"],
    }


# The cells CI reruns from the shipped file, at least one of every experiment, each a few seconds at most, and
# compares by result (tests/test_papers.py): succeeded or not; sequences to success within SEQUENCES_BAND;
# wrong of 2560 within WRONG_BAND. Never a float trajectory: another BLAS kernel may round a float32 sum
# differently, which moves a run by a check or so but does not change what it means.
CI_CELLS = (
    {"experiment": "latch", "model": "lstm", "length": 10, "seed": 0, "forget_bias": 3.0},
    {"experiment": "latch", "model": "rnn", "length": 100, "seed": 0, "forget_bias": None},
    {"experiment": "forget_bias", "model": "lstm", "length": 20, "seed": 0, "forget_bias": 0.0},
    {"experiment": "forget_bias", "model": "lstm", "length": 20, "seed": 0, "forget_bias": 3.0},
    # 2a's runs all go to the cap (5,000 updates): rerun the first four checks of one
    {"experiment": "first", "model": "lstm1997", "length": 100, "seed": 0, "forget_bias": None, "up_to": 1280},
    {"experiment": "adding", "model": "lstm1997", "length": 50, "seed": 0, "forget_bias": None},
    {"experiment": "order", "model": "lstm1997", "length": 100, "seed": 0, "forget_bias": None},
    # a run at T = 500 costs a minute: rerun its first check only ("up_to" sequences) and compare the
    # validation set's wrong count there
    {"experiment": "adding_long", "model": "lstm1997", "length": 500, "seed": 0, "forget_bias": None, "up_to": 8000},
    {
        "experiment": "adding_ablation",
        "model": "lstm1997",
        "length": 100,
        "seed": 0,
        "forget_bias": None,
        "up_to": 8000,
    },
)


def sequences_band(exp: Experiment, sequences: int) -> int:
    """How far a rerun's sequences to success may lie from the shipped run's: two checks or a quarter of
    the count, whichever is more."""
    return max(2 * exp.check_every, sequences // 4)


def wrong_band(wrong: int) -> int:
    """How far a rerun's wrong of 2560 may lie from the shipped run's: 5 or a tenth, whichever is more."""
    return max(5, wrong // 10)


def find_run(data: dict, experiment: str, model: str, length: int, seed: int, forget_bias=None) -> dict:
    for r in data["experiments"][experiment]["runs"]:
        if (r["model"], r["length"], r["seed"]) == (model, length, seed) and (
            forget_bias is None or r["forget_bias"] == forget_bias
        ):
            return r
    raise ValueError(f"no shipped run for {experiment} {model} length {length} seed {seed}")


# --------------------------------------------------------------------------------------------------
# The report: tables and plain sentences beside the paper's figures


def describe(exp: Experiment) -> str:
    """What ``reproduce NAME --list`` prints: the experiment's models, lengths, seeds and budget."""
    lines = [f"{exp.name}: {exp.title}", f"  paper: {exp.paper}"]
    if exp.forget_biases:
        lines.append(f"  models: LSTM with forget bias {', '.join(f'{b:g}' for b in exp.forget_biases)}")
    else:
        lines.append("  models: " + ", ".join(f"{m} ({MODEL_LABELS[m]})" for m in exp.models))
    lines += [
        f"  lengths: {', '.join(str(L) for L in exp.lengths)}",
        f"  seeds: {', '.join(str(s) for s in exp.seeds)}"
        + (f" (the paper: {exp.paper_trials} trials)" if exp.paper_trials else ""),
        *(
            [f"  seeds of the RNN and GRU: {', '.join(str(s) for s in exp.comparison_seeds)}"]
            if exp.comparison_seeds
            else []
        ),
        f"  budget: {exp.max_sequences:,} sequences per run, mini-batches of {exp.batch_size}, checked every "
        f"{exp.check_every:,}",
    ]
    return "\n".join(lines)


def _label(row: dict) -> str:
    return MODEL_LABELS.get(row["model"], row["model"])


def _paper_cell(exp: Experiment, row: dict) -> str:
    """What the paper reports beside this row: the 1997 LSTM's figures beside both our LSTMs (the paper's
    is the 1997 cell); for 2a also the BPTT/RTRL nets' success, set beside our RNN (the nearest we train)."""
    paper = exp.paper_figures.get(row["length"], {})
    if row["model"] in ("lstm", "lstm1997") and "sequences" in paper:
        trials = f" (mean of {exp.paper_trials} trials)" if exp.paper_trials else " (mean)"
        text = f"LSTM 1997: {paper['sequences']:,} sequences{trials}"
        if "wrong" in paper:
            text += f", {paper['wrong']} wrong"
        if "success" in paper:
            text += f", {paper['success']:.0%} of trials"
        return text
    if row["model"] == "rnn" and "bptt_success" in paper:
        return f"BPTT {paper['bptt_success']:.0%}, RTRL {paper['rtrl_success']:.0%} of trials"
    return "-"


def _count(mean: float) -> str:
    """A mean count as people write it: 0.7, 4, 651, 2,191 (never 2.19e+03)."""
    return f"{mean:,.0f}" if mean >= 100 else f"{mean:.2g}"


def format_table(result: dict) -> str:
    """The summary as a Markdown table, the paper's figures beside it, then the deviations."""
    exp = get(result["experiment"])
    lines = [
        f"## {exp.title}",
        f"Paper: {exp.paper}. {exp.paper_note}",
        "",
        "| length | model | forget bias | succeeded | sequences to success: mean; median (range) | "
        "wrong of 2560: mean; median (range) | weights | seconds per run (mean) | paper |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in result["summary"]:
        seq = (
            f"{row['sequences_mean']:,.0f}; {row['sequences_median']:,.0f} "
            f"({row['sequences_min']:,}-{row['sequences_max']:,})"
            if row["succeeded"]
            else f"not within {row['cap']:,}"
        )
        bias = "-" if row["forget_bias"] is None else f"{row['forget_bias']:g}"
        wrong_text = f"{_count(row['wrong_mean'])}; {row['wrong_median']:g} ({row['wrong_min']}-{row['wrong_max']})"
        lines.append(
            f"| {row['length']} | {_label(row)} | {bias} | {row['succeeded']}/{row['runs']} | {seq} | "
            f"{wrong_text} | {row['weights']} | {row['seconds'] / row['runs']:.3g} | {_paper_cell(exp, row)} |"
        )
    lines += ["", "Our deviations from the paper's setup:", *[f"- {d}" for d in exp.deviations]]
    return "\n".join(lines)


TRIAL_NOTE_2A = (
    "What we saw in two trial runs of today's LSTM (batch 32, lr 0.03, forget bias 3 and 5): it learned the 99 "
    "local next-symbol predictions within about 3,000 sequences, then stayed undecided (probability near 1/2 "
    "each) on the last symbol, the one that needs the first. We suspect the forget gate: today's LSTM can "
    "learn to forget, and 99 local predictions reward forgetting the previous symbol; the 1997 cell cannot "
    "forget at all. That is a hypothesis, not a measurement."
)


def _ablation(data: dict | None) -> str | None:
    """What the ablation (the 1997 cell without its initial input-gate biases) says, beside the adding
    problem's two LSTMs at T = 100; None without the three."""
    experiments = (data or {}).get("experiments", {})
    if "adding_ablation" not in experiments or "adding" not in experiments:
        return None
    rows = {(r["model"], r["length"]): r for r in experiments["adding"]["summary"]}
    without = next((r for r in experiments["adding_ablation"]["summary"] if r["length"] == 100), None)
    old, new = rows.get(("lstm1997", 100)), rows.get(("lstm", 100))
    if not (without and old and new and old["succeeded"] and new["succeeded"]):
        return None

    def said(r):
        if not r["succeeded"]:
            return f"no success within {r['cap']:,} ({r['runs']} seeds)"
        return f"a mean of {r['sequences_mean']:,.0f} sequences ({r['succeeded']} of {r['runs']} seeds)"

    text = (
        f"Without its initial input-gate biases the 1997 cell needed {said(without)}; with them, {said(old)}; "
        f"today's LSTM, {said(new)}."
    )
    if not without["succeeded"]:
        return text + " So without those biases the 1997 cell does not learn here: they matter more than the gate."
    biases = without["sequences_mean"] / old["sequences_mean"]
    gate = new["sequences_mean"] / without["sequences_mean"]
    return text + (
        f" Counted in means over the seeds that succeeded: the input-gate biases make the 1997 cell {_times(biases)} "
        f"faster, and the forget gate (today's LSTM against the 1997 cell, both with PyTorch's input-gate biases) "
        f"makes the LSTM {_times(gate) + ' slower' if gate >= 1 else _times(1 / gate) + ' faster'}"
        + (" in fewer seeds." if new["success_rate"] < without["success_rate"] else ".")
    )


def _times(ratio: float) -> str:
    """A ratio as people say it: 0.38x, 4.1x, 85x, 110x (never 1e+02x)."""
    return f"{ratio:.2g}x" if ratio < 10 else f"{ratio:,.0f}x"


def _updates(paper_sequences: int, ours: float, batch: int) -> str:
    """Our count in weight updates beside the paper's (one update per sequence), and how they compare."""
    mine = ours / batch
    ratio = mine / paper_sequences
    if 0.95 <= ratio <= 1.05:
        how = "about as many"
    elif ratio < 1:
        how = f"{_times(1 / ratio)} fewer"
    else:
        how = f"{_times(ratio)} more"
    return (
        f"in weight updates that is {mine:,.0f} (mini-batches of {batch}) against the paper's {paper_sequences:,} "
        f"(one per sequence): {how}"
    )


def differences(result: dict, data: dict | None = None) -> list[str]:
    """Plain sentences on where our numbers differ from the paper's, and why (for the page and docs).
    ``data``, the whole shipped file, lets the adding problem and its ablation refer to each other."""
    exp = get(result["experiment"])
    ablation = _ablation(data)
    rows = result["summary"]
    trials = f"mean of its {exp.paper_trials} trials" if exp.paper_trials else "its mean"
    out = []
    for row in rows:
        paper = exp.paper_figures.get(row["length"])
        if row["model"] not in ("lstm", "lstm1997") or not paper or "sequences" not in paper:
            continue
        T, label = row["length"], _label(row)
        if not row["succeeded"]:
            out.append(
                f"At length {T} our {label} did not succeed within {row['cap']:,} sequences in any of "
                f"{row['runs']} seeds; the paper's LSTM succeeded after {paper['sequences']:,} ({trials}). Our "
                f"cap, {_updates(paper['sequences'], row['cap'], exp.batch_size)}."
            )
            continue
        ratio = row["sequences_mean"] / paper["sequences"]
        out.append(
            f"At length {T} our {label} succeeded in {row['succeeded']} of {row['runs']} seeds, after a mean of "
            f"{row['sequences_mean']:,.0f} training sequences (median {row['sequences_median']:,.0f}, over the "
            f"seeds that succeeded): {_times(ratio)} the paper's {paper['sequences']:,} ({trials}). Counted "
            f"{_updates(paper['sequences'], row['sequences_mean'], exp.batch_size)}; with Adam"
            + (" and a forget gate biased open." if row["model"] == "lstm" else ".")
        )
        if "wrong" in paper:
            out.append(
                f"Wrong of 2560 at length {T}, {label}: ours a mean of {_count(row['wrong_mean'])} (median "
                f"{row['wrong_median']:g}, range {row['wrong_min']}-{row['wrong_max']}, failed seeds included), "
                f"the paper's {paper['wrong']}. Our count is taken at the first check that passed (or at the cap); "
                "the paper trained on until the training error was also below its threshold."
            )
        if "success" in paper and row["success_rate"] < paper["success"]:
            out.append(
                f"The paper's LSTM succeeded in {paper['success']:.0%} of its trials; our {label} in "
                f"{row['succeeded']} of {row['runs']}."
            )
    for T in sorted({r["length"] for r in rows}):
        pair = {r["model"]: r for r in rows if r["length"] == T and r["model"] in ("lstm", "lstm1997")}
        if len(pair) < 2 or not pair["lstm1997"]["succeeded"]:
            continue
        old, new = pair["lstm1997"], pair["lstm"]
        keep = (1 / (1 + math.exp(-new["forget_bias"]))) ** T
        today = (
            f"a mean of {new['sequences_mean']:,.0f} ({new['succeeded']} of {new['runs']} seeds)"
            if new["succeeded"]
            else f"no success within {new['cap']:,} in {new['runs']} seeds"
        )
        out.append(
            f"Why today's LSTM and the 1997 cell differ at length {T}: same data, optimiser, size and budget, and "
            f"the 1997 cell needed a mean of {old['sequences_mean']:,.0f} sequences ({old['succeeded']} of "
            f"{old['runs']} seeds) against today's {today}. Two things differ. The forget gate: at a bias of "
            f"{new['forget_bias']:g} it keeps sigmoid({new['forget_bias']:g})^{T} = {keep:.2g} of a memory over "
            f"{T} steps at the start, so training must first learn to hold it open, where the 1997 cell keeps all "
            "of it by construction. And the 1997 cell's negative initial input-gate biases "
            f"({', '.join(f'{b:g}' for b in exp.input_gate_biases_1997)}), which keep it from taking in every input. "
            + (
                ablation
                if ablation and exp.name == "adding" and T == 100
                else "Which of the two matters more we have not measured."
            )
        )
    if exp.name == "adding_ablation" and ablation:
        out.append(ablation)
    missing = [T for T in exp.paper_figures if T not in {r["length"] for r in rows}]
    if missing:
        per_step = seconds_per_sequence_step(result, "lstm", "lstm1997")
        estimate = ""
        if per_step:
            hours = [
                f"T = {T}: about {exp.paper_figures[T]['sequences'] * (T + T // 20) * per_step / 3600:.1f} h"
                for T in sorted(missing)
                if "sequences" in exp.paper_figures[T]
            ]
            estimate = (
                f" Our two LSTMs together ran at {per_step * 1e6:.2g} µs per training sequence and step here "
                f"(validation checks included, the machine shared with other jobs), so one run to the paper's "
                f"sequence count would take {'; '.join(hours)}."
            )
        elsewhere = [
            f"T = {', '.join(str(T) for T in other.lengths if T in missing)} with the 1997 cell: the experiment "
            f"'{other.title}'"
            for other in EXPERIMENTS.values()
            if other is not exp and other.task == exp.task and set(other.lengths) & set(missing)
        ]
        out.append(
            f"The paper also reports length(s) {', '.join(str(T) for T in sorted(missing))}; this experiment "
            f"did not run them{' (' + '; '.join(elsewhere) + ')' if elsewhere else ''}.{estimate}"
        )
    if exp.name == "first":
        lstm = [r for r in rows if r["model"] == "lstm"]
        old = [r for r in rows if r["model"] == "lstm1997"]
        if old and not old[0]["succeeded"]:
            out.append(
                f"The 1997 cell, which cannot forget, did not succeed within {old[0]['cap']:,} sequences either "
                f"(0 of {old[0]['runs']} seeds), so the forget gate alone does not explain our miss, as we had "
                "guessed from two trial runs of today's LSTM. What remains different: our softmax outputs with "
                "cross-entropy (the paper: logistic units, squared error), Adam on mini-batches of 4, Experiment "
                "4's initial input-gate biases, full backpropagation through time where the paper truncated, and "
                f"the budget ({old[0]['cap']:,} sequences; the paper's mean was "
                f"{exp.paper_figures[old[0]['length']]['sequences']:,}; we did not try a larger budget)."
            )
        elif lstm and lstm[0]["success_rate"] < 1:
            out.append(TRIAL_NOTE_2A)
        rnn = [r for r in rows if r["model"] == "rnn"]
        if rnn and any(r["succeeded"] for r in rnn):
            out.append("Our plain RNN succeeded in some seeds, unlike the paper's BPTT and RTRL nets.")
    return out


def headline(data: dict) -> list[dict]:
    """One row per experiment and length that the paper gives figures for: the paper's mean beside the means
    of our two LSTMs, with the success of every model we ran (for the page's overview and the docs)."""
    rows = []
    for name, exp in EXPERIMENTS.items():
        result = data.get("experiments", {}).get(name)
        if result is None:
            continue
        for T, paper in sorted(exp.paper_figures.items()):
            mine = {r["model"]: r for r in result["summary"] if r["length"] == T and r["forget_bias"] != 0.0}
            if not mine:
                continue
            rows.append(
                {
                    "experiment": exp.title,
                    "length": T,
                    "paper_sequences": paper.get("sequences"),
                    "paper_trials": exp.paper_trials,
                    "paper_wrong": paper.get("wrong"),
                    "ours": {
                        k: {
                            "mean": r["sequences_mean"],
                            "wrong": r["wrong_mean"],
                            "won": r["succeeded"],
                            "runs": r["runs"],
                        }
                        for k, r in mine.items()
                    },
                    "cap": next(iter(mine.values()))["cap"],
                }
            )
    return rows


def format_headline(data: dict) -> str:
    """The overview as a Markdown table: means, as the paper gives them."""
    lines = [
        "| experiment | T | paper: LSTM 1997, sequences to success (mean of trials) | ours: LSTM (1997), mean | "
        "ours: today's LSTM, mean | paper: wrong of 2560 | ours: seeds succeeded RNN / LSTM / GRU / LSTM (1997) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in headline(data):

        def mean(kind, r=r):
            o = r["ours"].get(kind)
            if o is None:
                return "-"
            if o["mean"] is None:
                return f"not within {r['cap']:,}"
            return f"{o['mean']:,.0f} ({o['won']}/{o['runs']} seeds)"

        trials = f" ({r['paper_trials']})" if r["paper_trials"] else ""
        wrong_paper = "-" if r["paper_wrong"] is None else str(r["paper_wrong"])
        success = " / ".join(
            f"{r['ours'][k]['won']}/{r['ours'][k]['runs']}" if k in r["ours"] else "-" for k in PAPER_MODELS
        )
        lines.append(
            f"| {r['experiment']} | {r['length']} | {r['paper_sequences']:,}{trials} | {mean('lstm1997')} | "
            f"{mean('lstm')} | {wrong_paper} | {success} |"
        )
    return "\n".join(lines)


def provenance(result: dict) -> str:
    """Where and with which engine an experiment's runs were made, and what they cost (from the records)."""
    machines = sorted({(r.get("machine") or {}).get("cpu", "?") for r in result["runs"]})
    kernels = sorted({(r.get("machine") or {}).get("blas_kernel", "?") for r in result["runs"]})
    engines = sorted({(r.get("engine") or {}).get("git") or "?" for r in result["runs"]})
    hashes = sorted({(r.get("engine") or {}).get("engine_sha256", "?") for r in result["runs"]})
    seconds = sum(r["seconds"] for r in result["runs"])
    return (
        f"{len(result['runs'])} runs, {seconds:,.0f} s of wall time in all, on {', '.join(machines)} (BLAS: "
        f"{', '.join(kernels)}; one BLAS thread; the machine shared with other jobs). Engine: git "
        f"{', '.join(engines)} (source hash {', '.join(hashes)}). Every record in "
        "rnnviz/content/data/papers.json says its own."
    )


def timings(result: dict) -> str:
    """Measured cost of each model's runs: µs per training sequence and step (checks included)."""
    parts = []
    for model in ALL_KINDS:
        per_step = seconds_per_sequence_step(result, model)
        if per_step:
            parts.append(f"{MODEL_LABELS[model]} {per_step * 1e6:.2g} µs")
    return "Per training sequence and time step, validation checks included: " + ", ".join(parts) + "."


def reproductions_markdown(data: dict) -> str:
    """docs/papers.md's section "Reproductions", made from the shipped file (a test keeps the two equal)."""
    lines = [
        "## Reproductions",
        "",
        "Made by `python -m rnnviz reproduce NAME` (the runner `rnnviz.engine.paper_runs.run_one`) and stored in "
        "`rnnviz/content/data/papers.json`; every record there names its engine (git describe and a hash of "
        "`rnnviz/engine/*.py`), its machine and BLAS kernel, and its wall time. The paper's figures are means "
        "over its trials; ours give the mean, the median and the range over the seeds that succeeded. CI "
        "reruns a few cheap cells of every experiment (`papers.CI_CELLS`) and compares them by result.",
        "",
        format_headline(data),
    ]
    for name in EXPERIMENTS:
        result = data.get("experiments", {}).get(name)
        if result is None:
            continue
        table = format_table(result).split("\n\nOur deviations")[0].replace("## ", "### ", 1)
        lines += ["", table, "", provenance(result) + " " + timings(result)]
        lines += [""] + [f"- {d}" for d in differences(result, data)]
    return "\n".join(lines).rstrip() + "\n"


def seconds_per_sequence_step(result: dict, *models: str) -> float | None:
    """Measured wall time per training sequence and time step of the runs of ``models`` together (validation
    checks included), from the shipped records; None when there are none."""
    runs = [r for r in result["runs"] if r["model"] in models]
    work = sum(r["sequences"] * (r["length"] + r["length"] // 20) for r in runs)  # mean length T + T/20
    return sum(r["seconds"] for r in runs) / work if work else None
