"""``python -m training``: GRPO training, data checks, adapter merge, curves, hub push, demo models."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from mcq.cli import CommandTree
from training.recipe_cli import ARGV

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


CLI = CommandTree(
    "training",
    {
        "grpo": "training.grpo",
        "rm": "training.rm",
        "check-data": "training.check_data",
        "merge": "training.merge",
        "curves": "training.curves",
        "push": "training.push",
        "demo": "training.demo",
    },
    "Train and package zhongli models (GRPO with TRL).",
    EPILOG,
    passthrough={"grpo": ARGV, "rm": ARGV},  # parsed by TRL's parser when the command runs
)
build_parser = CLI.make_parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; returns the exit code (0 ok, 2 bad input, 1 failure, 130 Ctrl-C)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    _quiet_imports(argv[0] if argv else None)
    return CLI.main(argv)


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
