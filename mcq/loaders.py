"""Load and validate question files (the training TSV, test TSV/CSV, and the same columns or
C-Eval's as JSON, Parquet or a dataset: :func:`mcq.tables.read_table`).

Every problem a user can cause is reported with its 1-based file line and a reason, as one
:class:`DataError` line, or kept as a list by :func:`validate_file`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal

from mcq.errors import DataError
from mcq.records import LETTERS, Question, normalize_letter
from mcq.tables import COLUMN_ALIASES, canonical_column, read_table, row_id

__all__ = [
    "COLUMN_ALIASES",
    "DataError",
    "canonical_column",
    "load_gold",
    "load_test",
    "load_train",
    "read_gold",
    "validate_file",
]

log = logging.getLogger(__name__)

Kind = Literal["train", "test"]

_OPTION_COLUMNS = tuple(f"option_{letter}" for letter in LETTERS)

_REQUIRED: dict[str, tuple[str, ...]] = {
    "train": ("question", *_OPTION_COLUMNS, "correct_answer"),
    "test": ("id", "question", *_OPTION_COLUMNS),
}
_SHOWN_PROBLEMS = 5


def load_train(path: str | os.PathLike[str], *, skip_invalid: bool = False) -> list[Question]:
    """Load a training file (question, option_A..D, correct_answer, reasoning, optional id).

    Rows without an id are numbered from 1 (:func:`mcq.tables.row_id`). Raises :class:`DataError` listing
    every invalid row, unless ``skip_invalid`` is true: then valid rows are returned and the
    number dropped is logged as a warning.
    """
    return _load(path, "train", skip_invalid)


def load_test(path: str | os.PathLike[str], *, skip_invalid: bool = False) -> list[Question]:
    """Load a test file (id, question, option_A..D, optional correct_answer); see :func:`load_train`."""
    return _load(path, "test", skip_invalid)


def read_gold(
    path: str | os.PathLike[str],
) -> tuple[dict[str, str], dict[str, Question]]:
    """Gold letters by id, and the questions when the file is a test file with answers.

    Two shapes are read: a table ``id,correct_answer`` (CSV or TSV, ``answer`` and the other
    :data:`COLUMN_ALIASES` accepted, full-width letters normalised), or a test file
    (``id, question, option_A..D, correct_answer``) whose every question has its answer. Raises
    :class:`DataError` listing bad rows (missing id, letter not in A-D, duplicate id).

    Example:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as fh:
        ...     _ = fh.write("ID,Answer\\nq1,Ｂ\\nq2,c\\n")
        >>> read_gold(fh.name)
        ({'q1': 'B', 'q2': 'C'}, {})
        >>> os.remove(fh.name)
    """
    table = read_table(path)
    columns = table.columns()
    if "question" in columns and "option_A" in columns:
        questions = load_test(path)
        if not questions:
            raise DataError(f"{path}: gold file has a header but no rows")
        missing = [q.id for q in questions if q.correct_answer is None]
        if missing:
            raise DataError(
                f"{path}: {len(missing)} question(s) have no correct_answer (first: {missing[0]})"
            )
        return {q.id: q.correct_answer or "" for q in questions}, {q.id: q for q in questions}
    if "id" not in columns or "correct_answer" not in columns:
        found = ", ".join(cell.strip() for cell in table.header)
        raise DataError(
            f"{path}: gold file needs columns id and correct_answer (or answer); header has: {found}"
        )
    gold: dict[str, str] = {}
    problems: list[tuple[int, str]] = []
    for line, cells in table.rows:
        cells = cells + [""] * (len(table.header) - len(cells))
        id_cell = cells[columns["id"]].strip()
        raw = cells[columns["correct_answer"]]
        letter = normalize_letter(raw)
        if not id_cell:
            problems.append((line, "missing id"))
        elif letter is None:
            problems.append((line, f"answer {raw.strip()!r} not in A-D"))
        elif id_cell in gold:
            problems.append((line, f"duplicate id {id_cell!r}"))
        else:
            gold[id_cell] = letter
    if problems:
        shown = "; ".join(f"{table.where(line)}: {reason}" for line, reason in problems[:3])
        if len(problems) > 3:
            shown += f"; ... and {len(problems) - 3} more"
        raise DataError(f"{path}: {len(problems)} bad gold row(s) ({shown})", problems)
    if not gold:
        raise DataError(f"{path}: gold file has a header but no rows")
    return gold, {}


def load_gold(path: str | os.PathLike[str]) -> dict[str, str]:
    """Gold letters by id from ``id,correct_answer`` CSV/TSV or a test file (see :func:`read_gold`)."""
    return read_gold(path)[0]


def validate_file(
    path: str | os.PathLike[str], kind: Kind = "train"
) -> tuple[list[Question], list[tuple[int, str]]]:
    """Return the valid questions of a file and every ``(line, reason)`` problem in it.

    Problems with the file as a whole (missing, unreadable, no header, missing columns) still
    raise :class:`DataError`, since no row can be checked. A problem's number is the file line,
    or the row of a Parquet file or dataset (the item of a JSON array).
    """
    questions, problems, _ = _validate(path, kind)
    return questions, problems


def _validate(
    path: str | os.PathLike[str], kind: Kind
) -> tuple[list[Question], list[tuple[int, str]], str]:
    if kind not in _REQUIRED:
        raise ValueError(f"kind must be 'train' or 'test', not {kind!r}")
    table = read_table(path, what="TSV or CSV file")
    columns = _map_header(table.path, table.header, kind)

    questions: list[Question] = []
    problems: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for number, (line, cells) in enumerate(table.rows, 1):
        question, reason = _parse_row(cells, line, number, len(table.header), columns, kind)
        if question is not None and question.id in seen:
            question, reason = (
                None,
                f"duplicate id {question.id!r} (first on line {seen[question.id]})",
            )
        if question is None:
            problems.append((line, reason))
        else:
            seen[question.id] = line
            questions.append(question)
    return questions, problems, table.unit


def _load(path: str | os.PathLike[str], kind: Kind, skip_invalid: bool) -> list[Question]:
    questions, problems, unit = _validate(path, kind)
    if problems and not skip_invalid:
        raise DataError(_summary(path, problems, unit), problems)
    if problems:
        log.warning("%s: dropped %d invalid row(s), kept %d", path, len(problems), len(questions))
    return questions


def _summary(
    path: str | os.PathLike[str], problems: list[tuple[int, str]], unit: str = "line"
) -> str:
    shown = "; ".join(f"{unit} {line}: {reason}" for line, reason in problems[:_SHOWN_PROBLEMS])
    more = len(problems) - _SHOWN_PROBLEMS
    if more > 0:
        shown += f"; ... and {more} more"
    noun = "row" if len(problems) == 1 else "rows"
    return f"{path}: {len(problems)} invalid {noun} ({shown})"


def _map_header(path: Path, header: list[str], kind: Kind) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, raw in enumerate(header):
        name = canonical_column(raw)
        if name is None:
            continue  # extra columns are ignored
        if name in columns:
            raise DataError(
                f"{path}: two columns map to {name!r} ({header[columns[name]]!r}, {raw!r})"
            )
        columns[name] = index
    missing = [name for name in _REQUIRED[kind] if name not in columns]
    if missing:
        found = ", ".join(cell.strip() for cell in header) or "nothing"
        raise DataError(
            f"{path}: missing required column(s) {', '.join(missing)} for a {kind} file "
            f"(header has: {found})"
        )
    return columns


def _parse_row(
    cells: list[str], line: int, number: int, width: int, columns: dict[str, int], kind: Kind
) -> tuple[Question | None, str]:
    extra = cells[width:]
    if len(cells) < width or any(cell.strip() for cell in extra):
        hint = " (unclosed quote?)" if any("\n" in cell for cell in cells) else ""
        return None, f"expected {width} columns, found {len(cells)}{hint}"

    def value(name: str) -> str:
        index = columns.get(name)
        return cells[index].strip() if index is not None else ""

    reasons = [
        f"empty {name}" if name.startswith("option_") else f"missing {name}"
        for name in _REQUIRED[kind]
        if not value(name)
    ]
    answer = normalize_letter(value("correct_answer"))
    if answer is None and value("correct_answer"):
        reasons.append(f"answer {_short(value('correct_answer'))} not in A-D")
    if reasons:
        return None, ", ".join(reasons)
    question = Question(
        id=row_id(value("id"), number),
        question=value("question"),
        options={letter: value(f"option_{letter}") for letter in LETTERS},
        correct_answer=answer,
        reasoning=value("reasoning") or None,
        line=line,
    )
    return question, ""


def _short(text: str, limit: int = 20) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
