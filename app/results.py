"""What the app returns: a reward breakdown as JSON, one side's answer to a question, and the
summary of a scored file.

Every endpoint answers with these shapes, so the page, the named API and the tests read the
same keys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

from mcq.files import json_safe

if TYPE_CHECKING:
    from rewards.scoring import Breakdown

__all__ = ["Answer", "breakdown_dict", "neutrality_terms", "summarize_scores"]


class Answer(TypedDict):
    """One side's answer to a question and how it was made, before it is scored."""

    model: str
    side: str
    text: str
    seconds: float
    prompt_truncated: bool
    timed_out: bool
    notes: list[str]


def breakdown_dict(breakdown: Breakdown, *, gold: str | None = None) -> dict[str, Any]:
    """A ``rewards.Breakdown`` as a JSON-friendly dict, plus ``correct`` when gold is known."""
    result = {
        "answer": breakdown.answer,
        "answer_rule": breakdown.answer_rule,
        "total": round(float(breakdown.total), 4),
        "components": {
            name: None if score is None else round(float(score), 4)
            for name, score in breakdown.components.items()
        },
        "terms": json_safe(neutrality_terms(breakdown)),
        "details": json_safe(breakdown.details),
    }
    result["correct"] = None if gold is None else breakdown.answer == gold
    return result


def neutrality_terms(breakdown: Breakdown) -> list[dict[str, Any]]:
    """The neutrality term spans a breakdown carries (empty when the component is absent)."""
    details = getattr(breakdown, "details", None) or {}
    neutrality = details.get("neutrality") or {}
    return list(neutrality.get("terms") or [])


def summarize_scores(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What the Score tab shows of a scored file's rows: the count, the mean total, the
    per-component means and how often each answer came (:func:`rewards.scoring.summarize`).

    Example:
        >>> summarize_scores([{"id": "1", "answer": "A", "format": 1.0, "total": 1.0},
        ...                   {"id": "2", "answer": None, "format": None, "total": 0.5}])
        {'rows': 2, 'mean_total': 0.75, 'components': {'format': 1.0}, 'answers': {'A': 1, 'none': 1}}
    """
    from rewards.scoring import summarize

    names = [k for k in (rows[0] if rows else {}) if k not in ("id", "answer", "total")]
    summary = summarize([dict(row) for row in rows], names)
    means = {name: None if m is None else round(m, 4) for name, (m, _) in summary["means"].items()}
    answers = {letter: n for letter, n in summary["letters"].items() if n}
    if unanswered := len(rows) - sum(answers.values()):
        answers["none"] = unanswered
    return {
        "rows": summary["rows"],
        "mean_total": means.pop("total"),
        "components": means,
        "answers": answers,
    }
