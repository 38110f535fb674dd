"""The neutrality lexicon: terms found as whole words, in either script, with negation.

:class:`NeutralityLexicon` does steps 1-4 of reading a completion that
:mod:`rewards.neutrality` describes (one script, candidates, whole words, negation);
:func:`load_lexicon` reads the term files once and caches them by path and modification time.
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
from rewards.text import to_simplified

__all__ = [
    "CATEGORIES",
    "DEFAULT_LEXICON_DIR",
    "LEXICON_FILES",
    "NeutralityLexicon",
    "TermMatch",
    "lexicon_hashes",
    "load_lexicon",
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


def lexicon_hashes(
    spec: str | os.PathLike[str] | Mapping[str, str] | None = None,
) -> dict[str, str]:
    """SHA-256 of each file of the lexicon ``spec`` names (as :func:`load_lexicon`), by category.

    Example:
        >>> sorted(lexicon_hashes())
        ['absolute', 'loaded', 'negators', 'neutral']
    """
    from mcq.provenance import file_sha256

    hashes = {}
    for cat, path in sorted(_lexicon_files(spec).items()):
        try:
            hashes[cat] = file_sha256(path)
        except OSError:
            raise mcq.DataError(f"neutrality lexicon: {path} not found") from None
    return hashes


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
