"""``python -m evals probe``: degenerate answers scored against a good one (see :mod:`evals.probe`)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from evals.commands.options import add_references, prepare
from mcq.cli import command_parser
from mcq.errors import UsageError
from rewards.scoring import add_allow_unscored_argument

__all__ = ["main", "make_parser"]

EXAMPLE = """\
example:
  python -m evals probe --preset my-preset.yaml -n 10 --strict
"""


def make_parser(subparsers: Any | None = None) -> argparse.ArgumentParser:
    """The ``probe`` parser (stand-alone when ``subparsers`` is None)."""
    parser = command_parser(
        subparsers,
        "probe",
        help="Score built-in degenerate answers (hedge spam, pasted question, bare letter, ...) "
        "against a good answer to the same questions; list those within --margin of it.",
        epilog=EXAMPLE,
        prog="python -m evals probe",
    )
    add_references(
        parser,
        questions="test file (id, question, option_A..D) to probe with "
        "(default assets/data/sample_test.tsv)",
        gold="gold answers for --questions (default assets/data/sample_test_gold.csv when "
        "--questions is not given, else the test file's correct_answer column)",
    )
    parser.add_argument("-n", type=int, default=5, help="questions to use, first n (default 5)")
    parser.add_argument(
        "--margin",
        type=float,
        default=0.1,
        help="a probe fails when its total is less than this below the good answer's (default 0.1)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when any probe comes within the margin"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    add_allow_unscored_argument(parser)
    parser.set_defaults(func=main)
    return parser


def main(args: argparse.Namespace) -> int:
    """Run the probes; 1 with ``--strict`` when any comes within the margin."""
    from evals.data import load_preset
    from evals.probe import load_samples, render_table, run_probes
    from mcq.files import terminal_safe
    from mcq.paths import SAMPLE_GOLD, SAMPLE_TEST
    from rewards.scoring import scoring_checked

    if not 0.0 <= args.margin <= 1.0:
        raise UsageError(f"--margin must be between 0 and 1 (got {args.margin:g})")
    if args.n < 1:
        raise UsageError(f"-n must be at least 1 (got {args.n})")
    for flag, path in (("--questions", args.questions), ("--gold", args.gold)):
        if path is not None and not path.is_file():
            raise UsageError(f"{flag} {path}: no such file")
    prepare(args)
    preset = load_preset(args.preset)
    gold = args.gold or (SAMPLE_GOLD if args.questions is None else None)
    samples = load_samples(args.questions or SAMPLE_TEST, gold, args.n)
    with scoring_checked(preset, args.allow_unscored):
        good_total, results = run_probes(samples, preset, args.margin)
    close = [r.probe for r in results if r.within]
    if args.json:
        payload = {
            "preset": preset.name,
            "margin": args.margin,
            "questions": len(samples),
            "good_total": good_total,
            "probes": [r.to_dict() for r in results],
            "within_margin": close,
        }
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(terminal_safe(render_table(preset.name, good_total, results, args.margin)))
    return 1 if args.strict and close else 0
