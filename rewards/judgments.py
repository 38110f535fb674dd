"""Human judgments of answers: binary labels on completions, and preference pairs.

The one reader both ``python -m evals rewards`` (measuring rewards) and
``python -m training rm`` (training a reward model) use, so the two agree on what a label and
a valid pair are.

* **Labelled completions** (:func:`load_labelled`): any completions file
  :func:`rewards.io.load_completions` reads, plus a label column holding 1/0, true/false,
  yes/no, t/f, y/n, pos/neg, positive/negative, good/bad or chosen/rejected (``-1`` is 0);
  an empty cell leaves the row unlabelled.
* **Preference pairs** (:func:`read_pairs`): JSONL (or a JSON array) or CSV/TSV records in
  TRL's and RewardBench's shapes: ``chosen`` and ``rejected`` as texts or as message lists (a
  whole conversation, its last message the answer), an optional ``prompt`` (a text or a
  message list, before either side's messages), optional ``id``, ``subset``, ``question_id``
  and ``question``/``options`` (a mapping, a JSON cell, or ``option_A`` .. ``option_D``)/
  ``correct_answer`` so components that need the question apply. Every message is kept: the
  answer is scored by text components, the whole conversation by reward models. A pair whose
  ``chosen`` or ``rejected`` is missing, empty or not a message list of role/content objects,
  or whose two answers are the same, is invalid: an error naming the first rows, or dropped
  and counted with ``skip_invalid``.

Example:
    >>> binary_label("Yes"), binary_label(" 0 "), binary_label("bad"), binary_label("")
    (1, 0, 0, None)
    >>> answer_text([{"role": "user", "content": "題目"}, {"role": "assistant", "content": "答案：A"}])
    '答案：A'
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from typing import Any

import mcq
from mcq.tables import canonical_column, present, read_table

__all__ = [
    "answer_text",
    "binary_label",
    "check_unique_ids",
    "load_labelled",
    "pair_reference",
    "pairs_in",
    "read_pairs",
    "read_records",
]

log = logging.getLogger("rewards")

_TRUE = {"1", "1.0", "true", "t", "yes", "y", "pos", "positive", "good", "chosen"}
_FALSE = {"0", "0.0", "-1", "false", "f", "no", "n", "neg", "negative", "bad", "rejected"}
_GOLD_KEYS = ("correct_answer", "gold", "gold_answer", "answer")  # mcq.tables: answer is gold here
_SHOW = 3  # invalid rows named in an error
_MAX_CELL = 64 * 1024 * 1024


def read_records(path: str | os.PathLike[str]) -> list[tuple[str, dict[str, Any]]]:
    """``(where, record)`` for each row of a JSONL, JSON array, CSV or TSV file.

    ``where`` is ``"line N"`` (``"item N"`` in a JSON array). Keys are stripped and lower-cased
    as :func:`rewards.io.load_completions` reads headers, and a table's columns are also
    reachable by their canonical names (``Option A`` -> ``option_a``, ``qid`` -> ``id``); both
    readers skip the same blank lines, so they see the same rows in the same order.

    Raises:
        mcq.DataError: unreadable, malformed or non-object rows (one line saying where).
    """
    table = read_table(path, what="JSONL, CSV or TSV file", max_cell=_MAX_CELL, binary_check=True)
    if table.records is not None:  # JSON, Parquet, datasets: values as read (lists stay lists)
        return [
            (table.where(line), {str(k).strip().lower(): v for k, v in record.items()})
            for (line, _), record in zip(table.rows, table.records, strict=True)
        ]
    header = [cell.strip().lstrip("\ufeff").lower() for cell in table.header]
    aliases = {name.lower(): index for name, index in table.columns().items()}
    records = []
    for line, cells in table.rows:
        cells = cells + [""] * (len(header) - len(cells))
        record = {name: cells[i] for name, i in aliases.items()}
        record.update({name: cells[i] for i, name in enumerate(header) if name})
        records.append((f"line {line}", record))
    return records


def binary_label(value: Any) -> int | None:
    """1, 0, or None for an empty cell; raises ValueError (with the text) for anything else.

    Example:
        >>> binary_label(0), binary_label(True), binary_label(float("nan")), binary_label(" ")
        (0, 1, None, None)
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
    path: str | os.PathLike[str], label: str, *, skip_invalid: bool = False
) -> tuple[list[dict[str, Any]], list[int], int]:
    """Completions (as :func:`rewards.io.load_completions` reads them) and their binary labels.

    Args:
        label: The label column (case-insensitive).
        skip_invalid: Leave out rows whose label is not binary instead of stopping.

    Returns:
        ``(rows, labels, left_out)``: the labelled rows (with ``question_id`` where the file
        has one), their labels, and how many rows were left out (empty label, or an invalid
        one with ``skip_invalid``).

    Raises:
        mcq.DataError: no such column, a label that is not binary, or only one class.
    """
    from rewards.io import load_completions

    records = read_records(path)
    key = label.strip().lower()
    if records and not any(key in record for _, record in records):
        shown = ", ".join(list(records[0][1])[:12])
        raise mcq.DataError(f"{path}: no label column {label!r} (columns: {shown})")
    rows = load_completions(path)
    if len(records) != len(rows):
        raise mcq.DataError(f"{path}: {len(records)} records but {len(rows)} completions")
    kept, labels, problems = [], [], []
    for (where, record), row in zip(records, rows, strict=True):
        try:
            value = binary_label(record.get(key))
        except ValueError as err:
            problems.append(f"{where}: label {label!r} is {str(err)!r}")
            continue
        if value is not None:
            if present(record.get("question_id")):  # groups answers to one question
                row = row | {"question_id": str(record["question_id"]).strip()}
            kept.append(row)
            labels.append(value)
    _check(path, problems, skip_invalid, "label", "expected 1/0 (or true/false, yes/no)")
    check_unique_ids(path, [row["id"] for row in kept])
    if not labels:
        raise mcq.DataError(f"{path}: no labelled rows (column {label!r} is empty)")
    if len(set(labels)) < 2:
        raise mcq.DataError(f"{path}: every label is {labels[0]}; need both classes (1 and 0)")
    return kept, labels, len(rows) - len(kept)


def read_pairs(path: str | os.PathLike[str], *, skip_invalid: bool = False) -> list[dict[str, Any]]:
    """Preference pairs, validated (module docstring), in file order.

    Returns:
        One dict per pair: ``id`` (from the file, else the row number), ``chosen`` and
        ``rejected`` (answer texts), ``chosen_prompt`` and ``rejected_prompt`` (the messages
        before each answer, None when the file gives none), ``subset`` and ``question_id``
        (``""`` when none),
        ``group`` (``question_id``, else the question text, else ``""``: pairs on one
        question) and the reference fields
        :func:`pair_reference` finds (``question``, ``options``, ``correct_answer``).

    Raises:
        mcq.DataError: no pairs, or invalid pairs without ``skip_invalid``.
    """
    return pairs_in(read_records(path), path, skip_invalid=skip_invalid)


def pairs_in(
    records: list[tuple[str, dict[str, Any]]],
    path: str | os.PathLike[str],
    *,
    skip_invalid: bool = False,
) -> list[dict[str, Any]]:
    """:func:`read_pairs` on records already read by :func:`read_records` (``path`` names the
    file in messages), for a caller that also counts them."""
    pairs, problems = [], []
    for number, (where, record) in enumerate(records, 1):
        absent = [side for side in ("chosen", "rejected") if side not in record]
        if absent:
            problems.append(f"{where}: no {' or '.join(repr(s) for s in absent)} field")
            continue
        try:
            prompt = _messages(record.get("prompt"), "prompt", user=True)
            chosen_side = _messages(record["chosen"], "chosen")
            rejected_side = _messages(record["rejected"], "rejected")
        except ValueError as err:
            problems.append(f"{where}: {err}")
            continue
        chosen_chat, rejected_chat = prompt + chosen_side, prompt + rejected_side
        chosen = _text(answer_text(chosen_side))
        rejected = _text(answer_text(rejected_side))
        if not chosen or not rejected:
            problems.append(f"{where}: empty {'chosen' if not chosen else 'rejected'!r}")
            continue
        if chosen == rejected:
            problems.append(f"{where}: 'chosen' and 'rejected' are the same text")
            continue
        reference = pair_reference(record)
        question_id = _text(record.get("question_id"))
        pairs.append(
            {
                "id": mcq.row_id(record.get("id"), number),
                "chosen": chosen,
                "rejected": rejected,
                "chosen_prompt": chosen_chat[:-1] or None,
                "rejected_prompt": rejected_chat[:-1] or None,
                "subset": _text(record.get("subset")),
                "question_id": question_id,
                "group": question_id or reference.get("question", ""),
            }
            | reference
        )
    _check(path, problems, skip_invalid, "pair", "pairs need 'chosen' and 'rejected' texts")
    if not pairs:
        raise mcq.DataError(f"{path}: no preference pairs")
    check_unique_ids(path, [pair["id"] for pair in pairs])
    return pairs


def check_unique_ids(path: str | os.PathLike[str], ids: list[str]) -> None:
    """Refuse rows that repeat an id (their scores could not be joined back to them).

    Example:
        >>> check_unique_ids("a.csv", ["1", "2", "1"])
        Traceback (most recent call last):
        ...
        mcq.errors.DataError: a.csv: 1 duplicate id(s) (first: '1'); ids must be unique
    """
    repeated = [key for key, n in Counter(ids).items() if n > 1]
    if repeated:
        raise mcq.DataError(
            f"{path}: {len(repeated)} duplicate id(s) (first: {repeated[0]!r}); ids must be unique"
        )


def pair_reference(record: dict[str, Any]) -> dict[str, Any]:
    """The question, options and gold letter a record carries, as completions rows hold them.

    Example:
        >>> pair_reference({"question": "題", "option_a": "甲", "option_b": "乙", "gold": " B"})
        {'question': '題', 'options': {'A': '甲', 'B': '乙'}, 'correct_answer': 'B'}
    """
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
        >>> answer_text("答案：B"), answer_text(None)
        ('答案：B', '')
    """
    if isinstance(value, list):
        return (value[-1].get("content") or "") if value and isinstance(value[-1], dict) else ""
    return "" if value is None else value


def _messages(value: Any, field: str, *, user: bool = False) -> list[dict[str, Any]]:
    """A pair field as messages: a message list as it is, a text as one user (``prompt``) or
    assistant turn, nothing as none. ValueError (saying what is wrong) for a malformed list."""
    if isinstance(value, list):
        if not all(isinstance(m, dict) and "role" in m and "content" in m for m in value):
            raise ValueError(f"{field!r} is a list but not of role/content messages")
        return [dict(m) for m in value]
    if not present(value) or not str(value).strip():
        return []
    return [{"role": "user" if user else "assistant", "content": value}]


def _text(value: Any) -> str:
    return "" if not present(value) else str(value).strip()


def _check(
    path: str | os.PathLike[str], problems: list[str], skip_invalid: bool, what: str, hint: str
) -> None:
    """Stop on invalid rows (naming the first few), or log how many were dropped."""
    if problems and skip_invalid:
        log.warning("%s: dropped %d invalid %s row(s)", path, len(problems), what)
    elif problems:
        shown = "; ".join(problems[:_SHOW]) + (" ..." if len(problems) > _SHOW else "")
        raise mcq.DataError(
            f"{path}: {len(problems)} invalid {what} row(s): {shown}; {hint} "
            "(--skip-invalid drops them)"
        )
