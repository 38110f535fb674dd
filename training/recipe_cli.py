"""Recipe commands (``grpo``, ``rm``) as subcommands whose TRL parser is built on first use.

TRL's parser for a trainer holds ~200 options and importing TRL takes seconds, so the command
tree gets a placeholder that builds the real parser (a ``RecipeParser``, see
:mod:`training.grpo_trainer`) only when the subcommand is parsed or asked for ``--help``;
``python -m training check-data`` never pays for TRL.

Example:
    >>> import argparse
    >>> tree = argparse.ArgumentParser(prog="demo")
    >>> sub = tree.add_subparsers(dest="command")
    >>> def build(prog):
    ...     real = argparse.ArgumentParser(prog=prog)
    ...     real.add_argument("--steps", type=int)
    ...     return real
    >>> _ = add_deferred(sub, "train", help="train", build=build)
    >>> tree.parse_args(["train", "--steps", "3"]).steps
    3
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from mcq.cli import add_verbosity_flags

__all__ = ["DeferredParser", "add_deferred"]


class DeferredParser(argparse.ArgumentParser):
    """A subcommand placeholder that hands parsing and help to the parser ``real()`` returns."""

    _real: argparse.ArgumentParser | None = None
    _build: Callable[[str], argparse.ArgumentParser] | None = None

    def real(self) -> argparse.ArgumentParser:
        if self._real is None:
            if self._build is None:
                raise TypeError("DeferredParser needs a build function (use add_deferred)")
            self._real = self._build(self.prog)
            add_verbosity_flags(self._real)  # -q/-v, as every command has them
            self._real.set_defaults(**self._defaults)
        return self._real

    def parse_known_args(self, args=None, namespace=None):
        return self.real().parse_known_args(args, namespace)

    def format_help(self):
        return self.real().format_help()

    def format_usage(self):
        return self.real().format_usage()


def add_deferred(
    subparsers: Any, name: str, *, help: str, build: Callable[[str], argparse.ArgumentParser]
) -> argparse.ArgumentParser:
    """Add ``name`` to ``subparsers``; ``build(prog)`` makes its real parser on first use."""
    # argparse makes every subcommand with its parent's parser class; this one needs its own.
    parent_class = subparsers._parser_class
    subparsers._parser_class = DeferredParser
    try:
        parser = subparsers.add_parser(name, help=help, add_help=False)
    finally:
        subparsers._parser_class = parent_class
    parser._build = build
    return parser
