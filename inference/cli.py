"""The ``python -m inference`` command line: ``generate``, ``merge`` and ``serve``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

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
    from inference import generate, merge, serve

    formatter = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog="python -m inference",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=formatter,
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="{generate,merge,serve}", parser_class=_Parser
    )
    gen = commands.add_parser(
        "generate",
        help="answer a test file; write submission.csv",
        description=generate.__doc__.splitlines()[0],
        epilog=generate.EPILOG,
        formatter_class=formatter,
    )
    generate.add_arguments(gen)
    mrg = commands.add_parser(
        "merge",
        help="join the --part K/N folders of one test file into one submission.csv",
        description=merge.__doc__.splitlines()[0],
        epilog=merge.EPILOG,
        formatter_class=formatter,
    )
    merge.add_arguments(mrg)
    srv = commands.add_parser(
        "serve",
        help="vLLM's OpenAI-compatible server on 127.0.0.1",
        description=serve.__doc__.splitlines()[0] + " Unknown options go to vLLM.",
        epilog=serve.EPILOG,
        formatter_class=formatter,
    )
    serve.add_arguments(srv)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 bad input, 1 failure)."""
    import mcq
    from inference import generate, merge, serve

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if args.command != "serve" and extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as done:  # --help (0) or a usage error (2), already printed
        return int(done.code or 0)
    # vLLM logs every engine detail at INFO; keep the terminal for the progress bar.
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    try:
        if args.command == "generate":
            return generate.run(args)
        if args.command == "merge":
            return merge.run(args)
        return serve.run(args, extra)
    except (generate.UsageError, mcq.DataError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
