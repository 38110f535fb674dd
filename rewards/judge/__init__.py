"""LLM-as-judge reward components: any OpenAI-compatible endpoint rates answers on a rubric.

A preset names a judge by its settings (the name is yours; it becomes the column and TRL's
``rewards/<name>/mean``)::

    components: {correctness: 0.5, judge_neutral: 0.5}
    settings:
      judge_neutral:
        judge:
          base_url: http://127.0.0.1:8000/v1   # e.g. `python -m inference serve`
          model: demo-grpo                     # the served model name
          rubric: neutrality                   # or reasoning, or a YAML path (beside the preset)
          # api_key: $JUDGE_KEY   timeout: 30   max_concurrency: 8   retries: 2
          # cache_dir: ~/.cache/zhongli/judge (default; false turns it off)   max_tokens: 16

The judge sees the question, the options and the answer, and replies with one rating of the
rubric's scale (``assets/rubrics/*.yaml``), constrained to the scale's ratings through vLLM's
``structured_outputs: {choice: [...]}`` where the server takes it, else parsed from free text
(:func:`parse_rating`). The value is the rating's score in [0, 1]. A call that fails (server
down, timeout after retries, no rating in the reply) is ``None``, not applicable: counted in
the judge's ``stats``, logged once per batch on the ``rewards.judge`` logger, and shown as the
row's ``failures`` detail; it never raises, so a training run goes on without the judge.
Commands ask each judge once before any work (:func:`rewards.scoring.preflight`: one line,
exit 2, when it cannot answer) and refuse a judge that rated no row at all
(:func:`rewards.scoring.unscored`) unless told ``--allow-unscored``.
Ratings are cached on disk by (model, rubric, prompt), so scoring the same text again is free.
The ``openai`` package is imported on the first request only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rewards.judge.client import Judge, JudgeSettings, Rating, get_judge
from rewards.judge.rubric import RUBRIC_DIR, Rubric, load_rubric, parse_rating
from rewards.registry import Component, Sample, Scored, component_factory

__all__ = [
    "RUBRIC_DIR",
    "Judge",
    "JudgeSettings",
    "Rating",
    "Rubric",
    "get_judge",
    "judge_batch",
    "judge_factory",
    "load_rubric",
    "parse_rating",
]


def judge_batch(
    completions: Sequence[str], samples: Sequence[Sample | None], *, judge: Mapping[str, Any]
) -> list[Scored]:
    """Rate many completions concurrently: one :class:`Scored` each, its score ``None`` on failure.

    ``details`` holds the ``rating`` and whether it came from the ``cached`` file, or
    ``failures: 1`` and the ``error``.

    Example (no server on port 9: every row fails at once, none raises):
        >>> settings = {"base_url": "http://127.0.0.1:9/v1", "model": "m",
        ...             "rubric": "neutrality", "retries": 0, "cache_dir": False}
        >>> [(value, d["failures"]) for value, d in judge_batch(["答案：A"] * 2, [None] * 2,
        ...                                                     judge=settings)]
        [(None, 1), (None, 1)]
    """
    chosen = get_judge(JudgeSettings.from_mapping(judge))
    return [_scored(r) for r in chosen.rate(list(completions), list(samples))]


def _scored(r: Rating) -> Scored:
    if r.score is None:
        return Scored(None, {"failures": 1, "error": r.error})
    return Scored(r.score, {"rating": r.rating, "cached": r.cached})


@component_factory("judge", paths=("judge.rubric",))
def judge_factory(name: str, settings: Mapping[str, Any]) -> Component:
    """Build the judge component ``name`` from ``settings: {judge: {...}}`` (checked here).

    Raises:
        mcq.DataError: other settings next to ``judge``, or bad judge settings (one line).

    Example:
        >>> comp = judge_factory("judge_neutral", {"judge": {"base_url": "http://127.0.0.1:8000/v1",
        ...                                        "model": "demo-grpo", "rubric": "neutrality"}})
        >>> comp.source, comp.description.startswith("LLM judge (neutrality rubric")
        ('factory:judge', True)
    """
    import mcq

    extra = sorted(set(settings) - {"judge"})
    if extra:
        raise mcq.DataError(
            f"judge component {name!r}: unknown settings {extra}; put them in judge"
        )
    parsed = JudgeSettings.from_mapping(settings["judge"], f"judge component {name!r}")
    rubric = load_rubric(parsed.rubric)
    return Component(
        name=name,
        description=(
            f"LLM judge ({rubric.name} rubric, {parsed.model} at {parsed.base_url}): "
            f"{rubric.description}"
        ),
        source="factory:judge",
        batch=judge_batch,
        check=lambda: get_judge(parsed).check(),
        progress_chunk=4 * parsed.max_concurrency,  # a few seconds of requests
    )
