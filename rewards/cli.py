"""``python -m rewards``: score completion files, list components and presets, explain one text.

Each subcommand is a module in :mod:`rewards.commands` with ``make_parser(subparsers=None)`` +
``main(args)``; :func:`mcq.cli.run_command` maps the outcome to the exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from mcq.cli import program, run_command

__all__ = ["COMMANDS", "main", "make_parser"]

EPILOG = """\
examples:
  python -m rewards score --input outputs/detailed_results.csv --output scored.csv
  python -m rewards score --input assets/data/sample_train.tsv --preset seed
  python -m rewards list
  python -m rewards explain "答案：B\\n理由：這並非唯一的看法，各方可能有不同觀點。" --gold B

score reads JSONL ({"id", "completion", ...}), CSV/TSV with a completion or response column
(detailed_results.csv), or the training TSV, whose rows are scored as
"答案：{correct_answer}\\n理由：{reasoning}".
exit status: 0 ok, 2 bad input (one line on stderr), 130 interrupted, 1 failure.
"""


#: The subcommand modules, in ``--help`` order; each has ``make_parser`` and ``main``.
COMMANDS = ("rewards.commands.score", "rewards.commands.list", "rewards.commands.explain")


def make_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m rewards``."""
    parser = argparse.ArgumentParser(
        prog=program("rewards"),
        description="Score model answers with zhongli's reward registry.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{score,list,explain}")
    for name in COMMANDS:
        importlib.import_module(name).make_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    args = make_parser().parse_args(argv)
    try:
        return run_command(args.func, args, prog=f"rewards {args.command}")
    except OSError as err:  # disk full, permission denied: not the input's fault
        detail = f"{err.strerror or err}: {err.filename or ''}".rstrip(": ")
        print(f"rewards {args.command}: failed: {detail}", file=sys.stderr)
        return 1
