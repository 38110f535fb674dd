"""Text helpers shared by the reward components: input coercion, script normalisation, caching.

Every component receives whatever a caller hands it (``None``, ``NaN`` from a spreadsheet,
``bytes``, a 1 MB string); :func:`as_text` turns all of it into a ``str`` so the components
themselves only deal with text. :func:`to_simplified` is the one OpenCC conversion, built
once per process and length-preserving so that character offsets found in the normalised
text are offsets into the original.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import mcq
from mcq.tables import missing

__all__ = ["as_text", "content", "extract", "to_simplified"]

_converter: Any = None
# Per-character fallback for the rare conversions that change the text's length.
_char_cache: dict[str, str] = {}


def as_text(value: object) -> str:
    """Return ``value`` as a string: ``None`` and ``NaN`` become ``""``, bytes are decoded.

    Example:
        >>> as_text(None), as_text(float("nan")), as_text(b"\\xe7\\xad\\x94"), as_text("答案")
        ('', '', '答', '答案')
    """
    if isinstance(value, str):
        return value
    if missing(value):
        return ""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def _opencc() -> Any:
    global _converter
    if _converter is None:
        import opencc  # the C++ binding; import and build take a few milliseconds

        _converter = opencc.OpenCC("t2s")
    return _converter


def to_simplified(text: str) -> str:
    """Convert Traditional Chinese to Simplified with OpenCC (``t2s``), keeping the length.

    Offsets in the result are offsets in ``text``. When a phrase conversion would change the
    length (rare), or the text holds characters OpenCC cannot take (lone surrogates), the
    text is converted one character at a time instead.

    Example:
        >>> to_simplified("這並非唯一的觀點")
        '这并非唯一的观点'
    """
    return _to_simplified_cached(text) if len(text) <= _CACHED_CHARS else _to_simplified(text)


def _to_simplified(text: str) -> str:
    try:
        converted = _opencc().convert(text)
    except UnicodeError:
        converted = ""
    if len(converted) == len(text):
        return converted
    return "".join(_char_to_simplified(ch) for ch in text)


def _char_to_simplified(ch: str) -> str:
    out = _char_cache.get(ch)
    if out is None:
        try:
            out = _opencc().convert(ch)
        except UnicodeError:
            out = ch
        if len(out) != 1:
            out = ch
        if len(_char_cache) < 100_000:
            _char_cache[ch] = out
    return out


_NOT_CONTENT_RE = re.compile(r"[\s\W_]+")


def content(text: str) -> str:
    """The text without whitespace and punctuation: what the components measure lengths on.

    Example:
        >>> content("答案：B。\\n理由： 因為…")
        '答案B理由因為'
    """
    return _NOT_CONTENT_RE.sub("", text)


def extract(text: str) -> tuple[str | None, str]:
    """``mcq.extract_answer``, memoised: several components ask about the same completion."""
    return _extract_cached(text) if len(text) <= _CACHED_CHARS else mcq.extract_answer(text)


# Memoise only texts of ordinary size, so a batch of huge completions cannot fill memory.
_CACHED_CHARS = 20_000
_to_simplified_cached = lru_cache(maxsize=4096)(_to_simplified)
_extract_cached = lru_cache(maxsize=4096)(mcq.extract_answer)
