"""``python -m evals audit RUN``: a GRPO run's watch record → report.md/.html, gated by exit code."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from evals.commands.options import MD_ONLY, add_output_dir, prepare, report_folder
from mcq.cli import command_parser
from mcq.errors import UsageError

__all__ = ["main", "make_parser"]

EXAMPLE = """\
example:
  python -m evals audit runs/demo-cpu --output-dir runs/demo-cpu/audit
  python -m evals audit runs/demo-cpu -q || echo "the run was flagged"   # gate CI on it

Reads RUN/watch/metrics.jsonl, completions.jsonl(.1-.3), alarms.jsonl and RUN/zhongli_run.json.
A corrupt line in the metrics, the alarms or the run record is bad input; corrupt lines of
the completions record (a run killed mid-write) are skipped and counted in the report.

exit codes:
  0  report written, no alarm
  3  report written, and the run had an alarm or its reward rose while held-out accuracy fell
  2  bad input: not a run folder, no watch record, a corrupt record line (one line on stderr)
  1  failure (disk full, a bug)
"""


def make_parser(subparsers: Any | None = None) -> argparse.ArgumentParser:
    """The ``audit`` parser (stand-alone when ``subparsers`` is None)."""
    parser = command_parser(
        subparsers,
        "audit",
        help="Audit a GRPO run: reward vs held-out accuracy, detector shares, alarms (exit 3 if flagged).",
        epilog=EXAMPLE,
        prog="python -m evals audit",
    )
    parser.add_argument("run", type=Path, metavar="RUN", help="the training run's output folder")
    add_output_dir(
        parser, help="folder for the report (default: RUN/audit)", default=Path("RUN/audit")
    )
    parser.add_argument(
        "--examples",
        type=int,
        default=3,
        help="flagged and good completions shown, each (default 3)",
    )
    parser.add_argument(
        "--min-change",
        type=float,
        default=0.02,
        help="how much the reward must rise and accuracy fall, first to last, to flag the run "
        "(default 0.02)",
    )
    parser.add_argument("--md-only", action="store_true", help=MD_ONLY)
    parser.set_defaults(func=main)
    return parser


def main(args: argparse.Namespace) -> int:
    """Read the run, write the report, print the verdict; 3 when the run was flagged."""
    from evals.run_audit import ALARM_EXIT, read_run, verdict, write_audit_report

    if args.output_dir == Path("RUN/audit"):
        args.output_dir = args.run / "audit"
    if args.examples < 0 or not 0 <= args.min_change <= 1:
        raise UsageError("--examples must be ≥ 0 and --min-change between 0 and 1")
    prepare(args)
    record = read_run(args.run)
    found = verdict(record, min_change=args.min_change)
    report_folder(
        args.output_dir,
        lambda folder: write_audit_report(
            record, found, folder, examples=args.examples, html=not args.md_only
        ),
    )
    report = args.output_dir / "report.md"
    if found.first_alarm is not None:
        alarm = found.first_alarm
        print(
            f"ALARM: first at step {alarm.get('step')} ({alarm.get('detector')}), "
            f"{len(record.alarms)} in all; report: {report}"
        )
    elif found.reward_up_accuracy_down:
        print(f"ALARM: the reward rose while held-out accuracy fell; report: {report}")
    else:
        print(f"no alarm in {record.logged_steps()} logged steps; report: {report}")
    return ALARM_EXIT if found.alarmed else 0
