"""``python -m evals demo-report``: the example report in docs/report-demo/, made end to end.

Generates answers to the sample test questions with the demo base and tuned models
(:func:`inference.generate`, in this process so one cached engine serves each model), then
compares them with ``python -m evals compare`` and keeps only ``report.md`` and its PNGs in
the output folder, small enough to commit.
"""

from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path
from typing import Any

import mcq
from evals.commands.options import add_output_dir
from mcq import paths
from mcq.cli import command_parser
from mcq.errors import UsageError

__all__ = ["DEMO_LABELS", "build_demo_report", "generate_results", "main", "make_parser"]

log = logging.getLogger(__name__)

DEMO_LABELS = ("base", "tuned")
RESULTS_FILE = "detailed_results.csv"


def generate_results(
    model: Path,
    input_path: Path,
    output_dir: Path,
    *,
    backend: str = "auto",
    adapter: Path | None = None,
    **settings: Any,
) -> Path:
    """Answer ``input_path`` with ``model`` through :func:`inference.generate`; returns the
    detailed_results.csv path.

    In this process, so ``inference.backends.get_backend`` keeps the engine for the next call
    with the same model. ``settings`` are more :class:`inference.GenerationSettings` fields
    (``max_new_tokens=96``, ``seed=3``, ``prompt="fewshot"``).
    """
    import inference

    request = inference.GenerationSettings(
        model=str(model),
        adapter=None if adapter is None else str(adapter),
        backend=backend,
        **settings,
    )
    questions = mcq.load_test(input_path)
    inference.generate(request, questions, output_dir, inputs=[input_path])
    return output_dir / RESULTS_FILE


def build_demo_report(args: argparse.Namespace) -> dict:
    """Generate (unless ``--reuse``) and write the comparison report into ``args.output_dir``."""
    from evals.compare import write_compare_report
    from evals.data import check_same_ids, load_gold, load_questions, read_completions, score_file

    for path in (args.input, args.gold, args.base, args.tuned):
        if not Path(path).exists():
            raise UsageError(f"{path}: not found (run from the repository root)")
    prompt = getattr(args, "prompt", "default")
    mcq.load_prompt(prompt)  # its errors name the prompt
    results = {}
    for label, model in zip(DEMO_LABELS, (args.base, args.tuned), strict=True):
        folder = args.work / label
        if not (args.reuse and (folder / RESULTS_FILE).is_file()):
            # A fresh folder: generate would resume (skip) ids answered by an older model.
            fresh = folder.with_name(f"{label}.new")
            shutil.rmtree(fresh, ignore_errors=True)
            generate_results(
                model,
                args.input,
                fresh,
                backend=args.backend,
                max_new_tokens=args.max_new_tokens,
                seed=args.seed,
                prompt=str(prompt),
            )
            shutil.rmtree(folder, ignore_errors=True)
            fresh.rename(folder)
        results[label] = folder / RESULTS_FILE

    rows = {label: read_completions(path) for label, path in results.items()}
    check_same_ids(rows["base"], rows["tuned"])
    gold, questions = load_gold(args.gold), load_questions(args.input)
    runs = [
        score_file(
            rows[label], gold=gold, gold_source=str(args.gold), questions=questions, label=label
        )
        for label in DEMO_LABELS
    ]
    note = (
        f"Made by `python -m evals demo-report`: {args.base} (base) and {args.tuned} (tuned) "
        f"answered {args.input} with `python -m inference generate --prompt {prompt}`, then "
        f"`python -m evals "
        f"compare` scored both with the default reward preset against {args.gold}. The demo "
        "models are tiny and trained for seconds on a CPU: the numbers show what the report "
        "looks like, not how good a real model is."
    )
    summary = write_compare_report(
        runs[0], runs[1], args.output_dir, html=False, extras=False, note=note
    )
    print(f"demo report: {args.output_dir / 'report.md'} ({summary['questions']} questions)")
    return summary


def make_parser(subparsers: argparse._SubParsersAction | None = None) -> argparse.ArgumentParser:
    """The ``demo-report`` parser: stand-alone, or a subcommand of ``subparsers``."""
    parser = command_parser(
        subparsers,
        "demo-report",
        help="Generate answers with the demo models and write the example comparison report.",
        epilog="example:\n  python -m evals demo-report --output-dir docs/report-demo\n",
        prog="python -m evals demo-report",
    )
    add_output_dir(
        parser, help="report folder (default docs/report-demo)", default=Path("docs/report-demo")
    )
    shipped = paths.REPO_ROOT
    for flag, default, what in (
        ("--work", Path("runs/demo-report"), "folder for the generated results"),
        ("--input", paths.SAMPLE_TEST.relative_to(shipped), "test questions"),
        ("--gold", paths.SAMPLE_GOLD.relative_to(shipped), "their gold answers"),
        ("--base", paths.DEMO_BASE.relative_to(shipped), "base model"),
        ("--tuned", Path("assets/models/demo-grpo"), "tuned model"),
        ("--backend", "auto", "inference backend: auto, vllm or transformers"),
        ("--max-new-tokens", 256, "answer length limit"),
        ("--seed", 0, "generation seed"),
        ("--prompt", "default", "prompt variant for both models (assets/prompts/ name or YAML)"),
    ):
        parser.add_argument(
            flag, type=type(default), default=default, help=f"{what} (default {default})"
        )
    parser.add_argument(
        "--reuse", action="store_true", help="reuse results already in --work instead of generating"
    )
    parser.set_defaults(func=main)
    return parser


def main(args: argparse.Namespace) -> int:
    """Generate with both demo models, then compare into ``--output-dir``."""
    if args.output_dir.exists() and not args.output_dir.is_dir():
        raise UsageError(f"--output-dir {args.output_dir}: exists and is not a folder")
    build_demo_report(args)
    return 0
