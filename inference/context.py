"""Context safety: every question's prompt is measured with the model's tokenizer and, when it
does not fit, shortened before it reaches the engine.

The budget of a prompt is the backend's context (``max_model_len``: vLLM's, or the smaller of
the model's ``max_position_embeddings`` and a ``max_model_len`` given to transformers) minus
the new tokens asked for. A question whose prompt is over budget goes through
:func:`mcq.fit_question` (the middle of the stem cut and marked, the options and the answer
format kept whole unless the stem alone cannot make room). One rule for ``generate`` (both
backends, ``--samples``, the constrained re-ask, data-parallel workers) and the app.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import mcq
from mcq import Question

if TYPE_CHECKING:
    from inference.backends import Backend

__all__ = ["CHOICE_RESERVE", "fit_conversations", "prompt_budget", "shortest_prompt_tokens"]

#: Tokens always kept free after the prompt: the constrained re-ask continues from ``答案：``
#: and writes one letter (and an end-of-turn).
CHOICE_RESERVE = 16


def prompt_budget(backend: Backend, max_new_tokens: int) -> int | None:
    """Tokens a prompt may take on ``backend``; None when the backend's context is unknown."""
    context = backend.max_model_len
    if not context:
        return None
    return int(context) - max(int(max_new_tokens), CHOICE_RESERVE)


#: Default of ``system_prompt``: keep the prompt's own system turn.
_PROMPTS_OWN = object()


def _builder(
    prompt: mcq.Prompt | str | None, system_prompt: Any
) -> Callable[[Question], list[dict[str, str]]]:
    own = {} if system_prompt is _PROMPTS_OWN else {"system_prompt": system_prompt}
    return lambda q: mcq.build_messages(q, prompt, **own)


def shortest_prompt_tokens(
    backend: Backend, prompt: mcq.Prompt | str | None = None, system_prompt: Any = _PROMPTS_OWN
) -> int:
    """Tokens of the shortest prompt :func:`mcq.fit_question` can make (stem and options cut
    to the mark): what the system turn, the example and the answer format cost on their own."""
    bare = Question(
        id="shortest",
        question=mcq.CUT_MARK,
        options=dict.fromkeys(mcq.LETTERS, mcq.CUT_MARK),
    )
    return backend.prompt_lengths([_builder(prompt, system_prompt)(bare)])[0]


def fit_conversations(
    backend: Backend,
    questions: Sequence[Question],
    prompt: mcq.Prompt | str | None = None,
    *,
    max_new_tokens: int,
    system_prompt: Any = _PROMPTS_OWN,
) -> tuple[list[list[dict[str, str]]], list[bool]]:
    """Chat messages for ``questions`` that fit ``backend``'s context, and which were cut.

    Every prompt is measured in one batch; only those over budget are fitted (a binary search,
    O(log n) tokenizer calls each). ``system_prompt`` replaces the prompt's system turn.

    Raises:
        mcq.PromptTooLong: the system turn, example and answer format leave no room for the
            question (lower ``max_new_tokens`` or raise the context).
    """
    build = _builder(prompt, system_prompt)
    conversations = [build(q) for q in questions]
    truncated = [False] * len(conversations)
    budget = prompt_budget(backend, max_new_tokens)
    if budget is None or not conversations:
        return conversations, truncated
    lengths = backend.prompt_lengths(conversations)
    for i, (question, length) in enumerate(zip(questions, lengths, strict=True)):
        if length <= budget:
            continue

        def count(q: Question) -> int:
            return backend.prompt_lengths([build(q)])[0]

        fitted, truncated[i] = mcq.fit_question(question, count, budget)
        conversations[i] = build(fitted)
    return conversations, truncated
