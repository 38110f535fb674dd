"""The reward registry: what a component is, how one is registered, and how one is found.

A component is a pure function ``(completion: str, sample: Sample) -> float | None`` with a
score in [0, 1], or ``None`` when it does not apply (correctness without a gold answer).
Built-ins register themselves with :func:`component` when :mod:`rewards` is imported; a
user's own component is named in a preset by its dotted path ``package.module:function``.

A component may also carry a *batch* function ``(completions, samples, **settings) ->
list[float | None]`` (one value per completion). :meth:`Component.run_batch` uses it when
present, and :func:`rewards.scoring.score_batch` and the TRL adapter call it with whole
batches; a model-backed component (a learned reward model, an LLM judge) needs that to be fast.

Components built from settings (factories). A preset may list a name that is not registered
when its settings say what it is, by one *factory key*::

    components: {rm: 0.5, correctness: 0.5}
    settings:
      rm: {reward_model: runs/rm-demo, batch_size: 64}     # rewards.learned
      judge_neutral: {judge: {base_url: ..., model: ...}}  # rewards.judge

A factory is registered for its key with :func:`component_factory`; it takes ``(name,
settings)`` and returns a :class:`Component` (the settings are passed again on every call).
:func:`resolve_component` builds (and caches) the component when the settings hold a factory
key. The built-in factories live in modules imported on first use (``_FACTORY_MODULES``), so
``import rewards`` stays light: torch loads only when a preset names a reward model.
Factory-built components are not added to :data:`COMPONENTS` (two presets may use one name
with different models).
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import mcq

__all__ = [
    "COMPONENTS",
    "FACTORIES",
    "Component",
    "Sample",
    "build_component",
    "component",
    "component_factory",
    "factory_key",
    "resolve_component",
]


@dataclass
class Sample:
    """What a component may know about the question a completion answers (all optional).

    Attributes:
        id: The question id.
        question: The question text.
        options: Option texts keyed ``"A"``..``"D"``.
        correct_answer: The gold letter, when known.
        prompt: What the answer replies to, when known: a text or chat messages (the policy's
            prompt in GRPO, a pairs file's ``prompt``); a reward model reads it before the answer.
    """

    id: str | None = None
    question: str | None = None
    options: dict[str, str] | None = None
    correct_answer: str | None = None
    prompt: str | list[dict[str, Any]] | None = None

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
BatchFunc = Callable[..., list[float | None]]


@dataclass(frozen=True)
class Component:
    """A registered reward component.

    Attributes:
        name: The registry key, the column name in scored files, and TRL's metric name.
        description: One line for ``python -m rewards list`` and the app.
        func: ``(completion, sample, **settings) -> float | None``.
        explain: Optional ``(completion, sample, **settings) -> (score, details)``; ``score``
            uses it to show why a completion scored what it did.
        source: ``"builtin"``, the dotted path the component was loaded from, or
            ``"factory:<key>"`` for one built from settings.
        batch: Optional ``(completions, samples, **settings) -> list[float | None]``, one
            value per completion (or one ``(score, details)`` pair, as ``explain`` returns);
            :meth:`run_batch` prefers it to calling ``func`` per item.
        progress_chunk: Completions per call when scoring shows a progress bar; a slow
            component (a model, a remote judge) sets a small one so the bar moves. ``None``:
            :data:`rewards.scoring.PROGRESS_CHUNK`.
        check: Optional ``() -> str | None``, a cheap test that the component can score at
            all (an LLM judge asks its endpoint): ``None`` when it can, else one line why.
            :func:`rewards.scoring.preflight` calls it once before a command's work.
        applies: Optional ``(sample) -> bool``: whether the component is meant to score the
            sample (correctness: only with a gold letter). ``None``: every sample. A component
            that scores none of the samples it applies to is *unscored*
            (:func:`rewards.scoring.unscored`).
    """

    name: str
    description: str
    func: ComponentFunc
    explain: ExplainFunc | None = field(default=None, repr=False)
    source: str = "builtin"
    batch: BatchFunc | None = field(default=None, repr=False)
    progress_chunk: int | None = None
    check: Callable[[], str | None] | None = field(default=None, repr=False)
    applies: Callable[[Sample], bool] | None = field(default=None, repr=False)

    @property
    def is_plugin(self) -> bool:
        """Whether the component is user code loaded by dotted path (not built in, no factory)."""
        return self.source != "builtin" and not self.source.startswith("factory:")

    def run(
        self,
        completion: str,
        sample: Sample,
        settings: Mapping[str, Any] | None = None,
        *,
        row: int = 1,
    ) -> tuple[float | None, dict[str, Any]]:
        """Score one completion and return ``(score, details)``; check the score is in [0, 1].

        A plugin that raises (or returns something that is not a score) ends in one
        :class:`mcq.errors.UsageError` naming the component, the row (its id, else ``row``,
        the row number) and the error.
        """
        settings = settings or {}
        with self._errors_named(f"id {sample.id}" if getattr(sample, "id", None) else f"row {row}"):
            if self.explain is not None:
                value, details = self.explain(completion, sample, **settings)
            else:
                value, details = self.func(completion, sample, **settings), {}
            return self._checked(value), details

    def run_batch(
        self,
        completions: Sequence[str],
        samples: Sequence[Sample],
        settings: Mapping[str, Any] | None = None,
        *,
        first_row: int = 1,
    ) -> list[tuple[float | None, dict[str, Any]]]:
        """Score many completions: one ``(score, details)`` each, through ``batch`` when set.

        ``first_row`` is the number of the first completion, for errors that name a row.

        Example:
            >>> comp = Component("long", "1.0 when long.", lambda c, s: 0.0,
            ...                  batch=lambda cs, ss: [float(len(c) > 3) for c in cs])
            >>> comp.run_batch(["答案：A。理由", "A"], [Sample(), Sample()])
            [(1.0, {}), (0.0, {})]
        """
        settings = settings or {}
        if self.batch is None:
            pairs = zip(completions, samples, strict=True)
            return [self.run(c, s, settings, row=first_row + i) for i, (c, s) in enumerate(pairs)]
        with self._errors_named(f"the rows {first_row}-{first_row + len(completions) - 1}"):
            values = list(self.batch(list(completions), list(samples), **settings))
            if len(values) != len(completions):
                raise _NotAScore(
                    f"returned {len(values)} scores for {len(completions)} completions"
                )
            # A batch function may return (score, details) pairs, as an explain function does.
            pairs = [value if isinstance(value, tuple) else (value, {}) for value in values]
            return [(self._checked(value), details) for value, details in pairs]

    @contextmanager
    def _errors_named(self, where: str) -> Iterator[None]:
        """A plugin's exception, or a value that is not a score, as one line naming the
        component, ``where`` (the row) and the error; a built-in's bug stays a traceback."""
        try:
            yield
        except mcq.UsageError:
            raise
        except Exception as err:
            if not (self.is_plugin or isinstance(err, _NotAScore)):
                raise
            text = " ".join(str(err).split())[:300] or "no message"
            if not isinstance(err, _NotAScore):
                text = f"{type(err).__name__}: {text}"
            raise mcq.UsageError(
                f"reward component {self.name!r} ({self.source}) failed on {where}: {text}"
            ) from err

    def _checked(self, value: Any) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
            raise _NotAScore(
                f"returned {value!r}; a component must return a number in [0, 1] or None"
            )
        return float(value)


class _NotAScore(ValueError):
    """A component's return value is not a score (or not one per completion)."""


#: Every registered component by name (built-ins, plus plugins once loaded).
COMPONENTS: dict[str, Component] = {}

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def component(
    name: str,
    description: str,
    *,
    explain: ExplainFunc | None = None,
    applies: Callable[[Sample], bool] | None = None,
) -> Callable[[ComponentFunc], ComponentFunc]:
    """Register a reward component under ``name``; the decorated function is returned unchanged.

    Args:
        name: Identifier-like name (letters, digits, ``_``); it becomes a CSV column and the
            ``rewards/<name>/mean`` metric TRL logs.
        description: One line saying what the component rewards.
        explain: Optional function returning ``(score, details)`` for the same arguments.
        applies: Optional ``(sample) -> bool``, the samples it is meant to score (see
            :class:`Component`); leave it out when ``None`` means a failure.

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
        COMPONENTS[name] = Component(name, description, func, explain, source, applies=applies)
        return func

    return register


def resolve_component(ref: str, settings: Mapping[str, Any] | None = None) -> Component:
    """Return the component a preset names: a registered name or ``package.module:function``,
    or a component built by a factory when ``settings`` hold a factory key.

    A dotted path imports the module; if that registered a component for the function (it
    used :func:`component`), that one is returned, else the plain function is wrapped and
    registered under its ``__name__`` with the first docstring line as description.

    Raises:
        mcq.DataError: unknown name, or a dotted path that cannot be imported.

    Example:
        >>> resolve_component("format").name
        'format'
    """
    if settings and factory_key(settings) is not None:
        return build_component(ref, settings)
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


# ------------------------------------------------------------------------------ factories
ComponentFactory = Callable[[str, Mapping[str, Any]], Component]

#: Settings key -> factory that builds a component from ``(name, settings)``.
FACTORIES: dict[str, ComponentFactory] = {}

#: Built-in factories by settings key, in modules imported only when a preset uses the key.
_FACTORY_MODULES = {"reward_model": "rewards.learned", "judge": "rewards.judge"}

_BUILT: dict[tuple[str, str], Component] = {}  # (name, settings as JSON) -> component


def component_factory(key: str) -> Callable[[ComponentFactory], ComponentFactory]:
    """Register a factory for the settings key ``key``; the decorated function is returned.

    The factory takes ``(name, settings)`` (the component's name in the preset and its whole
    settings mapping) and returns a :class:`Component`; it should check the settings and raise
    :class:`mcq.errors.UsageError` with one line for a bad one. Keep it cheap: load models on
    first use, not here.

    Example:
        >>> @component_factory("constant")
        ... def constant_factory(name, settings):
        ...     value = float(settings["constant"])
        ...     return Component(name, f"always {value}", lambda c, s, **kw: value,
        ...                      source="factory:constant")
        >>> resolve_component("always_half", {"constant": 0.5}).run("答案：A", Sample())
        (0.5, {})
        >>> _ = FACTORIES.pop("constant")
    """

    def register(factory: ComponentFactory) -> ComponentFactory:
        existing = FACTORIES.get(key)
        if existing is not None and _qualname(existing) != _qualname(factory):
            raise ValueError(f"a component factory for {key!r} is already registered")
        FACTORIES[key] = factory
        return factory

    return register


def factory_key(settings: Mapping[str, Any]) -> str | None:
    """The settings key that names a factory (``reward_model``, ``judge``, ...), or ``None``.

    Example:
        >>> factory_key({"lexicon": "x"}) is None
        True
    """
    if not isinstance(settings, Mapping):
        return None
    found = [key for key in settings if key in FACTORIES or key in _FACTORY_MODULES]
    if len(found) > 1:
        raise mcq.DataError(f"settings name more than one kind of component: {', '.join(found)}")
    return found[0] if found else None


def build_component(name: str, settings: Mapping[str, Any]) -> Component:
    """The component the factory for ``settings``' key builds under ``name`` (cached).

    Raises:
        mcq.DataError: ``name`` is not an identifier or is a built-in's, or no factory.
    """
    key = factory_key(settings)
    if key is None:
        raise mcq.DataError(f"settings of {name!r} name no kind of component")
    cache_key = (name, json.dumps(settings, sort_keys=True, default=str))
    built = _BUILT.get(cache_key)
    if built is not None:
        return built
    if not _NAME_RE.match(name):
        raise mcq.DataError(f"component name {name!r} must be an identifier (letters, digits, _)")
    if name in COMPONENTS:
        raise mcq.DataError(
            f"{name!r} is already a registered component; give the {key} component another name"
        )
    if key not in FACTORIES:
        try:
            importlib.import_module(_FACTORY_MODULES[key])
        except ModuleNotFoundError as err:
            raise mcq.DataError(
                f"component {name!r}: {key!r} components are not available ({err})"
            ) from None
    built = FACTORIES[key](name, settings)
    _BUILT[cache_key] = built
    return built
