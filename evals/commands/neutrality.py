"""``python -m evals neutrality``: the lexicon terms found, most frequent first, with contexts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from evals.commands.options import prepare
from mcq.cli import command_parser
from mcq.errors import UsageError
from mcq.files import add_input_limit_argument

__all__ = ["main", "make_parser"]

EXAMPLE = """\
example:
  python -m evals neutrality --input runs/tuned/detailed_results.csv --top 15
"""


def make_parser(subparsers: Any | None = None) -> argparse.ArgumentParser:
    """The ``neutrality`` parser (stand-alone when ``subparsers`` is None)."""
    parser = command_parser(
        subparsers,
        "neutrality",
        help="List the neutral/absolute/loaded lexicon terms found, most frequent first, "
        "with contexts.",
        epilog=EXAMPLE,
        prog="python -m evals neutrality",
    )
    parser.add_argument(
        "--input", required=True, type=Path, help="completions or detailed_results.csv"
    )
    parser.add_argument("--top", type=int, default=20, help="terms to list (default 20)")
    parser.add_argument(
        "--examples", type=int, default=3, help="example contexts per term (default 3)"
    )
    parser.add_argument("--preset", default="default", help="reward preset (default: default)")
    add_input_limit_argument(parser)
    parser.set_defaults(func=main)
    return parser


def main(args: argparse.Namespace) -> int:
    """Score ``--input`` and print its lexicon terms."""
    from evals.audit import neutrality_terms, render_terms
    from evals.data import score_file
    from mcq.files import terminal_safe

    if args.top < 1 or args.examples < 0:
        raise UsageError("--top must be ≥ 1 and --examples ≥ 0")
    prepare(args)
    run = score_file(args.input, preset=args.preset)
    uses = neutrality_terms(run, examples=args.examples)
    sys.stdout.write(terminal_safe(render_terms(uses, args.top, len(run.rows))))
    return 0
