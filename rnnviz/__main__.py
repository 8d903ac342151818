"""Command line: ``rnnviz train ...``, ``rnnviz sweep ...``, ``rnnviz reproduce ...`` and ``rnnviz app`` (also
as ``python -m rnnviz``). ``--help`` on the command and on each subcommand is written for a reader of the
terminal (plain text, every option with its default): see DESCRIPTION and the parsers in build_parser.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tomllib
from dataclasses import asdict
from importlib.util import find_spec
from pathlib import Path

from rnnviz.engine import blas  # imports no NumPy

blas.default_to_one_thread()  # before NumPy loads (see rnnviz/engine/blas.py); worker processes inherit it

from rnnviz.content import DATA  # noqa: E402
from rnnviz.engine import provenance  # noqa: E402
from rnnviz.engine.training import (  # noqa: E402
    TrainConfig,
    config_from_settings,
    flag_fields,
    success_rates,
    sweep,
    train,
)
from rnnviz.engine.weights import from_state_dict, save_npz  # noqa: E402

DEFAULT_SWEEP = Path("sweep.json")  # in the current directory: never into the installed package
SHIPPED_SWEEP = DATA / "sweep_default.json"  # the one the Training lab shows (remade with --out pointing at it)

DESCRIPTION = """\
rnnviz: see why LSTMs and GRUs remember what plain RNNs forget.

commands:
  rnnviz train       train one model on a long-lag task and say whether it solved it
  rnnviz sweep       train every cell at several lags and seeds; success rate against lag
  rnnviz reproduce   rerun an experiment of a paper and set it beside the paper's numbers
  rnnviz app         start the Streamlit app (the same as: streamlit run app.py)

Run "rnnviz COMMAND --help" for a command's options and their defaults.
python -m rnnviz does the same without installing.
"""


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Every option's help ends with its default ("off" for a switch or an option not given); descriptions keep
    their line breaks."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default is argparse.SUPPRESS or not action.option_strings:
            return text
        return f"{text} (default: {'off' if action.default is None or action.default is False else '%(default)s'})"


class CommandError(Exception):
    """A problem with what the user asked for: printed as one line, exit status 2."""


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def _config_arguments(parser: argparse.ArgumentParser) -> None:
    """--task ... --dtype, one per TrainConfig field that names a flag (its metadata: choices, help, and the
    value that means off)."""
    for f in flag_fields():
        m = f.metadata
        parser.add_argument(m["flag"], type=type(f.default), default=f.default, choices=m["choices"], help=m["help"])


def _config(args, **override) -> TrainConfig:
    return config_from_settings({f.name: getattr(args, _dest(f.metadata["flag"])) for f in flag_fields()}, **override)


# --------------------------------------------------------------------------------------------------
# rnnviz train


def _check_save_path(path: Path) -> None:
    """Refuse a path that cannot be written before training, not after."""
    if path.is_dir():
        raise CommandError(f"--save {path}: is a directory; give a file name such as model.npz")
    if not path.parent.is_dir():
        raise CommandError(f"--save {path}: the directory {path.parent} does not exist")


def run_train(args) -> int:
    config = _config(args, cell=args.cell, seed=args.seed)
    if args.save is not None:
        _check_save_path(args.save)
    result = train(config)
    summary = result.summary()
    if args.save is not None:
        # Written to exactly this path (np.savez would append .npz to a bare name).
        with open(args.save, "wb") as f:
            save_npz(from_state_dict(config.cell, result.state_dict), f)
        print(f"saved the trained {config.cell} cell to {args.save} (PyTorch's keys; no readout)", file=sys.stderr)
    if args.json:
        print(json.dumps(summary))
    else:
        verdict = "solved" if summary["solved"] else "not solved"
        print(
            f"{args.cell} on {args.task} (length {args.length}, seed {args.seed}): {verdict}, "
            f"test {summary['metric']} {summary['test_metric']:.4f}, {summary['seconds']:.1f} s, "
            f"{summary['params']} parameters"
        )
    return 0


# --------------------------------------------------------------------------------------------------
# rnnviz sweep


def _int_list(text: str, option: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise CommandError(f"{option} wants comma-separated whole numbers, got {text!r}") from None


def run_sweep(args) -> int:
    base = _config(args)
    result = sweep(
        base,
        cells=args.cells.split(","),
        lengths=_int_list(args.lengths, "--lengths"),
        seeds=_int_list(args.seeds, "--seeds"),
        on_result=lambda r: print(json.dumps(r), file=sys.stderr, flush=True),
    )
    result["made_on"] = provenance.made_on()  # the lab's replay caption names it
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    for cell, rates in success_rates(result).items():
        print(cell, dict(zip(result["lengths"], rates, strict=True)))
    print(f"wrote {args.out} (base config {asdict(base)})")
    return 0


# --------------------------------------------------------------------------------------------------
# rnnviz reproduce


def run_reproduce(args) -> int:
    """The papers' experiments beside their published numbers (the registry: rnnviz.content.papers; the
    runner: rnnviz.engine.paper_runs)."""
    from rnnviz.content import papers
    from rnnviz.engine import paper_runs

    if args.list and args.name:
        print(papers.describe(papers.get(args.name)))
        return 0
    if args.list or not args.name:
        for exp in papers.EXPERIMENTS.values():
            print(f"{exp.name:12s} {exp.title}")
        return 0
    exp = papers.select(
        args.name,
        seeds=_int_list(args.seeds, "--seeds") if args.seeds else None,
        lengths=_int_list(args.length, "--length") if args.length else None,
        max_sequences=args.max_sequences,
        models=args.models.split(",") if args.models else None,
    )
    result = paper_runs.reproduce(
        exp,
        on_record=lambda r: print(
            json.dumps({k: v for k, v in r.items() if k != "validation_wrong"}), file=sys.stderr, flush=True
        ),
    )
    if args.write:
        papers.ship(result)
    if args.json:
        print(json.dumps(result))
    else:
        print(papers.format_table(result))
        print(f"\n{len(result['runs'])} runs in {result['seconds']:g} s on {result['machine']['cpu']}")
    return 0


# --------------------------------------------------------------------------------------------------
# rnnviz app


def app_dir() -> Path:
    """The folder holding app.py, pages/ and .streamlit/config.toml.

    Installed from a wheel it is the package ``rnnviz_app`` beside ``rnnviz`` (see pyproject.toml); in a
    checkout, or an editable install, it is the repository root above ``rnnviz/``.
    """
    beside = Path(__file__).resolve().parent.parent
    for folder in (beside / "rnnviz_app", beside):
        if (folder / "app.py").is_file() and (folder / "pages").is_dir():
            return folder
    raise CommandError(f"cannot find the app (app.py and pages/) next to {beside}: reinstall rnnviz")


def config_flags(config_file: Path) -> list[str]:
    """The settings of a Streamlit config.toml as ``streamlit run`` flags (``--server.headless true`` ...),
    so an installed app runs as configured whatever the working directory."""
    flags = []
    for section, options in tomllib.loads(config_file.read_text()).items():
        for name, value in options.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            flags += [f"--{section}.{name}", text]
    return flags


def app_command(streamlit_args: list[str]) -> list[str]:
    """``python -m streamlit run <app.py>`` with the shipped settings first, so the user's flags override them."""
    folder = app_dir()
    config = folder / ".streamlit" / "config.toml"
    flags = config_flags(config) if config.is_file() else []
    return [sys.executable, "-m", "streamlit", "run", *flags, *streamlit_args, str(folder / "app.py")]


def run_app(args, streamlit_args: list[str]) -> int:
    command = app_command(streamlit_args)
    from rnnviz.app import trainer  # imports no streamlit

    try:  # the training service's settings (docs/deploy.md): a typo stops the server before it starts
        trainer.check_environment()
    except ValueError as error:
        raise CommandError(str(error)) from None
    if args.dry_run:
        print(shlex.join(command))
        return 0
    if find_spec("streamlit") is None:
        raise CommandError(f"streamlit is not installed for {sys.executable}: pip install 'streamlit>=1.67,<2'")
    sys.stdout.flush()
    if os.name == "posix":
        os.execv(sys.executable, command)  # streamlit takes this process over: signals reach it directly
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 130


# --------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnviz", usage="rnnviz COMMAND [options]", description=DESCRIPTION, formatter_class=_HelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", help=argparse.SUPPRESS, prog="rnnviz")

    p_train = sub.add_parser(
        "train",
        help="train one model and report whether it solved the task",
        description="Train one model on a long-lag task and say whether it solved it (held-out test set).\n"
        "Prints one line, or one JSON object with --json.",
        formatter_class=_HelpFormatter,
    )
    p_train.add_argument("--cell", default="lstm", choices=["rnn", "lstm", "gru"], help="the recurrent cell")
    p_train.add_argument("--seed", type=int, default=0, help="seed of the weights and the data")
    p_train.add_argument("--json", action="store_true", help="print one JSON object instead of a line")
    p_train.add_argument(
        "--save",
        type=Path,
        metavar="PATH",
        help="write the trained cell to PATH as .npz with PyTorch's keys (weight_ih_l0, ...)",
    )
    _config_arguments(p_train)

    p_sweep = sub.add_parser(
        "sweep",
        help="success rate against sequence length, for every cell",
        description="Train every cell at every length and seed, and write the success rates as JSON.\n"
        f"The Training lab shows {SHIPPED_SWEEP.relative_to(DATA.parents[2])}; to remake it, pass it as --out.",
        formatter_class=_HelpFormatter,
    )
    p_sweep.add_argument("--lengths", default="5,10,20,50,100", help="comma-separated sequence lengths")
    p_sweep.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    p_sweep.add_argument("--cells", default="rnn,lstm,gru", help="comma-separated cells")
    p_sweep.add_argument("--out", type=Path, default=DEFAULT_SWEEP, help="where to write the results (JSON)")
    _config_arguments(p_sweep)
    # reproduce: the papers' experiments beside their published numbers (see run_reproduce)
    p_rep = sub.add_parser(
        "reproduce",
        help="rerun a paper's experiment and set it beside the paper's numbers",
        description="Rerun an experiment of Hochreiter & Schmidhuber (1997), Bengio et al. (1994) or "
        "Jozefowicz et al. (2015)\nand set the result beside the paper's numbers.",
        formatter_class=_HelpFormatter,
    )
    p_rep.add_argument("name", nargs="?", help="experiment (see --list)")
    p_rep.add_argument(
        "--list", action="store_true", help="list the experiments; with NAME, that experiment's models and settings"
    )
    p_rep.add_argument("--seeds", help="comma-separated seeds (default: the experiment's)")
    p_rep.add_argument("--length", help="comma-separated T (or p) to run (default: the experiment's)")
    p_rep.add_argument("--models", help="comma-separated subset of the experiment's models (default: the experiment's)")
    p_rep.add_argument(
        "--max-sequences", type=int, help="budget cap per run, in training sequences (default: the experiment's)"
    )
    p_rep.add_argument("--json", action="store_true", help="print the whole result as one JSON object")
    p_rep.add_argument("--write", action="store_true", help="store the result in rnnviz/content/data/papers.json")

    p_fc = sub.add_parser("forecast", help="forecast a real series with a model and score it beside the baselines")
    source = p_fc.add_mutually_exclusive_group(required=True)
    source.add_argument("--series", help="a shipped series: co2, elnino, sunspots, nile")
    source.add_argument("--csv", type=Path, metavar="PATH", help="a CSV file of your own (at most 1 MB)")
    p_fc.add_argument("--column", help="the CSV's value column (name or 0-based index; default: the last numeric one)")
    p_fc.add_argument("--missing", default="refuse", choices=["refuse", "drop", "interpolate"])
    p_fc.add_argument("--cell", default="lstm", help="rnn, lstm, gru, a comma-separated list, or none")
    p_fc.add_argument("--window", type=int, help="past values the model sees (default: the series')")
    p_fc.add_argument("--horizon", type=int, help="steps ahead (default: the series')")
    p_fc.add_argument("--season", type=int, help="steps in one season for seasonal naive (0: none)")
    p_fc.add_argument("--difference", action=argparse.BooleanOptionalAction, help="model the changes (for a trend)")
    p_fc.add_argument("--hidden", type=int, default=16)
    p_fc.add_argument("--updates", type=int, default=600)
    p_fc.add_argument("--seed", type=int, default=0)
    p_fc.add_argument("--json", action="store_true", help="print one JSON object")
    # text: a character model on a built-in text, and the units it learned (all of it in rnnviz.engine.text)
    p_text = sub.add_parser("text", help="train a character model on a text; bits per character and found units")
    p_text.add_argument("--corpus", default="language", choices=["language", "stdlib", "prose"])
    p_text.add_argument("--cell", default="lstm", choices=["rnn", "lstm", "gru"])
    p_text.add_argument("--hidden", type=int, default=32)
    p_text.add_argument("--steps", type=int, default=1000)
    p_text.add_argument("--seed", type=int, default=0)
    p_text.add_argument("--json", action="store_true", help="print one JSON object")

    p_app = sub.add_parser(
        "app",
        help="start the Streamlit app",
        description="Start the Streamlit app. Any other arguments go to streamlit run\n"
        "(e.g. --server.port 8502 --server.address 0.0.0.0; see: streamlit run --help).",
        formatter_class=_HelpFormatter,
        allow_abbrev=False,
    )
    p_app.add_argument("--dry-run", action="store_true", help="print the streamlit command instead of running it")
    return parser


def main(argv=None) -> int:
    blas.limit_blas_threads()  # `python -m rnnviz` imports the package, and NumPy, before this module
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "app":  # the command's own usage, not the top level's; exits with status 2
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        sub.choices[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        if args.command == "train":
            return run_train(args)
        if args.command == "sweep":
            return run_sweep(args)
        if args.command == "forecast":
            from rnnviz.engine import forecast

            return forecast.main(args)
        if args.command == "reproduce":
            return run_reproduce(args)
        if args.command == "text":
            from rnnviz.engine import text

            return text.cli(args)
        return run_app(args, extra)
    except (ValueError, OSError, CommandError) as err:
        print(f"rnnviz {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rnnviz {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
