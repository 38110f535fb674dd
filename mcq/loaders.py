"""Load and validate question files (the training TSV, test TSV/CSV).

Every problem a user can cause is reported with its 1-based file line and a reason, as one
:class:`DataError` line, or kept as a list by :func:`validate_file`.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from mcq.errors import UsageError
from mcq.records import LETTERS, Question

__all__ = [
    "COLUMN_ALIASES",
    "DataError",
    "canonical_column",
    "load_test",
    "load_train",
    "validate_file",
]

log = logging.getLogger(__name__)

Kind = Literal["train", "test"]

_OPTION_COLUMNS = tuple(f"option_{letter}" for letter in LETTERS)

_HEADER_SEP = re.compile(r"[\s\-]+")

#: Canonical column name -> accepted header spellings. Headers are compared stripped,
#: lowercased, with runs of spaces or hyphens read as "_" ("Option A" == "option_a").
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "qid", "question_id"),
    "question": ("question",),
    **{
        f"option_{letter}": (f"option_{letter.lower()}", f"option {letter.lower()}", letter.lower())
        for letter in LETTERS
    },
    "correct_answer": ("correct_answer", "correct answer", "answer"),
    "reasoning": ("reasoning",),
}
_CANONICAL = {
    _HEADER_SEP.sub("_", alias): name
    for name, aliases in COLUMN_ALIASES.items()
    for alias in aliases
}

_REQUIRED: dict[str, tuple[str, ...]] = {
    "train": ("question", *_OPTION_COLUMNS, "correct_answer"),
    "test": ("id", "question", *_OPTION_COLUMNS),
}
_TO_ASCII = str.maketrans("ＡＢＣＤａｂｃｄ", "ABCDABCD")
_SHOWN_PROBLEMS = 5


class DataError(UsageError):
    """A problem with an input file that the user can fix.

    ``str(err)`` is one line for the user; ``err.problems`` lists ``(line, reason)`` pairs
    (line 0 when the problem concerns the whole file).
    """

    def __init__(self, message: str, problems: list[tuple[int, str]] | None = None):
        super().__init__(" ".join(message.split()))
        self.problems: list[tuple[int, str]] = list(problems or [])


def canonical_column(header: str) -> str | None:
    """Return the canonical name of a header cell (``" Option A "`` -> ``"option_A"``), or None.

    Example:
        >>> canonical_column("QID"), canonical_column("answer"), canonical_column("notes")
        ('id', 'correct_answer', None)
    """
    key = _HEADER_SEP.sub("_", header.strip().lstrip("\ufeff").lower())
    return _CANONICAL.get(key)


def load_train(path: str | os.PathLike[str], *, skip_invalid: bool = False) -> list[Question]:
    """Load a training file (question, option_A..D, correct_answer, reasoning, optional id).

    Rows without an ``id`` column get ids ``row-<line>``. Raises :class:`DataError` listing
    every invalid row, unless ``skip_invalid`` is true: then valid rows are returned and the
    number dropped is logged as a warning.
    """
    return _load(path, "train", skip_invalid)


def load_test(path: str | os.PathLike[str], *, skip_invalid: bool = False) -> list[Question]:
    """Load a test file (id, question, option_A..D, optional correct_answer); see :func:`load_train`."""
    return _load(path, "test", skip_invalid)


def validate_file(
    path: str | os.PathLike[str], kind: Kind = "train"
) -> tuple[list[Question], list[tuple[int, str]]]:
    """Return the valid questions of a file and every ``(line, reason)`` problem in it.

    Problems with the file as a whole (missing, unreadable, no header, missing columns) still
    raise :class:`DataError`, since no row can be checked.
    """
    if kind not in _REQUIRED:
        raise ValueError(f"kind must be 'train' or 'test', not {kind!r}")
    path = Path(path)
    text = _read_text(path)
    rows = _records(path, text, _delimiter(path, text))
    header = next(rows, None)
    if header is None:
        raise DataError(f"{path}: empty file, expected a header row")
    columns = _map_header(path, header[1], kind)

    questions: list[Question] = []
    problems: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for line, cells in rows:
        if not any(cell.strip() for cell in cells):
            continue  # blank line
        question, reason = _parse_row(cells, line, len(header[1]), columns, kind)
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
    return questions, problems


def _load(path: str | os.PathLike[str], kind: Kind, skip_invalid: bool) -> list[Question]:
    questions, problems = validate_file(path, kind)
    if problems and not skip_invalid:
        raise DataError(_summary(path, problems), problems)
    if problems:
        log.warning("%s: dropped %d invalid row(s), kept %d", path, len(problems), len(questions))
    return questions


def _summary(path: str | os.PathLike[str], problems: list[tuple[int, str]]) -> str:
    shown = "; ".join(f"line {line}: {reason}" for line, reason in problems[:_SHOWN_PROBLEMS])
    more = len(problems) - _SHOWN_PROBLEMS
    if more > 0:
        shown += f"; ... and {more} more"
    noun = "row" if len(problems) == 1 else "rows"
    return f"{path}: {len(problems)} invalid {noun} ({shown})"


def _read_text(path: Path) -> str:
    from mcq.files import read_text  # mcq.files imports DataError from here

    return read_text(path, what="TSV or CSV file")


def _delimiter(path: Path, text: str) -> str:
    """Tab or comma: by extension, unless the header line clearly says otherwise."""
    header = text.split("\n", 1)[0]
    tabs, commas = header.count("\t"), header.count(",")
    suffix = path.suffix.lower()
    if suffix in (".tsv", ".tab") and (tabs or not commas):
        return "\t"
    if suffix == ".csv" and (commas or not tabs):
        return ","
    return "\t" if tabs >= commas and tabs else ","


def _records(path: Path, text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(first line number, cells)``; quoted cells may span lines (as pandas reads them)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    end = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as err:  # e.g. a cell over the csv module's field size limit
            raise DataError(f"{path}: line {end + 1}: {err}", [(end + 1, str(err))]) from None
        start, end = end + 1, reader.line_num
        if cells:
            yield start, cells


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
    cells: list[str], line: int, width: int, columns: dict[str, int], kind: Kind
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
    answer: str | None = value("correct_answer").translate(_TO_ASCII).upper() or None
    if answer is not None and answer not in LETTERS:
        reasons.append(f"answer {_short(value('correct_answer'))} not in A-D")
    if reasons:
        return None, ", ".join(reasons)
    question = Question(
        id=value("id") or f"row-{line}",
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
