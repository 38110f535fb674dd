"""Preference pairs for ``python -m training rm``: read them, or make them from labelled texts.

Pairs and labels are read by :mod:`rewards.judgments` (the reader ``evals rewards`` uses, so a
file valid for one is valid for the other): ``chosen``/``rejected`` (texts or message lists)
plus optional ``prompt``, ``id``, ``question``, ``options``, ``correct_answer``,
``question_id`` and ``subset``. Each side becomes the conversation
:func:`rewards.learned.conversation` builds (the pair's prompt, else the question as the policy
is asked it, then the answer), the conversation the trained model reads when it scores. TRL's
``RewardTrainer`` trains on them in its conversational preference format through the
tokenizer's chat template (:func:`trainer_rows`; plain text for a tokenizer without one).

Labelled texts (``--pairs_from_labels COLUMN``): a completions file whose ``COLUMN`` says
whether each text is good (1/0, true/false, yes/no, pos/neg, good/bad). Within a group of
texts answering the same question (a ``question_id`` column, else the ``question`` text),
each good text is paired with a
bad one, cycling the shorter list, in a seeded random order; texts left without a partner in
their group are paired across groups at random (seeded).
"""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import mcq
from rewards.judgments import load_labelled, read_pairs
from rewards.learned import conversation, has_chat_template, plain_text
from rewards.registry import Sample

__all__ = ["Pair", "load_pairs", "pairs_from_labels", "split_pairs", "trainer_rows"]


class Pair(dict):
    """One preference pair: ``id``, ``chosen``, ``rejected`` (conversations: message lists),
    ``group``, and ``source``: the pair as a pairs file holds it (the two conversations,
    question, options, gold, subset), so held-out pairs can be written back out for
    ``evals rewards``."""


#: What a labelled text's row says about its question, copied into a pair's ``source``.
_QUESTION_KEYS = ("question_id", "question", "options", "correct_answer")
#: A labelled text: (id, answer, its completions row).
_Text = tuple[str, str, dict[str, Any]]


def load_pairs(path: str | Path, *, skip_invalid: bool = False) -> list[Pair]:
    """Read a pairs file into :class:`Pair` s whose sides are conversations.

    A pair without a question (no ``question_id`` or ``question``) is a group of its own.

    Raises:
        mcq.DataError: invalid pairs (see :func:`rewards.judgments.read_pairs`), unless
            ``skip_invalid``, which drops them.
    """
    pairs = []
    for pair in read_pairs(path, skip_invalid=skip_invalid):
        sides = {side: _side(pair, side) for side in ("chosen", "rejected")}
        kept = {k: v for k, v in pair.items() if k not in _READER_ONLY and v not in ("", None)}
        pairs.append(
            Pair(
                id=pair["id"],
                group=pair["group"] or f"#{pair['id']}",
                source=kept | sides,
                **sides,
            )
        )
    return pairs


def trainer_rows(pairs: list[Pair], tokenizer: Any) -> list[dict[str, Any]]:
    """The pairs as TRL's ``RewardTrainer`` takes them: conversational preference rows
    (``{"chosen": [messages], "rejected": [messages]}``, which it renders with the tokenizer's
    chat template), or plain-text rows for a tokenizer without a template."""
    if has_chat_template(tokenizer):
        return [{"chosen": p["chosen"], "rejected": p["rejected"]} for p in pairs]
    return [
        {"chosen": plain_text(p["chosen"]), "rejected": plain_text(p["rejected"])} for p in pairs
    ]


#: What :func:`rewards.judgments.read_pairs` adds that a pairs file does not hold.
_READER_ONLY = ("group", "chosen_prompt", "rejected_prompt")


def _side(pair: dict[str, Any], side: str) -> list[dict[str, Any]]:
    """One side of a pair read from a file, as the conversation the reward model reads."""
    sample = Sample(
        question=pair.get("question"),
        options=pair.get("options"),
        prompt=pair.get(f"{side}_prompt"),
    )
    return conversation(pair[side], sample)


def _row_conversation(answer: str, row: dict[str, Any]) -> list[dict[str, Any]]:
    """A labelled text as the conversation the reward model reads."""
    sample = Sample(
        question=row.get("question"), options=row.get("options"), prompt=row.get("prompt")
    )
    return conversation(answer, sample)


def pairs_from_labels(
    path: str | Path, column: str, *, seed: int = 42, skip_invalid: bool = False
) -> list[Pair]:
    """Pair good texts with bad ones from a labelled completions file (module docstring).

    Raises:
        mcq.DataError: no such column, a label that is not binary, or no good/bad texts.
    """
    rows, labels, _ = load_labelled(path, column, skip_invalid=skip_invalid)
    good: dict[str, list[_Text]] = defaultdict(list)
    bad: dict[str, list[_Text]] = defaultdict(list)
    for row, label in zip(rows, labels, strict=True):
        text = str(row["completion"] or "").strip()
        if not text:
            continue  # an empty answer is no evidence either way
        group = row.get("question_id") or row.get("question") or ""
        (good if label else bad)[group].append((row["id"], text, row))
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
    from training.heldout import split_by_group

    return split_by_group(pairs, eval_share, seed, lambda p: p["group"], "pairs")


def _zip_cycle(pos: list[_Text], neg: list[_Text], group: str) -> list[Pair]:
    pairs = []
    for i in range(max(len(pos), len(neg))):
        (good_id, good, good_row), (bad_id, bad, bad_row) = pos[i % len(pos)], neg[i % len(neg)]
        pair_id = f"{good_id}>{bad_id}"
        sides = {
            "chosen": _row_conversation(good, good_row),
            "rejected": _row_conversation(bad, bad_row),
        }
        source = {"id": pair_id} | sides
        if group:  # the question both answer; across groups the pair has none
            source |= {k: good_row[k] for k in _QUESTION_KEYS if k in good_row}
        pairs.append(Pair(id=pair_id, group=group or good_id, source=source, **sides))
    return pairs
