"""``score``: one completion through a preset's components into a :class:`Breakdown`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from rewards.presets import Preset, load_preset
from rewards.registry import Sample
from rewards.text import as_text, extract

__all__ = ["Breakdown", "score", "weighted_total"]


@dataclass
class Breakdown:
    """How one completion scored.

    Attributes:
        total: Weighted mean of the applicable components, in [0, 1] (0.0 if none applies).
        components: Component name -> score, ``None`` where not applicable.
        details: Component name -> what it found (``details["neutrality"]["terms"]`` holds
            the matched lexicon terms with spans into the original completion).
        answer: The letter ``mcq.extract_answer`` finds, or ``None``.
        answer_rule: The extraction rule that found it (``"none"`` when nothing was found).
    """

    total: float
    components: dict[str, float | None]
    details: dict[str, Any] = field(default_factory=dict)
    answer: str | None = None
    answer_rule: str = "none"


def weighted_total(components: dict[str, float | None], weights: dict[str, float]) -> float:
    """Weighted mean over the components that apply (``None`` ones are left out).

    Example:
        >>> weighted_total({"format": 1.0, "correctness": None}, {"format": 1, "correctness": 3})
        1.0
        >>> weighted_total({"a": 1.0, "b": 0.0}, {"a": 3, "b": 1})
        0.75
    """
    num = den = 0.0
    for name, value in components.items():
        weight = weights.get(name, 0.0)
        if value is not None and weight > 0:
            num += weight * value
            den += weight
    return round(num / den, 6) if den else 0.0


def score(
    completion: object,
    sample: Sample | None = None,
    preset: str | os.PathLike[str] | Preset = "default",
) -> Breakdown:
    """Score one completion with every component of a preset.

    Args:
        completion: The model's answer text. ``None``, ``NaN`` and bytes are accepted
            (as empty text, decoded text).
        sample: What is known about the question (gold letter, options); may be ``None``.
        preset: A preset name, a YAML path, or a loaded :class:`Preset`.

    Returns:
        The :class:`Breakdown`.

    Example:
        >>> b = score("答案：B\\n理由：根據憲法增修條文，任期為四年。", Sample(correct_answer="B"))
        >>> b.answer, b.components["correctness"], 0 < b.total <= 1
        ('B', 1.0, True)
    """
    chosen = load_preset(preset)
    text = as_text(completion)
    sample = sample if sample is not None else Sample()
    components: dict[str, float | None] = {}
    details: dict[str, Any] = {}
    for name, comp in chosen.components.items():
        value, found = comp.run(text, sample, chosen.settings.get(name))
        components[name] = value
        if found:
            details[name] = found
    letter, rule = extract(text)
    return Breakdown(
        total=weighted_total(components, chosen.weights),
        components=components,
        details=details,
        answer=letter,
        answer_rule=rule,
    )
