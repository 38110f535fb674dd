"""Held-out evaluation of demo-base and demo-grpo: greedy (as a user sees) and sampled."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mcq
from training.demo.settings import BASE_DIR, BOOTSTRAP_RESAMPLES, MERGED_DIR, say

if TYPE_CHECKING:
    from inference.backends import Generation


@dataclass
class ModelScore:
    """Mean ``default`` reward and answer statistics of one model on the held-out questions."""

    model: str
    completions: int
    mean_total: float
    extractable: float  # share of completions with an extractable letter
    accuracy: float  # share of completions whose letter is the gold one
    components: dict[str, float | None]
    mean_new_tokens: float
    seconds: float
    examples: list[str] = field(default_factory=list)
    totals: list[float] = field(default_factory=list)  # per completion, in question order


def evaluate_models(
    models: Mapping[str, str | Path],
    questions: Sequence[mcq.Question],
    *,
    preset: str = "default",
    samples: int = 4,
    temperature: float = 0.7,
    max_new_tokens: int = 96,
    seed: int = 0,
    batch_size: int = 64,
    progress: bool = True,
) -> dict[str, ModelScore]:
    """Sample ``samples`` answers per question from each model and score them with the gold.

    ``temperature`` 0 means greedy decoding (one answer per question, ``samples`` ignored),
    as ``python -m evals demo-report`` and a user of the app see. Generation goes through
    ``inference``'s transformers backend (the prompt of ``mcq.build_messages``, every
    question sampled with its own seed from ``seed`` and its id, as ``inference generate``
    does), so every model gets the same prompts, settings and seeds. Scores are
    ``rewards.score(completion, Sample.from_question(q), preset)``; the means per component
    are the ones ``python -m rewards score`` prints.
    """
    from tqdm import tqdm

    import rewards
    from inference.backends import TransformersBackend
    from inference.generation import question_seed
    from rewards.scoring import summarize

    greedy = temperature <= 0
    samples = 1 if greedy else samples
    jobs = [q for q in questions for _ in range(samples)]
    results: dict[str, ModelScore] = {}
    for name, path in models.items():
        started = time.perf_counter()
        backend = TransformersBackend(str(path), dtype="float32", batch_size=batch_size)
        generations: list[Generation] = []
        try:
            for start in tqdm(
                range(0, len(questions), batch_size), desc=f"evaluate {name}", disable=not progress
            ):
                batch = questions[start : start + batch_size]
                answers = backend.chat(
                    [mcq.build_messages(q) for q in batch],
                    temperature=0.0 if greedy else temperature,
                    max_new_tokens=max_new_tokens,
                    n=samples,
                    seed=[question_seed(seed, q.id) for q in batch],
                )
                generations += [g for per_question in answers for g in per_question]
        finally:
            backend.close()
        texts = [g.text for g in generations]
        breakdowns = [
            rewards.score(text, rewards.Sample.from_question(q), preset=preset)
            for text, q in zip(texts, jobs, strict=True)
        ]
        names = sorted({c for b in breakdowns for c in b.components})
        summary = summarize(
            [{**b.components, "total": b.total, "answer": b.answer} for b in breakdowns], names
        )
        results[name] = ModelScore(
            model=str(path),
            completions=len(texts),
            mean_total=summary["means"]["total"][0],
            extractable=1.0 - summary["no_answer"],
            accuracy=sum(
                b.answer == q.correct_answer for b, q in zip(breakdowns, jobs, strict=True)
            )
            / len(breakdowns),
            components={comp: summary["means"][comp][0] for comp in names},
            mean_new_tokens=sum(g.num_tokens for g in generations) / len(generations),
            seconds=time.perf_counter() - started,
            examples=texts[::samples][:3],  # the first sample of the first three questions
            totals=[round(b.total, 6) for b in breakdowns],
        )
    return results


def greedy_gain(greedy: Mapping[str, ModelScore], seed: int = 0) -> dict[str, Any]:
    """demo-grpo minus demo-base in greedy ``default`` total: the mean paired difference over
    the questions and its percentile bootstrap 95% interval (``evals.stats``, as in reports)."""
    from evals.stats import paired_bootstrap_ci

    base, tuned = greedy[BASE_DIR].totals, greedy[MERGED_DIR].totals
    diff, low, high = paired_bootstrap_ci(base, tuned, resamples=BOOTSTRAP_RESAMPLES, seed=seed)
    wins = sum(t > b for b, t in zip(base, tuned, strict=True))
    losses = sum(t < b for b, t in zip(base, tuned, strict=True))
    say(
        f"greedy gain {diff:+.3f} (95% CI {low:+.3f} to {high:+.3f}); grpo higher on {wins}, base on {losses}"
    )
    return {
        "difference": round(diff, 6),
        "ci_low": round(low, 6),
        "ci_high": round(high, 6),
        "questions": len(base),
        "tuned_higher": wins,
        "base_higher": losses,
        "resamples": BOOTSTRAP_RESAMPLES,
        "seed": seed,
    }
