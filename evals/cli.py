"""Command line: ``python -m evals {score,compare,sample,neutrality,probe,rewards,audit,demo-report}``.

Each subcommand is a module with ``make_parser(subparsers=None)`` + ``main(args)`` (listed in
:data:`COMMANDS`); :func:`mcq.cli.run_command` maps the outcome to the exit code: 0 ok,
2 bad input (one line on stderr), 130 Ctrl-C, 1 failure.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from mcq.cli import program, run_command

__all__ = ["COMMANDS", "main", "make_parser"]

#: The subcommand modules, in ``--help`` order; each has ``make_parser`` and ``main``.
COMMANDS = (
    "evals.commands.score",
    "evals.commands.compare",
    "evals.commands.sample",
    "evals.commands.neutrality",
    "evals.commands.probe",
    "evals.commands.rewards",
    "evals.commands.audit",
    "evals.demo",
)

EPILOG = """\
examples:
  python -m evals score --input runs/tuned/detailed_results.csv \\
      --gold assets/data/sample_test_gold.csv --output-dir runs/report-tuned
  python -m evals compare --a runs/base/detailed_results.csv --b runs/tuned/detailed_results.csv \\
      --gold assets/data/sample_test_gold.csv --labels base,tuned --output-dir runs/compare
  python -m evals sample --input runs/tuned/detailed_results.csv -n 5 --seed 1
  python -m evals neutrality --input runs/tuned/detailed_results.csv --top 15
  python -m evals probe --preset my-preset.yaml --strict   # degenerate answers vs a good one
  python -m evals rewards --pairs assets/data/preference_pairs.jsonl --output-dir runs/judge
  python -m evals audit runs/demo-cpu  # a GRPO run's watch record; exit 3 when it was flagged
  python -m evals demo-report          # regenerates docs/report-demo/ from the demo models
"""


def make_parser() -> argparse.ArgumentParser:
    """The ``python -m evals`` parser: one subcommand per module in :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog=program("evals"),
        description="Score completions, compare two systems, and audit answers with the zhongli rewards.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).make_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run one subcommand; returns the exit code."""
    args = make_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="evals: %(message)s")
    try:
        return run_command(args.func, args, prog=f"evals {args.command}")
    except OSError as err:  # disk full, permission denied: not the input's fault
        print(f"evals {args.command}: failed: {err}", file=sys.stderr)
        return 1
