"""Neutrality terms on the page: the spans a ``gr.HighlightedText`` shows, and their colours."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["NEGATED", "TERM_COLORS", "highlight_spans"]

#: HighlightedText label of a negated term whose effect the rewards details do not give.
NEGATED = "negated"
#: Colours of the neutrality categories; shared by the compare, chat and score tabs.
TERM_COLORS: dict[str, str] = {
    "neutral": "#2e9d5b",
    "absolute": "#e8590c",
    "loaded": "#c92a2a",
    NEGATED: "#868e96",
}


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
