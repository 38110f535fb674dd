"""``python -m evals rewards``: measure each reward component against human judgments.

See :mod:`evals.judging` for what is measured and :mod:`evals.judging_report` for the files.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from evals.commands.options import add_output_dir, prepare, report_folder
from mcq.cli import command_parser
from mcq.errors import UsageError
from mcq.files import add_input_limit_argument
from rewards.scoring import add_allow_unscored_argument

__all__ = ["main", "make_parser"]

EXAMPLES = """\
examples:
  # labelled texts (binary label column): ROC AUC per component, ties, distributions
  python -m evals rewards --input assets/data/labelled_answers.csv --label good \\
      --output-dir runs/judge-labelled
  # preference pairs (chosen/rejected): RewardBench pairwise accuracy, ties counted wrong
  python -m evals rewards --pairs assets/data/preference_pairs.jsonl --preset default \\
      --output-dir runs/judge-pairs
  # a reward model's held-out pairs (written by `python -m training rm`), with it in a preset
  python -m evals rewards --pairs runs/rm-demo/heldout_pairs.jsonl \\
      --preset assets/rewards/examples/with-reward-model.yaml --output-dir runs/judge-rm

writes summary.json ({"components": {name: {"auc"|"accuracy", "ties", "n", "ci"}}}),
details.json (per subset, without ties, correlations), scores.csv, report.md, report.html
"""


def make_parser(subparsers: Any | None = None) -> argparse.ArgumentParser:
    """The ``rewards`` parser (stand-alone when ``subparsers`` is None).

    Example:
        >>> args = make_parser().parse_args(["--pairs", "p.jsonl", "--out", "r"])
        >>> args.pairs, args.output_dir, args.preset
        (PosixPath('p.jsonl'), PosixPath('r'), 'default')
    """
    parser = command_parser(
        subparsers,
        "rewards",
        help="Measure each reward component (and the total) against human judgments: ROC AUC "
        "on labelled texts, or pairwise accuracy on preference pairs.",
        epilog=EXAMPLES,
        prog="python -m evals rewards",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--input",
        type=Path,
        help="labelled completions (JSONL, CSV or TSV, the usual completions formats) with a "
        "binary --label column",
    )
    source.add_argument(
        "--pairs",
        type=Path,
        help="preference pairs (JSONL, CSV, ...): chosen, rejected (texts or message lists), "
        "optional prompt, subset, id, question, options, correct_answer",
    )
    parser.add_argument(
        "--label", help="with --input: the binary label column (1/0, true/false, yes/no)"
    )
    parser.add_argument(
        "--preset", default="default", help="reward preset name or YAML path (default: default)"
    )
    add_output_dir(parser, help="report folder (created if needed)")
    parser.add_argument(
        "--resamples", type=int, default=2000, help="bootstrap resamples (default 2000)"
    )
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument(
        "--skip-invalid",
        action="store_true",
        help="leave out invalid rows (a label that is not binary; a pair with a missing, empty "
        "or repeated text), counted in the report, instead of stopping",
    )
    add_input_limit_argument(parser)
    add_allow_unscored_argument(parser)
    parser.set_defaults(func=main)
    return parser


def main(args: argparse.Namespace) -> int:
    """Score the input with the preset, measure, and write the report into ``--output-dir``."""
    from evals.judging import evaluate_labelled, evaluate_pairs
    from evals.judging_report import write_judging_report
    from evals.metrics import fmt
    from mcq.provenance import stamp
    from rewards import load_preset
    from rewards.judgments import load_labelled, pairs_in, read_records
    from rewards.scoring import scoring_checked

    if args.input is not None and not args.label:
        raise UsageError("--input needs --label COLUMN (the binary human label)")
    if args.pairs is not None and args.label:
        raise UsageError("--label goes with --input; preference pairs need no label")
    if args.resamples < 1:
        raise UsageError(f"--resamples must be at least 1 (got {args.resamples})")
    prepare(args)
    source = args.input if args.input is not None else args.pairs
    settings = {"resamples": args.resamples, "seed": args.seed, "source": str(source)}
    if args.input is not None:
        rows, labels, left_out = load_labelled(
            args.input, args.label, skip_invalid=args.skip_invalid
        )
        with scoring_checked(args.preset, args.allow_unscored):
            ev = evaluate_labelled(rows, labels, args.preset, label=args.label, **settings)
        if left_out:
            ev.notes.insert(0, f"{left_out} row(s) without a valid label left out")
    else:
        records = read_records(args.pairs)
        pairs = pairs_in(records, args.pairs, skip_invalid=args.skip_invalid)
        with scoring_checked(args.preset, args.allow_unscored):
            ev = evaluate_pairs(pairs, args.preset, **settings)
        dropped = len(records) - len(pairs)
        if dropped:
            ev.notes.insert(0, f"{dropped} invalid pair(s) left out")
    summary = report_folder(args.output_dir, lambda folder: write_judging_report(ev, folder))
    stamp(args.output_dir / "summary.json", preset=load_preset(args.preset))  # provenance
    figures = ", ".join(
        f"{name} {fmt(m[ev.metric])}"
        + (f" (ties {m['ties']:.0%})" if m["ties"] is not None else "")
        for name, m in summary["components"].items()
    )
    print(f"{ev.metric} — {figures}; report: {args.output_dir / 'report.md'}")
    return 0
