"""Command line: ``python -m evals {score,compare,sample,neutrality,probe,rewards,audit,demo-report}``.

Each subcommand is a module with ``make_parser(subparsers=None)`` + ``main(args)`` (listed in
:data:`COMMANDS`); :class:`mcq.cli.CommandTree` builds the tree and maps the outcome to the exit
code: 0 ok, 2 bad input (one line on stderr), 130 Ctrl-C, 1 failure.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from mcq.cli import CommandTree

__all__ = ["CLI", "COMMANDS", "main", "make_parser"]

#: Each subcommand and the module that defines it, in ``--help`` order.
COMMANDS = {
    "score": "evals.commands.score",
    "compare": "evals.commands.compare",
    "sample": "evals.commands.sample",
    "neutrality": "evals.commands.neutrality",
    "probe": "evals.commands.probe",
    "rewards": "evals.commands.rewards",
    "audit": "evals.commands.audit",
    "demo-report": "evals.demo",
}

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


CLI = CommandTree(
    "evals",
    COMMANDS,
    "Score completions, compare two systems, and audit answers with the zhongli rewards.",
    EPILOG,
    short_errors=True,
)
make_parser = CLI.make_parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run one subcommand; returns the exit code."""
    logging.basicConfig(level=logging.WARNING, format="evals: %(message)s")
    return CLI.main(argv)
