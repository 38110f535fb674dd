"""``python -m evals score``: one completions file → scores.csv, summary.json, report.md/html, PNGs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from evals.commands.options import MD_ONLY, add_output_dir, add_references, prepare, references
from mcq.cli import command_parser

__all__ = ["main", "make_parser"]

EXAMPLE = """\
example:
  python -m evals score --input runs/tuned/detailed_results.csv \\
      --gold assets/data/sample_test_gold.csv --output-dir runs/report-tuned
"""


def make_parser(subparsers: Any | None = None) -> argparse.ArgumentParser:
    """The ``score`` parser (stand-alone when ``subparsers`` is None).

    Example:
        >>> make_parser().parse_args(["--input", "c.csv", "--out", "r"]).output_dir
        PosixPath('r')
    """
    parser = command_parser(
        subparsers,
        "score",
        help="Score one completions file and write scores.csv, report.md and report.html.",
        epilog=EXAMPLE,
        prog="python -m evals score",
    )
    parser.add_argument(
        "--input",
        required=True,
        type=Path,
        help="completions: JSONL, CSV, TSV, detailed_results.csv, Parquet, a save_to_disk "
        "folder or hf:NAME[:CONFIG]:SPLIT",
    )
    add_references(parser)
    add_output_dir(parser, help="folder for the report (created if needed)")
    parser.add_argument("--label", help="name of the system in the report (default: from the file)")
    parser.add_argument("--md-only", action="store_true", help=MD_ONLY)
    parser.set_defaults(func=main)
    return parser


def main(args: argparse.Namespace) -> int:
    """Score ``args.input`` and write the report into ``args.output_dir``."""
    from evals.commands.options import report_folder
    from evals.data import score_file
    from evals.metrics import fmt, pct
    from evals.score_report import write_score_report

    prepare(args)
    run = score_file(args.input, label=args.label, **references(args))
    summary = report_folder(
        args.output_dir, lambda folder: write_score_report(run, folder, md_only=args.md_only)
    )
    acc = summary["accuracy"]
    line = f"{len(run.rows)} completions, mean total {fmt(summary['components']['total']['mean'])}"
    if acc:
        line += f", accuracy {pct(acc['value'])}"
    print(f"{line}; report: {args.output_dir / 'report.md'}")
    return 0
