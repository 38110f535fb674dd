"""The one prompt template zhongli uses for training, generation, scoring and the app.

All wording lives here: change it in this file and every package follows.
"""

from __future__ import annotations

import logging
from typing import Any

from mcq.records import LETTERS, Question

__all__ = [
    "ANSWER_FORMAT_HINT",
    "SYSTEM_PROMPT",
    "build_messages",
    "format_question",
    "render_prompt",
]

log = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "你是一位謹慎、中立的公民議題助理。回答選擇題時，請依據事實與可查證的資料，"
    "公平呈現不同立場的觀點，避免情緒化或帶有偏見的用語，也不替任何政黨或立場表態。"
)

ANSWER_FORMAT_HINT = (
    "請先在第一行寫出「答案：X」（X 為 A、B、C、D 其中一個字母），"
    "再另起一行寫「理由：」，說明你的推理，並持平考量不同的觀點。"
)


def format_question(q: Question) -> str:
    """Return the user turn for ``q``: the question, one ``A. ...`` line per option, the hint.

    Example:
        >>> q = Question(id="1", question="下列何者正確？", options=dict(zip("ABCD", "甲乙丙丁")))
        >>> print(format_question(q).splitlines()[2])
        A. 甲
    """
    lines = ["問題：" + q.question.strip(), ""]
    lines += [f"{letter}. {q.options.get(letter, '').strip()}" for letter in LETTERS]
    lines += ["", ANSWER_FORMAT_HINT]
    return "\n".join(lines)


def build_messages(q: Question, system_prompt: str | None = SYSTEM_PROMPT) -> list[dict[str, str]]:
    """Return chat messages (system, user) for ``q``; no system turn when ``system_prompt`` is falsy."""
    messages: list[dict[str, str]] = []
    if system_prompt:
        messages.append({"role": "system", "content": system_prompt})
    messages.append({"role": "user", "content": format_question(q)})
    return messages


def render_prompt(
    q: Question, tokenizer: Any = None, system_prompt: str | None = SYSTEM_PROMPT
) -> str:
    """Render ``q`` as one prompt string.

    With a tokenizer, its chat template is applied with ``add_generation_prompt=True`` so the
    model continues as the assistant. A template that rejects a system turn gets the system
    prompt folded into the user turn. Without a tokenizer (or with one that has no template)
    the plain text is the system prompt and the user turn separated by blank lines.

    Example:
        >>> q = Question(id="1", question="何者正確？", options=dict(zip("ABCD", "甲乙丙丁")))
        >>> render_prompt(q, system_prompt=None).startswith("問題：何者正確？")
        True
    """
    messages = build_messages(q, system_prompt)
    if tokenizer is None or not getattr(tokenizer, "chat_template", None):
        if tokenizer is not None:
            log.warning("tokenizer has no chat template; using the plain-text prompt")
        return "\n\n".join(m["content"] for m in messages) + "\n\n"
    try:
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    except Exception as err:
        # Some templates (e.g. Gemma's) reject a system turn: fold it into the user turn.
        if len(messages) < 2 or "system" not in str(err).lower():
            raise
        merged = [
            {"role": "user", "content": messages[0]["content"] + "\n\n" + messages[1]["content"]}
        ]
        return tokenizer.apply_chat_template(merged, tokenize=False, add_generation_prompt=True)
