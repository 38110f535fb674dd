"""``score`` / ``score_batch``: completions through a preset's components into :class:`Breakdown` s.

:func:`score_batch` hands each component the whole batch at once (a component with a batch
function, such as a learned reward model, scores it in model-sized batches); :func:`score` is
the one-completion case. Use ``score_batch`` wherever many completions are scored.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rewards.presets import Preset, load_preset
from rewards.registry import Sample
from rewards.text import as_text, extract

__all__ = ["Breakdown", "score", "score_batch", "weighted_total"]


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
    return score_batch([completion], [sample], preset)[0]


def score_batch(
    completions: Sequence[object],
    samples: Sequence[Sample | None] | None = None,
    preset: str | os.PathLike[str] | Preset = "default",
) -> list[Breakdown]:
    """Score many completions with every component of a preset, each component in one batch.

    Args:
        completions: The answer texts (``None``, ``NaN`` and bytes accepted, as in :func:`score`).
        samples: One :class:`Sample` (or ``None``) per completion; ``None`` for no samples.
        preset: A preset name, a YAML path, or a loaded :class:`Preset`.

    Returns:
        One :class:`Breakdown` per completion, in order.

    Example:
        >>> found = score_batch(["答案：A", "答案：C"], [Sample(correct_answer="A")] * 2, "default")
        >>> [b.components["correctness"] for b in found]
        [1.0, 0.0]
    """
    chosen = load_preset(preset)
    texts = [as_text(c) for c in completions]
    if samples is None:
        samples = [None] * len(texts)
    if len(samples) != len(texts):
        raise ValueError(f"{len(texts)} completions but {len(samples)} samples")
    filled = [s if s is not None else Sample() for s in samples]
    per_component = {
        name: comp.run_batch(texts, filled, chosen.settings.get(name))
        for name, comp in chosen.components.items()
    }
    out = []
    for i, text in enumerate(texts):
        components = {name: results[i][0] for name, results in per_component.items()}
        details = {name: results[i][1] for name, results in per_component.items() if results[i][1]}
        letter, rule = extract(text)
        out.append(
            Breakdown(
                total=weighted_total(components, chosen.weights),
                components=components,
                details=details,
                answer=letter,
                answer_rule=rule,
            )
        )
    return out
