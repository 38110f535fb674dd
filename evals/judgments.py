"""Reading human judgments for :mod:`evals.judging`: labelled completions and preference pairs.

Labelled texts are read by :func:`rewards.io.load_completions` (every completions format) with
the label column beside them; pairs are JSONL or CSV records with ``chosen`` and ``rejected``.

Example:
    >>> binary_label("yes"), binary_label(" 0 "), binary_label("")
    (1, 0, None)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import mcq
from mcq.errors import UsageError
from mcq.files import read_text
from mcq.tables import canonical_column, present, read_table

__all__ = [
    "answer_text",
    "binary_label",
    "load_labelled",
    "load_pairs",
    "pair_reference",
    "read_records",
]

_GOLD_KEYS = ("correct_answer", "gold", "gold_answer")
_TRUE = {"1", "1.0", "true", "yes", "y", "t"}
_FALSE = {"0", "0.0", "false", "no", "n", "f"}


def read_records(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Rows of a JSONL (or JSON array) or CSV/TSV file as dicts, blank lines skipped.

    Table headers are lower-cased and stripped, as :func:`rewards.io.load_completions` reads
    them, so the two readers see the same rows in the same order.

    Raises:
        mcq.DataError: unreadable or malformed file (one line saying where).
    """
    path = Path(path)
    text = read_text(path, what="JSONL, CSV or TSV file", binary_check=True)
    stripped = text.lstrip()
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson") or stripped.startswith(("{", "[")):
        if stripped.startswith("["):
            try:
                items = json.loads(text)
            except json.JSONDecodeError as err:
                raise mcq.DataError(f"{path}: not valid JSON ({err.msg})") from None
            numbered = list(enumerate(items if isinstance(items, list) else [items], 1))
        else:
            numbered = []
            for number, line in enumerate(text.splitlines(), 1):
                if line.strip():
                    try:
                        numbered.append((number, json.loads(line)))
                    except json.JSONDecodeError as err:
                        raise mcq.DataError(
                            f"{path}: line {number}: not valid JSON ({err.msg})"
                        ) from None
        for number, item in numbered:
            if not isinstance(item, dict):
                raise mcq.DataError(f"{path}: line {number}: expected a JSON object")
        return [item for _, item in numbered]
    table = read_table(path, text, max_cell=64 * 1024 * 1024)
    header = [h.strip().lstrip("\ufeff").lower() for h in table.header]
    width = len(header)
    return [
        dict(zip(header, cells + [""] * (width - len(cells)), strict=False))
        for _, cells in table.rows
    ]


def binary_label(value: Any) -> int | None:
    """1, 0, or None for an empty cell; raises ValueError for anything else (its text).

    Example:
        >>> binary_label("Yes"), binary_label(0), binary_label(float("nan")), binary_label(" ")
        (1, 0, None, None)
    """
    if not present(value):
        return None
    if isinstance(value, bool):
        return int(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return 1
    if text in _FALSE:
        return 0
    raise ValueError(text)


def load_labelled(
    path: str | os.PathLike[str], label: str
) -> tuple[list[dict[str, Any]], list[int], int]:
    """Completions (as :func:`rewards.io.load_completions` reads them) and their binary labels.

    Labels are 1/0, true/false or yes/no; rows with an empty label are left out.

    Returns:
        ``(rows, labels, unlabelled)``, ``unlabelled`` being the number of rows left out.

    Raises:
        UsageError: no such column, a label that is not binary, or only one class.
    """
    from rewards.io import load_completions

    records = read_records(path)
    rows = load_completions(path)
    key = label.strip().lower()
    if records and not any(key in r for r in records):
        shown = ", ".join(list(records[0])[:12])
        raise UsageError(f"{path}: no label column {label!r} (columns: {shown})")
    if len(records) != len(rows):  # both readers skip the same blank lines
        raise UsageError(f"{path}: {len(records)} records but {len(rows)} completions")
    kept, labels = [], []
    for number, (record, row) in enumerate(zip(records, rows, strict=True), 1):
        try:
            value = binary_label(record.get(key))
        except ValueError as err:
            raise UsageError(
                f"{path}: row {number}: label {label!r} is {str(err)!r}, expected 1/0 "
                "(or true/false, yes/no)"
            ) from None
        if value is not None:
            kept.append(row)
            labels.append(value)
    if not labels:
        raise UsageError(f"{path}: no labelled rows (column {label!r} is empty)")
    if len(set(labels)) < 2:
        raise UsageError(f"{path}: every label is {labels[0]}; AUC needs both classes (1 and 0)")
    return kept, labels, len(rows) - len(kept)


def load_pairs(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Preference pairs: ``chosen``, ``rejected``, optional ``id``, ``question``, ``options``
    (a mapping, or ``option_A``..``option_D``), ``correct_answer`` and ``subset``.

    Raises:
        UsageError: no pairs, or no ``chosen``/``rejected`` field.
    """
    records = read_records(path)
    if not records:
        raise UsageError(f"{path}: no preference pairs")
    for number, record in enumerate(records, 1):
        missing = [k for k in ("chosen", "rejected") if k not in record]
        if missing:
            raise UsageError(
                f"{path}: pair {number} has no {' or '.join(repr(m) for m in missing)} field; "
                "pairs need 'chosen' and 'rejected'"
            )
    return records


def pair_reference(record: dict[str, Any]) -> dict[str, Any]:
    """The question, options and gold a pair record carries, as completions rows hold them."""
    out: dict[str, Any] = {}
    if present(record.get("question")):
        out["question"] = str(record["question"])
    options = record.get("options")
    if isinstance(options, str) and options.lstrip().startswith("{"):
        try:  # a CSV cell holding the JSON mapping
            options = json.loads(options)
        except json.JSONDecodeError:
            options = None
    if not isinstance(options, dict):
        columns = {canonical_column(k): v for k, v in record.items()}
        options = {k: columns[f"option_{k}"] for k in mcq.LETTERS if f"option_{k}" in columns}
    if options and any(present(v) for v in options.values()):
        out["options"] = {str(k): str(v) if present(v) else "" for k, v in options.items()}
    gold = next((record[k] for k in _GOLD_KEYS if present(record.get(k))), None)
    if gold is not None:
        out["correct_answer"] = str(gold).strip()
    return out


def answer_text(value: Any) -> Any:
    """The answer a pair side holds: the text itself, or the last message's ``content`` of a
    conversation (TRL's conversational preference format).

    Example:
        >>> answer_text([{"role": "user", "content": "題目"}, {"role": "assistant", "content": "答案：A"}])
        '答案：A'
        >>> answer_text("答案：B"), answer_text(None)
        ('答案：B', '')
    """
    if isinstance(value, list) and value and isinstance(value[-1], dict):
        return value[-1].get("content") or ""
    return "" if value is None else value
