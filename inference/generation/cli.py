"""``python -m inference generate``: the command line of :func:`inference.generate`.

:func:`make_parser` adds the flags; :func:`main` turns them into a
:class:`~inference.generation.settings.GenerationSettings`, reads the test file and calls the
API. What the run writes is described in :mod:`inference.generation`.
"""

from __future__ import annotations

import argparse
import sys

import mcq
from inference.generation.parallel import WorkerFailed
from inference.generation.run import check_request, generate
from inference.generation.settings import (
    DEFAULT_SAMPLING_TEMPERATURE,
    GenerationSettings,
    parse_engine_args,
    parse_part,
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


def settings_from_args(args: argparse.Namespace) -> GenerationSettings:
    """The :class:`GenerationSettings` the flags ask for (``--engine-arg`` strings parsed)."""
    return GenerationSettings(
        model=args.model,
        adapter=args.adapter,
        backend=args.backend,
        samples=args.samples,
        temperature=args.temperature,
        max_new_tokens=args.max_new_tokens,
        constrained=args.constrained,
        seed=args.seed,
        preset=args.preset,
        prompt=args.prompt,
        chunk_size=args.chunk_size,
        engine_args=parse_engine_args(args.engine_arg),
        tensor_parallel_size=args.tensor_parallel_size,
        data_parallel_size=args.data_parallel_size,
        part=args.part,
    )


def main(args: argparse.Namespace) -> int:
    """Run ``generate`` with parsed flags: 0 done, 1 a data-parallel worker failed.

    Raises :class:`mcq.errors.UsageError` (exit 2 through :func:`mcq.cli.run_command`) for
    mistakes the user can fix; every check happens before anything is written.
    """
    settings = settings_from_args(args)
    check_request(settings)  # a wrong --model is reported before a big input is read
    apply_input_arguments(args)
    questions = mcq.load_test(args.input, skip_invalid=args.skip_invalid)
    try:
        generate(settings, questions, args.output_dir, inputs=[args.input])
    except WorkerFailed as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``generate`` options to ``parser``."""
    d = GenerationSettings(model="")
    parser.add_argument(
        "--model",
        required=True,
        help="model folder or hub id (merged model, or the adapter's base)",
    )
    parser.add_argument("--adapter", help="PEFT LoRA adapter folder applied on top of --model")
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
        "--backend",
        choices=("auto", "vllm", "transformers"),
        default=d.backend,
        help="generation backend; auto = vLLM when installed (default: %(default)s)",
    )
    parser.add_argument(
        "--samples",
        type=_positive_int,
        default=d.samples,
        help="answers drawn per question; >1 takes the majority letter (default: %(default)s)",
    )
    parser.add_argument(
        "--temperature",
        type=_non_negative_float,
        default=None,
        help=f"sampling temperature (default: 0 = greedy with --samples 1, "
        f"{DEFAULT_SAMPLING_TEMPERATURE} with more samples)",
    )
    parser.add_argument(
        "--max-new-tokens",
        type=_positive_int,
        default=d.max_new_tokens,
        help="longest answer in tokens (default: %(default)s)",
    )
    parser.add_argument(
        "--constrained",
        action="store_true",
        help="no free text: every answer is the model's pick when it may only write "
        "A-D after '答案：' (answer_source=constrained, response=the letter)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=d.seed,
        help="base seed; each question samples with a seed made from it and its id (default: %(default)s)",
    )
    parser.add_argument(
        "--preset",
        default=d.preset,
        help="rewards preset for the score columns (default: %(default)s)",
    )
    parser.add_argument(
        "--prompt",
        default=d.prompt,
        metavar="NAME|PATH",
        help="prompt variant: a name in assets/prompts/ (default, fewshot) or a YAML file "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--chunk-size",
        type=_positive_int,
        default=d.chunk_size,
        help="questions per batch and per checkpoint of detailed_results.csv (default: %(default)s)",
    )
    parser.add_argument(
        "--tensor-parallel-size",
        type=_positive_int,
        default=d.tensor_parallel_size,
        help="vLLM: split each model over this many GPUs (default: %(default)s)",
    )
    parser.add_argument(
        "--data-parallel-size",
        type=_positive_int,
        default=d.data_parallel_size,
        help="run this many engines, each on its own GPUs (x tensor-parallel-size), "
        "on interleaved chunks (default: %(default)s)",
    )
    parser.add_argument(
        "--engine-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra engine argument, repeatable; VALUE is JSON or text, e.g. "
        "max_model_len=2048, gpu_memory_utilization=0.85, batch_size=32 (transformers)",
    )
    parser.add_argument(
        "--skip-invalid", action="store_true", help="drop invalid input rows instead of stopping"
    )
    parser.add_argument(
        "--part",
        type=_part,
        metavar="K/N",
        help="answer only the K-th (1..N) of N contiguous slices of the input, e.g. 2/4 on the "
        "second of four machines; join the folders with `python -m inference merge`",
    )


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _part(text: str) -> tuple[int, int]:
    try:
        return parse_part(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
