"""The GRPO training set: questions from ``mcq``, as chat prompts plus the columns rewards read."""

from __future__ import annotations

import logging
import random
from typing import Any

import mcq
from mcq.errors import UsageError
from mcq.files import set_input_encoding

__all__ = [
    "build_dataset",
    "build_datasets",
    "load_prompt",
    "prompt_record",
    "prompt_tokens",
    "select_subset",
]

log = logging.getLogger("training")


def build_dataset(script_args: Any, tokenizer: Any = None):
    """Load the training file through ``mcq`` and return a ``datasets.Dataset`` for TRL.

    Each row has a conversational ``prompt`` (mcq's chat messages) and the columns the reward
    functions read: ``correct_answer``, ``id``, ``question``, ``option_A``..``option_D``.
    Leaves out the held-out questions (``eval_share``/``eval_input``, see
    :mod:`training.heldout`), then applies ``dataset_fraction`` (seeded random subset),
    ``max_samples`` and, given a tokenizer, ``max_prompt_length``.
    """
    return build_datasets(script_args, tokenizer)[0]


def build_datasets(script_args: Any, tokenizer: Any = None) -> tuple[Any, list[mcq.Question]]:
    """:func:`build_dataset` and the held-out questions (empty when none are held out)."""
    from datasets import Dataset

    from training.heldout import split_heldout

    if not 0 < script_args.dataset_fraction <= 1:
        raise UsageError(f"dataset_fraction must be in (0, 1], not {script_args.dataset_fraction}")
    if script_args.max_samples is not None and script_args.max_samples < 1:
        raise UsageError(f"max_samples must be at least 1, not {script_args.max_samples}")
    set_input_encoding(getattr(script_args, "encoding", None))
    questions = mcq.load_train(script_args.dataset_path, skip_invalid=script_args.skip_invalid)
    total = len(questions)
    questions, heldout = split_heldout(questions, script_args)
    if heldout:
        log.info(
            "data: holding out %d question(s) for eval/accuracy (%s)",
            len(heldout),
            f"eval_input {script_args.eval_input}"
            if getattr(script_args, "eval_input", None)
            else f"eval_share {script_args.eval_share}, seed {script_args.dataset_seed}",
        )
    questions = select_subset(
        questions, script_args.dataset_fraction, script_args.max_samples, script_args.dataset_seed
    )
    prompt = load_prompt(script_args.prompt)
    rows = [_row(q, prompt, script_args.system_prompt) for q in questions]

    if tokenizer is not None and script_args.max_prompt_length:
        limit = script_args.max_prompt_length
        kept = [r for r in rows if prompt_tokens(tokenizer, r["prompt"]) <= limit]
        too_long, rows = len(rows) - len(kept), kept
        if too_long:
            log.warning(
                "data: dropped %d of %d questions whose prompt is longer than max_prompt_length "
                "%d tokens",
                too_long,
                too_long + len(rows),
                limit,
            )
    if not rows:
        raise UsageError(f"{script_args.dataset_path}: no training rows left after selection")
    log.info(
        "data: %s has %d valid rows; training on %d (fraction %s, seed %d, max_samples %s, "
        "prompt %s)",
        script_args.dataset_path,
        total,
        len(rows),
        script_args.dataset_fraction,
        script_args.dataset_seed,
        script_args.max_samples,
        prompt.name,
    )
    return Dataset.from_list(rows), heldout


def select_subset(items: list, fraction: float, max_samples: int | None, seed: int) -> list:
    """Return a seeded random ``fraction`` of ``items`` (file order kept), then the first ``max_samples``.

    Example:
        >>> select_subset(list("abcdef"), 0.5, None, seed=1) == select_subset(list("abcdef"), 0.5, None, seed=1)
        True
        >>> select_subset(list("abcdef"), 1.0, 2, seed=0)
        ['a', 'b']
    """
    if fraction < 1:
        count = max(1, round(len(items) * fraction))
        chosen = sorted(random.Random(seed).sample(range(len(items)), count))
        items = [items[i] for i in chosen]
    if max_samples is not None:
        items = items[:max_samples]
    return items


def load_prompt(name_or_path: str) -> mcq.Prompt:
    """The ``prompt`` script argument as an :class:`mcq.Prompt`; a usage error if unusable."""
    return mcq.load_prompt(name_or_path)  # a DataError (a UsageError) that names the prompt


def prompt_record(name_or_path: str) -> dict[str, str]:
    """What ``zhongli_run.json`` says about the prompt: name, path and fingerprint."""
    prompt = load_prompt(name_or_path)
    return {"name": prompt.name, "path": prompt.path, "fingerprint": prompt.fingerprint}


def prompt_tokens(tokenizer: Any, messages: list[dict[str, str]]) -> int:
    """Length in tokens of ``messages`` as the chat template renders them for generation."""
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def _row(q: mcq.Question, prompt: mcq.Prompt, system_prompt: str | None) -> dict[str, Any]:
    own = {} if system_prompt is None else {"system_prompt": system_prompt}
    row: dict[str, Any] = {
        "prompt": mcq.build_messages(q, prompt, **own),
        "id": q.id,
        "question": q.question,
        "correct_answer": q.correct_answer,
    }
    for letter in mcq.LETTERS:
        row[f"option_{letter}"] = q.options.get(letter, "")
    return row
