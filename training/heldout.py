"""Held-out questions of a GRPO run: which ones, and what answering them measured.

A run measures the objective beside its reward: questions it does not train on, answered
greedily with the current policy every ``eval_steps`` (:mod:`training.heldout_eval`). They come
from one of two recipe keys:

- ``eval_share``: a seeded share of the training file's questions, removed from training. A
  question and its copy in the other script (Traditional/Simplified) count as one, so they
  always land on the same side.
- ``eval_input``: a file of questions with gold answers (any format ``mcq`` reads, the test
  file's columns plus ``correct_answer``). Training questions that are also in it are left out
  of training. It wins over ``eval_share`` (a recipe's share, a file on the command line).

``eval_max_questions`` keeps the first N held-out questions (the evaluation's cost grows with
them; the rest stay out of training all the same). This module is light: no torch.
"""

from __future__ import annotations

import logging
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import mcq
from mcq.errors import UsageError
from mcq.sources import source_exists

__all__ = [
    "check_heldout_args",
    "heldout_metrics",
    "load_eval_input",
    "question_group",
    "split_by_group",
    "split_heldout",
]

log = logging.getLogger("training")
T = TypeVar("T")


def split_by_group(
    items: Sequence[T],
    share: float,
    seed: int,
    group: Callable[[T], Hashable],
    what: str = "items",
) -> tuple[list[T], list[T]]:
    """Hold out about ``share`` of ``items``, whole groups at a time (seeded); file order kept.

    Items of one group never sit on both sides, so a held-out score is not inflated by near
    copies of what was trained on.

    Example:
        >>> train, held = split_by_group(list(range(20)), 0.2, seed=1, group=lambda i: i % 5)
        >>> len(train), len(held), {i % 5 for i in train} & {i % 5 for i in held}
        (16, 4, set())

    Raises:
        UsageError: ``share`` outside [0, 1), or nothing left to train on.
    """
    if not 0 <= share < 1:
        raise UsageError(f"eval_share must be in [0, 1), not {share}")
    if share == 0:
        return list(items), []
    keys = [group(item) for item in items]
    sizes = Counter(keys)
    groups = sorted(sizes, key=str)
    random.Random(seed).shuffle(groups)
    target = max(1, round(len(items) * share))
    held_groups, held = set(), 0
    for key in groups:
        if held >= target:
            break
        held_groups.add(key)
        held += sizes[key]
    train = [item for item, key in zip(items, keys, strict=True) if key not in held_groups]
    evaluation = [item for item, key in zip(items, keys, strict=True) if key in held_groups]
    if not train:
        raise UsageError(f"eval_share {share} leaves no {what} to train on")
    return train, evaluation


def question_group(question: mcq.Question) -> str:
    """What makes two questions the same: the stem in Simplified script, spaces dropped.

    Example:
        >>> q = lambda text: mcq.Question(id="x", question=text, options={})
        >>> question_group(q("總統 如何產生？")) == question_group(q("总统如何产生？"))
        True
    """
    from rewards.text import to_simplified

    return "".join(to_simplified(question.question).split())


def split_heldout(
    questions: list[mcq.Question], script_args: Any
) -> tuple[list[mcq.Question], list[mcq.Question]]:
    """``(training questions, held-out questions)`` as the script arguments ask.

    With ``eval_input`` the held-out questions are that file's (see :func:`load_eval_input`)
    and training questions with the same stem are dropped from training; with ``eval_share``
    they are drawn from ``questions`` by ``dataset_seed``; otherwise there are none.
    ``eval_max_questions`` caps what is evaluated, not what is kept out of training.
    """
    eval_input = getattr(script_args, "eval_input", None)
    share = getattr(script_args, "eval_share", 0.0) or 0.0
    if eval_input:
        if share:
            log.info("data: eval_input %s is the held-out set; eval_share is not used", eval_input)
        held = load_eval_input(eval_input)
        seen = {question_group(q) for q in held}
        train = [q for q in questions if question_group(q) not in seen]
        if len(train) < len(questions):
            log.info(
                "data: left out %d training question(s) that are also in eval_input %s",
                len(questions) - len(train),
                eval_input,
            )
        if not train:
            raise UsageError(f"every training question is also in eval_input {eval_input}")
    else:
        train, held = split_by_group(
            questions, share, script_args.dataset_seed, question_group, "questions"
        )
    cap = getattr(script_args, "eval_max_questions", None)
    if held and cap is not None and len(held) > cap:
        held = held[:cap]
    return train, held


def load_eval_input(path: str | Path) -> list[mcq.Question]:
    """The questions of ``eval_input`` that have a gold answer; rows without one are counted.

    Raises:
        UsageError: the file is missing or unreadable, or no question has a gold answer.
    """
    if not source_exists(str(path)):
        raise UsageError(f"eval_input {path}: file not found")
    questions = mcq.load_test(path)  # a DataError (a UsageError) naming bad rows
    with_gold = [q for q in questions if q.correct_answer]
    if not with_gold:
        raise UsageError(
            f"eval_input {path}: no question has a gold answer (a correct_answer column with "
            "A-D is needed)"
        )
    if len(with_gold) < len(questions):
        log.warning(
            "eval_input %s: %d of %d questions have no gold answer and are not evaluated",
            path,
            len(questions) - len(with_gold),
            len(questions),
        )
    return with_gold


def check_heldout_args(script_args: Any) -> None:
    """Raise :class:`UsageError` for held-out settings that cannot work, before any training."""
    share = getattr(script_args, "eval_share", 0.0) or 0.0
    eval_input = getattr(script_args, "eval_input", None)
    if not 0 <= share < 1:
        raise UsageError(f"eval_share must be in [0, 1), not {share}")
    cap = getattr(script_args, "eval_max_questions", None)
    if cap is not None and cap < 1:
        raise UsageError(f"eval_max_questions must be at least 1, not {cap}")
    tokens = getattr(script_args, "eval_max_new_tokens", None)
    if tokens is not None and tokens < 1:
        raise UsageError(f"eval_max_new_tokens must be at least 1, not {tokens}")
    if eval_input:
        load_eval_input(eval_input)


def heldout_metrics(
    answers: Sequence[tuple[str | None, str]],
    gold: Sequence[str | None],
    components: dict[str, list[float | None]],
) -> dict[str, float]:
    """The numbers one evaluation logs (all numeric, so every trainer logger keeps them).

    Args:
        answers: ``(letter or None, extraction rule)`` per question, as ``mcq`` extracts them.
        gold: The gold letter per question.
        components: Component name -> its score on each answer (``None``: not applicable).

    Returns:
        ``eval/accuracy`` with ``eval/accuracy_ci_low``/``_ci_high`` (Wilson, 95%), ``eval/n``,
        ``eval/no_letter`` and ``eval/ambiguous`` (shares), ``eval/letter/A``..``D`` (shares;
        with the two above they sum to 1) and ``eval/rewards/<component>`` (mean where it
        applies; left out where it applied to none).

    Example:
        >>> m = heldout_metrics([("A", "marker"), (None, "ambiguous")], ["A", "B"], {"format": [1.0, 0.0]})
        >>> m["eval/accuracy"], m["eval/ambiguous"], m["eval/letter/A"], m["eval/rewards/format"]
        (0.5, 0.5, 0.5, 0.5)
    """
    from evals.stats import wilson_interval

    n = len(answers)
    if n == 0 or n != len(gold):
        raise ValueError(f"{n} answers for {len(gold)} gold letters")
    right = sum(1 for (letter, _), g in zip(answers, gold, strict=True) if letter and letter == g)
    low, high = wilson_interval(right, n)
    letters = Counter(letter for letter, _ in answers if letter)
    ambiguous = sum(1 for letter, rule in answers if not letter and rule == "ambiguous")
    metrics = {
        "eval/accuracy": right / n,
        "eval/accuracy_ci_low": low,
        "eval/accuracy_ci_high": high,
        "eval/n": float(n),
        "eval/no_letter": (n - sum(letters.values()) - ambiguous) / n,
        "eval/ambiguous": ambiguous / n,
    }
    metrics |= {f"eval/letter/{x}": letters[x] / n for x in mcq.LETTERS}
    sums: dict[str, list[float]] = defaultdict(list)
    for name, values in components.items():
        sums[name] = [v for v in values if v is not None]
    metrics |= {f"eval/rewards/{k}": sum(v) / len(v) for k, v in sums.items() if v}
    return metrics
