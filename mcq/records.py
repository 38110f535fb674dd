"""The question record and the answer facts shared by every zhongli package.

One home for the answer letters, the full-width letters that mean them, and the
``答案：X`` / ``理由：…`` shape of a well-formed answer.

Example:
    >>> normalize_letter(" ｂ "), normalize_letter("E")
    ('B', None)
    >>> print(format_answer("C", "首先……"))
    答案：C
    理由：首先……
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LETTERS", "TO_ASCII_LETTERS", "Question", "format_answer", "normalize_letter"]

LETTERS: tuple[str, ...] = ("A", "B", "C", "D")

#: ``str.translate`` table from full-width letters (Ａ-Ｄ, ａ-ｄ) to ASCII A-D.
TO_ASCII_LETTERS = str.maketrans("ＡＢＣＤａｂｃｄ", "ABCDABCD")


def normalize_letter(value: object) -> str | None:
    """The answer letter ``value`` stands for (A-D; full-width and lower case count), else None.

    Example:
        >>> normalize_letter("Ａ"), normalize_letter("d"), normalize_letter(None), normalize_letter("AB")
        ('A', 'D', None, None)
    """
    if value is None:
        return None
    text = str(value).strip().translate(TO_ASCII_LETTERS).upper()
    return text if text in LETTERS else None


def format_answer(letter: str | None, reasoning: str | None) -> str:
    """A well-formed answer: ``答案：{letter}`` then ``理由：{reasoning}`` on the next line.

    What the training TSV's rows stand for, what the warm-up teaches and what the prompt asks
    for; a missing letter or reasoning leaves its line empty after the marker.

    Example:
        >>> format_answer("B", "首先……")
        '答案：B\\n理由：首先……'
        >>> format_answer(None, None)
        '答案：\\n理由：'
    """
    return f"答案：{letter or ''}\n理由：{reasoning or ''}"


@dataclass(frozen=True)
class Question:
    """One multiple-choice question.

    Attributes:
        id: Stable identifier (from the file, else the row's 1-based number among the data rows).
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
