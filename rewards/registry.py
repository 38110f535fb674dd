"""The reward registry: what a component is, how one is registered, and how one is found.

A component is a pure function ``(completion: str, sample: Sample) -> float | None`` with a
score in [0, 1], or ``None`` when it does not apply (correctness without a gold answer).
Built-ins register themselves with :func:`component` when :mod:`rewards` is imported; a
user's own component is named in a preset by its dotted path ``package.module:function``.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import mcq

__all__ = ["COMPONENTS", "Component", "Sample", "component", "resolve_component"]


@dataclass
class Sample:
    """What a component may know about the question a completion answers (all optional).

    Attributes:
        id: The question id.
        question: The question text.
        options: Option texts keyed ``"A"``..``"D"``.
        correct_answer: The gold letter, when known.
    """

    id: str | None = None
    question: str | None = None
    options: dict[str, str] | None = None
    correct_answer: str | None = None

    @classmethod
    def from_question(cls, q: mcq.Question) -> Sample:
        """Build a sample from an :class:`mcq.Question`.

        Example:
            >>> q = mcq.Question(id="q1", question="?", options=dict(zip("ABCD", "甲乙丙丁")),
            ...                  correct_answer="B")
            >>> Sample.from_question(q).correct_answer
            'B'
        """
        return cls(
            id=q.id,
            question=q.question,
            options=dict(q.options),
            correct_answer=q.correct_answer,
        )


ComponentFunc = Callable[..., float | None]
ExplainFunc = Callable[..., tuple[float | None, dict[str, Any]]]


@dataclass(frozen=True)
class Component:
    """A registered reward component.

    Attributes:
        name: The registry key, the column name in scored files, and TRL's metric name.
        description: One line for ``python -m rewards list`` and the app.
        func: ``(completion, sample, **settings) -> float | None``.
        explain: Optional ``(completion, sample, **settings) -> (score, details)``; ``score``
            uses it to show why a completion scored what it did.
        source: ``"builtin"`` or the dotted path the component was loaded from.
    """

    name: str
    description: str
    func: ComponentFunc
    explain: ExplainFunc | None = field(default=None, repr=False)
    source: str = "builtin"

    def run(
        self, completion: str, sample: Sample, settings: Mapping[str, Any] | None = None
    ) -> tuple[float | None, dict[str, Any]]:
        """Score one completion and return ``(score, details)``; check the score is in [0, 1]."""
        settings = settings or {}
        if self.explain is not None:
            value, details = self.explain(completion, sample, **settings)
        else:
            value, details = self.func(completion, sample, **settings), {}
        if value is None:
            return None, details
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
            raise ValueError(
                f"reward component {self.name!r} ({self.source}) returned {value!r}; "
                "a component must return a number in [0, 1] or None"
            )
        return float(value), details


#: Every registered component by name (built-ins, plus plugins once loaded).
COMPONENTS: dict[str, Component] = {}

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def component(
    name: str, description: str, *, explain: ExplainFunc | None = None
) -> Callable[[ComponentFunc], ComponentFunc]:
    """Register a reward component under ``name``; the decorated function is returned unchanged.

    Args:
        name: Identifier-like name (letters, digits, ``_``); it becomes a CSV column and the
            ``rewards/<name>/mean`` metric TRL logs.
        description: One line saying what the component rewards.
        explain: Optional function returning ``(score, details)`` for the same arguments.

    Example:
        >>> @component("short_answer", "1.0 for completions under 200 characters.")
        ... def short_answer(completion, sample=None):
        ...     return 1.0 if len(completion) < 200 else 0.0
        >>> COMPONENTS["short_answer"].func("答案：A", None)
        1.0
        >>> _ = COMPONENTS.pop("short_answer")
    """
    if not _NAME_RE.match(name):
        raise ValueError(f"component name {name!r} must be an identifier (letters, digits, _)")

    def register(func: ComponentFunc) -> ComponentFunc:
        existing = COMPONENTS.get(name)
        if existing is not None and _qualname(existing.func) != _qualname(func):
            raise ValueError(
                f"reward component {name!r} is already registered by {_qualname(existing.func)}"
            )
        source = "builtin" if func.__module__.startswith("rewards.") else _qualname(func)
        COMPONENTS[name] = Component(name, description, func, explain, source)
        return func

    return register


def resolve_component(ref: str) -> Component:
    """Return the component a preset names: a registered name or ``package.module:function``.

    A dotted path imports the module; if that registered a component for the function (it
    used :func:`component`), that one is returned, else the plain function is wrapped and
    registered under its ``__name__`` with the first docstring line as description.

    Raises:
        mcq.DataError: unknown name, or a dotted path that cannot be imported.
    """
    if ref in COMPONENTS:
        return COMPONENTS[ref]
    if ":" not in ref:
        known = ", ".join(sorted(COMPONENTS))
        raise mcq.DataError(
            f"unknown reward component {ref!r}; use one of {known} or a plugin 'package.module:function'"
        )
    module_name, _, attr = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise mcq.DataError(
            f"reward plugin {ref!r}: cannot import {module_name!r} ({err})"
        ) from None
    func = getattr(module, attr, None)
    if not callable(func):
        raise mcq.DataError(f"reward plugin {ref!r}: {module_name} has no function {attr!r}")
    for registered in COMPONENTS.values():
        if registered.func is func:
            return registered
    name = getattr(func, "__name__", attr)
    if name in COMPONENTS or not _NAME_RE.match(name):
        raise mcq.DataError(
            f"reward plugin {ref!r}: its name {name!r} is taken or not an identifier; "
            "register it with @rewards.component under another name"
        )
    doc = (getattr(func, "__doc__", None) or "").strip().splitlines()
    registered = Component(name, doc[0] if doc else f"plugin {ref}", func, None, ref)
    COMPONENTS[name] = registered
    return registered


def _qualname(func: Callable[..., Any]) -> str:
    return f"{getattr(func, '__module__', '?')}:{getattr(func, '__qualname__', repr(func))}"
