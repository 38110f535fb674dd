"""``python -m evals compare``: two systems on the same questions → one paired report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from evals.commands.options import MD_ONLY, add_output_dir, add_references, prepare, references
from mcq.cli import command_parser
from mcq.errors import UsageError

__all__ = ["main", "make_parser", "report_labels"]

EXAMPLE = """\
example:
  python -m evals compare --a runs/base/detailed_results.csv --b runs/tuned/detailed_results.csv \\
      --gold assets/data/sample_test_gold.csv --labels base,tuned --output-dir runs/compare
"""


def make_parser(subparsers: Any | None = None) -> argparse.ArgumentParser:
    """The ``compare`` parser (stand-alone when ``subparsers`` is None)."""
    parser = command_parser(
        subparsers,
        "compare",
        help="Compare two systems on the same questions (paired bootstrap, McNemar, win/tie/loss).",
        epilog=EXAMPLE,
        prog="python -m evals compare",
    )
    parser.add_argument(
        "--a", required=True, type=Path, help="results of system A (e.g. the base model)"
    )
    parser.add_argument(
        "--b", required=True, type=Path, help="results of system B (e.g. the tuned model)"
    )
    add_references(parser)
    add_output_dir(parser, help="folder for the report (created if needed)")
    parser.add_argument("--labels", help="names for A and B in the report, e.g. base,tuned")
    parser.add_argument(
        "--top", type=int, default=10, help="questions listed where they disagree most (default 10)"
    )
    parser.add_argument(
        "--resamples", type=int, default=2000, help="bootstrap resamples (default 2000)"
    )
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--md-only", action="store_true", help=MD_ONLY)
    parser.set_defaults(func=main)
    return parser


def main(args: argparse.Namespace) -> int:
    """Score both files against the same references and write the paired report."""
    from evals.commands.options import report_folder
    from evals.compare import write_compare_report
    from evals.data import check_same_ids, read_completions, score_file
    from evals.metrics import fmt, signed

    prepare(args)
    labels = report_labels(args.labels, args.a, args.b)
    if args.top < 0 or args.resamples < 1:
        raise UsageError("--top must be ≥ 0 and --resamples ≥ 1")
    rows_a, rows_b = read_completions(args.a), read_completions(args.b)
    check_same_ids(rows_a, rows_b)  # before scoring: a mismatch is reported at once
    refs = references(args)
    run_a = score_file(rows_a, label=labels[0], **refs)
    run_b = score_file(rows_b, label=labels[1], **refs)
    summary = report_folder(
        args.output_dir,
        lambda folder: write_compare_report(
            run_a,
            run_b,
            folder,
            resamples=args.resamples,
            seed=args.seed,
            top=args.top,
            html=not args.md_only,
            extras=not args.md_only,
        ),
    )
    total = summary["components"]["total"]
    print(
        f"{summary['questions']} questions; mean total {labels[0]} {fmt(total['mean_a'][0])}, "
        f"{labels[1]} {fmt(total['mean_b'][0])} (Δ {signed(total['delta'])}); "
        f"report: {args.output_dir / 'report.md'}"
    )
    return 0


def report_labels(text: str | None, a: Path, b: Path) -> tuple[str, str]:
    """The two names ``--labels`` gives, else names taken from the files (``A``/``B`` if alike).

    Example:
        >>> report_labels("base, tuned", Path("x.csv"), Path("y.csv"))
        ('base', 'tuned')
    """
    from evals.data import default_label

    if text:
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 2 or not all(parts):
            raise UsageError(
                f"--labels needs two names separated by a comma, e.g. base,tuned (got {text!r})"
            )
        return parts[0], parts[1]
    la, lb = default_label(a), default_label(b)
    return (la, lb) if la != lb else ("A", "B")
