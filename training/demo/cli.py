"""``python -m training demo``: arguments and clean interruption (the TRL-style command shape).

``make_parser(subparsers=None)`` + ``main(args)``; run through :func:`mcq.cli.run_command`,
a bad file is one line and exit 2, Ctrl-C or ``kill`` exit 130 with the previous models kept.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from mcq.cli import command_parser
from mcq.errors import UsageError
from training.demo.build import build
from training.demo.settings import DemoSettings

EPILOG = """\
example:
  python -m training demo                       # rebuild assets/models (about 12 min on 2 cores)
  python -m training demo --output-dir /tmp/demo --sft-steps 40 --grpo-steps 5 --skip-eval  # smoke
"""


def make_parser(subparsers: argparse._SubParsersAction | None = None) -> argparse.ArgumentParser:
    """The ``demo`` parser: stand-alone, or a subcommand of ``subparsers``."""
    d = DemoSettings()
    p = command_parser(
        subparsers,
        "demo",
        help="rebuild the embedded demo models in assets/models/ on a CPU",
        description="Rebuild the embedded demo models (tokenizer, tiny Qwen2, GRPO LoRA adapter, "
        "merged model) from the repository's sample data, on a CPU.",
        epilog=EPILOG,
        prog="python -m training demo",
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument(
        "--output-dir",
        dest="out",
        type=Path,
        default=d.out,
        help="output folder (default: assets/models)",
    )
    out.add_argument("--out", dest="out", type=Path, help=argparse.SUPPRESS)  # old spelling
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
    p.set_defaults(func=main)
    return p


def main(args: argparse.Namespace | Sequence[str] | None = None) -> int:
    """Build the demo models from parsed ``args``; returns 0.

    ``args`` may also be an argv list (one release, for callers that pass one). Raises
    :class:`mcq.errors.UsageError` for a missing data file; run it through
    :func:`mcq.cli.run_command` for the exit code.
    """
    if not isinstance(args, argparse.Namespace):
        argv = list(sys.argv[1:] if args is None else args)
        args = make_parser().parse_args(argv)
    else:
        argv = _argv(args)
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
            raise UsageError(f"{path}: file not found")
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)  # clean up staging on `kill`
    try:
        build(settings, argv)
    except KeyboardInterrupt:
        print("[demo] stopped; the previous models were left in place", file=sys.stderr)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


def _argv(args: argparse.Namespace) -> list[str]:
    """The command line as build-report.json records it (the flags that differ from defaults)."""
    defaults = vars(make_parser().parse_args([]))
    argv: list[str] = []
    for key, value in vars(args).items():
        if key == "func" or value == defaults.get(key):
            continue
        flag = "--output-dir" if key == "out" else "--" + key.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif isinstance(value, list):
            argv += [f"{flag}={item}" for item in value]
        else:
            argv += [flag, str(value)]
    return argv


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    from mcq.cli import run_command

    raise SystemExit(run_command(main, make_parser().parse_args(), prog="python -m training demo"))
