"""The ``neutrality`` component: balanced, hedged wording up; absolute and loaded words down.

How a completion is read:

1. **One script.** The text is converted to Simplified Chinese with OpenCC (``t2s``), and so
   is every lexicon term, so one Traditional-Chinese lexicon serves both scripts and the
   same sentence in either script gets the same score. The conversion keeps the length, so
   spans found in the converted text are spans in the original.
2. **Candidates.** One precompiled regular expression (a trie of every term, longest first)
   finds every place a lexicon term occurs as a substring.
3. **Whole words.** A candidate counts only if jieba, with every lexicon term added to its
   dictionary, cuts the text at both ends of it: ``可能`` inside ``可能性``, ``相對`` inside
   ``相對論`` or ``絕對`` inside ``絕對值`` is not the word. jieba cuts each run of
   Chinese/alphanumeric characters independently, so only the runs that hold a candidate are
   cut (HMM off, results cached), which gives the same words as cutting the whole text at a
   fraction of the cost. Runs longer than 64 characters are cut in a window of 24
   characters either side of the candidate.
4. **Negation.** If the word just before a term is a negator (``不``, ``沒有``, ``並非``,
   ``未``…; ``並``+``沒有`` joins into ``並沒有``), the term is negated and its meaning
   flips: a negated hedge counts as absolute (``不可能``), a negated absolute counts as a
   hedge (``並非唯一``, ``不一定``, ``沒有錯誤``). A loaded term stays loaded when negated
   (``他不是賣國賊`` still frames the discussion with the label).
5. **Saturation.** Hedging earns less with every term and, past about one hedge per 25
   characters (four are always free), counts against the text: spam is not balance.

The lexicons are plain text files in ``assets/lexicon/`` (``neutral.txt``, ``absolute.txt``,
``loaded.txt``, ``negators.txt``); a preset may point ``settings.neutrality.lexicon`` at
another directory, or map single categories to other files.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rewards.lexicon import CATEGORIES, NeutralityLexicon, TermMatch, load_lexicon
from rewards.lexicon import DEFAULT_LEXICON_DIR as DEFAULT_LEXICON_DIR  # its old home
from rewards.lexicon import LEXICON_FILES as LEXICON_FILES  # its old home
from rewards.registry import Sample, Scored, component
from rewards.text import as_text, content, to_simplified

__all__ = ["NeutralityLexicon", "load_lexicon", "neutrality", "neutrality_score"]

# The score rule's constants (see ``neutrality_score``).
NO_TERMS_SCORE = 0.7
HEDGE_GAIN = 0.3
ABSOLUTE_LOSS = 0.4
LOADED_FACTOR = 0.5
HEDGE_REPEATS_COUNTED = 2
# Hedging saturates, then it is spam: up to HEDGES_FREE hedges plus one per CHARS_PER_HEDGE
# characters are fine; each one beyond takes 1/allowance of the score away.
HEDGES_FREE = 4
CHARS_PER_HEDGE = 25


# ---------------------------------------------------------------------- scoring
def neutrality_score(matches: Iterable[TermMatch], chars: int | None = None) -> float:
    """Turn matched terms into a score in [0, 1] (the rule :func:`neutrality` documents).

    Args:
        matches: The terms found in a text.
        chars: The text's length without whitespace and punctuation; when given, hedges
            beyond ``4 + chars / 25`` are penalised as spam.

    Example:
        >>> neutrality_score([])
        0.7
        >>> neutrality_score([TermMatch("可能", "neutral", 0, 2, effect="neutral")])
        0.85
        >>> hedges = ["可能", "或許", "相對", "平衡", "多元", "權衡", "客觀", "持平"]
        >>> spam = [TermMatch(t, "neutral", 0, 2, effect="neutral") for t in hedges]
        >>> neutrality_score(spam), neutrality_score(spam, chars=16), neutrality_score(spam, 200)
        (0.966667, 0.266667, 0.966667)
    """
    hedges: dict[str, int] = {}
    absolute = loaded = 0
    for match in matches:
        effect = match.effect or match.category
        if effect == "loaded":
            loaded += 1
        elif effect == "absolute":
            absolute += 1
        else:
            key = f"{match.negated}:{to_simplified(match.term)}"
            hedges[key] = hedges.get(key, 0) + 1
    neutral = sum(min(n, HEDGE_REPEATS_COUNTED) for n in hedges.values())
    balance = (neutral - absolute) / (neutral + absolute + 1)
    score = NO_TERMS_SCORE + (HEDGE_GAIN if balance >= 0 else ABSOLUTE_LOSS) * balance
    score *= LOADED_FACTOR**loaded
    if chars is not None:
        allowed = HEDGES_FREE + chars / CHARS_PER_HEDGE
        excess = sum(hedges.values()) - allowed
        if excess > 0:
            score *= max(0.0, 1.0 - excess / allowed)
    return round(min(1.0, max(0.0, score)), 6)


@component(
    "neutrality",
    "Balanced, hedged wording scores high; absolute claims lower; loaded labels pull it down hard.",
    paths=("lexicon",),
)
def neutrality(completion: object, sample: Sample | None = None, *, lexicon: Any = None) -> Scored:
    """Reward neutral, balanced wording; penalise absolute claims and loaded labels.

    Terms come from the lexicon files and count only as whole words, in either script, with
    negation flipping their meaning (see the module docstring for how text is read). Then:

    - ``N`` = hedges: neutral terms plus negated absolutes, each distinct term counted at most
      twice (saying 可能 ten times is not ten times as balanced);
    - ``A`` = absolutes: absolute terms plus negated hedges, every occurrence;
    - ``L`` = loaded terms, every occurrence, negated or not;
    - ``balance = (N - A) / (N + A + 1)``, in (-1, 1);
    - ``score = (0.7 + 0.3 * balance if balance >= 0 else 0.7 + 0.4 * balance) * 0.5 ** L``;
    - hedge spam: with ``H`` hedges in all (every occurrence) and ``n`` characters (whitespace
      and punctuation excluded), up to ``allowed = 4 + n / 25`` are fine; beyond that the
      score is multiplied by ``max(0, 1 - (H - allowed) / allowed)``: a text made of hedge
      words (可能、或許、相對、不同觀點…) with nothing said loses, and soon scores 0.

    A text with no lexicon terms gets 0.7 (neutral wording, nothing to credit); one hedge
    gives 0.85, one absolute 0.5, and each loaded term halves the score.

    Args:
        completion: The model's answer text (``None``/``NaN`` count as empty).
        sample: Unused; part of the component signature.
        lexicon: ``None`` for the shipped lexicon, a lexicon directory, a mapping of category
            to file, or a :class:`NeutralityLexicon`.

    Returns:
        The score in [0, 1], with the matched ``terms`` (spans into the completion) and
        their ``counts`` as its details (called directly: the score).

    Example:
        >>> neutrality("這個問題存在不同觀點，或許需要權衡。")
        0.925
        >>> neutrality("這是唯一正確的看法，反對者都是賣國賊。")
        0.25
        >>> neutrality("這並非唯一的看法。") == neutrality("这并非唯一的看法。")
        True
        >>> neutrality("可能、或許、相對、不同觀點、平衡、多元、權衡、持平。")
        0.294915
        >>> neutrality("可能、或許、相對、不同觀點、平衡、多元、權衡、持平、客觀、兼顧、審慎、中立。")
        0.0
    """
    lex = lexicon if isinstance(lexicon, NeutralityLexicon) else load_lexicon(lexicon)
    text = as_text(completion)
    matches = lex.find(text)
    counts = dict.fromkeys(CATEGORIES, 0)
    for match in matches:
        counts[match.effect or match.category] += 1
    details: dict[str, Any] = {"terms": [m.as_dict() for m in matches], "counts": counts}
    chars = None  # only a text with more than HEDGES_FREE hedges can be spam
    if counts["neutral"] > HEDGES_FREE:
        chars = len(content(text))
        details["hedges_allowed"] = round(HEDGES_FREE + chars / CHARS_PER_HEDGE, 2)
    return Scored(neutrality_score(matches, chars), details)
