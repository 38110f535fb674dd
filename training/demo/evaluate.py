"""Held-out evaluation of demo-base and demo-grpo: greedy (as a user sees) and sampled."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mcq
from training.demo.settings import BASE_DIR, BOOTSTRAP_RESAMPLES, MERGED_DIR, say


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
    as ``python -m evals demo-report`` and a user of the app see. Every model gets the same
    prompts, sampling settings and seeds (the torch generator is reset to ``seed + batch
    index`` before each batch), so the numbers compare like for like. Scores are
    ``rewards.score(completion, Sample.from_question(q), preset)``.
    """
    import torch
    from tqdm import tqdm
    from transformers import AutoModelForCausalLM, AutoTokenizer

    import rewards

    greedy = temperature <= 0
    samples = 1 if greedy else samples
    jobs = [q for q in questions for _ in range(samples)]
    sampling = {} if greedy else {"temperature": temperature, "top_p": 1.0, "top_k": 0}
    results: dict[str, ModelScore] = {}
    for name, path in models.items():
        started = time.perf_counter()
        tokenizer = AutoTokenizer.from_pretrained(path, padding_side="left")
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
        texts: list[str] = []
        new_tokens: list[int] = []
        starts = range(0, len(jobs), batch_size)
        for index, start in enumerate(tqdm(starts, desc=f"evaluate {name}", disable=not progress)):
            batch = jobs[start : start + batch_size]
            prompts = [mcq.render_prompt(q, tokenizer) for q in batch]
            enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
            torch.manual_seed(seed + index)
            with torch.no_grad():
                out = model.generate(
                    **enc,
                    do_sample=not greedy,
                    **sampling,
                    max_new_tokens=max_new_tokens,
                    pad_token_id=tokenizer.pad_token_id,
                )
            for row in out[:, enc["input_ids"].shape[1] :]:
                ids = [int(t) for t in row if int(t) != tokenizer.pad_token_id]
                new_tokens.append(len(ids))
                texts.append(tokenizer.decode(ids, skip_special_tokens=True))
        breakdowns = [
            rewards.score(text, rewards.Sample.from_question(q), preset=preset)
            for text, q in zip(texts, jobs, strict=True)
        ]
        names = sorted({c for b in breakdowns for c in b.components})
        components: dict[str, float | None] = {}
        for comp in names:
            values = [b.components.get(comp) for b in breakdowns]
            values = [v for v in values if v is not None]
            components[comp] = sum(values) / len(values) if values else None
        results[name] = ModelScore(
            model=str(path),
            completions=len(texts),
            mean_total=sum(b.total for b in breakdowns) / len(breakdowns),
            extractable=sum(b.answer is not None for b in breakdowns) / len(breakdowns),
            accuracy=sum(
                b.answer == q.correct_answer for b, q in zip(breakdowns, jobs, strict=True)
            )
            / len(breakdowns),
            components=components,
            mean_new_tokens=sum(new_tokens) / len(new_tokens),
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
