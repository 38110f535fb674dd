"""``python -m training``: GRPO training, data checks, adapter merge, curves, hub push, demo models."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

EPILOG = """\
examples:
  python -m training check-data assets/data/sample_train.tsv
  python -m training grpo --config assets/configs/qwen2.5-7b-qlora.yaml --max_samples 64
  python -m training curves runs/qwen2.5-7b-qlora --out curves.png
  python -m training merge --base Qwen/Qwen2.5-7B-Instruct --adapter runs/qwen2.5-7b-qlora \\
      --out runs/merged
  python -m training push runs/qwen2.5-7b-qlora --repo-id me/zhongli-qwen --dry-run
  python -m training demo

`python -m training grpo --help` lists every training option (TRL's GRPOConfig and ModelConfig).
"""

# Subcommands whose arguments are parsed by their own module (TRL's parser, the demo builder).
_PASSTHROUGH = ("grpo", "demo")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser; ``grpo`` and ``demo`` only appear here for ``--help``."""
    from training import check_data, curves, merge, push

    parser = argparse.ArgumentParser(
        prog="python -m training",
        description="Train and package zhongli models (GRPO with TRL).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    sub.add_parser(
        "grpo", help="GRPO training from a recipe (--config RECIPE.yaml [--key value ...])"
    )
    check_data.add_parser(sub)
    merge.add_parser(sub)
    curves.add_parser(sub)
    push.add_parser(sub)
    sub.add_parser("demo", help="rebuild the embedded demo models in assets/models/ on a CPU")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; returns the exit code (0 ok, 2 bad input, 1 failure)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in _PASSTHROUGH:
        command, rest = argv[0], argv[1:]
        if command == "grpo":
            return _guarded(lambda: _grpo(rest))
        return _guarded(lambda: _demo(rest))
    args = build_parser().parse_args(argv)
    return _guarded(lambda: args.run(args))


def _grpo(argv: list[str]) -> int:
    import warnings

    # TRL warns on import about vLLM 0.32; training.vllm_colocate makes that pairing work.
    warnings.filterwarnings("ignore", message="TRL currently supports vLLM versions")
    # bitsandbytes' CPU backend logs that an optional kernel package is missing on every start.
    logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
    from training.grpo import cli

    return cli(argv)


def _demo(argv: list[str]) -> int:
    from training.demo import main as demo_main

    return demo_main(argv) or 0


def _guarded(run: Callable[[], int | None]) -> int:
    """Turn user mistakes into one stderr line and exit code 2; bugs keep their traceback."""
    from mcq import DataError

    user_errors: tuple[type[BaseException], ...] = (DataError, _usage_error())
    try:
        return run() or 0
    except user_errors as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``... | head``): stop quietly, as the shell's own tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _usage_error() -> type[BaseException]:
    from training.errors import UsageError

    return UsageError


if __name__ == "__main__":
    sys.exit(main())
