"""A question from a visitor: typed fields, or one row pasted from a spreadsheet; and the
messages that ask it of a model.

Every field is checked against :data:`app.limits.LIMITS`; a bad one is a one-line
:class:`mcq.errors.UsageError`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.limits import LIMITS, check_text
from mcq import LETTERS, Prompt, PromptTooLong, Question, canonical_column, normalize_letter
from mcq.errors import UsageError

if TYPE_CHECKING:
    from inference.backends.base import Backend, Conversation

__all__ = [
    "build_question",
    "check_gold",
    "parse_pasted_row",
    "question_label",
    "question_messages",
]


def check_gold(gold: object) -> str | None:
    """Return the gold letter (A-D; lower case and full width count) or None for an empty value.

    Example:
        >>> check_gold(" ｂ "), check_gold("")
        ('B', None)
    """
    text = check_text("gold answer", gold, 8)
    if not text:
        return None
    letter = normalize_letter(text)
    if letter is None:
        raise UsageError(f"gold answer must be one of A, B, C, D or empty, got {text!r}")
    return letter


def build_question(
    question: object, options: Sequence[object], gold: object = None, *, required: bool = True
) -> Question:
    """Check a question, its four options and an optional gold letter; return a ``Question``.

    With ``required=False`` (the score tab) an empty question and empty options are allowed.
    """
    q_text = check_text("question", question, LIMITS.question_chars, required=required)
    if len(options) != len(LETTERS):
        raise UsageError(f"expected {len(LETTERS)} options, got {len(options)}")
    texts = {
        letter: check_text(f"option {letter}", text, LIMITS.option_chars, required=required)
        for letter, text in zip(LETTERS, options, strict=True)
    }
    return Question(id="app", question=q_text, options=texts, correct_answer=check_gold(gold))


def parse_pasted_row(text: object) -> Question:
    """Read one pasted TSV row (as copied from a spreadsheet) into a ``Question``.

    Accepted shapes, tab-separated, an optional header line first:
    ``question, A, B, C, D`` · ``question, A, B, C, D, gold[, reasoning]`` ·
    ``id, question, A, B, C, D[, gold[, reasoning]]``. With a header line the columns are
    taken by name (``id``, ``question``, ``option_A``..``option_D`` or ``A``..``D``,
    ``correct_answer`` or ``answer``).

    Example:
        >>> q = parse_pasted_row("t-1\\t誰制定法律？\\t立法院\\t行政院\\t司法院\\t監察院\\tA")
        >>> q.id, q.options["A"], q.correct_answer
        ('t-1', '立法院', 'A')
    """
    raw = check_text("pasted row", text, LIMITS.tsv_row_chars, required=True)
    lines = [line for line in raw.replace("\r\n", "\n").split("\n") if line.strip()]
    if len(lines) > 2:
        raise UsageError(f"paste one row (optionally with its header line), got {len(lines)} lines")
    if "\t" not in lines[-1]:
        raise UsageError("the pasted row has no tab characters; copy a row from a TSV file")
    fields = [f.strip() for f in lines[-1].split("\t")]
    if len(lines) == 2:
        return _row_by_header(lines[0].split("\t"), fields)
    return _row_by_position(fields)


#: The fields a pasted row's header names, by their canonical column (:func:`mcq.canonical_column`).
_PASTED_FIELDS = {
    "id": "id",
    "question": "question",
    "correct_answer": "gold",
    **{f"option_{x}": x for x in LETTERS},
}


def _row_by_header(header: list[str], fields: list[str]) -> Question:
    names = [_PASTED_FIELDS.get(canonical_column(h) or "") for h in header]
    values = {name: value for name, value in zip(names, fields, strict=False) if name}
    missing = [n for n in ("question", *LETTERS) if not values.get(n)]
    if missing:
        raise UsageError(f"the pasted row lacks {', '.join(missing)} (check the header line)")
    q = build_question(values["question"], [values[x] for x in LETTERS], values.get("gold"))
    return Question(values.get("id") or "pasted", q.question, q.options, q.correct_answer)


_LONE_LETTER = re.compile(r"^[A-Za-zＡ-Ｚａ-ｚ]$")


def _row_by_position(fields: list[str]) -> Question:
    n = len(fields)
    if n < 5:
        raise UsageError(f"a pasted row needs a question and 4 options, got {n} fields")
    # "question, A-D, gold[, reasoning]" vs "id, question, A-D[, ...]": a lone letter in the
    # sixth field is a gold answer, anything else there means the row starts with an id.
    if n == 5 or (n in (6, 7) and _LONE_LETTER.match(fields[5])):
        row_id, rest = "pasted", fields
    else:
        row_id, rest = fields[0] or "pasted", fields[1:]
    if len(rest) < 5:
        raise UsageError(f"a pasted row needs a question and 4 options, got {n} fields")
    gold = rest[5] if len(rest) > 5 else None
    q = build_question(rest[0], rest[1:5], gold)
    return Question(row_id, q.question, q.options, q.correct_answer)


def question_label(q: Question, width: int = 48) -> str:
    """A one-line dropdown label for ``q``: its id and the start of the question."""
    text = " ".join(q.question.split())
    if len(text) > width:
        text = text[: width - 1] + "…"
    return f"{q.id} · {text}"


def question_messages(
    backend: Backend, q: Question, prompt: Prompt, max_new_tokens: int, system_prompt: str = ""
) -> tuple[Conversation, bool]:
    """The messages that ask ``q`` under ``prompt``, shortened to fit ``backend``'s context the
    way ``inference generate`` does it, and whether they were."""
    from inference.context import fit_conversations

    own = {"system_prompt": system_prompt} if system_prompt else {}
    try:
        conversations, truncated = fit_conversations(
            backend, [q], prompt, max_new_tokens=max_new_tokens, **own
        )
    except PromptTooLong as err:
        raise UsageError(f"{err}: shorten the system prompt or lower max tokens") from None
    return conversations[0], truncated[0]
