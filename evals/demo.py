"""``python -m evals demo-report``: the example report in docs/report-demo/, made end to end.

Generates answers to the sample test questions with the demo base and tuned models
(``inference.generate``, in this process so one cached engine serves each model), then
compares them with ``python -m evals compare`` and keeps only ``report.md`` and its PNGs in
the output folder, small enough to commit.
"""

from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path

import mcq
from evals.data import EvalInputError

__all__ = ["DEMO_LABELS", "build_demo_report", "generate_results"]

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
    extra: list[str] | None = None,
) -> Path:
    """Run ``python -m inference generate`` in-process; returns the detailed_results.csv path.

    In-process, so ``inference.backends.get_backend`` keeps the engine for the next call
    with the same model. ``extra`` holds more generate options (``--max-new-tokens 96``).
    """
    from inference.cli import main as inference_main

    argv = ["generate", "--model", str(model), "--input", str(input_path)]
    argv += ["--output-dir", str(output_dir), "--backend", backend]
    if adapter is not None:
        argv += ["--adapter", str(adapter)]
    code = inference_main([*argv, *(extra or [])])
    if code == 2:
        raise EvalInputError(f"inference generate refused the input for {model} (see above)")
    if code != 0:
        raise RuntimeError(f"inference generate failed for {model} (exit {code})")
    return output_dir / RESULTS_FILE


def build_demo_report(args: argparse.Namespace) -> dict:
    """Generate (unless ``--reuse``) and write the comparison report into ``args.out``."""
    from evals.compare import write_compare_report
    from evals.data import check_same_ids, load_gold, load_questions, read_completions, score_file

    for path in (args.input, args.gold, args.base, args.tuned):
        if not Path(path).exists():
            raise EvalInputError(f"{path}: not found (run from the repository root)")
    prompt = getattr(args, "prompt", "default")
    try:
        mcq.load_prompt(prompt)
    except mcq.DataError as err:
        raise EvalInputError(f"--prompt {prompt}: {err}") from None
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
                extra=[
                    *("--max-new-tokens", str(args.max_new_tokens), "--seed", str(args.seed)),
                    *("--prompt", str(prompt)),
                ],
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
    summary = write_compare_report(runs[0], runs[1], args.out, html=False, extras=False, note=note)
    print(f"demo report: {args.out / 'report.md'} ({summary['questions']} questions)")
    return summary
