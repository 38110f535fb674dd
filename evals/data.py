"""Load completions and gold answers, and score them with the reward registry.

Everything a user can get wrong (empty file, missing column, unreadable gold, ids that do not
line up) raises :class:`mcq.errors.UsageError` with one line to show; the CLI turns it into exit 2.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcq import Question, load_test, normalize_letter, read_gold, row_id
from mcq.errors import UsageError

__all__ = [
    "Completions",
    "Reference",
    "ScoredRow",
    "ScoredRun",
    "check_same_ids",
    "default_label",
    "load_gold",
    "load_preset",
    "load_questions",
    "read_completions",
    "score_file",
]


@dataclass(frozen=True)
class Reference:
    """What a gold file knows about one question: the answer, and its text when the file has it."""

    answer: str
    question: str | None = None
    options: dict[str, str] | None = None


@dataclass
class ScoredRow:
    """One completion with its reward breakdown.

    ``answer`` is the letter extracted from the completion (None when there is none);
    ``submitted`` is the letter a results file says was submitted (inference falls back to a
    constrained choice when nothing can be extracted), else the extracted letter.
    """

    id: str
    completion: str
    question: str | None
    options: dict[str, str] | None
    gold: str | None
    answer: str | None
    answer_rule: str
    submitted: str | None
    components: dict[str, float | None]
    total: float
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def correct(self) -> bool | None:
        """Whether the submitted letter matches gold; None without gold."""
        if self.gold is None:
            return None
        return self.submitted == self.gold


@dataclass
class ScoredRun:
    """All scored rows of one completions file."""

    path: str
    label: str
    preset: str
    components: list[str]
    weights: dict[str, float]
    rows: list[ScoredRow]
    gold_source: str | None

    @property
    def ids(self) -> list[str]:
        """Row ids in file order."""
        return [row.id for row in self.rows]

    def by_id(self) -> dict[str, ScoredRow]:
        """Rows keyed by id."""
        return {row.id: row for row in self.rows}

    @property
    def has_gold(self) -> bool:
        """True when at least one row has a gold answer."""
        return any(row.gold is not None for row in self.rows)


def load_gold(path: str | os.PathLike[str]) -> dict[str, Reference]:
    """Read gold answers from ``id,correct_answer`` (or ``answer``) CSV/TSV or a test file.

    A test file (``id, question, option_A..D, correct_answer``) also supplies the question
    text, which reports show next to each answer (see :func:`mcq.read_gold`).
    """
    letters, questions = read_gold(path)
    return {
        qid: Reference(letter, questions[qid].question, dict(questions[qid].options))
        if qid in questions
        else Reference(letter)
        for qid, letter in letters.items()
    }


def load_questions(path: str | os.PathLike[str]) -> dict[str, Question]:
    """Question texts and options by id from a test file (``mcq.load_test``)."""
    questions = load_test(path)
    if not questions:
        raise UsageError(f"{path}: no questions found")
    return {q.id: q for q in questions}


@dataclass
class Completions:
    """The rows of one completions file, before scoring, keyed by unique ids."""

    path: Path
    ids: list[str]
    rows: list[dict[str, Any]]


def read_completions(path: str | os.PathLike[str]) -> Completions:
    """Read a completions file with ``rewards.io.load_completions``; ids must be unique.

    Rows without an id are numbered from 1 (:func:`mcq.row_id`).
    """
    from rewards.io import load_completions
    from rewards.judgments import check_unique_ids

    path = Path(path)
    rows = load_completions(path)
    if not rows:
        raise UsageError(f"{path}: no completions found (empty file?)")
    ids = [row_id(row.get("id"), i) for i, row in enumerate(rows, 1)]
    check_unique_ids(path, ids)
    return Completions(path, ids, list(rows))


def score_file(
    source: str | os.PathLike[str] | Completions,
    *,
    preset: str = "default",
    gold: dict[str, Reference] | None = None,
    gold_source: str | None = None,
    questions: dict[str, Question] | None = None,
    label: str | None = None,
    progress: bool = True,
) -> ScoredRun:
    """Score every row of a completions file (a path, or what :func:`read_completions` read).

    Gold answers come from ``gold`` when given (every id must be covered), else from a
    ``correct_answer`` field in the completions themselves (or in ``questions``). Question
    text and options come from the completions, else ``gold``, else ``questions``; results
    files from inference carry only ids, so reports show questions when one of those has them.
    """
    import rewards
    from rewards.scoring import score_batch

    data = source if isinstance(source, Completions) else read_completions(source)
    if gold is not None:
        uncovered = [i for i in data.ids if i not in gold]
        if uncovered:
            raise UsageError(
                f"{gold_source or 'gold'}: no answer for {len(uncovered)} of {len(data.ids)} "
                f"completion ids in {data.path} (first: {uncovered[0]!r})"
            )
    chosen = load_preset(preset)
    names = list(chosen.weights)

    samples = []
    for rid, raw in zip(data.ids, data.rows, strict=True):
        ref = gold.get(rid) if gold is not None else None
        known = questions.get(rid) if questions else None
        inline_gold = normalize_letter(raw.get("correct_answer")) or (
            known.correct_answer if known else None
        )
        question = (
            raw.get("question") or (ref and ref.question) or (known and known.question) or None
        )
        options = (
            raw.get("options") or (ref and ref.options) or (known and dict(known.options)) or None
        )
        gold_letter = ref.answer if ref is not None else inline_gold
        samples.append(
            rewards.Sample(
                id=rid,
                question=question,
                options=options,
                correct_answer=gold_letter,
                prompt=raw.get("prompt"),
            )
        )
    completions = [raw.get("completion") or "" for raw in data.rows]
    # One batch per component (a reward model's forward passes, a judge's concurrent requests).
    breakdowns = score_batch(
        completions,
        samples,
        chosen,
        progress=f"scoring {data.path.name}" if progress else None,
    )
    rows = [
        ScoredRow(
            id=sample.id,
            completion=completion,
            question=sample.question,
            options=sample.options,
            gold=sample.correct_answer,
            answer=breakdown.answer,
            answer_rule=breakdown.answer_rule,
            submitted=normalize_letter(raw.get("answer")) or breakdown.answer,
            components={name: breakdown.components.get(name) for name in names},
            total=float(breakdown.total),
            details=dict(breakdown.details or {}),
        )
        for raw, completion, sample, breakdown in zip(
            data.rows, completions, samples, breakdowns, strict=True
        )
    ]
    return ScoredRun(
        path=str(data.path),
        label=label or default_label(data.path),
        preset=chosen.name,
        components=names,
        weights=dict(chosen.weights),
        rows=rows,
        gold_source=gold_source
        if gold is not None
        else ("correct_answer in the input" if any(r.gold for r in rows) else None),
    )


def default_label(path: Path) -> str:
    """A name for a system: the file name, or its folder for inference's generic names."""
    generic = {"detailed_results", "submission", "results", "completions", "scores"}
    if path.stem in generic and path.parent.name not in ("", "."):
        return path.parent.name
    return path.stem


def check_same_ids(a: Completions | ScoredRun, b: Completions | ScoredRun) -> None:
    """Refuse two files whose id sets differ, saying how many ids differ."""
    ids_a, ids_b = set(a.ids), set(b.ids)
    if ids_a == ids_b:
        return
    only_a, only_b = sorted(ids_a - ids_b), sorted(ids_b - ids_a)
    example = (only_a or only_b)[0]
    raise UsageError(
        f"ids differ: {len(only_a) + len(only_b)} id(s) are in only one file "
        f"({len(only_a)} only in {a.path}, {len(only_b)} only in {b.path}; e.g. {example!r}); "
        "compare needs results for the same questions"
    )


def load_preset(preset: str):
    """The reward preset ``preset`` (a name or a YAML path); :class:`UsageError` when it is bad."""
    import rewards

    try:
        return rewards.load_preset(preset)
    except UsageError:
        raise
    except (KeyError, FileNotFoundError, ValueError) as err:
        raise UsageError(f"unknown reward preset {preset!r} ({_one_line(err)})") from None


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__
