"""Read completions to score and turn them into scored rows.

Accepted inputs (:func:`load_completions`):

- JSONL (or a JSON array of the same objects): one object a line, ``{"id", "completion" (or "response"), "question"?,
  "options"? (a mapping A-D), "correct_answer"?}``; ``option_A``..``option_D`` keys work too.
- CSV/TSV (by extension, else by sniffing the header) with a ``completion`` or ``response``
  column, such as ``detailed_results.csv`` from ``python -m inference generate``. The gold
  letter comes from ``correct_answer`` (or ``gold``); an ``answer`` column is the model's
  submitted letter and is kept as ``answer``, never taken as gold.
- Any of these as Parquet, a ``datasets`` ``save_to_disk`` folder or a hub dataset
  ``hf:NAME[:CONFIG]:SPLIT`` (:mod:`mcq.sources`), read as JSON records are.
- The training TSV (``question, option_A..D, correct_answer, reasoning``; C-Eval's
  ``question, A..D, answer, explanation`` too): each row's
  reference reasoning is scored as the completion ``答案：{correct_answer}\\n理由：{reasoning}``,
  which shows what the reward makes of the data GRPO trains on.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import mcq
from mcq.files import spreadsheet_safe, write_atomic
from mcq.sources import is_json, json_records
from mcq.tables import Table, missing, present, read_table
from rewards.presets import Preset, load_preset
from rewards.registry import Sample
from rewards.scoring import PROGRESS_CHUNK, progress_chunk, score_batch

__all__ = [
    "is_json",
    "json_records",
    "load_completions",
    "score_rows",
    "training_completion",
    "write_csv",
]

_COMPLETION_COLUMNS = ("completion", "response")
_GOLD_COLUMNS = ("correct_answer", "gold", "gold_answer")
_FIELD_LIMIT = 64 * 1024 * 1024  # a cell may hold a very long completion


#: The completion a training row stands for: ``答案：X`` then ``理由：...`` (:func:`mcq.format_answer`).
training_completion = mcq.format_answer


def load_completions(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read a completions file (see the module docstring for the formats).

    Returns:
        One dict per completion with ``id`` (from the file, else the 1-based row number, as
        text), ``completion``, and where known ``question``, ``options``, ``correct_answer``,
        ``answer`` (a submitted letter) and ``prompt`` (a text or chat messages).

    Raises:
        mcq.DataError: missing, unreadable or malformed file (one line saying where).
    """
    table = read_table(
        path, what="JSONL, CSV or TSV file", max_cell=_FIELD_LIMIT, binary_check=True
    )
    if table.records is not None:
        return _load_records(table)
    return _load_table(table)


def _load_records(table: Table) -> list[dict[str, Any]]:
    path = table.path
    completions = any(k in table.header for k in _COMPLETION_COLUMNS)
    if table.records and not completions and _is_training(table.header):
        return _load_training(path)
    rows: list[dict[str, Any]] = []
    for (number, _), record in zip(table.rows, table.records or [], strict=True):
        key = next((k for k in _COMPLETION_COLUMNS if k in record), None)
        if key is None:
            where = table.where(number)
            raise mcq.DataError(f"{path}: {where}: no 'completion' (or 'response') field")
        options = record.get("options")
        if options is not None and not isinstance(options, dict):
            where = table.where(number)
            raise mcq.DataError(f"{path}: {where}: 'options' must map letters to texts")
        if options is None:
            found = {k: record[f"option_{k}"] for k in mcq.LETTERS if f"option_{k}" in record}
            options = found or None
        gold = next((record[k] for k in _GOLD_COLUMNS if record.get(k) not in (None, "")), None)
        rows.append(
            _row(
                record.get("id"),
                len(rows) + 1,
                record[key],
                record.get("question"),
                options,
                gold,
                record.get("answer"),
                record.get("prompt"),
            )
        )
    return rows


def _is_training(header: list[str]) -> bool:
    """A question file with reference reasoning (the training TSV, C-Eval with ``explanation``)."""
    names = {mcq.canonical_column(h) for h in header}
    return {"reasoning", "correct_answer", "question"} <= names


def _load_table(table: Table) -> list[dict[str, Any]]:
    path = table.path
    records = [table.header, *(cells for _, cells in table.rows)]
    lines = [table.header_line, *(line for line, _ in table.rows)]
    delimiter = table.delimiter
    header = [cell.strip().lstrip("\ufeff").lower() for cell in records[0]]
    completion_col = next((header.index(c) for c in _COMPLETION_COLUMNS if c in header), None)
    if completion_col is None:
        if _is_training(header):
            return _load_training(path)
        shown = ", ".join(records[0]) or "nothing"
        raise mcq.DataError(
            f"{path}: no 'completion' or 'response' column (header has: {shown}); "
            "a training TSV needs 'reasoning' and 'correct_answer'"
        )

    def col(*names: str) -> int | None:
        return next((header.index(n) for n in names if n in header), None)

    id_col = next((i for i, h in enumerate(header) if mcq.canonical_column(h) == "id"), None)
    question_col = col("question")
    gold_col = col(*_GOLD_COLUMNS)
    answer_col = col("answer")
    prompt_col = col("prompt")
    option_cols = {
        letter: i
        for i, h in enumerate(header)
        for letter in mcq.LETTERS
        if mcq.canonical_column(h) == f"option_{letter}"
    }
    width = len(header)
    bad = [
        line
        for line, r in zip(lines[1:], records[1:], strict=True)
        if len(r) > width and any(c.strip() for c in r[width:])
    ]
    if bad:
        sep = "tab" if delimiter == "\t" else "comma"
        raise mcq.DataError(
            f"{path}: {len(bad)} row(s) with more cells than the header (first on line "
            f"{bad[0]}; an unquoted {sep} inside a cell?)"
        )
    rows: list[dict[str, Any]] = []
    for cells in records[1:]:
        cells = cells + [""] * (width - len(cells))

        def cell(index: int | None, cells: list[str] = cells) -> str | None:
            return cells[index] if index is not None else None

        options = {k: cells[i] for k, i in option_cols.items()} or None
        rows.append(
            _row(
                cell(id_col),
                len(rows) + 1,
                cells[completion_col],
                cell(question_col),
                options,
                cell(gold_col),
                cell(answer_col),
                cell(prompt_col),
            )
        )
    return rows


def _load_training(path: Path) -> list[dict[str, Any]]:
    rows = []
    for q in mcq.load_train(path):
        rows.append(
            {
                "id": q.id,
                "completion": training_completion(q.correct_answer, q.reasoning),
                "question": q.question,
                "options": dict(q.options),
                "correct_answer": q.correct_answer,
            }
        )
    return rows


def _row(
    raw_id: Any,
    number: int,
    completion: Any,
    question: Any,
    options: dict[str, Any] | None,
    gold: Any,
    answer: Any,
    prompt: Any = None,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": mcq.row_id(raw_id, number),
        "completion": completion,
    }
    if present(question):
        row["question"] = str(question)
    if options and any(present(v) for v in options.values()):
        row["options"] = {str(k): "" if not present(v) else str(v) for k, v in options.items()}
    if present(gold):
        row["correct_answer"] = str(gold).strip()
    if present(answer):
        row["answer"] = str(answer).strip()
    if (isinstance(prompt, list) and prompt) or (isinstance(prompt, str) and prompt.strip()):
        row["prompt"] = prompt  # what the answer replies to: a reward model reads it first
    return row


def score_rows(
    rows: Iterable[dict[str, Any]],
    preset: str | os.PathLike[str] | Preset = "default",
    *,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Score loaded completions; one dict per row: ``id, answer, <components...>, total``.

    Not-applicable components are ``None``; ``answer`` is the extracted letter or ``None``.

    Example:
        >>> rows = [{"id": "q1", "completion": "答案：A", "correct_answer": "A"}]
        >>> out = score_rows(rows, "seed")
        >>> out[0]["id"], out[0]["answer"], out[0]["seed"], out[0]["total"]
        ('q1', 'A', 0.8, 0.8)
    """
    chosen = load_preset(preset)
    rows = list(rows)
    samples = [_sample(row) for row in rows]
    # Components see many rows at once, so a model-backed one scores in batches. A bar for
    # big files, or as soon as a slow component (a model, a judge) has more than a chunk.
    chunk = progress_chunk(chosen)
    slow = chunk < PROGRESS_CHUNK
    shown = progress and (len(rows) >= 2000 or (slow and len(rows) > chunk))
    breakdowns = score_batch(
        [row.get("completion") for row in rows],
        samples,
        chosen,
        progress="scoring" if shown else None,
    )
    out: list[dict[str, Any]] = []
    for number, (row, breakdown) in enumerate(zip(rows, breakdowns, strict=True), 1):
        scored: dict[str, Any] = {
            "id": mcq.row_id(row.get("id"), number),
            "answer": breakdown.answer,
        }
        scored.update({name: breakdown.components.get(name) for name in chosen.weights})
        scored["total"] = breakdown.total
        out.append(scored)
    return out


def _sample(row: dict[str, Any]) -> Sample:
    options = row.get("options")
    return Sample(
        id=row.get("id"),
        question=row.get("question"),
        options=dict(options) if isinstance(options, dict) else None,
        correct_answer=row.get("correct_answer"),
        prompt=row.get("prompt"),
    )


def write_csv(rows: list[dict[str, Any]], path: str | os.PathLike[str]) -> None:
    """Write scored rows as CSV atomically (:func:`mcq.files.write_atomic`); ``None`` -> empty cell."""
    columns = list(rows[0]) if rows else ["id", "answer", "total"]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    write_atomic(path, buffer.getvalue())


def _cell(value: Any) -> str:
    if missing(value):
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return spreadsheet_safe(str(value))
