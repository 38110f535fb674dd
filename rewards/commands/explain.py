"""``python -m rewards explain``: score one text and show why."""

from __future__ import annotations

import argparse
import json
from typing import Any

import mcq
from mcq.cli import command_parser

__all__ = ["main", "make_parser"]


def make_parser(subparsers: Any | None = None) -> argparse.ArgumentParser:
    """The ``explain`` parser (stand-alone when ``subparsers`` is None)."""
    parser = command_parser(
        subparsers,
        "explain",
        help="score one text and show why",
        epilog='example:\n  python -m rewards explain "答案：A\\n理由：……" --gold A\n',
        prog="python -m rewards explain",
    )
    parser.add_argument("text", help="the completion (\\n in it is read as a newline)")
    parser.add_argument("--gold", help="the correct letter, for the correctness component")
    parser.add_argument(
        "--preset", "-p", default="default", help="preset name or YAML path (default)"
    )
    parser.add_argument("--json", action="store_true", help="print the breakdown as JSON")
    parser.set_defaults(func=main)
    return parser


def main(args: argparse.Namespace) -> int:
    """Score ``args.text`` and print each component, its weight and the details behind it."""
    import rewards

    preset = rewards.load_preset(args.preset)
    text = args.text.replace("\\n", "\n")
    gold = mcq.normalize_letter(args.gold) if args.gold else None
    if args.gold and gold is None:
        raise mcq.UsageError(f"--gold {args.gold!r} is not one of A, B, C, D")
    breakdown = rewards.score(text, rewards.Sample(correct_answer=gold), preset)
    if args.json:
        print(json.dumps(_as_json(breakdown, preset.weights), ensure_ascii=False, indent=2))
        return 0
    print(
        f"preset {preset.name} · answer {breakdown.answer or '(none)'} "
        f"({breakdown.answer_rule}) · total {breakdown.total:.3f}"
    )
    print()
    print(f"{'component':<14}{'weight':>8}{'score':>8}")
    for name, value in breakdown.components.items():
        shown = "n/a" if value is None else f"{value:.3f}"
        print(f"{name:<14}{preset.weights[name]:>8g}{shown:>8}")
    for name, details in breakdown.details.items():
        print(f"\n{name}:")
        for key, value in details.items():
            if key == "terms":
                continue
            print(f"  {key}: {value}")
        for term in details.get("terms", []):
            flag = f" negated → counts as {term['effect']}" if term["negated"] else ""
            print(
                f"  term {term['term']!r} [{term['start']}:{term['end']}] {term['category']}{flag}"
            )
    return 0


def _as_json(breakdown: Any, weights: dict[str, float]) -> dict[str, Any]:
    return {
        "total": breakdown.total,
        "answer": breakdown.answer,
        "answer_rule": breakdown.answer_rule,
        "components": breakdown.components,
        "weights": weights,
        "details": breakdown.details,
    }
