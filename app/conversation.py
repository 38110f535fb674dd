"""A chat turn as the model receives it: the visitor's message, checked history, system turn.

Example:
    >>> chat_messages("你好", [{"role": "user", "content": [{"type": "text", "text": "早"}]},
    ...                        {"role": "assistant", "content": "早安"}], "", default_system="")
    [{'role': 'user', 'content': '早'}, {'role': 'assistant', 'content': '早安'}, {'role': 'user', 'content': '你好'}]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.helpers import LIMITS, check_text
from mcq.errors import UsageError

__all__ = ["chat_messages"]


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
