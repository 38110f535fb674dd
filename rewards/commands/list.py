"""``python -m rewards list``: the reward components and presets."""

from __future__ import annotations

import argparse
from typing import Any

from mcq.cli import command_parser

__all__ = ["main", "make_parser"]


def make_parser(subparsers: Any | None = None) -> argparse.ArgumentParser:
    """The ``list`` parser (stand-alone when ``subparsers`` is None)."""
    parser = command_parser(
        subparsers,
        "list",
        help="list reward components and presets",
        epilog="example:\n  python -m rewards list\n",
        prog="python -m rewards list",
    )
    parser.set_defaults(func=main)
    return parser


def main(args: argparse.Namespace | None = None) -> int:
    """Print every registered component and every shipped preset with its weights."""
    import rewards

    print("components:")
    for comp in sorted(rewards.COMPONENTS.values(), key=lambda c: c.name):
        print(f"  {comp.name:<13} {comp.description}")
    print("\npresets:")
    for preset in rewards.list_presets():
        weights = ", ".join(f"{k} {v:g}" for k, v in preset.weights.items())
        print(f"  {preset.name:<13} {preset.description}")
        print(f"  {'':<13} weights: {weights}")
    return 0
