"""Pure helpers behind the app: input limits, pasted rows, highlight spans, JSON-safe breakdowns.

Nothing here imports Gradio, torch or a model, so the unit tests run in milliseconds and the
same checks guard the UI and the named API endpoints alike.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mcq import LETTERS, Question, canonical_column, normalize_letter
from mcq.errors import UsageError

#: HighlightedText label of a negated term whose effect the rewards details do not give.
NEGATED = "negated"
#: Colours of the neutrality categories; shared by the compare, chat and score tabs.
TERM_COLORS: dict[str, str] = {
    "neutral": "#2e9d5b",
    "absolute": "#e8590c",
    "loaded": "#c92a2a",
    NEGATED: "#868e96",
}


@dataclass(frozen=True)
class Limits:
    """Upper bounds on what a visitor may send; generous for real questions, small for abuse."""

    question_chars: int = 2_000
    option_chars: int = 500
    completion_chars: int = 8_000
    message_chars: int = 2_000
    system_prompt_chars: int = 2_000
    tsv_row_chars: int = 8_000
    history_turns: int = 20
    max_new_tokens: int = 512
    upload_bytes: int = 2 * 1024 * 1024
    upload_rows: int = 2_000


LIMITS = Limits()

#: File types the score tab accepts (rewards.io.load_completions reads all of them).
UPLOAD_SUFFIXES: tuple[str, ...] = (".csv", ".tsv", ".jsonl", ".json", ".parquet")


def check_text(name: str, text: object, limit: int, *, required: bool = False) -> str:
    """Return ``text`` stripped, or raise :class:`UsageError` when it is too long or missing.

    Example:
        >>> check_text("question", "  什麼？ ", 10)
        '什麼？'
    """
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise UsageError(f"{name} must be text, got {type(text).__name__}")
    text = text.strip()
    if len(text) > limit:
        raise UsageError(f"{name} is too long: {len(text):,} characters (limit {limit:,})")
    if required and not text:
        raise UsageError(f"{name} is empty")
    return text


def check_number(name: str, value: object, low: float, high: float) -> float:
    """Return ``value`` as a float when it lies in [low, high], else raise :class:`UsageError`."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise UsageError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise UsageError(f"{name} must be between {low:g} and {high:g}, got {value!r}")
    return number


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


def highlight_spans(text: str, terms: Iterable[Mapping[str, Any]]) -> list[tuple[str, str | None]]:
    """Turn neutrality term spans into a ``gr.HighlightedText`` value over ``text``.

    Each term is ``{"term", "category", "start", "end", "negated"}`` with character offsets into
    ``text`` (plus, from the rewards lexicon, ``"effect"`` and ``"negator_start"``). A term is
    labelled with what it counts as: its ``effect`` when given (a negated hedge such as 不可能
    counts as absolute), and the span then starts at its negator so the reader sees why; a
    negated term without an effect is labelled :data:`NEGATED`. Spans outside the text or
    overlapping an earlier span are dropped, so the pieces always join back to ``text``.

    Example:
        >>> highlight_spans("這不一定正確", [{"term": "一定", "category": "absolute",
        ...                  "start": 2, "end": 4, "negated": True, "effect": "neutral",
        ...                  "negator_start": 1}])
        [('這', None), ('不一定', 'neutral'), ('正確', None)]
    """
    pieces: list[tuple[str, str | None]] = []
    cursor = 0
    spans = sorted(
        (_display_span(t) for t in terms if _valid_span(t, len(text))),
        key=lambda span: (span[0], -span[1]),
    )
    for start, end, label in spans:
        if start < cursor:
            continue
        if start > cursor:
            pieces.append((text[cursor:start], None))
        pieces.append((text[start:end], label))
        cursor = end
    if cursor < len(text) or not pieces:
        pieces.append((text[cursor:], None))
    return pieces


def _display_span(term: Mapping[str, Any]) -> tuple[int, int, str]:
    start, end = int(term["start"]), int(term["end"])
    if not term.get("negated"):
        return start, end, str(term.get("effect") or term.get("category") or "neutral")
    negator = term.get("negator_start")
    if isinstance(negator, int) and 0 <= negator < start:
        start = negator
    return start, end, str(term.get("effect") or NEGATED)


def _valid_span(term: Mapping[str, Any], length: int) -> bool:
    start, end = term.get("start"), term.get("end")
    return isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= length


def json_safe(value: Any) -> Any:
    """Return ``value`` as plain JSON types (dataclasses, sets, tuples and NaN handled)."""
    if hasattr(value, "__dataclass_fields__"):
        value = {k: getattr(value, k) for k in value.__dataclass_fields__}
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.loads(json.dumps(value, default=str))


def breakdown_dict(breakdown: Any, *, gold: str | None = None) -> dict[str, Any]:
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


def neutrality_terms(breakdown: Any) -> list[dict[str, Any]]:
    """The neutrality term spans a breakdown carries (empty when the component is absent)."""
    details = getattr(breakdown, "details", None) or {}
    neutrality = details.get("neutrality") or {}
    return list(neutrality.get("terms") or [])


def component_rows(components: Mapping[str, float | None]) -> list[dict[str, Any]]:
    """Rows ``{"component", "score"}`` for a bar chart; not-applicable components are left out."""
    return [
        {"component": name, "score": float(score)}
        for name, score in components.items()
        if score is not None
    ]


def summarize_scores(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Summary of scored rows: count, mean total and per-component means, answer counts."""
    skip = {"id", "answer", "total"}
    names = [k for k in (rows[0] if rows else {}) if k not in skip]
    means: dict[str, float | None] = {}
    for name in names:
        values = [float(r[name]) for r in rows if r.get(name) not in (None, "")]
        means[name] = round(sum(values) / len(values), 4) if values else None
    totals = [float(r["total"]) for r in rows if r.get("total") not in (None, "")]
    answers = Counter(str(r.get("answer") or "none") for r in rows)
    return {
        "rows": len(rows),
        "mean_total": round(sum(totals) / len(totals), 4) if totals else None,
        "components": means,
        "answers": {k: answers[k] for k in sorted(answers)},
    }


def question_label(q: Question, width: int = 48) -> str:
    """A one-line dropdown label for ``q``: its id and the start of the question."""
    text = " ".join(q.question.split())
    if len(text) > width:
        text = text[: width - 1] + "…"
    return f"{q.id} · {text}"


def split_turns(history: Sequence[Mapping[str, str]]) -> list[list[Mapping[str, str]]]:
    """Group chat messages into turns: a user message with the replies that follow it.

    The oldest turn is the first to go when a conversation outgrows the model's context.

    Example:
        >>> turns = split_turns([
        ...     {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
        ...     {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"},
        ... ])
        >>> [[m["content"] for m in t] for t in turns]
        [['a', 'b'], ['c', 'd']]
    """
    turns: list[list[Mapping[str, str]]] = []
    for item in history:
        if item.get("role") == "user" or not turns:
            turns.append([item])
        else:
            turns[-1].append(item)
    return turns


def limit_notes(turns_dropped: int = 0, timed_out: bool = False, limit_s: float = 0.0) -> list[str]:
    """The lines a visitor reads when the app bounded a request: turns left out, answer cut.

    Example:
        >>> print(*limit_notes(2, timed_out=True, limit_s=120), sep="\\n")
        The 2 oldest turns were left out: the whole conversation does not fit the model's context.
        The answer was cut: it reached the time limit of 120 s per request.
    """
    notes = []
    if turns_dropped:
        which = "oldest turn was" if turns_dropped == 1 else f"{turns_dropped} oldest turns were"
        notes.append(
            f"The {which} left out: the whole conversation does not fit the model's context."
        )
    if timed_out:
        notes.append(f"The answer was cut: it reached the time limit of {limit_s:g} s per request.")
    return notes


#: A Markdown image (``![alt](url)`` or ``![alt][ref]``): the browser would fetch its URL.
_MARKDOWN_IMAGE = re.compile(r"!\s*\[")


def inert_markdown(text: str) -> str:
    """Model output made safe for a Markdown view: HTML shows as text, images as text.

    Tags are escaped (``<img src=…>`` reads as it was written, no element is made) and a
    Markdown image loses its ``!``-bracket form, so the visitor's browser fetches nothing the
    model named.

    Example:
        >>> inert_markdown('<img src=http://x/y> ![a](http://x/z)')
        '&lt;img src=http://x/y&gt; !\\\\[a](http://x/z)'
    """
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_IMAGE.sub(lambda m: m.group(0)[:-1] + "\\[", escaped)


def error_line(err: BaseException, limit: int = 200) -> str:
    """One line for a visitor about an unexpected failure (the server log keeps the details).

    Example:
        >>> print(error_line(ValueError("prompt too long\\nTraceback ...")))
        the model could not answer (ValueError: prompt too long); try a shorter conversation or fewer max tokens
    """
    lines = str(err).strip().splitlines()
    first = lines[0].strip() if lines else ""
    if len(first) > limit:
        first = first[: limit - 1] + "…"
    what = f"{type(err).__name__}: {first}" if first else type(err).__name__
    return f"the model could not answer ({what}); try a shorter conversation or fewer max tokens"
