"""A chat turn as the model receives it: the visitor's message, checked history, system turn;
the oldest turns left out when the whole conversation does not fit the model's context.

Example:
    >>> chat_messages("你好", [{"role": "user", "content": [{"type": "text", "text": "早"}]},
    ...                        {"role": "assistant", "content": "早安"}], "", default_system="")
    [{'role': 'user', 'content': '早'}, {'role': 'assistant', 'content': '早安'}, {'role': 'user', 'content': '你好'}]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from app.limits import LIMITS, check_text
from mcq.errors import UsageError

if TYPE_CHECKING:
    from inference.backends.base import Backend, Conversation

__all__ = ["chat_messages", "fit_turns", "limit_notes", "split_turns"]


def chat_messages(
    message: object,
    history: Sequence[Any] | None,
    system_prompt: object,
    default_system: str | None = None,
) -> list[dict[str, str]]:
    """Check a chat turn and its history; return the messages to send to the model.

    An empty ``system_prompt`` means ``default_system`` (None: mcq's default system turn;
    "": no system turn).
    History items are ``{"role": "user"|"assistant", "content": str}``; Gradio 6's
    ``[{"type": "text", "text": ...}]`` content lists are accepted too.
    """
    import mcq

    text = check_text("message", message, LIMITS.message_chars, required=True)
    system = check_text("system prompt", system_prompt, LIMITS.system_prompt_chars)
    turns = list(history or [])
    if len(turns) > 2 * LIMITS.history_turns:
        raise UsageError(
            f"the conversation is longer than {LIMITS.history_turns} turns; clear it to go on"
        )
    system = system or (mcq.SYSTEM_PROMPT if default_system is None else default_system)
    messages = [{"role": "system", "content": system}] if system else []
    for i, turn in enumerate(turns):
        role = turn.get("role") if isinstance(turn, dict) else None
        if role not in ("user", "assistant"):
            raise UsageError(f"history item {i}: role must be 'user' or 'assistant'")
        content = _plain_text(turn.get("content"))
        check_text(f"history item {i}", content, max(LIMITS.message_chars, LIMITS.completion_chars))
        messages.append({"role": role, "content": content})
    messages.append({"role": "user", "content": text})
    return messages


def _plain_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "")
    if isinstance(content, list):
        return "".join(_plain_text(part) for part in content)
    return ""


def split_turns(history: Sequence[Mapping[str, str]]) -> list[list[Mapping[str, str]]]:
    """Group chat messages into turns: a user message with the replies that follow it.

    The oldest turn is the first to go when a conversation outgrows the model's context.

    Example:
        >>> turns = split_turns([
        ...     {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
        ...     {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"},
        ... ])
        >>> [[m["content"] for m in t] for t in turns]
        [['a', 'b'], ['c', 'd']]
    """
    turns: list[list[Mapping[str, str]]] = []
    for item in history:
        if item.get("role") == "user" or not turns:
            turns.append([item])
        else:
            turns[-1].append(item)
    return turns


def limit_notes(turns_dropped: int = 0, timed_out: bool = False, limit_s: float = 0.0) -> list[str]:
    """The lines a visitor reads when the app bounded a request: turns left out, answer cut.

    Example:
        >>> print(*limit_notes(2, timed_out=True, limit_s=120), sep="\\n")
        The 2 oldest turns were left out: the whole conversation does not fit the model's context.
        The answer was cut: it reached the time limit of 120 s per request.
    """
    notes = []
    if turns_dropped:
        which = "oldest turn was" if turns_dropped == 1 else f"{turns_dropped} oldest turns were"
        notes.append(
            f"The {which} left out: the whole conversation does not fit the model's context."
        )
    if timed_out:
        notes.append(f"The answer was cut: it reached the time limit of {limit_s:g} s per request.")
    return notes


def fit_turns(
    backend: Backend, messages: Conversation, max_new_tokens: int
) -> tuple[Conversation, int]:
    """``messages`` without the oldest turns that keep them from fitting ``backend``'s context
    (measured with its tokenizer, as ``inference.context`` does), and how many turns went.
    The system turn and the new message always stay.

    Raises:
        UsageError: even the system turn and the new message alone do not fit.
    """
    from inference.context import prompt_budget

    budget = prompt_budget(backend, max_new_tokens)
    if budget is None:
        return messages, 0
    head = messages[:1] if messages[0]["role"] == "system" else []
    turns = split_turns(messages[len(head) : -1])

    def kept(dropped: int) -> Conversation:
        return [*head, *(m for turn in turns[dropped:] for m in turn), messages[-1]]

    def fits(dropped: int) -> bool:
        return backend.prompt_lengths([kept(dropped)])[0] <= budget

    if fits(0):
        return messages, 0
    if not fits(len(turns)):
        length = backend.prompt_lengths([kept(len(turns))])[0]
        raise UsageError(
            f"the message and system prompt are {length} tokens; the model's context of "
            f"{backend.max_model_len} leaves {budget} beside {max_new_tokens} new tokens: "
            "shorten the message or the system prompt, or lower max tokens"
        )
    # Binary search for the fewest dropped turns that fit: O(log turns) tokenizer calls.
    too_few, enough = 0, len(turns)
    while enough - too_few > 1:
        middle = (too_few + enough) // 2
        too_few, enough = (too_few, middle) if fits(middle) else (middle, enough)
    return kept(enough), enough
