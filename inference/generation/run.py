"""``generate(settings, questions, output_dir)``: one generation run, checked, resumable.

The settings are checked and resolved once (:func:`~inference.generation.settings.resolve`),
the run planned before anything is written (:func:`~inference.generation.plan.plan`); then the
questions not yet in detailed_results.csv are answered chunk by chunk (in this process, or by
data-parallel worker processes, :mod:`inference.generation.parallel`), and the finished files
are written in input order (:func:`finalize`).
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import mcq
from inference.generation.plan import Plan, make_answerer, plan, prepare_output, progress
from inference.generation.results import (
    CONSTRAINED,
    DETAILED,
    EXTRACTED,
    TRUNCATED,
    append_rows,
    csv_text,
    write_submission,
)
from inference.generation.settings import GenerationSettings, resolve
from mcq import LETTERS, Question
from mcq.files import write_atomic

__all__ = ["GenerationSummary", "execute", "generate"]


@dataclass(frozen=True)
class GenerationSummary:
    """What a finished run wrote and what it cost (``generated_tokens`` 0: all resumed)."""

    submission: Path
    detailed: Path
    questions: int
    shortened: int
    generated_tokens: int
    seconds: float


def generate(
    settings: GenerationSettings,
    questions: Sequence[Question],
    output_dir: str | Path,
    *,
    inputs: Sequence[str | Path] = (),
) -> GenerationSummary:
    """Answer ``questions`` into ``output_dir``; returns what was written (and prints it).

    Writes ``submission.csv`` (``submission.part-K-of-N.csv`` for a part), ``detailed_results.csv``
    and ``run.json``; resumes a folder that an earlier run with the same settings left.
    ``inputs`` are files the outputs must not overwrite (the command line passes ``--input``).

    Raises:
        mcq.errors.UsageError: a setting, the questions or the folder cannot be used (nothing
            is written then), or a data-parallel worker failed (what it finished is kept).
    """
    return execute(plan(resolve(settings), questions, output_dir, inputs=inputs))


def execute(checked: Plan) -> GenerationSummary:
    """Answer what ``checked`` has left (here, or in data-parallel workers), then finalize."""
    # Imported here: workers run that module as ``__main__``, after this package is imported.
    from inference.generation.parallel import remove_shards, resume_from_shards, run_data_parallel

    resume_from_shards(checked)
    if checked.todo and checked.settings.data_parallel_size > 1:
        run_data_parallel(checked)
    elif checked.todo:
        answer_here(checked)
    summary = finalize(checked)
    remove_shards(checked.out)
    return summary


def answer_here(checked: Plan) -> None:
    """Answer the remaining chunks in this process, appending each to detailed_results.csv."""
    answerer = make_answerer(checked)
    answerer.check_room()  # before anything is written
    prepare_output(checked)
    with progress(checked) as bar:
        for chunk in checked.chunks():
            new_rows = answerer.rows(chunk)
            append_rows(checked.detailed, new_rows)
            for row in new_rows:
                checked.done[row[0]] = row
            bar.update(len(chunk))
    checked.tokens = answerer.generated_tokens
    checked.seconds = answerer.generation_seconds


def finalize(checked: Plan) -> GenerationSummary:
    """Rewrite detailed results in input order, write the submission, print the summary."""
    prepare_output(checked)
    missing = [q.id for q in checked.questions if q.id not in checked.done]
    if missing:
        raise RuntimeError(f"{len(missing)} questions have no result (first: {missing[0]})")
    ordered = [checked.done[q.id] for q in checked.questions]
    write_atomic(checked.detailed, csv_text([checked.columns, *ordered]))
    write_submission(checked.submission, [(row[0], row[1]) for row in ordered])
    print(_summary(checked, ordered))
    shortened = _shortened(checked, ordered)
    if shortened:
        print(
            f"warning: {shortened} of {len(ordered)} prompts were longer than the model's context "
            f"allows and were shortened in the middle (marked {mcq.CUT_MARK}); they have "
            f"{TRUNCATED}=true in {DETAILED}",
            file=sys.stderr,
        )
    return GenerationSummary(
        submission=checked.submission,
        detailed=checked.detailed,
        questions=len(ordered),
        shortened=shortened,
        generated_tokens=checked.tokens,
        seconds=checked.seconds,
    )


def _shortened(checked: Plan, rows: list[list[str]]) -> int:
    column = checked.columns.index(TRUNCATED)
    return sum(row[column] == "true" for row in rows)


def _summary(checked: Plan, rows: list[list[str]]) -> str:
    total = len(rows)
    letters = Counter(row[1] for row in rows)
    sources = Counter(row[2] for row in rows)
    lines = [
        f"wrote {checked.submission} and {checked.detailed}: {total} rows",
        "answers: " + "  ".join(f"{x} {letters[x]} ({letters[x] / total:.0%})" for x in LETTERS),
        f"extracted {sources[EXTRACTED]} ({sources[EXTRACTED] / total:.0%}), "
        f"constrained {sources[CONSTRAINED]} ({sources[CONSTRAINED] / total:.0%})",
        f"prompts shortened to fit the context: {_shortened(checked, rows)}",
    ]
    if checked.tokens:
        rate = checked.tokens / checked.seconds if checked.seconds else 0.0
        lines.append(
            f"generated {checked.tokens} tokens in {checked.seconds:.1f} s: {rate:.1f} tokens/s"
        )
    else:
        lines.append("nothing left to generate (all ids were already in detailed_results.csv)")
    return "\n".join(lines)
