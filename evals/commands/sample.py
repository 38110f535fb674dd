"""``python -m evals sample``: print random scored rows (question, answer, response, rewards)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from evals.commands.options import add_references, prepare, references
from mcq.cli import command_parser
from mcq.errors import UsageError

__all__ = ["main", "make_parser"]

EXAMPLE = """\
example:
  python -m evals sample --input runs/tuned/detailed_results.csv -n 5 --seed 1
"""


def make_parser(subparsers: Any | None = None) -> argparse.ArgumentParser:
    """The ``sample`` parser; the file may also be given as the old positional argument.

    Example:
        >>> make_parser().parse_args(["c.csv", "-n", "2"]).results  # the old spelling
        PosixPath('c.csv')
    """
    parser = command_parser(
        subparsers,
        "sample",
        help="Print random rows (question, answer, response, reward breakdown) for a spot check.",
        epilog=EXAMPLE,
        prog="python -m evals sample",
    )
    parser.add_argument("--input", type=Path, help="completions or detailed_results.csv")
    parser.add_argument("results", nargs="?", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("-n", type=int, default=10, help="rows to print (default 10)")
    parser.add_argument(
        "--seed", type=int, default=None, help="random seed for a repeatable sample"
    )
    add_references(parser)
    parser.set_defaults(func=main)
    return parser


def main(args: argparse.Namespace) -> int:
    """Print ``-n`` rows of ``--input``, scored."""
    from evals.audit import format_sample, pick_sample
    from evals.data import score_file
    from mcq.files import terminal_safe

    if (args.input is None) == (args.results is None):
        raise UsageError("give the completions file once, as --input FILE")
    prepare(args)
    run = score_file(args.input or args.results, **references(args))
    sys.stdout.write(
        terminal_safe(format_sample(pick_sample(run, args.n, args.seed), run.components))
    )
    return 0
