"""What a visitor may send: the input limits and the checks that enforce them.

Nothing here imports Gradio, torch or a model, so the same checks guard the UI and the named
API endpoints alike, and their tests run in milliseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mcq.errors import UsageError

__all__ = [
    "LIMITS",
    "UPLOAD_SUFFIXES",
    "Limits",
    "check_generation",
    "check_number",
    "check_text",
]


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


def check_generation(temperature: object, max_new_tokens: object) -> tuple[float, int]:
    """The sampling temperature (0-2) and the answer's token budget, checked against
    :data:`LIMITS`.

    Example:
        >>> check_generation("0.7", 256.0)
        (0.7, 256)
    """
    temperature = check_number("temperature", temperature, 0.0, 2.0)
    return temperature, int(check_number("max tokens", max_new_tokens, 1, LIMITS.max_new_tokens))
