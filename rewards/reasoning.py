"""The ``reasoning`` component: real argument in Chinese, not length, connectives or copied text.

One pure function of the completion and its :class:`~rewards.registry.Sample`; its
:class:`~rewards.registry.Scored` carries the details the CLI and the app show (called
directly, it gives the score only).
"""

from __future__ import annotations

import re
from functools import lru_cache

import mcq
from mcq.records import TO_ASCII_LETTERS
from rewards.registry import Sample, Scored, component
from rewards.text import as_text, extract, to_simplified
from rewards.text import content as _content

__all__ = ["reasoning"]


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
    text = _content(to_simplified(source))
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
    return _content(to_simplified(option_text))[:_OPTION_KEY_CHARS]


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


@component(
    "reasoning",
    "Real reasoning: connectives, discussion of other options, sensible length, no repetition.",
)
def reasoning(completion: object, sample: Sample | None = None) -> Scored:
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
        The score in [0, 1], with each factor above and what it counted (markers found,
        other options discussed, substance, repetition) as its details (called directly:
        the score).

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
    text = as_text(completion)
    letter, _ = extract(text)
    reason = _REASON_START_RE.search(text)
    body = to_simplified(text)[reason.end() :] if reason else to_simplified(text)
    content = _content(body)
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
    return Scored(round(min(1.0, max(0.0, score)), 6), details)
