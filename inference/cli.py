"""The ``python -m inference`` command line: ``generate``, ``merge`` and ``serve``.

Each command module has ``make_parser(subparsers=None)`` and ``main(args)``
(:mod:`inference.generation.cli`, :mod:`inference.merge`, :mod:`inference.serve`); this module
builds the tree and runs the chosen one through :func:`mcq.cli.run_command` (bad input: one
line, exit 2; Ctrl-C: exit 130; a bug: traceback, exit 1).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from mcq.cli import program, run_command

__all__ = ["build_parser", "main"]

DESCRIPTION = """\
zhongli inference: answer multiple-choice test files with vLLM (or transformers) and write
competition submissions (on one machine, or in parts on several, joined by `merge`), or serve a
model through vLLM's OpenAI-compatible API."""

EPILOG = """\
examples:
  python -m inference generate --model assets/models/demo-grpo \\
      --input assets/data/sample_test.tsv --output-dir outputs/demo-grpo
  python -m inference merge --input test.tsv --parts part-1 part-2 --output-dir outputs/final
  python -m inference serve --model assets/models/demo-grpo --port 8000

Run `python -m inference <command> --help` for each command's options.
"""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``prog: error: message (see --help)``, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full parser (sub-commands ``generate``, ``merge`` and ``serve``)."""
    from inference import merge, serve
    from inference.generation import cli as generate

    parser = _Parser(
        prog=program("inference"),
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="{generate,merge,serve}", parser_class=_Parser
    )
    for module in (generate, merge, serve):
        module.make_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 bad input, 1 failure, 130 Ctrl-C)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if args.command != "serve" and extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as done:  # --help (0) or a usage error (2), already printed
        return int(done.code or 0)
    args.vllm_args = extra
    # vLLM logs every engine detail at INFO; keep the terminal for the progress bar.
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    return run_command(args.func, args, prog=f"{program('inference')} {args.command}")
