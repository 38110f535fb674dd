"""Spot checks for a person: ``python -m evals sample`` and ``python -m evals neutrality``."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field

from evals.data import ScoredRow, ScoredRun
from evals.metrics import fmt
from evals.score_report import details_text
from mcq.errors import UsageError

__all__ = [
    "CONTEXT_CHARS",
    "TermUse",
    "format_sample",
    "neutrality_terms",
    "pick_sample",
    "render_terms",
]

#: Characters of context shown on each side of a lexicon term.
CONTEXT_CHARS = 15


def pick_sample(run: ScoredRun, n: int, seed: int | None) -> list[ScoredRow]:
    """``n`` rows drawn without replacement (all rows when there are fewer), in file order."""
    if n < 1:
        raise UsageError(f"-n must be at least 1, not {n}")
    k = min(n, len(run.rows))
    chosen = sorted(random.Random(seed).sample(range(len(run.rows)), k))
    return [run.rows[i] for i in chosen]


def format_sample(rows: list[ScoredRow], components: list[str]) -> str:
    """Rows as plain text: question and options if known, answer, response, reward breakdown."""
    blocks = []
    for number, row in enumerate(rows, start=1):
        lines = [f"── {number}/{len(rows)} · id {row.id} " + "─" * 30]
        if row.question:
            lines.append(f"問題 question: {row.question}")
        if row.options:
            lines += [f"  {letter}. {text}" for letter, text in row.options.items()]
        answer = row.answer or "—"
        submitted = (
            f" (submitted {row.submitted})" if row.submitted and row.submitted != row.answer else ""
        )
        gold = f"   gold {row.gold}" + (" ✓" if row.correct else " ✗") if row.gold else ""
        lines.append(f"答案 answer: {answer} [rule {row.answer_rule}]{submitted}{gold}")
        lines.append("回答 response:")
        lines += ["  " + line for line in (row.completion.strip() or "(empty)").splitlines()]
        parts = " · ".join(f"{c} {fmt(row.components.get(c))}" for c in components)
        lines.append(f"獎勵 reward: total {fmt(row.total)} = {parts}")
        extra = details_text(row)
        if extra:
            lines.append(f"  {extra}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


@dataclass
class TermUse:
    """How often one lexicon term was found across the completions."""

    term: str
    category: str
    count: int = 0
    negated: int = 0
    rows: set[str] = field(default_factory=set)
    examples: list[str] = field(default_factory=list)


def neutrality_terms(run: ScoredRun, *, examples: int = 3) -> list[TermUse]:
    """Aggregate ``details["neutrality"]["terms"]`` over every row, most frequent first.

    Raises:
        UsageError: when the preset did not score neutrality, so no details exist.
    """
    if not any(isinstance(row.details.get("neutrality"), dict) for row in run.rows):
        raise UsageError(
            f"preset {run.preset!r} reports no neutrality details; use a preset with the "
            "neutrality component (e.g. --preset default)"
        )
    uses: dict[tuple[str, str], TermUse] = {}
    for row in run.rows:
        for term in _terms(row):
            key = (str(term.get("term")), str(term.get("category")))
            use = uses.setdefault(key, TermUse(*key))
            use.count += 1
            use.negated += bool(term.get("negated"))
            use.rows.add(row.id)
            if len(use.examples) < examples:
                use.examples.append(_context(row, term))
    return sorted(uses.values(), key=lambda u: (-u.count, u.category, u.term))


def render_terms(uses: list[TermUse], top: int, rows: int) -> str:
    """A text table of the ``top`` terms with their example contexts."""
    if not uses:
        return f"no neutral, absolute or loaded terms found in {rows} completions\n"
    by_category: dict[str, int] = {}
    for use in uses:
        by_category[use.category] = by_category.get(use.category, 0) + use.count
    lines = [
        f"{sum(u.count for u in uses)} term uses in {rows} completions ("
        + ", ".join(f"{k} {v}" for k, v in sorted(by_category.items()))
        + f"); {len(uses)} distinct terms, top {min(top, len(uses))}:",
        "",
        f"{'#':>3}  {'term':<10} {'category':<9} {'count':>5} {'negated':>7} {'rows':>5}",
    ]
    for rank, use in enumerate(uses[:top], start=1):
        lines.append(
            f"{rank:>3}  {_pad(use.term, 10)} {use.category:<9} {use.count:>5} {use.negated:>7} "
            f"{len(use.rows):>5}"
        )
        lines += [f"       {example}" for example in use.examples]
    return "\n".join(lines) + "\n"


def _terms(row: ScoredRow) -> Iterable[dict]:
    info = row.details.get("neutrality")
    if not isinstance(info, dict):
        return []
    return [t for t in info.get("terms") or [] if isinstance(t, dict)]


def _context(row: ScoredRow, term: dict) -> str:
    text = row.completion
    start, end = term.get("start"), term.get("end")
    if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start <= end <= len(text):
        return f"[{row.id}] …{term.get('term')}…"
    before = text[max(0, start - CONTEXT_CHARS) : start]
    after = text[end : end + CONTEXT_CHARS]
    flat = " ".join(f"{before}【{text[start:end]}】{after}".split())
    lead = "…" if start > CONTEXT_CHARS else ""
    tail = "…" if end + CONTEXT_CHARS < len(text) else ""
    return f"[{row.id}] {lead}{flat}{tail}"


def _pad(text: str, width: int) -> str:
    # CJK characters take two terminal columns.
    cells = sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
    return text + " " * max(0, width - cells)
