"""Command line: ``python -m rnnviz train ...`` and ``python -m rnnviz sweep ...``.

``train`` prints one JSON object (with --json) or a short line; ``sweep`` writes the lag-sweep results
file the Training lab shows (the default one ships in rnnviz/data/).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from rnnviz.training import TrainConfig, success_rates, sweep, train

DEFAULT_SWEEP = Path(__file__).parent / "data" / "sweep_default.json"


def _config_arguments(parser: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    parser.add_argument("--task", default=d.task, choices=["adding", "first", "order"])
    parser.add_argument("--length", type=int, default=d.length)
    parser.add_argument("--hidden", type=int, default=d.hidden_size)
    parser.add_argument("--steps", type=int, default=d.steps)
    parser.add_argument("--batch", type=int, default=d.batch_size)
    parser.add_argument("--lr", type=float, default=d.lr)
    parser.add_argument("--optimizer", default=d.optimizer, choices=["adam", "sgd"])
    parser.add_argument("--clip", type=float, default=d.clip, help="gradient-norm clipping; 0 turns it off")
    parser.add_argument("--forget-bias", type=float, default=d.forget_bias)
    parser.add_argument("--n-train", type=int, default=d.n_train)
    parser.add_argument("--dtype", default=d.dtype, choices=["float32", "float64"])


def _config(args, **override) -> TrainConfig:
    return TrainConfig(
        task=args.task,
        length=args.length,
        hidden_size=args.hidden,
        steps=args.steps,
        batch_size=args.batch,
        lr=args.lr,
        optimizer=args.optimizer,
        clip=args.clip if args.clip and args.clip > 0 else None,
        forget_bias=args.forget_bias,
        n_train=args.n_train,
        dtype=args.dtype,
        **override,
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rnnviz", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_train = sub.add_parser("train", help="train one model and report whether it solved the task")
    p_train.add_argument("--cell", default="lstm", choices=["rnn", "lstm", "gru"])
    p_train.add_argument("--seed", type=int, default=0)
    p_train.add_argument("--json", action="store_true", help="print one JSON object")
    _config_arguments(p_train)
    p_sweep = sub.add_parser("sweep", help="success rate against sequence length, for every cell")
    p_sweep.add_argument("--lengths", default="5,10,20,50,100")
    p_sweep.add_argument("--seeds", default="0,1,2")
    p_sweep.add_argument("--cells", default="rnn,lstm,gru")
    p_sweep.add_argument("--out", type=Path, default=DEFAULT_SWEEP)
    _config_arguments(p_sweep)
    # reproduce: the papers' experiments beside their published numbers (all of it lives in rnnviz.papers)
    p_rep = sub.add_parser("reproduce", help="rerun a paper's experiment and set it beside the paper's numbers")
    p_rep.add_argument("name", nargs="?", help="experiment (see --list)")
    p_rep.add_argument("--list", action="store_true", help="list the experiments")
    p_rep.add_argument("--seeds", help="comma-separated seeds (default: the experiment's)")
    p_rep.add_argument("--length", help="comma-separated T (or p) to run instead of the experiment's")
    p_rep.add_argument("--models", help="comma-separated subset of rnn,lstm,gru")
    p_rep.add_argument("--max-sequences", type=int, help="budget cap per run, in training sequences")
    p_rep.add_argument("--json", action="store_true", help="print the whole result as one JSON object")
    p_rep.add_argument("--write", action="store_true", help="store the result in rnnviz/data/papers.json")
    args = parser.parse_args(argv)
    if args.command == "reproduce":
        from rnnviz import papers

        try:
            return papers.main(args)
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2

    try:
        if args.command == "train":
            result = train(_config(args, cell=args.cell, seed=args.seed))
            summary = result.summary()
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
        base = _config(args)
        result = sweep(
            base,
            cells=args.cells.split(","),
            lengths=[int(v) for v in args.lengths.split(",")],
            seeds=[int(v) for v in args.seeds.split(",")],
            on_result=lambda r: print(json.dumps(r), file=sys.stderr, flush=True),
        )
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")
        for cell, rates in success_rates(result).items():
            print(cell, dict(zip(result["lengths"], rates, strict=True)))
        print(f"wrote {args.out} (base config {asdict(base)})")
        return 0
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
