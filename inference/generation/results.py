"""The files a generation run writes and reads back: submission, detailed results, run.json.

Whole files are written through :func:`mcq.files.write_atomic`; detailed_results.csv grows by
:func:`append_rows` (one ``write`` and an fsync per chunk, so a kill leaves whole chunks) and
:func:`read_detailed_results` drops a row that a kill cut short.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from inference.generation.settings import recorded_defaults
from mcq import LETTERS
from mcq.errors import UsageError
from mcq.files import write_atomic

__all__ = [
    "BASE_COLUMNS",
    "CONSTRAINED",
    "DETAILED",
    "EXTRACTED",
    "MANIFEST",
    "PROVENANCE",
    "SUBMISSION",
    "TRUNCATED",
    "append_rows",
    "check_manifest",
    "csv_text",
    "describe_changes",
    "format_score",
    "read_detailed_results",
    "submission_name",
    "write_manifest",
    "write_submission",
]

SUBMISSION = "submission.csv"
DETAILED = "detailed_results.csv"
MANIFEST = "run.json"
#: run.json key of where the results came from (versions, hashes): recorded, never compared.
PROVENANCE = "provenance"

BASE_COLUMNS = ("id", "answer", "answer_source", "response")
#: Column after ``total``: "true" where the prompt was shortened to fit the model's context.
TRUNCATED = "prompt_truncated"
#: ``answer_source`` values: the letter came from the answer text, or from the constrained pick.
EXTRACTED, CONSTRAINED = "extracted", "constrained"


def submission_name(part: str | None) -> str:
    """``submission.csv``, or ``submission.part-K-of-N.csv`` for one part of the input.

    Example:
        >>> submission_name("2/3")
        'submission.part-2-of-3.csv'
    """
    if part is None:
        return SUBMISSION
    k, n = part.split("/")
    return f"submission.part-{k}-of-{n}.csv"


def format_score(value: float | None) -> str:
    """A score cell: four decimals, empty when the component did not apply.

    Example:
        >>> format_score(0.5), format_score(None)
        ('0.5000', '')
    """
    return "" if value is None else f"{value:.4f}"


def csv_text(rows: Iterable[Sequence[str]]) -> str:
    """CSV text with ``\\n`` line ends, as every results file is written."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue()


def append_rows(path: Path, rows: Iterable[Sequence[str]]) -> None:
    """Append ``rows`` with one ``write`` and an fsync, so a kill leaves whole chunks."""
    data = csv_text(rows).encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        while data:
            data = data[os.write(fd, data) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def write_submission(path: str | os.PathLike[str], answers: Sequence[tuple[str, str]]) -> None:
    """Write ``id,answer`` rows atomically; every answer must be one of A-D."""
    bad = [(qid, a) for qid, a in answers if a not in LETTERS]
    if bad:
        raise ValueError(f"answer {bad[0][1]!r} for id {bad[0][0]!r} is not one of {LETTERS}")
    write_atomic(path, csv_text([("id", "answer"), *answers]))


def write_manifest(path: Path, manifest: dict) -> None:
    """Write run.json (indented, non-ASCII kept readable)."""
    write_atomic(path, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


def read_detailed_results(path: Path, columns: Sequence[str]) -> tuple[dict[str, list[str]], bool]:
    """Read the rows of a (possibly interrupted) detailed_results.csv, keyed by id.

    Returns the complete rows (first occurrence of each id) and whether a torn last row (a
    write cut short) was dropped. Raises :class:`UsageError` when the file has other columns.
    """
    raw = path.read_text(encoding="utf-8")
    rows: list[list[str]] = []
    torn = False
    try:
        rows = list(csv.reader(io.StringIO(raw, newline=""), strict=True))
    except csv.Error:
        # An unterminated quote at the end: keep what parses before it.
        torn = True
        rows = []
        reader = csv.reader(io.StringIO(raw, newline=""), strict=True)
        try:
            for row in reader:
                rows.append(row)
        except csv.Error:
            pass
    if not rows:
        return {}, torn or bool(raw)
    if rows[0] != list(columns):
        raise UsageError(
            f"{path} has columns {','.join(rows[0])[:120]} but this run writes "
            f"{','.join(columns)[:120]}: use another --output-dir"
        )
    body = rows[1:]
    if body and (not raw.endswith("\n") or len(body[-1]) != len(columns)):
        body, torn = body[:-1], True
    results: dict[str, list[str]] = {}
    for row in body:
        if len(row) != len(columns):
            raise UsageError(
                f"{path}: a row has {len(row)} cells, expected {len(columns)}; use another --output-dir"
            )
        results.setdefault(row[0], row)
    return results, torn


def check_manifest(path: Path, manifest: Mapping[str, Any], *, required: bool = False) -> None:
    """Refuse to resume results that did not provably come from a run with ``manifest``.

    A setting missing from an older run.json counts as its default (it did not exist then).
    """
    if not path.is_file():
        if required:
            raise UsageError(
                f"{path.parent} holds results but no {MANIFEST}, so nothing says which model "
                "and settings made them: use another --output-dir"
            )
        return
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise UsageError(f"{path}: unreadable ({err}); use another --output-dir") from err
    if not isinstance(previous, dict):
        raise UsageError(
            f"{path}: not a run.json of `inference generate`; use another --output-dir"
        )
    detail = describe_changes(recorded_defaults() | previous, manifest)
    if detail:
        raise UsageError(
            f"{path.parent} holds results of a different run ({detail}): "
            "rerun with the same settings to resume, or use another --output-dir"
        )


def describe_changes(
    old: Mapping[str, Any], new: Mapping[str, Any], keys: Iterable[str] | None = None
) -> str:
    """``"key old -> new"`` for up to three of ``keys`` (default: ``new``'s) whose values differ.

    Empty when none differs. Example:
        >>> describe_changes({"seed": 7, "model": "m"}, {"seed": 8, "model": "m"})
        'seed 7 -> 8'
    """
    keys = list(new if keys is None else keys)
    changed = [k for k in keys if old.get(k) != new.get(k)]
    return ", ".join(
        f"{k} {_short_value(old.get(k))} -> {_short_value(new.get(k))}" for k in changed[:3]
    )


def _short_value(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
