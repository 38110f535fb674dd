"""The built-in reward components ``format``, ``reasoning``, ``correctness`` and ``seed``.

``neutrality`` lives in :mod:`rewards.neutrality`. Each component is a pure function of the
completion and its :class:`~rewards.registry.Sample`; the private ``_explain_*`` twins return
the same score plus the details the CLI and the app show.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import mcq
from mcq.records import TO_ASCII_LETTERS
from rewards.registry import Sample, component
from rewards.text import as_text, extract, to_simplified

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


def _explain_format(
    completion: object, sample: Sample | None = None
) -> tuple[float, dict[str, Any]]:
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
    return round(score, 6), details


@component(
    "format",
    "答案：X on the first line, a 理由： section, one unambiguous letter (graded).",
    explain=_explain_format,
)
def format_reward(completion: object, sample: Sample | None = None) -> float:
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
        The score in [0, 1].

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
    return _explain_format(completion, sample)[0]


# ---------------------------------------------------------------------- correctness
def _explain_correctness(
    completion: object, sample: Sample | None = None
) -> tuple[float | None, dict[str, Any]]:
    gold = _gold(sample)
    letter, _ = extract(as_text(completion))
    if gold is None:
        return None, {"gold": None, "answer": letter}
    return (1.0 if letter == gold else 0.0), {"gold": gold, "answer": letter}


def _gold(sample: Sample | None) -> str | None:
    raw = getattr(sample, "correct_answer", None)
    if not isinstance(raw, str):
        return None
    return mcq.normalize_letter(raw)


@component(
    "correctness",
    "1 if the extracted letter equals the gold answer, 0 if not; not applicable without gold.",
    explain=_explain_correctness,
)
def correctness(completion: object, sample: Sample | None = None) -> float | None:
    """Reward the right answer: the letter ``mcq.extract_answer`` finds equals the gold letter.

    Args:
        completion: The model's answer text.
        sample: Its ``correct_answer`` is the gold letter (A-D, full width accepted).

    Returns:
        1.0 when the letters agree, 0.0 when they differ or no letter is found, and ``None``
        (not applicable) when the sample has no valid gold letter.

    Example:
        >>> correctness("答案：C\\n理由：……", Sample(correct_answer="C"))
        1.0
        >>> correctness("答案：A", Sample(correct_answer="C"))
        0.0
        >>> correctness("答案：A") is None
        True
    """
    return _explain_correctness(completion, sample)[0]


# ---------------------------------------------------------------------- reasoning
# Connectives of an argument, matched on the Simplified form of the text.
REASONING_MARKERS: tuple[str, ...] = tuple(
    to_simplified(m)
    for m in (
        "因為", "由於", "所以", "因此", "因而", "首先", "其次", "再者", "此外", "最後", "然而",
        "但是", "不過", "雖然", "儘管", "如果", "例如", "比如", "換言之", "也就是說", "綜上",
        "總之", "可見", "根據", "依據", "相較", "相比", "反之",
    )
)  # fmt: skip
_MARKER_RE = re.compile("|".join(sorted(REASONING_MARKERS, key=len, reverse=True)))
_BOTH_SIDES_RE = re.compile(r"一方面.{1,200}?另一方面", re.DOTALL)
# An option named by its letter: "選項B", "(C)", "B項", "D的說法", "C與D"; not "ABC公司",
# "B2", or a stray capital in English or binary noise. Letters are rare, so each one found
# is checked in Python (faster than one regex with lookbehinds tried at every position).
_LETTER_RE = re.compile(r"[A-DＡ-Ｄ]")
_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_FULLWIDTH_WORD = re.compile(r"[Ａ-Ｚａ-ｚ０-９]")
_OPENERS = frozenset("(（【「[")
_FOLLOWERS = frozenset("）)】」]、，。；：,.;:")


def _option_letters(body: str) -> set[str]:
    """Letters A-D that name an option in ``body`` (see ``_LETTER_RE``'s comment)."""
    letters: set[str] = set()
    for m in _LETTER_RE.finditer(body):
        i = m.start()
        before = body[i - 1] if i else ""
        after = body[i + 1] if i + 1 < len(body) else ""
        if any(c and (c in _WORD_CHARS or _FULLWIDTH_WORD.match(c)) for c in (before, after)):
            continue  # part of a word: "ABC", "B2", "Plan B's"
        named = (
            before in _OPENERS
            or body.endswith("选项", 0, i)
            or body[max(0, i - 8) : i].rstrip().lower().endswith("option")
        )
        if named or (after and ("\u4e00" <= after <= "\u9fff" or after in _FOLLOWERS)):
            letters.add(m.group().translate(TO_ASCII_LETTERS))
    return letters


_SENTENCE_SPLIT_RE = re.compile(r"[。！？!?；;\n]+")
_NOT_CONTENT_RE = re.compile(r"[\s\W_]+")
_REASON_START_RE = re.compile(r"理由\s*(?:\*\*)?\s*[:：]")
# What counts as the reasoning's own words: Chinese characters and digits (an answer in
# English or one made of letters and symbols says nothing to a Chinese reader).
_NOT_CHINESE_RE = re.compile(r"[^\u3400-\u9fff\uf900-\ufaff0-9０-９]+")

# Substance: Chinese characters the reasoning adds, not connectives nor text copied from the
# question or options (a run of COPY_CHARS or more characters found there).
MIN_SUBSTANCE, GOOD_SUBSTANCE = 10, 40
COPY_CHARS, COPY_GRAM = 8, 6
# Length: every content character (whitespace and punctuation excluded); far longer loses.
LONG_CHARS, MAX_CHARS = 600, 2000
LONG_FLOOR = 0.2
# Repetition: share of repeated character 4-grams natural prose reaches anyway.
NGRAM = 4
REPEAT_ALLOWANCE = 0.2
# Stuffing: connectives making up more than this share of the characters.
MARKER_DENSITY_LIMIT = 0.25
# How much of the analysis the first option's content needs to match ("憲法增修條文...").
_OPTION_KEY_CHARS = 6


def _length_factor(substance: int, n: int) -> float:
    """0 without substance, rising to 1 at GOOD_SUBSTANCE; falling past LONG_CHARS in all."""
    if substance < MIN_SUBSTANCE:
        return 0.0
    short = min(1.0, (substance - MIN_SUBSTANCE) / (GOOD_SUBSTANCE - MIN_SUBSTANCE))
    if n <= LONG_CHARS:
        return short
    if n >= MAX_CHARS:
        return short * LONG_FLOOR
    return short * (1.0 - (1.0 - LONG_FLOOR) * (n - LONG_CHARS) / (MAX_CHARS - LONG_CHARS))


@lru_cache(maxsize=1024)
def _copy_grams(source: str) -> frozenset[str]:
    """Every COPY_GRAM-character run of the question and options (Simplified, no punctuation)."""
    text = _NOT_CONTENT_RE.sub("", to_simplified(source))
    return frozenset(text[i : i + COPY_GRAM] for i in range(len(text) - COPY_GRAM + 1))


def _copied_chars(content: str, sample: Sample | None) -> int:
    """Characters of ``content`` in runs of COPY_CHARS or more found in the question or options."""
    options = getattr(sample, "options", None) or {}
    question = as_text(getattr(sample, "question", None))
    if not question and not options:
        return 0
    grams = _copy_grams("\n".join([question, *(as_text(v) for v in options.values())]))
    last = len(content) - COPY_GRAM + 1
    # A copied run of COPY_CHARS holds a gram starting at a multiple of the stride, so most
    # answers (nothing copied) cost one sampled set intersection and no per-character work.
    stride = COPY_CHARS - COPY_GRAM + 1
    if grams.isdisjoint([content[i : i + COPY_GRAM] for i in range(0, last, stride)]):
        return 0
    copied, run_start, run_end = 0, 0, -1
    for i in range(last):
        if content[i : i + COPY_GRAM] in grams:
            if i > run_end:  # a new run; count the one before if long enough
                copied += run_end - run_start if run_end - run_start >= COPY_CHARS else 0
                run_start = i
            run_end = i + COPY_GRAM
    return copied + (run_end - run_start if run_end - run_start >= COPY_CHARS else 0)


@lru_cache(maxsize=4096)
def _option_key(option_text: str) -> str:
    return _NOT_CONTENT_RE.sub("", to_simplified(option_text))[:_OPTION_KEY_CHARS]


def _repetition(content: str, sentences: list[str]) -> tuple[float, float]:
    """(share of repeated 4-grams, share of duplicated sentences)."""
    total = len(content) - NGRAM + 1
    ngram_repeat = 0.0
    if total >= 20:
        unique = len({content[i : i + NGRAM] for i in range(total)})
        ngram_repeat = 1.0 - unique / total
    sentence_repeat = 0.0
    if len(sentences) >= 2:
        sentence_repeat = 1.0 - len(set(sentences)) / len(sentences)
    return ngram_repeat, sentence_repeat


def _explain_reasoning(
    completion: object, sample: Sample | None = None
) -> tuple[float, dict[str, Any]]:
    text = as_text(completion)
    letter, _ = extract(text)
    reason = _REASON_START_RE.search(text)
    body = to_simplified(text)[reason.end() :] if reason else to_simplified(text)
    content = _NOT_CONTENT_RE.sub("", body)
    n = len(content)

    found = _MARKER_RE.findall(body)
    markers = sorted(set(found), key=found.index)
    both_sides = _BOTH_SIDES_RE.search(body) is not None
    marker_count = len(markers) + (2 if both_sides else 0)
    marker_score = min(marker_count, 4) / 4
    marker_chars = sum(map(len, found)) + (8 if both_sides else 0)
    density = marker_chars / n if n else 0.0
    if density > MARKER_DENSITY_LIMIT:
        marker_score *= max(0.0, 1.0 - (density - MARKER_DENSITY_LIMIT) / MARKER_DENSITY_LIMIT)

    discussed = _option_letters(body)
    options = getattr(sample, "options", None) or {}
    for key, option_text in options.items():
        option_key = _option_key(as_text(option_text))
        if len(option_key) >= 2 and option_key in content:
            discussed.add(str(key).strip().upper())
    others = sorted(discussed - {letter} & set(mcq.LETTERS))
    option_score = min(len(others), 2) / 2

    sentences = [s for s in map(str.strip, _SENTENCE_SPLIT_RE.split(body)) if len(s) >= 4]
    ngram_repeat, sentence_repeat = _repetition(content, sentences)
    repeat = max(ngram_repeat - REPEAT_ALLOWANCE, sentence_repeat, 0.0)
    repetition_factor = max(0.0, 1.0 - 1.5 * repeat)
    copied = _copied_chars(content, sample)
    chinese = len(_NOT_CHINESE_RE.sub("", content))
    substance = max(0, chinese - sum(map(len, found)) - copied)
    length_factor = _length_factor(substance, n)

    score = length_factor * repetition_factor * (0.2 + 0.5 * marker_score + 0.3 * option_score)
    details = {
        "markers": markers + (["一方面…另一方面"] if both_sides else []),
        "other_options_discussed": others,
        "length": n,
        "substance": substance,
        "copied_from_question": copied,
        "length_factor": round(length_factor, 4),
        "repeated_ngrams": round(ngram_repeat, 4),
        "repeated_sentences": round(sentence_repeat, 4),
        "repetition_factor": round(repetition_factor, 4),
        "marker_density": round(density, 4),
    }
    return round(min(1.0, max(0.0, score)), 6), details


@component(
    "reasoning",
    "Real reasoning: connectives, discussion of other options, sensible length, no repetition.",
    explain=_explain_reasoning,
)
def reasoning(completion: object, sample: Sample | None = None) -> float:
    """Reward an argued answer rather than a bare letter or a pile of keywords.

    The reasoning is the text after ``理由：`` (the whole completion when there is none),
    read in Simplified script. Its score is
    ``length × repetition × (0.2 + 0.5 × markers + 0.3 × options)`` where:

    - ``markers``: distinct argument connectives (因為, 所以, 首先, 其次, 因此, 然而, 但是,
      根據, 例如 …; a ``一方面…另一方面`` pair counts as two more), up to 4, divided by 4.
      If connectives make up over 25% of the characters (keyword stuffing) this part shrinks
      linearly to 0 at 50%.
    - ``options``: other options analysed, up to 2, divided by 2. An option counts when its
      letter is named as an option (``選項B``, ``(C)``, ``D的說法``, ``C與D``; not ``ABC公司``
      or a capital in English text) or its text (first 6 characters) is quoted; the option
      the completion picks does not count.
    - ``length``: what the reasoning says of its own, its *substance*: Chinese characters
      (and digits) that are neither connectives nor copied from the question or options (a
      run of 8 or more characters found there). 0 under 10, rising to 1 at 40. So English,
      connectives strung together or the question pasted back earn nothing. Past 600
      characters in all (whitespace and punctuation excluded) it falls, to 0.2 at 2,000.
    - ``repetition``: ``1 - 1.5 × r`` (at least 0), where ``r`` is the larger of the share of
      duplicated sentences and the share of repeated character 4-grams above 20%.

    Args:
        completion: The model's answer text (``None``/``NaN`` count as empty).
        sample: Its ``options`` (when given) let quoted option text count as analysis; its
            ``question`` and ``options`` are what copied text is measured against.

    Returns:
        The score in [0, 1].

    Example:
        >>> reasoning("答案：B\\n理由：首先，憲法增修條文規定立法委員任期為四年；其次，選項A的"
        ...           "三年是修憲以前的舊制，因此不符合現行規定；然而C與D則混淆了總統與立委的"
        ...           "任期規定。所以綜合比較之後應該選B。")
        1.0
        >>> reasoning("答案：B")
        0.0
        >>> reasoning("理由：因為所以首先其次因此然而因為所以首先其次因此然而") < 0.05
        True
        >>> reasoning("答案：B\\n理由：First, the constitution sets a four-year term; option A "
        ...           "is the old rule, so B is right.")
        0.0
        >>> q = Sample(question="立法委員的任期為幾年？", options={"A": "三年", "B": "四年"})
        >>> reasoning("答案：B\\n理由：因為立法委員的任期為幾年？所以選項A三年，因此B四年。", q)
        0.0
    """
    return _explain_reasoning(completion, sample)[0]


# ---------------------------------------------------------------------- seed
SEED_ANSWER_MARKERS: tuple[str, ...] = ("答案：", "Answer:")
SEED_REASON_MARKERS: tuple[str, ...] = ("理由：", "因為", "根據")
SEED_NEUTRAL_WORDS: tuple[str, ...] = ("可能", "相對", "不同觀點", "平衡")
SEED_ABSOLUTE_WORDS: tuple[str, ...] = ("絕對", "必須", "唯一", "錯誤")


def _explain_seed(completion: object, sample: Sample | None = None) -> tuple[float, dict[str, Any]]:
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
    return round(score, 6), details


@component(
    "seed",
    "The competition's original formula (base 0.5, marker bonuses, floor 0.7 with a letter).",
    explain=_explain_seed,
)
def seed(completion: object, sample: Sample | None = None) -> float:
    """Reproduce the competition recipe's reward exactly, substring semantics and all.

    Start at 0.5; +0.3 if the text contains ``答案：`` or ``Answer:``; +0.2 if it contains
    ``理由：``, ``因為`` or ``根據``; +0.1 if more of 可能, 相對, 不同觀點, 平衡 occur in it
    than of 絕對, 必須, 唯一, 錯誤 (each word counted once, as a substring, so 不可能 counts as
    可能); then, if ``mcq.extract_answer`` finds a letter, at least 0.7; at most 1.0.

    Args:
        completion: The model's answer text (``None``/``NaN`` count as empty).
        sample: Unused; part of the component signature.

    Returns:
        The score in [0.5, 1].

    Example:
        >>> seed("答案：B\\n理由：這可能有不同觀點。")
        1.0
        >>> seed("B")
        0.7
        >>> seed("")
        0.5
    """
    return _explain_seed(completion, sample)[0]
