"""``score`` / ``score_batch``: completions through a preset's components into :class:`Breakdown` s.

:func:`score_batch` hands each component the whole batch at once (a component with a batch
function, such as a learned reward model, scores it in model-sized batches); :func:`score` is
the one-completion case. Use ``score_batch`` wherever many completions are scored;
:func:`summarize` gives the means a scored file is reported with.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import mcq
from rewards.presets import Preset, load_preset
from rewards.registry import Sample
from rewards.text import as_text, extract

__all__ = [
    "PROGRESS_CHUNK",
    "Breakdown",
    "progress_chunk",
    "score",
    "score_batch",
    "summarize",
    "weighted_total",
]

#: Completions per call of each component when :func:`score_batch` shows progress: big enough
#: for a model's batches, small enough that the bar moves.
PROGRESS_CHUNK = 512


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
    *,
    progress: str | None = None,
) -> list[Breakdown]:
    """Score many completions with every component of a preset, each component in one batch.

    Args:
        completions: The answer texts (``None``, ``NaN`` and bytes accepted, as in :func:`score`).
        samples: One :class:`Sample` (or ``None``) per completion; ``None`` for no samples.
        preset: A preset name, a YAML path, or a loaded :class:`Preset`.
        progress: A label for a progress bar; with it, more than :func:`progress_chunk`
            completions are scored in chunks of that size and the bar counts them.

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
    chunk = progress_chunk(chosen)
    if not progress or len(texts) <= chunk:
        return _score_chunk(texts, filled, chosen)
    from tqdm.auto import tqdm

    out: list[Breakdown] = []
    with tqdm(total=len(texts), desc=progress, unit="row") as bar:
        for start in range(0, len(texts), chunk):
            end = start + chunk
            out += _score_chunk(texts[start:end], filled[start:end], chosen)
            bar.update(min(end, len(texts)) - start)
    return out


def progress_chunk(preset: str | os.PathLike[str] | Preset) -> int:
    """Completions per call when scoring with ``preset`` shows progress: the smallest
    ``progress_chunk`` of its components, else :data:`PROGRESS_CHUNK`.

    Example:
        >>> progress_chunk("default") == PROGRESS_CHUNK
        True
    """
    chunks = [c.progress_chunk for c in load_preset(preset).components.values()]
    return max(1, min([c for c in chunks if c] or [PROGRESS_CHUNK]))


def _score_chunk(texts: list[str], samples: list[Sample], chosen: Preset) -> list[Breakdown]:
    per_component = {
        name: comp.run_batch(texts, samples, chosen.settings.get(name))
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


def summarize(scored: Iterable[dict[str, Any]], names: Sequence[str]) -> dict[str, Any]:
    """Means per component (over the rows where it applies) and of ``total``; answer letters.

    Args:
        scored: Scored rows, as :func:`rewards.io.score_rows` makes them: ``answer`` and one
            value (or ``None``) per component name and ``total``.
        names: The component names to average, in order (``total`` is added).

    Returns:
        ``{"rows": n, "means": {name: (mean or None, rows that count)}, "letters": {"A": n, ...},
        "no_answer": share of rows without a letter}``.

    Example:
        >>> s = summarize([{"answer": "A", "f": 1.0, "total": 1.0},
        ...                {"answer": None, "f": None, "total": 0.0}], ["f"])
        >>> s["means"]["f"], s["means"]["total"], s["no_answer"], s["letters"]["A"]
        ((1.0, 1), (0.5, 2), 0.5, 1)
    """
    scored = list(scored)
    means: dict[str, tuple[float | None, int]] = {}
    for name in [*names, "total"]:
        values = [row[name] for row in scored if row.get(name) is not None]
        means[name] = (sum(values) / len(values) if values else None, len(values))
    letters = Counter(row.get("answer") for row in scored)
    return {
        "rows": len(scored),
        "means": means,
        "letters": {letter: letters.get(letter, 0) for letter in mcq.LETTERS},
        "no_answer": letters.get(None, 0) / len(scored) if scored else 0.0,
    }
