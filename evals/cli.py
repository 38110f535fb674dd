"""Command line: ``python -m evals {score,compare,sample,neutrality,probe,demo-report}``.

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
from pathlib import Path
from typing import Any

from mcq.cli import command_parser, run_command
from mcq.errors import UsageError

__all__ = ["COMMANDS", "main", "make_parser"]

#: The subcommand modules, in ``--help`` order; each has ``make_parser`` and ``main``.
COMMANDS = (
    "evals.commands.score",
    "evals.commands.compare",
    "evals.commands.sample",
    "evals.commands.neutrality",
    "evals.commands.probe",
    "evals.commands.rewards",
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
  python -m evals demo-report          # regenerates docs/report-demo/ from the demo models
"""


def make_parser() -> argparse.ArgumentParser:
    """The ``python -m evals`` parser: one subcommand per module in :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="python -m evals",
        description="Score completions, compare two systems, and audit answers with the zhongli rewards.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).make_parser(sub)
    demo_report_parser(sub)
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


# demo-report stays here until evals/demo.py (which generates with the inference API) takes
# its own make_parser/main; it is the one command that drives generation.
def demo_report_parser(subparsers: Any | None = None) -> argparse.ArgumentParser:
    """The ``demo-report`` parser (stand-alone when ``subparsers`` is None)."""
    from mcq import paths

    parser = command_parser(
        subparsers,
        "demo-report",
        help="Generate answers with the demo models and write the example comparison report.",
        epilog="example:\n  python -m evals demo-report --output-dir docs/report-demo\n",
        prog="python -m evals demo-report",
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--output-dir",
        dest="out",
        type=Path,
        default=Path("docs/report-demo"),
        help="report folder (default docs/report-demo)",
    )
    group.add_argument("--out", dest="out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--work",
        type=Path,
        default=Path("runs/demo-report"),
        help="folder for the generated results",
    )
    parser.add_argument(
        "--input", type=Path, default=paths.SAMPLE_TEST.relative_to(paths.REPO_ROOT)
    )
    parser.add_argument("--gold", type=Path, default=paths.SAMPLE_GOLD.relative_to(paths.REPO_ROOT))
    parser.add_argument("--base", type=Path, default=paths.DEMO_BASE.relative_to(paths.REPO_ROOT))
    parser.add_argument("--tuned", type=Path, default=Path("assets/models/demo-grpo"))
    parser.add_argument(
        "--backend", default="auto", help="inference backend (auto, vllm, transformers)"
    )
    parser.add_argument(
        "--max-new-tokens", type=int, default=256, help="answer length limit (default 256)"
    )
    parser.add_argument("--seed", type=int, default=0, help="generation seed (default 0)")
    parser.add_argument(
        "--prompt",
        default="default",
        metavar="NAME|PATH",
        help="prompt variant for both models (assets/prompts/ name or YAML path; default default)",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="reuse results already in --work instead of generating"
    )
    parser.set_defaults(func=demo_report_main)
    return parser


def demo_report_main(args: argparse.Namespace) -> int:
    """Generate with both demo models, then compare into ``--output-dir``."""
    from evals.demo import build_demo_report

    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--output-dir {args.out}: exists and is not a folder")
    build_demo_report(args)
    return 0
