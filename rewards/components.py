"""The built-in reward components ``format``, ``correctness`` and ``seed``.

``reasoning`` lives in :mod:`rewards.reasoning` and ``neutrality`` in :mod:`rewards.neutrality`
(imported here). Each component is one pure function of the completion and its
:class:`~rewards.registry.Sample` returning a :class:`~rewards.registry.Scored`: the score with
the details the CLI and the app show. Called directly, each gives its score only.
"""

from __future__ import annotations

import re

import mcq
from mcq.records import TO_ASCII_LETTERS
from rewards.reasoning import reasoning
from rewards.registry import Sample, Scored, component
from rewards.text import as_text, extract

__all__ = ["correctness", "format_reward", "reasoning", "seed"]

_LETTERS = "A-DＡ-Ｄ"

# ---------------------------------------------------------------------- format
# "答案：B" opening the completion (markdown bold and brackets around the letter allowed).
_ANSWER_AT_START = re.compile(
    rf"^\s*(?:\*\*)?答案\s*(?:\*\*)?\s*[:：]\s*(?:\*\*)?\s*[(（【\[]?\s*([{_LETTERS}])\s*[)）】\]]?"
    r"(?![A-Za-z0-9Ａ-Ｚａ-ｚ])"
)
_REASON_SECTION = re.compile(r"(?:\*\*)?理由\s*(?:\*\*)?\s*[:：]")
_MIN_REASON_CHARS = 10


@component(
    "format",
    "答案：X on the first line, a 理由： section, one unambiguous letter (graded).",
)
def format_reward(completion: object, sample: Sample | None = None) -> Scored:
    """Reward the answer format the prompt asks for: ``答案：X`` first, then ``理由：...``.

    The score is ``0.5 * answer + 0.3 * reason + 0.2 * single``:

    - ``answer``: 1.0 when the completion opens with ``答案：X`` (``答案: X``, full-width
      letters and ``**bold**`` accepted); 0.6 when an explicit answer marker appears
      elsewhere; 0.3 when only a bare letter can be found; 0 when no letter can be found.
    - ``reason``: 1.0 for a ``理由：`` section after the answer with at least 10 characters;
      0.5 when the section is shorter or comes before the answer; 0 without one.
    - ``single``: 1.0 when exactly one letter is given: ``mcq.extract_answer`` finds one
      (not ``ambiguous``: no ``答案：A或B``, no ``答案：B（也可能是A）``, no conclusion
      contradicting the opening letter) and the opening letter is that one; else 0.

    Args:
        completion: The model's answer text (``None``/``NaN`` count as empty).
        sample: Unused; part of the component signature.

    Returns:
        The score in [0, 1], with ``answer_at_start``, ``answer_rule``, ``reason_section``
        and ``single_answer`` as its details (called directly: the score).

    Example:
        >>> format_reward("答案：B\\n理由：第二項符合憲法增修條文的規定。")
        1.0
        >>> format_reward("我認為答案是B。")
        0.5
        >>> format_reward("答案：A或B")
        0.5
        >>> format_reward("答案：B（也可能是A）\\n理由：兩者都符合憲法增修條文的規定。")
        0.8
        >>> format_reward("我不知道")
        0.0
    """
    text = as_text(completion)
    letter, rule = extract(text)
    start = _ANSWER_AT_START.match(text)
    start_letter = start.group(1).translate(TO_ASCII_LETTERS) if start else None
    if start_letter is not None:
        answer_part = 1.0
    elif rule == "marker":
        answer_part = 0.6
    elif rule == "bare":
        answer_part = 0.3
    else:
        answer_part = 0.0

    reason = _REASON_SECTION.search(text)
    if reason is None:
        reason_part, reason_state = 0.0, "missing"
    else:
        after = "".join(text[reason.end() :].split())
        before_answer = start is not None and reason.start() < start.end()
        if len(after) >= _MIN_REASON_CHARS and not before_answer:
            reason_part, reason_state = 1.0, "present"
        else:
            reason_part, reason_state = 0.5, "too short"

    # An ambiguous answer ("答案：A或B", an opening letter the conclusion contradicts) has no letter.
    consistent = letter is not None and (start_letter is None or start_letter == letter)
    score = 0.5 * answer_part + 0.3 * reason_part + 0.2 * consistent
    details = {
        "answer_at_start": start_letter is not None,
        "answer_rule": rule,
        "reason_section": reason_state,
        "single_answer": consistent,
    }
    return Scored(round(score, 6), details)


# ---------------------------------------------------------------------- correctness
def _gold(sample: Sample | None) -> str | None:
    raw = getattr(sample, "correct_answer", None)
    if not isinstance(raw, str):
        return None
    return mcq.normalize_letter(raw)


@component(
    "correctness",
    "1 if the extracted letter equals the gold answer, 0 if not; not applicable without gold.",
    applies=lambda sample: _gold(sample) is not None,
)
def correctness(completion: object, sample: Sample | None = None) -> Scored:
    """Reward the right answer: the letter ``mcq.extract_answer`` finds equals the gold letter.

    Args:
        completion: The model's answer text.
        sample: Its ``correct_answer`` is the gold letter (A-D, full width accepted).

    Returns:
        1.0 when the letters agree, 0.0 when they differ or no letter is found, and ``None``
        (not applicable) when the sample has no valid gold letter; the ``gold`` and
        ``answer`` letters are its details (called directly: the score).

    Example:
        >>> correctness("答案：C\\n理由：……", Sample(correct_answer="C"))
        1.0
        >>> correctness("答案：A", Sample(correct_answer="C"))
        0.0
        >>> correctness("答案：A") is None
        True
    """
    gold = _gold(sample)
    letter, _ = extract(as_text(completion))
    if gold is None:
        return Scored(None, {"gold": None, "answer": letter})
    return Scored(1.0 if letter == gold else 0.0, {"gold": gold, "answer": letter})


# ---------------------------------------------------------------------- seed
SEED_ANSWER_MARKERS: tuple[str, ...] = ("答案：", "Answer:")
SEED_REASON_MARKERS: tuple[str, ...] = ("理由：", "因為", "根據")
SEED_NEUTRAL_WORDS: tuple[str, ...] = ("可能", "相對", "不同觀點", "平衡")
SEED_ABSOLUTE_WORDS: tuple[str, ...] = ("絕對", "必須", "唯一", "錯誤")


@component(
    "seed",
    "The competition's original formula (base 0.5, marker bonuses, floor 0.7 with a letter).",
)
def seed(completion: object, sample: Sample | None = None) -> Scored:
    """Reproduce the competition recipe's reward exactly, substring semantics and all.

    Start at 0.5; +0.3 if the text contains ``答案：`` or ``Answer:``; +0.2 if it contains
    ``理由：``, ``因為`` or ``根據``; +0.1 if more of 可能, 相對, 不同觀點, 平衡 occur in it
    than of 絕對, 必須, 唯一, 錯誤 (each word counted once, as a substring, so 不可能 counts as
    可能); then, if ``mcq.extract_answer`` finds a letter, at least 0.7; at most 1.0.

    Args:
        completion: The model's answer text (``None``/``NaN`` count as empty).
        sample: Unused; part of the component signature.

    Returns:
        The score in [0.5, 1], with the markers found, the neutral and absolute word counts
        and the ``letter`` as its details (called directly: the score).

    Example:
        >>> seed("答案：B\\n理由：這可能有不同觀點。")
        1.0
        >>> seed("B")
        0.7
        >>> seed("")
        0.5
    """
    text = as_text(completion)
    score = 0.5
    answer_marker = any(m in text for m in SEED_ANSWER_MARKERS)
    reason_marker = any(m in text for m in SEED_REASON_MARKERS)
    neutral = sum(word in text for word in SEED_NEUTRAL_WORDS)
    absolute = sum(word in text for word in SEED_ABSOLUTE_WORDS)
    if answer_marker:
        score += 0.3
    if reason_marker:
        score += 0.2
    if neutral > absolute:
        score += 0.1
    letter, _ = extract(text)
    if letter is not None:
        score = max(score, 0.7)
    score = min(score, 1.0)
    details = {
        "answer_marker": answer_marker,
        "reason_marker": reason_marker,
        "neutral_words": neutral,
        "absolute_words": absolute,
        "letter": letter,
    }
    return Scored(round(score, 6), details)
