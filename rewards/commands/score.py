"""``python -m rewards score``: score a file of completions; print a summary, optionally write rows."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import mcq
from mcq.cli import command_parser
from mcq.files import add_input_limit_argument, apply_input_arguments, refuse_overwrite
from rewards.scoring import (
    add_allow_unscored_argument,
    scoring_checked,
    summarize,  # re-exported: its home was this module
)

__all__ = ["main", "make_parser", "summarize", "summary_table"]

EXAMPLE = """\
examples:
  python -m rewards score --input completions.jsonl --output scored.csv
  python -m rewards score --input assets/data/sample_train.tsv --preset seed
"""


def make_parser(subparsers: Any | None = None) -> argparse.ArgumentParser:
    """The ``score`` parser (stand-alone when ``subparsers`` is None).

    Example:
        >>> make_parser().parse_args(["-i", "c.jsonl", "-o", "s.csv"]).output
        's.csv'
    """
    parser = command_parser(
        subparsers,
        "score",
        help="score a file of completions; print a summary, optionally write one row each",
        epilog=EXAMPLE,
        prog="python -m rewards score",
    )
    parser.add_argument(
        "--input",
        "-i",
        required=True,
        help="JSONL, CSV/TSV, Parquet, save_to_disk folder, hf:NAME[:CONFIG]:SPLIT, or training data",
    )
    parser.add_argument(
        "--preset", "-p", default="default", help="preset name or YAML path (default)"
    )
    parser.add_argument(
        "--output", "-o", help="CSV to write: id, answer, one column per component, total"
    )
    add_input_limit_argument(parser)
    add_allow_unscored_argument(parser)
    parser.set_defaults(func=main)
    return parser


def main(args: argparse.Namespace) -> int:
    """Score ``--input`` with ``--preset``; print the summary, write ``--output`` if given."""
    import rewards
    from rewards.io import load_completions, score_rows, write_csv

    apply_input_arguments(args)
    if args.output:
        refuse_overwrite(args.output, [args.input])
        _check_output_file(args.output)
    preset = rewards.load_preset(args.preset)
    rows = load_completions(args.input)
    if not rows:
        raise mcq.DataError(f"{args.input}: no completions in the file")
    with scoring_checked(preset, args.allow_unscored):
        scored = score_rows(rows, preset, progress=True)
    if args.output:
        write_csv(scored, args.output)
    print(summary_table(scored, list(preset.weights), title=f"{args.input} · preset {preset.name}"))
    if args.output:
        print(f"wrote {len(scored):,} rows to {args.output}")
    return 0


def _check_output_file(output: str) -> None:
    """Refuse an ``--output`` that is a folder or sits under a missing folder or a file."""
    path = Path(output)
    if path.is_dir():
        raise mcq.DataError(
            f"--output {output}: is a directory; give a file name such as scored.csv"
        )
    parent = path.parent
    if not parent.is_dir():
        what = "is not a folder" if parent.exists() else "does not exist"
        raise mcq.DataError(f"--output {output}: {parent} {what}")


def summary_table(scored: list[dict[str, Any]], names: list[str], title: str = "") -> str:
    """The summary ``score`` prints: component means, answer letters, share with no answer."""
    s = summarize(scored, names)
    n = s["rows"]
    lines = [f"{title} · {n:,} completions" if title else f"{n:,} completions", ""]
    lines.append(f"{'component':<14}{'mean':>8}{'scored':>10}")
    for name, (mean, count) in s["means"].items():
        shown = f"{mean:.3f}" if mean is not None else "n/a"
        lines.append(f"{name:<14}{shown:>8}{count:>10,}")
    lines += ["", f"{'answer':<14}{'count':>8}{'share':>10}"]
    for letter, count in s["letters"].items():
        lines.append(f"{letter:<14}{count:>8,}{count / n:>10.1%}")
    missing = round(s["no_answer"] * n)
    lines.append(f"{'(none)':<14}{missing:>8,}{s['no_answer']:>10.1%}")
    return "\n".join(lines)
