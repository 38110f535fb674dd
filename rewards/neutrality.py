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

import bisect
import logging
import os
import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import mcq
from mcq.paths import LEXICON_DIR
from rewards.registry import Sample, component
from rewards.text import as_text, to_simplified

__all__ = [
    "CATEGORIES",
    "DEFAULT_LEXICON_DIR",
    "LEXICON_FILES",
    "NeutralityLexicon",
    "TermMatch",
    "load_lexicon",
    "neutrality",
    "neutrality_score",
]

#: Categories a matched term can have.
CATEGORIES: tuple[str, ...] = ("neutral", "absolute", "loaded")
#: Lexicon file of each category (and of the negators) inside a lexicon directory.
LEXICON_FILES: dict[str, str] = {
    "neutral": "neutral.txt",
    "absolute": "absolute.txt",
    "loaded": "loaded.txt",
    "negators": "negators.txt",
}
DEFAULT_LEXICON_DIR = LEXICON_DIR

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
_NOT_CONTENT_RE = re.compile(r"[\s\W_]+")

# jieba cuts runs of these characters independently (its ``re_han_default``).
_BLOCK_RE = re.compile(r"[\u4E00-\u9FD5a-zA-Z0-9+#&._%\-]+")
_LONG_BLOCK = 64
_WINDOW = 24

_FLIP = {"neutral": "absolute", "absolute": "neutral", "loaded": "loaded"}


@dataclass(frozen=True)
class TermMatch:
    """One lexicon term found as a whole word.

    Attributes:
        term: The text as it appears in the original completion.
        category: The term's lexicon category (``neutral``, ``absolute``, ``loaded``).
        start: Start offset in the original completion.
        end: End offset (exclusive).
        negated: True when a negator stands just before the term.
        effect: The category it counts as after negation (a negated hedge is ``absolute``).
        negator_start: Where the negator starts, when ``negated``.
    """

    term: str
    category: str
    start: int
    end: int
    negated: bool = False
    effect: str = ""
    negator_start: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON-friendly form the breakdown's details carry."""
        out: dict[str, Any] = {
            "term": self.term,
            "category": self.category,
            "start": self.start,
            "end": self.end,
            "negated": self.negated,
            "effect": self.effect or self.category,
        }
        if self.negated:
            out["negator_start"] = self.negator_start
        return out


class NeutralityLexicon:
    """Neutral, absolute and loaded terms plus negators, compiled for fast whole-word search.

    Build one with :func:`load_lexicon` (cached) rather than directly. Terms are given in
    either script; matching happens on the Simplified form. ``cache_blocks`` keeps jieba's
    cut of every text run seen (bounded); turn it off to measure the uncached cost.
    """

    def __init__(
        self,
        terms: Mapping[str, Iterable[str]],
        negators: Iterable[str] = (),
        *,
        source: str = "",
        cache_blocks: bool = True,
    ):
        self.source = source
        self.terms: dict[str, tuple[str, ...]] = {c: tuple(terms.get(c, ())) for c in CATEGORIES}
        self.negators: tuple[str, ...] = tuple(negators)
        self.category_of: dict[str, str] = {}
        for category in CATEGORIES:
            for term in self.terms[category]:
                key = to_simplified(term)
                other = self.category_of.get(key)
                if other is not None and other != category:
                    raise mcq.DataError(
                        f"lexicon term {term!r} is both {other} and {category}; keep it in one file"
                    )
                self.category_of[key] = category
        self._negators = {to_simplified(n) for n in self.negators}
        self._term_re = re.compile(_trie_pattern(self.category_of)) if self.category_of else None
        self._tokenizer: Any = None
        self._init_lock = threading.Lock()
        self.cache_blocks = cache_blocks
        self._cached_cut = lru_cache(maxsize=200_000)(self._cut)

    # ------------------------------------------------------------------ matching
    def find(self, text: str) -> list[TermMatch]:
        """Every lexicon term in ``text`` that stands as a whole word, in order of position.

        Example:
            >>> lex = load_lexicon()
            >>> [(m.term, m.category, m.negated) for m in lex.find("這並非唯一的可能性")]
            [('唯一', 'absolute', True)]
        """
        if self._term_re is None or not text:
            return []
        norm = to_simplified(text)
        candidates = self._candidates(norm)
        if not candidates:
            return []
        blocks = [(m.start(), m.end()) for m in _BLOCK_RE.finditer(norm)]
        block_starts = [b[0] for b in blocks]
        matches: list[TermMatch] = []
        cuts: dict[str, tuple[list[int], list[int]]] = {}  # runs holding several terms
        taken_until = 0
        for start, key in candidates:
            end = start + len(key)
            if start < taken_until:
                continue  # overlaps a term already matched
            index = bisect.bisect_right(block_starts, start) - 1
            if index < 0 or blocks[index][1] < end:
                continue  # not inside one run of word characters (cannot happen for CJK terms)
            offset, run_end = blocks[index]
            if run_end - offset > _LONG_BLOCK:
                offset, run_end = max(offset, start - _WINDOW), min(run_end, end + _WINDOW)
            run = norm[offset:run_end]
            cut = cuts.get(run)
            if cut is None:
                cut = cuts[run] = self._cached_cut(run) if self.cache_blocks else self._cut(run)
            found = self._whole_word(run, cut, start - offset, end - offset)
            if found is None:
                continue
            negator_start = None if found < 0 else offset + found
            category = self.category_of[key]
            negated = negator_start is not None
            matches.append(
                TermMatch(
                    term=text[start:end],
                    category=category,
                    start=start,
                    end=end,
                    negated=negated,
                    effect=_FLIP[category] if negated else category,
                    negator_start=negator_start,
                )
            )
            taken_until = end
        return matches

    def _candidates(self, norm: str) -> list[tuple[int, str]]:
        """Every (start, term) where a term occurs, the longest term at each start.

        A plain scan skips ahead fast but resumes after each hit, so positions inside a hit
        are tried separately ("一定程度" hides "程度"); there are few of them.
        """
        term_re = self._term_re
        assert term_re is not None
        found: list[tuple[int, str]] = []
        for m in term_re.finditer(norm):
            start, end = m.span()
            found.append((start, m.group()))
            for inner in range(start + 1, end):
                hit = term_re.match(norm, inner)
                if hit is not None:
                    found.append((inner, hit.group()))
        found.sort()
        return found

    def _whole_word(
        self, run: str, cut: tuple[list[int], list[int]], start: int, end: int
    ) -> int | None:
        """None if run[start:end] is not a whole word; else the negator's start, or -1."""
        starts, ends = cut
        end_at = bisect.bisect_left(ends, end)
        if end_at == len(ends) or ends[end_at] != end:
            return None
        at = bisect.bisect_right(starts, start) - 1  # the token holding `start`
        token_start = starts[at]
        if token_start == start:
            if at == 0:
                return -1
            before = starts[at - 1]
            if run[before:start] not in self._negators:
                return -1
            # "并" + "没有" -> "并没有": take the longer negator when the two tokens form one.
            if at >= 2 and run[starts[at - 2] : start] in self._negators:
                before = starts[at - 2]
            return before
        # jieba kept negator and term as one word ("没有错误"): negated if the head is a negator.
        if ends[at] == end and run[token_start:start] in self._negators:
            return token_start
        return None

    def _cut(self, run: str) -> tuple[list[int], list[int]]:
        """Token start and end offsets of jieba's cut of one run (no HMM)."""
        tokenizer = self._jieba()
        dag = tokenizer.get_DAG(run)
        route: dict[int, tuple[float, int]] = {}
        tokenizer.calc(run, dag, route)
        starts: list[int] = []
        ends: list[int] = []
        x, n = 0, len(run)
        while x < n:
            y = route[x][1] + 1
            starts.append(x)
            ends.append(y)
            x = y
        return starts, ends

    def _jieba(self) -> Any:
        """A private jieba tokenizer with every lexicon term in its dictionary, built once."""
        if self._tokenizer is None:
            with self._init_lock:
                if self._tokenizer is None:
                    import jieba

                    # jieba logs its dictionary loading at DEBUG to stderr; keep it quiet.
                    logging.getLogger("jieba").setLevel(logging.WARNING)
                    tokenizer = jieba.Tokenizer()
                    tokenizer.initialize()
                    for word in sorted({*self.category_of, *self._negators}):
                        if len(word) > 1 and not tokenizer.FREQ.get(word):
                            tokenizer.suggest_freq(word, tune=True)
                    self._tokenizer = tokenizer
        return self._tokenizer


def _trie_pattern(terms: Iterable[str]) -> str:
    """A regex matching any of ``terms``, the longest one first at each position.

    Example:
        >>> _trie_pattern(["相对", "相对而言", "平衡"])
        '(?:平衡|相对(?:而言)?)'
    """
    trie: dict[str, Any] = {}
    for term in terms:
        node = trie
        for ch in term:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        ends_here = "" in node
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends_here:
            return f"(?:{body})?" if len(branches) > 1 or len(body) > 1 else body + "?"
        return body

    return emit(trie)


# ---------------------------------------------------------------------- loading
def load_lexicon(
    spec: str | os.PathLike[str] | Mapping[str, str] | None = None,
) -> NeutralityLexicon:
    """Load (once per set of files) the lexicon a preset names.

    Args:
        spec: ``None`` for the shipped lexicon; a directory holding ``neutral.txt``,
            ``absolute.txt``, ``loaded.txt`` and ``negators.txt``; or a mapping from some of
            those categories to files, the rest coming from the shipped lexicon.

    Raises:
        mcq.DataError: a missing or unreadable file, or a term in two categories.
    """
    spec_key = tuple(sorted(spec.items())) if isinstance(spec, Mapping) else spec
    known = _recent.get(spec_key)
    now = time.monotonic()
    if known is not None and now - known[1] < _RECHECK_SECONDS:
        return known[0]
    files = _lexicon_files(spec)
    key = tuple((cat, str(path), _mtime(path)) for cat, path in sorted(files.items()))
    lexicon = _load_lexicon_files(key)
    if len(_recent) > 64:
        _recent.clear()
    _recent[spec_key] = (lexicon, now)
    return lexicon


# Lexicon files are looked at again (edited?) at most this often, not on every completion.
_RECHECK_SECONDS = 2.0
_recent: dict[Any, tuple[NeutralityLexicon, float]] = {}


@lru_cache(maxsize=8)
def _load_lexicon_files(key: tuple[tuple[str, str, float], ...]) -> NeutralityLexicon:
    files = {cat: Path(path) for cat, path, _ in key}
    terms = {cat: _read_terms(files[cat]) for cat in CATEGORIES}
    negators = _read_terms(files["negators"])
    source = ", ".join(f"{cat}={files[cat]}" for cat in LEXICON_FILES)
    return NeutralityLexicon(terms, negators, source=source)


def _lexicon_files(spec: str | os.PathLike[str] | Mapping[str, str] | None) -> dict[str, Path]:
    files = {cat: DEFAULT_LEXICON_DIR / name for cat, name in LEXICON_FILES.items()}
    if spec is None:
        return files
    if isinstance(spec, Mapping):
        unknown = sorted(set(spec) - set(LEXICON_FILES))
        if unknown:
            raise mcq.DataError(
                f"neutrality lexicon: unknown categories {unknown}; use {list(LEXICON_FILES)}"
            )
        files.update({cat: Path(path) for cat, path in spec.items()})
        return files
    directory = Path(spec)
    if not directory.is_dir():
        raise mcq.DataError(f"neutrality lexicon: {directory} is not a directory")
    return {cat: directory / name for cat, name in LEXICON_FILES.items()}


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return -1.0


def _read_terms(path: Path) -> list[str]:
    """One term a line; ``#`` starts a comment; blank lines are skipped."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise mcq.DataError(f"neutrality lexicon: {path} not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise mcq.DataError(f"neutrality lexicon: cannot read {path} ({err})") from None
    terms: list[str] = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if fields:
            terms.append(fields[0])
    return list(dict.fromkeys(terms))


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


def _explain_neutrality(
    completion: object, sample: Sample | None = None, *, lexicon: Any = None
) -> tuple[float, dict[str, Any]]:
    lex = lexicon if isinstance(lexicon, NeutralityLexicon) else load_lexicon(lexicon)
    text = as_text(completion)
    matches = lex.find(text)
    counts = dict.fromkeys(CATEGORIES, 0)
    for match in matches:
        counts[match.effect or match.category] += 1
    details: dict[str, Any] = {"terms": [m.as_dict() for m in matches], "counts": counts}
    chars = None  # only a text with more than HEDGES_FREE hedges can be spam
    if counts["neutral"] > HEDGES_FREE:
        chars = len(_NOT_CONTENT_RE.sub("", text))
        details["hedges_allowed"] = round(HEDGES_FREE + chars / CHARS_PER_HEDGE, 2)
    return neutrality_score(matches, chars), details


@component(
    "neutrality",
    "Balanced, hedged wording scores high; absolute claims lower; loaded labels pull it down hard.",
    explain=_explain_neutrality,
)
def neutrality(completion: object, sample: Sample | None = None, *, lexicon: Any = None) -> float:
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
        The score in [0, 1].

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
    return _explain_neutrality(completion, sample, lexicon=lexicon)[0]
