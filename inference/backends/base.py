"""What every backend shares: the :class:`Backend` contract, :class:`Generation`, and helpers.

:mod:`inference.backends.vllm` and :mod:`inference.backends.transformers` implement the same
methods, so a caller (``generate``, the app, the demo builder) never asks which one it holds.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mcq import LETTERS, format_answer

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = [
    "ANSWER_PREFIX",
    "MAX_VLLM_ENGINES",
    "Backend",
    "Conversation",
    "Generation",
    "answer_conversation",
    "on_cuda",
    "per_conversation_seeds",
    "prompt_lengths",
]

#: One chat, ``[{"role": ..., "content": ...}, ...]``, as :func:`mcq.build_messages` makes it.
Conversation = list[dict[str, str]]

#: The assistant text the constrained pass continues from: the answer line of
#: :func:`mcq.format_answer` (``答案：X``, what the prompt asks for) before its letter.
ANSWER_PREFIX = format_answer(None, None).partition("\n")[0]

#: vLLM engines ``get_backend`` keeps alive at once (the app may hold a base and a tuned one).
MAX_VLLM_ENGINES = 2


@dataclass(frozen=True)
class Generation:
    """One generated answer: its text and how many tokens the model produced for it."""

    text: str
    num_tokens: int


class Backend(Protocol):
    """The contract of every backend (see :mod:`inference.backends` for what each method does).

    ``max_model_len`` is the context (prompt + answer) in tokens, None when unknown.
    """

    name: str
    model: str
    adapter: str | None
    max_model_len: int | None

    def prompt_lengths(self, conversations: Sequence[Conversation]) -> list[int]: ...

    def chat(
        self,
        conversations: Sequence[Conversation],
        *,
        temperature: float = 0.0,
        top_p: float = 1.0,
        max_new_tokens: int = 512,
        n: int = 1,
        seed: int | Sequence[int | None] | None = None,
        lora: bool = True,
        ignore_eos: bool = False,
    ) -> list[list[Generation]]: ...

    def choose(
        self,
        conversations: Sequence[Conversation],
        choices: Sequence[str] = LETTERS,
        *,
        lora: bool = True,
    ) -> list[str]: ...

    def stream_chat(
        self,
        messages: Conversation,
        *,
        temperature: float = 0.0,
        max_new_tokens: int = 512,
        use_adapter: bool = True,
    ) -> Iterator[str]: ...

    def reset_prefix_cache(self) -> None: ...

    def close(self) -> None: ...


def on_cuda() -> bool:
    """True when torch sees a CUDA (or ROCm) device."""
    import torch

    return torch.cuda.is_available()


def local_or_hub(name: str | os.PathLike[str]) -> str:
    """An existing local path made absolute (one cache entry however it is spelled), else as is."""
    path = Path(name).expanduser()
    return str(path.resolve()) if path.exists() else str(name)


def freeze(value: Any) -> Any:
    """A hashable stand-in for engine keyword arguments (dicts and lists become tuples).

    Example:
        >>> freeze({"b": [1, 2], "a": {"x": 1}})
        (('a', (('x', 1),)), ('b', (1, 2)))
    """
    if isinstance(value, dict):
        return tuple(sorted((k, freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple | set):
        return tuple(freeze(v) for v in value)
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def per_conversation_seeds(seed: int | Sequence[int | None] | None, count: int) -> list[int | None]:
    """One seed per conversation: ``seed`` repeated, or the given list checked for length.

    Example:
        >>> per_conversation_seeds(7, 3)
        [7, 7, 7]
    """
    if seed is None or isinstance(seed, int):
        return [seed] * count
    seeds = list(seed)
    if len(seeds) != count:
        raise ValueError(f"got {len(seeds)} seeds for {count} conversations")
    return seeds


def prompt_lengths(
    tokenizer: PreTrainedTokenizerBase, conversations: Sequence[Conversation]
) -> list[int]:
    """Tokens of each conversation's chat prompt (template applied, generation prompt added)."""
    if not conversations:
        return []
    texts = [
        tokenizer.apply_chat_template(list(c), tokenize=False, add_generation_prompt=True)
        for c in conversations
    ]
    # verbose=False: measuring an over-long prompt is the point, not a reason to warn.
    encoded = tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
    return [len(ids) for ids in encoded]


def answer_conversation(conversation: Conversation) -> Conversation:
    """The conversation with an assistant turn opened by ``答案：`` for the model to continue.

    Example:
        >>> answer_conversation([{"role": "user", "content": "問題"}])[-1]
        {'role': 'assistant', 'content': '答案：'}
    """
    return [*conversation, {"role": "assistant", "content": ANSWER_PREFIX}]
