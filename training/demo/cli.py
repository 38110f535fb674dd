"""``python -m training demo``: arguments, exit codes, clean interruption."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import mcq
from training.demo.build import build
from training.demo.settings import DemoSettings
from training.errors import UsageError

EPILOG = """\
example:
  python -m training demo                       # rebuild assets/models (about 12 min on 2 cores)
  python -m training demo --out /tmp/demo --sft-steps 40 --grpo-steps 5 --skip-eval  # smoke run
"""


def make_parser() -> argparse.ArgumentParser:
    """The ``python -m training demo`` argument parser."""
    d = DemoSettings()
    p = argparse.ArgumentParser(
        prog="python -m training demo",
        description="Rebuild the embedded demo models (tokenizer, tiny Qwen2, GRPO LoRA adapter, "
        "merged model) from the repository's sample data, on a CPU.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", type=Path, default=d.out, help="output folder (default: assets/models)")
    p.add_argument("--train", type=Path, default=d.train, help="training TSV")
    p.add_argument("--test", type=Path, default=d.test, help="held-out test questions")
    p.add_argument(
        "--gold", type=Path, default=d.gold, help="gold answers of --test (id,correct_answer)"
    )
    p.add_argument(
        "--config", type=Path, default=d.config, help="GRPO recipe (default: demo-cpu.yaml)"
    )
    p.add_argument("--seed", type=int, default=d.seed, help="seed for every random choice")
    p.add_argument(
        "--merges",
        type=int,
        default=d.tokenizer_merges,
        help="BPE merges learned from the sample corpus, on top of the exam characters",
    )
    p.add_argument("--sft-steps", type=int, default=d.sft_steps, help="supervised warm-up steps")
    p.add_argument("--sft-lr", type=float, default=d.sft_lr, help="supervised learning rate")
    p.add_argument(
        "--grpo-steps", type=int, default=None, help="GRPO steps (default: the recipe's max_steps)"
    )
    p.add_argument(
        "--eval-samples", type=int, default=d.eval_samples, help="samples per test question"
    )
    p.add_argument(
        "--eval-temperature", type=float, default=d.eval_temperature, help="sampling temperature"
    )
    p.add_argument(
        "--eval-max-new-tokens",
        type=int,
        default=None,
        help="answer length cap in the evaluation (default: the recipe's max_completion_length)",
    )
    p.add_argument("--skip-eval", action="store_true", help="do not evaluate or rewrite README.md")
    p.add_argument("--threads", type=int, default=d.threads, help="torch CPU threads")
    p.add_argument(
        "--grpo-arg",
        action="append",
        default=[],
        metavar="--KEY=VALUE",
        help="extra override passed to `training grpo` (repeatable), e.g. --grpo-arg=--beta=0.02",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m training demo``; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = make_parser().parse_args(argv)
    # Sleeping (not spinning) OpenMP workers: on a CPU shared with other jobs, spinning threads
    # made GRPO steps 30x slower. Only effective before torch is first imported.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    settings = DemoSettings(
        out=args.out,
        train=args.train,
        test=args.test,
        gold=args.gold,
        config=args.config,
        seed=args.seed,
        tokenizer_merges=args.merges,
        sft_steps=args.sft_steps,
        sft_lr=args.sft_lr,
        grpo_steps=args.grpo_steps,
        eval_samples=args.eval_samples,
        eval_temperature=args.eval_temperature,
        eval_max_new_tokens=args.eval_max_new_tokens,
        skip_eval=args.skip_eval,
        threads=args.threads,
        grpo_overrides=[x for a in args.grpo_arg for x in a.split("=", 1)],
    )
    for path in (settings.train, settings.test, settings.gold, settings.config):
        if not Path(path).is_file():
            print(f"error: {path}: file not found", file=sys.stderr)
            return 2
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)  # clean up staging on `kill`
    try:
        build(settings, argv)
    except (mcq.DataError, UsageError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; the previous models were left in place", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    raise SystemExit(main())
