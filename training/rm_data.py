"""Preference pairs for ``python -m training rm``: read them, or make them from labelled texts.

A pairs file is JSONL (one object a line) or CSV/TSV with ``chosen`` and ``rejected`` (the
preferred and the worse answer to the same question) and optionally ``id``, ``question``,
``options`` (a mapping A-D; ``option_A``..``option_D`` columns work too), ``correct_answer``
and ``subset``. Each answer becomes the text :func:`rewards.learned.reward_text` builds, the
same text the trained model reads when it scores.

Labelled texts (``--pairs_from_labels COLUMN``): a completions file whose ``COLUMN`` says
whether each text is good (1/0, true/false, yes/no, pos/neg, good/bad). Within a group of
texts answering the same question (a ``question_id`` column, else the ``question`` text),
each good text is paired with a bad one, cycling the shorter list, in a seeded random order;
texts left without a partner in their group are paired across groups at random (seeded).
"""

from __future__ import annotations

import json
import logging
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import mcq
from mcq.errors import UsageError
from mcq.files import read_text
from mcq.tables import read_table
from rewards.learned import reward_text

__all__ = ["Pair", "load_pairs", "pairs_from_labels", "read_records", "split_pairs"]

log = logging.getLogger("training")
_TRUE = {"1", "1.0", "true", "yes", "y", "pos", "positive", "good", "chosen"}
_FALSE = {"0", "0.0", "-1", "false", "no", "n", "neg", "negative", "bad", "rejected"}
_TEXT_COLUMNS = ("completion", "response", "text")
_SHOW = 3  # bad rows named in an error


class Pair(dict):
    """One preference pair: ``id``, ``chosen``, ``rejected`` (formatted texts), ``group``."""


def read_records(path: str | Path) -> list[tuple[int, dict[str, Any]]]:
    """``(line number, record)`` for each row of a JSONL, JSON array, CSV or TSV file.

    Raises:
        mcq.DataError: unreadable, malformed or empty file.
    """
    path = Path(path)
    text = read_text(path, what="JSONL, CSV or TSV file", binary_check=True)
    stripped = text.lstrip()
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson") or stripped.startswith(("{", "[")):
        return _json_records(path, text)
    table = read_table(path, text, what="CSV or TSV file")
    header = [cell.strip().lstrip("\ufeff").lower() for cell in table.header]
    # Canonical spellings too (``Option A`` -> option_a, ``qid`` -> id), lower-cased.
    aliases = {name.lower(): index for name, index in table.columns().items()}
    records = []
    for line, cells in table.rows:
        cells = cells + [""] * (len(header) - len(cells))
        record = {name: cells[i] for name, i in aliases.items()}
        record.update({name: cells[i] for i, name in enumerate(header) if name})
        records.append((line, record))
    return records


def _json_records(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as err:
            raise mcq.DataError(f"{path}: line {err.lineno}: not valid JSON ({err.msg})") from None
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
    for number, record in numbered:
        if not isinstance(record, dict):
            raise mcq.DataError(f"{path}: line {number}: expected a JSON object")
    return [(n, {str(k).strip().lower(): v for k, v in r.items()}) for n, r in numbered]


def load_pairs(path: str | Path, *, skip_invalid: bool = False) -> list[Pair]:
    """Read a pairs file into :class:`Pair` s with texts formatted by ``reward_text``.

    Raises:
        mcq.DataError: a row without ``chosen``/``rejected`` text (or the same text twice),
            unless ``skip_invalid``, which drops such rows (logged by the caller).
    """
    pairs, problems = [], []
    for line, record in read_records(path):
        chosen, rejected = _text(record.get("chosen")), _text(record.get("rejected"))
        if not chosen or not rejected:
            problems.append(f"line {line}: empty or missing 'chosen'/'rejected'")
            continue
        if chosen == rejected:
            problems.append(f"line {line}: 'chosen' and 'rejected' are the same text")
            continue
        question, options = _question(record)
        pairs.append(
            Pair(
                id=_text(record.get("id")) or str(line),
                chosen=reward_text(chosen, question, options),
                rejected=reward_text(rejected, question, options),
                group=_text(record.get("question_id")) or question or f"#{line}",
            )
        )
    _report(path, problems, skip_invalid, "pair")
    if not pairs:
        raise mcq.DataError(f"{path}: no preference pairs (need 'chosen' and 'rejected' columns)")
    return pairs


def pairs_from_labels(
    path: str | Path, column: str, *, seed: int = 42, skip_invalid: bool = False
) -> list[Pair]:
    """Pair good texts with bad ones from a labelled completions file (module docstring).

    Raises:
        mcq.DataError: no such column, a label that is not binary, or no good/bad texts.
    """
    column = column.strip().lower()
    records = read_records(path)
    if records and column not in records[0][1]:
        raise mcq.DataError(f"{path}: no label column {column!r} (--pairs_from_labels)")
    good: dict[str, list[tuple[str, str]]] = defaultdict(list)
    bad: dict[str, list[tuple[str, str]]] = defaultdict(list)
    problems = []
    for line, record in records:
        text = next((_text(record.get(c)) for c in _TEXT_COLUMNS if _text(record.get(c))), "")
        label = _text(record.get(column)).lower()
        if not text:
            problems.append(f"line {line}: no completion text")
            continue
        if label not in _TRUE | _FALSE:
            problems.append(f"line {line}: label {label!r} is not binary")
            continue
        question, options = _question(record)
        group = _text(record.get("question_id")) or question or ""
        item = (_text(record.get("id")) or str(line), reward_text(text, question, options))
        (good if label in _TRUE else bad)[group].append(item)
    _report(path, problems, skip_invalid, "labelled text")
    rng = random.Random(seed)
    pairs: list[Pair] = []
    spare_good, spare_bad = [], []
    for group in sorted(set(good) | set(bad)):
        pos, neg = list(good.get(group, [])), list(bad.get(group, []))
        rng.shuffle(pos)
        rng.shuffle(neg)
        if group and pos and neg:
            pairs += _zip_cycle(pos, neg, group)
        else:
            spare_good += pos
            spare_bad += neg
    rng.shuffle(spare_good)
    rng.shuffle(spare_bad)
    if spare_good and spare_bad:
        pairs += _zip_cycle(spare_good, spare_bad, "")
    if not pairs:
        raise mcq.DataError(f"{path}: labels in {column!r} give no good/bad pair")
    return pairs


def split_pairs(pairs: list[Pair], eval_share: float, seed: int) -> tuple[list[Pair], list[Pair]]:
    """Hold out about ``eval_share`` of the pairs, whole question groups at a time (seeded).

    Pairs on one question never sit on both sides, so held-out accuracy is not inflated by
    answers to questions the model trained on.

    Example:
        >>> ps = [Pair(id=str(i), chosen="a", rejected="b", group=str(i % 5)) for i in range(20)]
        >>> train, held = split_pairs(ps, 0.2, seed=1)
        >>> len(train), len(held), {p["group"] for p in train} & {p["group"] for p in held}
        (16, 4, set())
    """
    if not 0 <= eval_share < 1:
        raise UsageError(f"eval_share must be in [0, 1), not {eval_share}")
    if eval_share == 0:
        return list(pairs), []
    groups = sorted({p["group"] for p in pairs})
    random.Random(seed).shuffle(groups)
    target = max(1, round(len(pairs) * eval_share))
    sizes = defaultdict(int)
    for p in pairs:
        sizes[p["group"]] += 1
    held_groups, held = set(), 0
    for group in groups:
        if held >= target:
            break
        held_groups.add(group)
        held += sizes[group]
    train = [p for p in pairs if p["group"] not in held_groups]
    evaluation = [p for p in pairs if p["group"] in held_groups]
    if not train:
        raise UsageError(f"eval_share {eval_share} leaves no pairs to train on")
    return train, evaluation


def _zip_cycle(pos: list[tuple[str, str]], neg: list[tuple[str, str]], group: str) -> list[Pair]:
    n = max(len(pos), len(neg))
    return [
        Pair(
            id=f"{pos[i % len(pos)][0]}>{neg[i % len(neg)][0]}",
            chosen=pos[i % len(pos)][1],
            rejected=neg[i % len(neg)][1],
            group=group or pos[i % len(pos)][0],
        )
        for i in range(n)
    ]


def _question(record: dict[str, Any]) -> tuple[str | None, dict[str, str] | None]:
    question = _text(record.get("question")) or None
    options = record.get("options")
    if not isinstance(options, dict):
        options = {
            letter: _text(record.get(f"option_{letter}".lower()))
            for letter in mcq.LETTERS
            if _text(record.get(f"option_{letter}".lower()))
        }
    return question, ({str(k): _text(v) for k, v in options.items()} or None)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _report(path: str | Path, problems: list[str], skip_invalid: bool, what: str) -> None:
    if problems and skip_invalid:
        log.warning("data: dropped %d bad %s row(s) of %s", len(problems), what, path)
    if problems and not skip_invalid:
        shown = "; ".join(problems[:_SHOW]) + (" ..." if len(problems) > _SHOW else "")
        raise mcq.DataError(
            f"{path}: {len(problems)} bad {what} row(s): {shown} (--skip_invalid drops them)"
        )
