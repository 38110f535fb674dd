"""Numbers shared by the score and compare reports, and how they are written out."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from evals.data import ScoredRow, ScoredRun
from evals.stats import wilson_interval
from mcq.files import spreadsheet_safe
from mcq.tables import missing

__all__ = [
    "Accuracy",
    "accuracy",
    "ambiguous_count",
    "column",
    "fmt",
    "pct",
    "rows_to_csv",
    "short",
]


@dataclass(frozen=True)
class Accuracy:
    """Share of questions whose submitted letter equals gold, with a 95% Wilson interval."""

    correct: int
    n: int
    low: float
    high: float

    @property
    def value(self) -> float:
        """Accuracy as a fraction (NaN without questions)."""
        return self.correct / self.n if self.n else float("nan")

    def text(self) -> str:
        """``"45.0% (95% CI 25.8–65.8%; 9/20)"``."""
        return f"{pct(self.value)} (95% CI {pct(self.low, sign=False)}–{pct(self.high)}; {self.correct}/{self.n})"


def accuracy(rows: list[ScoredRow]) -> Accuracy | None:
    """Accuracy over the rows that have gold; None when none has."""
    judged = [row.correct for row in rows if row.correct is not None]
    if not judged:
        return None
    correct = sum(1 for ok in judged if ok)
    low, high = wilson_interval(correct, len(judged))
    return Accuracy(correct, len(judged), low, high)


def ambiguous_count(rows: list[ScoredRow]) -> int:
    """Responses offering several letters as the answer (``mcq.extract_answer``'s ``ambiguous``).

    They have no letter, correctness 0, and generation re-asks them with the constrained choice.
    """
    return sum(1 for row in rows if row.answer_rule == "ambiguous")


def column(run: ScoredRun, name: str) -> list[float | None]:
    """Scores of one component (or ``"total"``) in row order."""
    if name == "total":
        return [row.total for row in run.rows]
    return [row.components.get(name) for row in run.rows]


def fmt(value: float | None, digits: int = 3) -> str:
    """A score with fixed decimals, ``—`` for missing or NaN."""
    if missing(value):
        return "—"
    return f"{value:.{digits}f}"


def signed(value: float | None, digits: int = 3) -> str:
    """A difference with an explicit sign; one that rounds to zero is ``0.000``, unsigned."""
    if missing(value):
        return "—"
    text = f"{value:+.{digits}f}"
    return text[1:] if float(text) == 0 else text


def pct(value: float | None, *, sign: bool = True) -> str:
    """A fraction as a percentage with one decimal (``0.4567`` → ``45.7%``)."""
    if missing(value):
        return "—"
    return f"{value * 100:.1f}" + ("%" if sign else "")


def short(text: str | None, limit: int = 60) -> str:
    """One line of at most ``limit`` characters."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _text_cell(value: object) -> object:
    return spreadsheet_safe(value) if isinstance(value, str) else value


def rows_to_csv(header: list[str], rows: list[list[object]]) -> str:
    """CSV text (UTF-8, ``\\n`` line ends); None becomes an empty cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(
            [
                "" if v is None else f"{v:.6g}" if isinstance(v, float) else _text_cell(v)
                for v in row
            ]
        )
    return buffer.getvalue()
