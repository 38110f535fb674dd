"""The ``zhongli`` command: ``zhongli PACKAGE ...`` runs ``python -m PACKAGE ...``.

Each subcommand hands the rest of the line to the package's own entry point, imported only
then, so ``zhongli rewards --help`` never imports torch and every flag, help text and exit code
is the package's own (0 ok, 2 bad input, 1 failure, 130 Ctrl-C).

Example:
    >>> main(["--version"])  # doctest: +ELLIPSIS
    zhongli ...
    0
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from mcq.cli import CommandParser
from zhongli import __version__

__all__ = ["PACKAGES", "main"]

#: Subcommand -> (module holding its ``main(argv)``, one-line help), in ``--help`` order.
PACKAGES = {
    "rewards": ("rewards.cli", "score completions, list components and presets, explain a score"),
    "evals": ("evals.cli", "reports: score, compare, probe, reward components vs human labels"),
    "training": ("training.__main__", "GRPO and reward-model training (TRL), merge, demo models"),
    "inference": ("inference.cli", "batched generation (vLLM or transformers), submissions, serve"),
    "app": ("app.cli", "the Gradio app: chat, compare base and tuned, score"),
}

EPILOG = """\
examples:
  zhongli rewards score --input completions.jsonl --output scored.csv
  zhongli evals score --input detailed_results.csv --gold gold.csv --output-dir report
  zhongli training grpo --config assets/configs/qwen2.5-7b-qlora.yaml --max_steps 10
  zhongli inference generate --model Qwen/Qwen2.5-7B-Instruct --input test.tsv --output-dir out
  zhongli app --host 0.0.0.0 --auth alice:s3cret

`zhongli PACKAGE --help` lists a package's commands; `zhongli PACKAGE ...` is the same as
`python -m PACKAGE ...`. The base install has rewards and evals; training, inference and app
need the extras (pip install 'zhongli[all]').
"""


def make_parser() -> argparse.ArgumentParser:
    """The top-level parser: a package name, then everything that package's command takes."""
    parser = CommandParser(
        prog="zhongli",
        description="zhongli: train and judge Chinese LLM answers to multiple-choice questions.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"zhongli {__version__}")
    sub = parser.add_subparsers(dest="package", required=True, metavar="PACKAGE")
    for name, (_, help_text) in PACKAGES.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``zhongli``; returns the exit code of the package command it ran."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in PACKAGES:
        import mcq.cli

        module = importlib.import_module(PACKAGES[argv[0]][0])
        # Help and error lines say `zhongli rewards ...`, as the user typed it.
        launcher, mcq.cli.LAUNCHER = mcq.cli.LAUNCHER, "zhongli"
        try:
            return int(module.main(argv[1:]) or 0)
        except SystemExit as done:  # a usage error, already one line: its code, as below
            if not done.code:
                raise  # --help: exits as argparse does
            return done.code if isinstance(done.code, int) else 2
        finally:
            mcq.cli.LAUNCHER = launcher
    try:
        make_parser().parse_args(argv)  # --help, --version, or a usage error
    except SystemExit as done:
        return int(done.code or 0)
    return 2  # not reached: a parsed line always names a package


if __name__ == "__main__":
    sys.exit(main())
