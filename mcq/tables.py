"""Reading tables: one home for the delimiter rule, header aliases, cells and row ids.

Every table a user hands zhongli (training and test files, gold answers, completions to score,
labels, pairs) is read here: :func:`mcq.files.read_text` decodes it (UTF-8 with or without BOM,
UTF-16 with its BOM, CRLF, or the ``--encoding`` named), :func:`sniff_delimiter` chooses tab or
comma, :func:`read_table` splits it into line-numbered rows, and :func:`canonical_column` maps
header spellings to one name. JSON/JSONL records, Parquet files, ``save_to_disk`` folders and
hub datasets (:mod:`mcq.sources`) come out as the same :class:`Table`, their values also kept
as read in :attr:`Table.records`.

Example:
    >>> sniff_delimiter("gold.csv", "id,correct_answer")
    ','
    >>> sniff_delimiter("gold.txt", "id\\tanswer, or not")  # a tie: tab wins
    '\\t'
    >>> canonical_column(" Option A "), row_id("", 3), row_id(" q-7 ", 3)
    ('option_A', '3', 'q-7')
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcq.errors import DataError
from mcq.records import LETTERS

__all__ = [
    "COLUMN_ALIASES",
    "Table",
    "canonical_column",
    "missing",
    "present",
    "read_table",
    "records_table",
    "row_id",
    "sniff_delimiter",
]

_HEADER_SEP = re.compile(r"[\s\-]+")

#: Canonical column name -> accepted header spellings. Headers are compared stripped,
#: lowercased, with runs of spaces or hyphens read as "_" ("Option A" == "option_a").
#: ``answer`` is the gold letter wherever a file describes questions (train/test/gold files,
#: preference pairs). The one exception is a completions file (anything
#: :func:`rewards.io.load_completions` reads, labelled texts included; it reads headers
#: literally): there ``answer`` is the model's submitted letter, as ``inference generate``
#: writes it, and gold comes only from ``correct_answer``/``gold``. C-Eval and CMMLU columns
#: (``question, A, B, C, D, answer, explanation``) map here as they are.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "qid", "question_id"),
    "question": ("question",),
    **{
        f"option_{letter}": (f"option_{letter.lower()}", f"option {letter.lower()}", letter.lower())
        for letter in LETTERS
    },
    "correct_answer": ("correct_answer", "correct answer", "answer"),
    "reasoning": ("reasoning", "explanation"),
}
_CANONICAL = {
    _HEADER_SEP.sub("_", alias): name
    for name, aliases in COLUMN_ALIASES.items()
    for alias in aliases
}


def canonical_column(header: str) -> str | None:
    """Return the canonical name of a header cell (``" Option A "`` -> ``"option_A"``), or None.

    Example:
        >>> canonical_column("QID"), canonical_column("answer"), canonical_column("notes")
        ('id', 'correct_answer', None)
    """
    key = _HEADER_SEP.sub("_", header.strip().lstrip("\ufeff").lower())
    return _CANONICAL.get(key)


def sniff_delimiter(path: str | os.PathLike[str], text: str) -> str:
    """Tab or comma: by extension (.tsv/.tab, .csv), unless the header line clearly says otherwise.

    Without a telling extension the header decides: more tabs than commas is a TSV, more
    commas a CSV, and a tie (or a one-column header) is read as a TSV, the competition's format.

    Example:
        >>> sniff_delimiter("test.csv", "id\\tquestion\\toption_A")  # a TSV saved as .csv
        '\\t'
        >>> sniff_delimiter("test.tsv", "id,question,option_A")
        ','
    """
    header = text.split("\n", 1)[0]
    tabs, commas = header.count("\t"), header.count(",")
    suffix = Path(path).suffix.lower()
    if suffix in (".tsv", ".tab") and (tabs or not commas):
        return "\t"
    if suffix == ".csv" and (commas or not tabs):
        return ","
    return "," if commas > tabs else "\t"


@dataclass
class Table:
    """A table's header and its non-blank rows, each with the file line it starts on.

    A table read from records (JSON, Parquet, datasets) numbers its rows by ``unit``
    (``"line"`` of a JSONL file, ``"item"`` of a JSON array, ``"row"`` of a dataset), has text
    cells (a list or mapping as JSON) and keeps each record as read in ``records``.
    """

    path: Path
    delimiter: str
    header: list[str]
    header_line: int
    rows: list[tuple[int, list[str]]]
    records: list[dict[str, Any]] | None = None
    unit: str = "line"

    def where(self, number: int) -> str:
        """Where a row is, for messages: ``"line 3"``, ``"item 3"`` or ``"row 3"``."""
        return f"{self.unit} {number}"

    def columns(self) -> dict[str, int]:
        """Canonical column name -> index, for the header cells that have one (first wins)."""
        found: dict[str, int] = {}
        for index, cell in enumerate(self.header):
            name = canonical_column(cell)
            if name is not None:
                found.setdefault(name, index)
        return found


def read_table(
    path: str | os.PathLike[str],
    text: str | None = None,
    *,
    what: str = "CSV or TSV file",
    max_cell: int | None = None,
    binary_check: bool = False,
) -> Table:
    """Read a CSV/TSV file (or its already decoded ``text``) into a :class:`Table`; JSON/JSONL,
    Parquet, a ``save_to_disk`` folder or ``hf:NAME[:CONFIG]:SPLIT`` too (:mod:`mcq.sources`).

    Quoted cells may span lines; each row keeps the line it starts on, so messages can point
    at it. Blank rows are left out.

    Args:
        path: The file (also named in messages).
        text: Its decoded text, when the caller has read it already.
        what: What the file should be, for messages.
        max_cell: Largest cell in characters (default: the ``csv`` module's limit, 128 KiB).
        binary_check: Refuse a text file that looks binary (:func:`mcq.files.read_text`).

    Raises:
        DataError: unreadable, empty (no header row), or a row the ``csv`` module rejects.

    Example:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as fh:
        ...     _ = fh.write('id,answer\\n\\n"q\\n1",B\\n')
        >>> t = read_table(fh.name)
        >>> t.header, t.rows, t.columns()
        (['id', 'answer'], [(3, ['q\\n1', 'B'])], {'id': 0, 'correct_answer': 1})
        >>> os.remove(fh.name)
    """
    from mcq import sources
    from mcq.files import read_text

    if text is None and sources.is_dataset(path):
        rows = sources.dataset_rows(path)
        return records_table(Path(path), enumerate(rows, 1), "row")
    path = Path(path)
    if text is None:
        text = read_text(path, what=what, binary_check=binary_check)
    if sources.is_json(path, text):
        unit, values = sources.numbered_json(path, text)
        for number, value in values:
            if not isinstance(value, dict):
                raise DataError(f"{path}: {unit} {number}: expected a JSON object")
        return records_table(path, values, unit)
    delimiter = sniff_delimiter(path, text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    old_limit = csv.field_size_limit()
    if max_cell is not None:
        csv.field_size_limit(max(old_limit, max_cell))
    records: list[tuple[int, list[str]]] = []
    end = 0
    try:
        for cells in reader:
            start, end = end + 1, reader.line_num
            if any(cell.strip() for cell in cells):
                records.append((start, cells))
    except csv.Error as err:  # e.g. a cell over the field size limit
        raise DataError(f"{path}: line {end + 1}: {err}", [(end + 1, str(err))]) from None
    finally:
        csv.field_size_limit(old_limit)
    if not records:
        raise DataError(f"{path}: empty file, expected a header row")
    (header_line, header), *rows = records
    return Table(path, delimiter, header, header_line, rows)


def records_table(path: Path, numbered: Iterable[tuple[int, dict[str, Any]]], unit: str) -> Table:
    """A :class:`Table` of records: the header is every key in first-seen order; a cell is the
    value as text (empty for None/NaN, JSON for a list or mapping); ``records`` keeps the values.

    Example:
        >>> t = records_table(Path("p.jsonl"), [(1, {"id": 7, "chosen": [{"role": "user"}]})], "line")
        >>> t.header, t.rows, t.records[0]["chosen"], t.where(1)
        (['id', 'chosen'], [(1, ['7', '[{"role": "user"}]'])], [{'role': 'user'}], 'line 1')
    """
    numbered = list(numbered)
    header = list(dict.fromkeys(key for _, record in numbered for key in record))
    rows = [(n, [_cell_text(record.get(key)) for key in header]) for n, record in numbered]
    records = [record for _, record in numbered]
    return Table(path, "", [str(key) for key in header], 0, rows, records, unit)


def _cell_text(value: Any) -> str:
    if missing(value):
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def row_id(raw: Any, number: int) -> str:
    """The id of a row: its own (stripped), else its 1-based number among the data rows.

    The one naming rule for rows without an id, in every file zhongli reads.

    Example:
        >>> row_id(None, 1), row_id(float("nan"), 2), row_id(17, 3)
        ('1', '2', '17')
    """
    return str(raw).strip() if present(raw) else str(number)


def missing(value: Any) -> bool:
    """True for no value at all: ``None``, or a float NaN (an empty cell pandas read).

    Blank text and ``0`` are values here; :func:`present` also counts blank text as empty.

    Example:
        >>> missing(None), missing(float("nan")), missing(""), missing(0.0)
        (True, True, False, False)
    """
    return value is None or (isinstance(value, float) and math.isnan(value))


def present(value: Any) -> bool:
    """True for a value with content: not None, not NaN, not blank text.

    Example:
        >>> present(" "), present(float("nan")), present(0)
        (False, False, True)
    """
    return not missing(value) and str(value).strip() != ""
