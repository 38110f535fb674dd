"""The ``python -m inference`` command line: ``generate``, ``merge`` and ``serve``.

Each command module has ``make_parser(subparsers=None)`` and ``main(args)``
(:mod:`inference.generation.cli`, :mod:`inference.merge`, :mod:`inference.serve`);
:class:`mcq.cli.CommandTree` builds the tree and runs the chosen one (bad input: one line,
exit 2; Ctrl-C: exit 130; a bug: traceback, exit 1). Options that ``serve`` does not know go on
to vLLM's server.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from mcq.cli import CommandTree

__all__ = ["CLI", "build_parser", "main"]

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


CLI = CommandTree(
    "inference",
    {
        "generate": "inference.generation.cli",
        "merge": "inference.merge",
        "serve": "inference.serve",
    },
    DESCRIPTION,
    EPILOG,
    passthrough={"serve": "vllm_args"},
)
build_parser = CLI.make_parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 bad input, 1 failure, 130 Ctrl-C)."""
    # vLLM logs every engine detail at INFO; keep the terminal for the progress bar.
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    return CLI.main(argv)
