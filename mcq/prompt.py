"""The prompt zhongli uses for training, generation, scoring and the app.

The wording lives in ``assets/prompts/*.yaml``, one file a variant (``default`` unless another
is chosen with ``--prompt NAME|PATH``)::

    description: one line for listings
    system: the system turn (empty: no system turn)
    answer_format: the paragraph after the options, saying how to write the answer
    example:                 # optional: one worked example, shown as an earlier exchange
      question: ...
      options: {A: ..., B: ..., C: ..., D: ...}
      answer: the assistant's reply to it

:func:`load_prompt` reads one; :func:`build_messages` and :func:`render_prompt` turn a
:class:`~mcq.records.Question` into chat messages or one prompt string with it.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from mcq import paths
from mcq.errors import DataError
from mcq.files import asset_file, read_yaml
from mcq.records import LETTERS, Question

__all__ = [
    "ANSWER_FORMAT_HINT",
    "DEFAULT_PROMPT",
    "PROMPT_DIR",
    "SYSTEM_PROMPT",
    "Example",
    "Prompt",
    "build_messages",
    "format_question",
    "list_prompts",
    "load_prompt",
    "render_prompt",
]

log = logging.getLogger(__name__)

#: Where the shipped prompt variants live; ``--prompt NAME`` means ``PROMPT_DIR/NAME.yaml``.
PROMPT_DIR = paths.PROMPT_DIR


@dataclass(frozen=True)
class Example:
    """A worked example: a question and the reply a model should give to it."""

    question: Question
    answer: str


@dataclass(frozen=True)
class Prompt:
    """One prompt variant.

    Attributes:
        name: The variant's name (its file name without ``.yaml``).
        system: The system turn; empty or None sends none.
        answer_format: The paragraph after the options that says how to answer.
        example: An optional worked example, shown before the real question.
        description: One line for listings.
        path: The YAML file it came from ("" when built in code).
    """

    name: str
    system: str | None
    answer_format: str
    example: Example | None = None
    description: str = ""
    path: str = ""

    @property
    def fingerprint(self) -> str:
        """A short hash of the wording: two prompts with the same text have the same one.

        Example:
            >>> a = Prompt("a", "系統", "格式")
            >>> a.fingerprint == Prompt("b", "系統", "格式").fingerprint != Prompt("a", "", "格式").fingerprint
            True
        """
        parts = [self.system or "", self.answer_format]
        if self.example is not None:
            q = self.example.question
            parts += [q.question, *(q.options.get(x, "") for x in LETTERS), self.example.answer]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12]


def list_prompts() -> list[Prompt]:
    """The shipped prompt variants (``assets/prompts/*.yaml``), sorted by name."""
    return [load_prompt(path) for path in sorted(PROMPT_DIR.glob("*.yaml"))]


def load_prompt(name_or_path: str | os.PathLike[str] | Prompt | None = None) -> Prompt:
    """Load a prompt variant by name (``default``, ``fewshot``) or by path to a YAML file.

    None means ``default``; a :class:`Prompt` is returned as it is.

    Raises:
        mcq.DataError: unknown name, missing or unreadable file, invalid YAML, unknown keys,
            a missing ``answer_format``, an example without its four options or its answer.

    Example:
        >>> load_prompt("fewshot").example.question.options["B"][:6]
        '地方自治團體'
        >>> load_prompt("no-such-prompt")
        Traceback (most recent call last):
        ...
        mcq.errors.DataError: unknown prompt 'no-such-prompt'; use one of default, fewshot or a path to a YAML file
    """
    if isinstance(name_or_path, Prompt):
        return name_or_path
    text = "default" if name_or_path is None else os.fspath(name_or_path)
    return _load_file(*asset_file(text, PROMPT_DIR, "prompt"))


@lru_cache(maxsize=32)
def _load_file(path_text: str, mtime: float) -> Prompt:
    path = Path(path_text)
    data = read_yaml(path, "prompt")
    if not isinstance(data, dict):
        raise DataError(f"prompt {path}: expected a mapping with 'answer_format'")
    unknown = sorted(set(data) - {"description", "system", "answer_format", "example"})
    if unknown:
        raise DataError(f"prompt {path}: unknown keys {unknown}")
    system = data.get("system")
    hint = data.get("answer_format")
    if system is not None and not isinstance(system, str):
        raise DataError(f"prompt {path}: 'system' must be text (or empty for no system turn)")
    if not isinstance(hint, str) or not hint.strip():
        raise DataError(f"prompt {path}: 'answer_format' must be non-empty text")
    return Prompt(
        name=path.stem,
        system=(system or "").strip() or None,
        answer_format=hint.strip(),
        example=_example(path, data.get("example")),
        description=str(data.get("description") or "").strip(),
        path=str(path),
    )


def _example(path: Path, raw: Any) -> Example | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != {"question", "options", "answer"}:
        raise DataError(f"prompt {path}: 'example' needs exactly question, options and answer")
    options = raw["options"]
    if isinstance(options, list):
        options = dict(zip(LETTERS, options, strict=False))
    if (
        not isinstance(options, dict)
        or sorted(map(str, options)) != list(LETTERS)
        or not all(isinstance(v, str) and v.strip() for v in options.values())
    ):
        raise DataError(f"prompt {path}: example options must give text for each of A, B, C, D")
    question, answer = raw["question"], raw["answer"]
    if not (isinstance(question, str) and question.strip()):
        raise DataError(f"prompt {path}: example question must be non-empty text")
    if not (isinstance(answer, str) and answer.strip()):
        raise DataError(f"prompt {path}: example answer must be non-empty text")
    record = Question(
        id="example",
        question=question.strip(),
        options={str(k): v.strip() for k, v in options.items()},
    )
    return Example(record, answer.strip())


#: The prompt every function here uses unless given another (``assets/prompts/default.yaml``).
DEFAULT_PROMPT = load_prompt("default")
#: The default prompt's system turn (kept as a name for code written before prompt files).
SYSTEM_PROMPT: str = DEFAULT_PROMPT.system or ""
#: The default prompt's answer-format paragraph.
ANSWER_FORMAT_HINT: str = DEFAULT_PROMPT.answer_format


class _PromptSystem:
    """Marker default of ``system_prompt``: use the prompt's own system turn."""

    def __repr__(self) -> str:
        return "<the prompt's system turn>"


_OWN_SYSTEM: Any = _PromptSystem()


def format_question(q: Question, prompt: Prompt | str | None = None) -> str:
    """Return the user turn for ``q``: the question, one ``A. ...`` line per option, the hint.

    Example:
        >>> q = Question(id="1", question="下列何者正確？", options=dict(zip("ABCD", "甲乙丙丁")))
        >>> print(format_question(q).splitlines()[2])
        A. 甲
        >>> format_question(q).endswith(ANSWER_FORMAT_HINT)
        True
    """
    hint = load_prompt(prompt).answer_format
    lines = ["問題：" + q.question.strip(), ""]
    lines += [f"{letter}. {q.options.get(letter, '').strip()}" for letter in LETTERS]
    lines += ["", hint]
    return "\n".join(lines)


def build_messages(
    q: Question, prompt: Prompt | str | None = None, *, system_prompt: str | None = _OWN_SYSTEM
) -> list[dict[str, str]]:
    """Return the chat messages for ``q`` under ``prompt`` (a :class:`Prompt`, name or path).

    The system turn (unless empty), the worked example as a user and an assistant turn (when
    the prompt has one), then the question. ``system_prompt`` replaces the prompt's system
    turn; a falsy one sends none.

    Example:
        >>> q = Question(id="1", question="何者正確？", options=dict(zip("ABCD", "甲乙丙丁")))
        >>> [m["role"] for m in build_messages(q)]
        ['system', 'user']
        >>> [m["role"] for m in build_messages(q, "fewshot", system_prompt=None)]
        ['user', 'assistant', 'user']
    """
    p = load_prompt(prompt)
    system = p.system if system_prompt is _OWN_SYSTEM else system_prompt
    messages: list[dict[str, str]] = []
    if system:
        messages.append({"role": "system", "content": system})
    if p.example is not None:
        messages.append({"role": "user", "content": format_question(p.example.question, p)})
        messages.append({"role": "assistant", "content": p.example.answer})
    messages.append({"role": "user", "content": format_question(q, p)})
    return messages


def render_prompt(
    q: Question,
    tokenizer: Any = None,
    prompt: Prompt | str | None = None,
    *,
    system_prompt: str | None = _OWN_SYSTEM,
) -> str:
    """Render ``q`` as one prompt string.

    With a tokenizer, its chat template is applied with ``add_generation_prompt=True`` so the
    model continues as the assistant. A template that rejects a system turn gets the system
    prompt folded into the first user turn. Without a tokenizer (or with one that has no
    template) the plain text is every turn's text separated by blank lines.

    Example:
        >>> q = Question(id="1", question="何者正確？", options=dict(zip("ABCD", "甲乙丙丁")))
        >>> render_prompt(q, system_prompt=None).startswith("問題：何者正確？")
        True
    """
    messages = build_messages(q, prompt, system_prompt=system_prompt)
    if tokenizer is None or not getattr(tokenizer, "chat_template", None):
        if tokenizer is not None:
            log.warning("tokenizer has no chat template; using the plain-text prompt")
        return "\n\n".join(m["content"] for m in messages) + "\n\n"
    try:
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    except Exception as err:
        # Some templates (e.g. Gemma's) reject a system turn: fold it into the user turn.
        if messages[0]["role"] != "system" or "system" not in str(err).lower():
            raise
        first = {
            "role": "user",
            "content": messages[0]["content"] + "\n\n" + messages[1]["content"],
        }
        merged = [first, *messages[2:]]
        return tokenizer.apply_chat_template(merged, tokenize=False, add_generation_prompt=True)
