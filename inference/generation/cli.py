"""``python -m inference generate``: the command line of :func:`inference.generate`.

:func:`make_parser` adds the flags; :func:`main` turns them into a
:class:`~inference.generation.settings.GenerationSettings`, reads the test file and calls the
API. What the run writes is described in :mod:`inference.generation`.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from typing import Any

import mcq
from inference.generation.plan import plan
from inference.generation.run import execute
from inference.generation.settings import (
    GenerationSettings,
    bounds_error,
    flag_of,
    parse_engine_args,
    resolve,
)
from mcq.cli import command_parser
from mcq.files import add_input_limit_argument, apply_input_arguments

__all__ = ["EPILOG", "add_arguments", "main", "make_parser", "settings_from_args"]

HELP = "answer a test file; write submission.csv"
DESCRIPTION = "Answer a test file and write a competition submission."

EPILOG = """\
examples:
  # merged model through vLLM, one greedy answer per question
  python -m inference generate --model assets/models/demo-grpo \\
      --input assets/data/sample_test.tsv --output-dir outputs/demo-grpo
  # base model + LoRA adapter, 5 sampled answers per question, majority vote
  python -m inference generate --model Qwen/Qwen2.5-7B-Instruct --adapter runs/grpo/adapter \\
      --input test.tsv --output-dir outputs/sc5 --samples 5 --temperature 0.7
  # only the letters: one constrained pick per question, no free text (fastest)
  python -m inference generate --model assets/models/demo-grpo --constrained \\
      --input test.tsv --output-dir outputs/letters
  # machine 2 of 3 answers the middle third; `python -m inference merge` joins the parts
  python -m inference generate --model assets/models/demo-grpo --part 2/3 \\
      --input test.tsv --output-dir outputs/part-2

Interrupted? Run the same command again: finished questions are skipped.
"""


def make_parser(subparsers: argparse._SubParsersAction | None = None) -> argparse.ArgumentParser:
    """The ``generate`` parser: stand-alone, or a subcommand of ``subparsers``."""
    parser = command_parser(
        subparsers,
        "generate",
        help=HELP,
        description=DESCRIPTION,
        epilog=EPILOG,
        prog="python -m inference generate",
    )
    add_arguments(parser)
    parser.set_defaults(func=main)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``generate`` options: one per :class:`GenerationSettings` field, then the run's."""
    defaults = GenerationSettings(model="")
    for item in dataclasses.fields(GenerationSettings):
        kwargs = dict(item.metadata["argparse"])
        if "type" in kwargs:
            kwargs["type"] = _checked_type(item, kwargs["type"])
        if kwargs.get("action") == "append":
            kwargs["default"] = []
        elif not kwargs.get("required"):
            kwargs["default"] = getattr(defaults, item.name)
        parser.add_argument(flag_of(item), dest=item.name, help=item.metadata["help"], **kwargs)
    parser.add_argument(
        "--input",
        required=True,
        help="test questions (id, question, option_A..option_D, or C-Eval's A..D): TSV/CSV, "
        "JSON/JSONL, Parquet, a save_to_disk folder or hf:NAME[:CONFIG]:SPLIT",
    )
    add_input_limit_argument(parser)
    parser.add_argument(
        "--output-dir", required=True, help="where submission.csv and detailed_results.csv go"
    )
    parser.add_argument(
        "--skip-invalid", action="store_true", help="drop invalid input rows instead of stopping"
    )


def settings_from_args(args: argparse.Namespace) -> GenerationSettings:
    """The :class:`GenerationSettings` the flags ask for (``--engine-arg`` strings parsed)."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(GenerationSettings)}
    values["engine_args"] = parse_engine_args(values["engine_args"])
    return GenerationSettings(**values)


def main(args: argparse.Namespace) -> int:
    """Run ``generate`` with parsed flags: 0 done, 1 a data-parallel worker failed.

    Raises :class:`mcq.errors.UsageError` (exit 2 through :func:`mcq.cli.run_command`) for
    mistakes the user can fix; every check happens before anything is written.
    """
    settings = resolve(
        settings_from_args(args)
    )  # a wrong --model is reported before the input is read
    apply_input_arguments(args)
    questions = mcq.load_test(args.input, skip_invalid=args.skip_invalid)
    # A failed data-parallel worker raises WorkerFailed: one line, exit 1 (mcq.cli.run_command).
    execute(plan(settings, questions, args.output_dir, inputs=[args.input]))
    return 0


def _checked_type(item: dataclasses.Field, kind: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse ``type`` that reads ``kind`` and enforces the field's bounds."""

    def read(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError as err:
            if kind in (int, float):
                raise  # argparse says "invalid int value: 'x'"
            raise argparse.ArgumentTypeError(str(err)) from None
        problem = bounds_error(item, value)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return value

    read.__name__ = kind.__name__  # argparse names it in "invalid int value"
    return read
