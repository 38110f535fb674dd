"""The question record shared by every zhongli package."""

from __future__ import annotations

from dataclasses import dataclass

LETTERS: tuple[str, ...] = ("A", "B", "C", "D")


@dataclass(frozen=True)
class Question:
    """One multiple-choice question.

    Attributes:
        id: Stable identifier (from the file, or ``row-<line>`` for train files without ids).
        question: The question text.
        options: Option texts keyed by letter, in the order of ``LETTERS``.
        correct_answer: The gold letter (A-D) when known.
        reasoning: Reference reasoning from the training file, when present.
        line: 1-based line number in the source file, for error messages.
    """

    id: str
    question: str
    options: dict[str, str]
    correct_answer: str | None = None
    reasoning: str | None = None
    line: int | None = None
