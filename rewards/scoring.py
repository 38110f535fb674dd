"""``score`` / ``score_batch``: completions through a preset's components into :class:`Breakdown` s.

:func:`score_batch` hands each component the whole batch at once (a component with a batch
function, such as a learned reward model, scores it in model-sized batches); :func:`score` is
the one-completion case. Use ``score_batch`` wherever many completions are scored;
:func:`summarize` gives the means a scored file is reported with.

A command that scores checks first that each component can score at all (:func:`preflight`:
an LLM judge asks its endpoint once) and, inside :func:`scoring_checked`, refuses a component
that scored none of the rows it applies to (:func:`unscored`), unless ``--allow-unscored``.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import mcq
from mcq.errors import UsageError
from rewards.presets import Preset, load_preset
from rewards.registry import Sample
from rewards.text import as_text, extract

__all__ = [
    "ALLOW_UNSCORED",
    "PROGRESS_CHUNK",
    "Breakdown",
    "add_allow_unscored_argument",
    "preflight",
    "progress_chunk",
    "score",
    "score_batch",
    "scoring_checked",
    "summarize",
    "unscored",
    "weighted_total",
]

log = logging.getLogger("rewards")

#: The flag, spelt alike in every command that scores, that lets a component score nothing.
ALLOW_UNSCORED = "--allow-unscored"
#: Inside :func:`scoring_checked`: whether an unscored component is allowed (None: no check).
_UNSCORED_ALLOWED: ContextVar[bool | None] = ContextVar("unscored_allowed", default=None)

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
        out = _score_chunk(texts, filled, chosen)
    else:
        from tqdm.auto import tqdm

        out = []
        with tqdm(total=len(texts), desc=progress, unit="row") as bar:
            for start in range(0, len(texts), chunk):
                end = start + chunk
                out += _score_chunk(texts[start:end], filled[start:end], chosen, start + 1)
                bar.update(min(end, len(texts)) - start)
    allowed = _UNSCORED_ALLOWED.get()
    if allowed is not None:
        _refuse_unscored(unscored(out, filled, chosen), allowed)
    return out


@contextmanager
def scoring_checked(
    preset: str | os.PathLike[str] | Preset | None = None, allow_unscored: bool = False
) -> Iterator[None]:
    """A command's scoring: :func:`preflight` of ``preset`` first, then, within the block,
    :func:`score_batch` refuses a component that scored no row.

    Such a component (every value ``None`` on the rows it applies to: a judge that failed
    for all, a plugin that returns ``None``) raises :class:`UsageError` naming it, unless
    ``allow_unscored``, which logs a warning instead and keeps the totals without it.

    Example:
        >>> with scoring_checked("default"):
        ...     found = score_batch(["答案：A"], [Sample(correct_answer="A")])
        >>> found[0].components["correctness"]
        1.0
    """
    if preset is not None:
        preflight(preset, allow_unscored=allow_unscored)
    token = _UNSCORED_ALLOWED.set(allow_unscored)
    try:
        yield
    finally:
        _UNSCORED_ALLOWED.reset(token)


def unscored(
    breakdowns: Sequence[Breakdown], samples: Sequence[Sample], preset: Preset
) -> dict[str, str]:
    """Components that scored none of the rows they apply to: name -> one line why.

    A component applies to every row unless its ``applies`` says otherwise (correctness
    applies to rows with a gold letter), so correctness on a file without gold is not here.

    Example:
        >>> chosen = load_preset("default")
        >>> found = score_batch(["答案：A"], [Sample()], chosen)
        >>> unscored(found, [Sample()], chosen)
        {}
    """
    out = {}
    for name, comp in preset.components.items():
        rows = [
            b for b, s in zip(breakdowns, samples, strict=True)
            if comp.applies is None or comp.applies(s)
        ]  # fmt: skip
        if not rows or any(b.components.get(name) is not None for b in rows):
            continue
        errors = [b.details.get(name, {}).get("error") for b in rows]
        first = next((e for e in errors if e), None)
        why = f"; first failure: {first}" if first else ""
        out[name] = f"scored none of the {len(rows):,} rows it applies to{why}"
    return out


def _refuse_unscored(found: dict[str, str], allowed: bool) -> None:
    if not found:
        return
    text = "; ".join(f"reward component {name!r} {why}" for name, why in found.items())
    if allowed:
        log.warning("%s; totals are computed without it (%s)", text, ALLOW_UNSCORED)
        return
    raise UsageError(f"{text}; fix it, or rerun with {ALLOW_UNSCORED} to score without it")


def add_allow_unscored_argument(parser: Any) -> None:
    """Add ``--allow-unscored`` (see :func:`scoring_checked`) to a command's parser."""
    parser.add_argument(
        ALLOW_UNSCORED,
        action="store_true",
        help="go on when a reward component cannot score (a judge nobody answers) or scored "
        "no row at all, with totals computed without it (default: an error)",
    )


def preflight(
    preset: str | os.PathLike[str] | Preset, *, allow_unscored: bool = False, flag: bool = True
) -> None:
    """Check once, before any work, that each component of ``preset`` can score at all.

    Components that can say (an LLM judge asks its endpoint: see
    :meth:`rewards.judge.Judge.check`) are asked; one that cannot answer raises
    :class:`UsageError` naming it and why, unless ``allow_unscored``, which logs a warning
    instead. ``flag``: whether the message may point to ``--allow-unscored``.

    Example:
        >>> preflight("default")  # lexicon components have nothing to ask
    """
    chosen = load_preset(preset)
    problems = []
    for name, comp in chosen.components.items():
        why = comp.check() if comp.check is not None else None
        if why:
            problems.append(f"reward component {name!r}: {why}")
    if not problems:
        return
    text = "; ".join(problems)
    if allow_unscored:
        log.warning("%s; going on without it (%s)", text, ALLOW_UNSCORED)
        return
    hint = f"; fix it, or rerun with {ALLOW_UNSCORED} to score without it" if flag else ""
    raise UsageError(text + hint)


def progress_chunk(preset: str | os.PathLike[str] | Preset) -> int:
    """Completions per call when scoring with ``preset`` shows progress: the smallest
    ``progress_chunk`` of its components, else :data:`PROGRESS_CHUNK`.

    Example:
        >>> progress_chunk("default") == PROGRESS_CHUNK
        True
    """
    chunks = [c.progress_chunk for c in load_preset(preset).components.values()]
    return max(1, min([c for c in chunks if c] or [PROGRESS_CHUNK]))


def _score_chunk(
    texts: list[str], samples: list[Sample], chosen: Preset, first_row: int = 1
) -> list[Breakdown]:
    per_component = {
        name: comp.run_batch(texts, samples, chosen.settings.get(name), first_row=first_row)
        for name, comp in chosen.components.items()
    }
    out = []
    for i, text in enumerate(texts):
        components = {name: found[i].score for name, found in per_component.items()}
        details = {
            name: found[i].details for name, found in per_component.items() if found[i].details
        }
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
