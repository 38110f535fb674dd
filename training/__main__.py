"""``python -m training``: GRPO training, data checks, adapter merge, curves, hub push, demo models."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mcq.cli import apply_verbosity, program, run_command

EPILOG = """\
examples:
  python -m training check-data --input assets/data/sample_train.tsv
  python -m training grpo --config assets/configs/qwen2.5-7b-qlora.yaml --max_samples 64
  python -m training rm --config assets/configs/rm-demo-cpu.yaml
  python -m training curves --input runs/qwen2.5-7b-qlora --output curves.png
  python -m training merge --adapter runs/qwen2.5-7b-qlora --output-dir runs/merged
  python -m training push --input runs/qwen2.5-7b-qlora --repo-id me/zhongli-qwen --dry-run
  python -m training demo

`python -m training grpo --help` lists every training option (TRL's GRPOConfig and ModelConfig);
training/README.md has the commands for several GPUs (accelerate, DeepSpeed, FSDP, vLLM).
"""


def build_parser() -> argparse.ArgumentParser:
    """The command tree: one ``make_parser(sub)`` line per subcommand."""
    from training import check_data, curves, grpo, merge, push, rm

    parser = argparse.ArgumentParser(
        prog=program("training"),
        description="Train and package zhongli models (GRPO with TRL).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    grpo.make_parser(sub)
    rm.make_parser(sub)
    check_data.make_parser(sub)
    merge.make_parser(sub)
    curves.make_parser(sub)
    push.make_parser(sub)
    # training.demo keeps its own argv parser: listed here for --help, run by _demo().
    sub.add_parser("demo", help="rebuild the embedded demo models in assets/models/ on a CPU")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; returns the exit code (0 ok, 2 bad input, 1 failure, 130 Ctrl-C)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "demo":
        return run_command(_demo, argv[1:], prog=f"{program('training')} demo")
    command = argv[0] if argv and not argv[0].startswith("-") else None
    prog = f"{program('training')} {command}" if command else program("training")
    _quiet_imports(command)
    return run_command(_parse_and_run, argv, prog=prog)


def _parse_and_run(argv: list[str]) -> int | None:
    args = build_parser().parse_args(argv)
    apply_verbosity(args)
    return args.func(args)


def _demo(argv: list[str]) -> int:
    from training.demo import main as demo_main
    from training.demo import make_parser

    args = make_parser().parse_args(argv)
    apply_verbosity(args)
    return demo_main(args) or 0


def _quiet_imports(command: str | None) -> None:
    """Silence import-time notices that say nothing about this run."""
    if command not in ("grpo", "rm"):
        return
    import logging
    import warnings

    # TRL warns on import about vLLM 0.32; training.vllm_colocate makes that pairing work.
    warnings.filterwarnings("ignore", message="TRL currently supports vLLM versions")
    # bitsandbytes' CPU backend logs that an optional kernel package is missing on every start.
    logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)


if __name__ == "__main__":
    sys.exit(main())
