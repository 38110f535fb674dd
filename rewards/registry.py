"""The reward registry: what a component is, how one is registered, and how one is found.

A component is defined once, by one function, and registered once:

- per completion, ``(completion, sample, **settings) -> float | None | Scored``, registered
  with :func:`component`; or
- per batch, ``(completions, samples, **settings) -> list[float | None | Scored]``, given as
  :class:`Component` ``batch`` (a learned reward model, an LLM judge: fast in batches).

A score is in [0, 1], or ``None`` when the component does not apply (correctness without a
gold answer). A :class:`Scored` result carries its own explanation, the ``details`` that
``rewards explain``, the app and the scored breakdowns show, so the score and the reason for
it come from one computation.

Registries hold lazy ``"module:attr"`` entries, imported on first lookup (as
lm-evaluation-harness registers its tasks): :data:`COMPONENTS` by name (the built-ins, plus
plugins once loaded) and :data:`FACTORIES` by settings key (``reward_model``, ``judge``:
components built from a preset's settings), so ``import rewards`` stays light and torch loads
only when a preset names a reward model. A preset names a component one way,
:func:`resolve_component`: a registered name, a plugin's own ``package.module:function``, or
any name whose settings hold one factory key::

    components: {rm: 0.5, correctness: 0.5}
    settings:
      rm: {reward_model: runs/rm-demo, batch_size: 64}     # rewards.learned
      judge_neutral: {judge: {base_url: ..., model: ...}}  # rewards.judge

A component (or factory) declares which of its settings are file paths (``paths``); a preset
reads them relative to its own file (:func:`setting_paths`). Factory-built components are not
added to :data:`COMPONENTS` (two presets may use one name with different models).
"""

from __future__ import annotations

import functools
import importlib
import json
import re
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any

import mcq
from rewards.base import Component, ComponentFunc, Sample, Scored

__all__ = [
    "COMPONENTS",
    "FACTORIES",
    "Component",
    "Registry",
    "Sample",
    "Scored",
    "build_component",
    "component",
    "component_factory",
    "factory_key",
    "resolve_component",
    "setting_paths",
]


# ------------------------------------------------------------------------------ registries
class Registry(MutableMapping[str, Any]):
    """Entries by name, each an object or a lazy ``"module:attr"`` reference that is imported
    on first lookup (importing may register the real entry, as a decorated function does).

    Example:
        >>> kinds = Registry("thing", {"join": "posixpath:join"})
        >>> "join" in kinds, kinds["join"]("a", "b")
        (True, 'a/b')
    """

    def __init__(
        self,
        what: str,
        entries: Mapping[str, Any] | None = None,
        convert: Callable[[str, str, Any], Any] | None = None,
    ):
        self.what = what
        self._entries: dict[str, Any] = dict(entries or {})
        self._convert = convert  # (name, reference, imported object) -> the entry

    def __getitem__(self, name: str) -> Any:
        entry = self._entries[name]
        if isinstance(entry, str):
            found = load_reference(entry, f"{self.what} {name!r}")
            entry = self._entries[name]  # the import may have registered it
            if isinstance(entry, str):
                entry = self._convert(name, entry, found) if self._convert else found
                self._entries[name] = entry
        return entry

    def __setitem__(self, name: str, value: Any) -> None:
        self._entries[name] = value

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def entry(self, name: str) -> Any:
        """The entry as registered (a ``"module:attr"`` string until first looked up)."""
        return self._entries.get(name)


def load_reference(ref: str, what: str = "reward plugin") -> Any:
    """The object ``"package.module:attr"`` names (the module is imported).

    Raises:
        mcq.DataError: the module cannot be imported or has no such attribute.
    """
    module_name, _, attr = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise mcq.DataError(f"{what} {ref!r}: cannot import {module_name!r} ({err})") from None
    found = getattr(module, attr, None)
    if found is None:
        raise mcq.DataError(f"{what} {ref!r}: {module_name} has no function {attr!r}")
    return found


def _as_component(ref: str, found: Any, name: str | None = None) -> Component:
    """The component a ``module:attr`` reference names: a :class:`Component`, a registered
    function, or a plain one wrapped (named ``name`` or its own ``__name__``, described by
    its first docstring line)."""
    found = getattr(found, "component", found)
    if isinstance(found, Component):
        return found
    for registered in COMPONENTS._entries.values():
        if isinstance(registered, Component) and registered.func is found:
            return registered
    if not callable(found):
        module_name, _, attr = ref.partition(":")
        raise mcq.DataError(f"reward plugin {ref!r}: {module_name} has no function {attr!r}")
    doc = (getattr(found, "__doc__", None) or "").strip().splitlines()
    name = name or getattr(found, "__name__", "")
    return Component(name, doc[0] if doc else f"plugin {ref}", found, ref)


#: Every component by name: the built-ins (lazy until first used) and plugins once loaded.
COMPONENTS: Registry = Registry(
    "reward component",
    {
        "correctness": "rewards.components:correctness",
        "format": "rewards.components:format_reward",
        "reasoning": "rewards.reasoning:reasoning",
        "neutrality": "rewards.neutrality:neutrality",
        "seed": "rewards.components:seed",
    },
    convert=lambda name, ref, found: _as_component(ref, found, name),
)

ComponentFactory = Callable[[str, Mapping[str, Any]], Component]

#: Settings key -> factory that builds a component from ``(name, settings)``.
FACTORIES: Registry = Registry(
    "component kind",
    {
        "reward_model": "rewards.learned:reward_model_factory",
        "judge": "rewards.judge:judge_factory",
    },
)

_BUILT: dict[tuple[str, str], Component] = {}  # (name, settings as JSON) -> component
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def component(
    name: str,
    description: str,
    *,
    applies: Callable[[Sample], bool] | None = None,
    paths: Sequence[str] = (),
) -> Callable[[ComponentFunc], Callable[..., float | None]]:
    """Register the decorated function as the reward component ``name``.

    The function may return a :class:`Scored` (its score with details); the decorator returns
    the same function giving its score only, with the registered component as ``.component``.

    Args:
        name: Identifier-like name (letters, digits, ``_``); it becomes a CSV column and the
            ``rewards/<name>/mean`` metric TRL logs.
        description: One line saying what the component rewards.
        applies: Optional ``(sample) -> bool``, the samples it is meant to score (see
            :class:`Component`); leave it out when ``None`` means a failure.
        paths: Settings whose values are file paths (relative to the preset file).

    Example:
        >>> @component("short_answer", "1.0 for completions under 200 characters.")
        ... def short_answer(completion, sample=None):
        ...     return Scored(1.0 if len(completion) < 200 else 0.0, {"chars": len(completion)})
        >>> short_answer("答案：A"), COMPONENTS["short_answer"].run("答案：A", Sample())
        (1.0, Scored(score=1.0, details={'chars': 4}))
        >>> _ = COMPONENTS.pop("short_answer")
    """
    if not _NAME_RE.match(name):
        raise ValueError(f"component name {name!r} must be an identifier (letters, digits, _)")

    def register(func: ComponentFunc) -> Callable[..., float | None]:
        existing = COMPONENTS.entry(name)
        taken = existing.func if isinstance(existing, Component) else existing
        if existing is not None and _qualname(taken) != _qualname(func):
            raise ValueError(
                f"reward component {name!r} is already registered by {_qualname(taken)}"
            )
        source = "builtin" if func.__module__.startswith("rewards.") else _qualname(func)
        registered = Component(name, description, func, source, applies=applies, paths=tuple(paths))
        COMPONENTS[name] = registered

        @functools.wraps(func)
        def score_only(*args: Any, **kwargs: Any) -> float | None:
            value = func(*args, **kwargs)
            return value[0] if isinstance(value, tuple) else value

        score_only.component = registered  # type: ignore[attr-defined]
        return score_only

    return register


def _qualname(func: Any) -> str:
    if isinstance(func, str):
        return func
    return f"{getattr(func, '__module__', '?')}:{getattr(func, '__qualname__', repr(func))}"


def component_factory(
    key: str, *, paths: Sequence[str] = ()
) -> Callable[[ComponentFactory], ComponentFactory]:
    """Register a factory for the settings key ``key``; the decorated function is returned.

    The factory takes ``(name, settings)`` (the component's name in the preset and its whole
    settings mapping) and returns a :class:`Component`; it should check the settings and raise
    :class:`mcq.errors.UsageError` with one line for a bad one. Keep it cheap: load models on
    first use, not here. ``paths``: settings that are paths (``"judge.rubric"``: nested).

    Example:
        >>> @component_factory("constant")
        ... def constant_factory(name, settings):
        ...     value = float(settings["constant"])
        ...     return Component(name, f"always {value}", lambda c, s, **kw: value,
        ...                      source="factory:constant")
        >>> resolve_component("always_half", {"constant": 0.5}).run("答案：A", Sample()).score
        0.5
        >>> _ = FACTORIES.pop("constant")
    """

    def register(factory: ComponentFactory) -> ComponentFactory:
        existing = FACTORIES.entry(key)
        if existing is not None and _qualname(existing) != _qualname(factory):
            raise ValueError(f"a component factory for {key!r} is already registered")
        factory.paths = tuple(paths)  # type: ignore[attr-defined]
        FACTORIES[key] = factory
        return factory

    return register


def factory_key(settings: Mapping[str, Any] | None) -> str | None:
    """The settings key that names a factory (``reward_model``, ``judge``, ...), or ``None``.

    Example:
        >>> factory_key({"lexicon": "x"}) is None, factory_key({"judge": {}})
        (True, 'judge')
    """
    if not isinstance(settings, Mapping):
        return None
    found = [key for key in settings if key in FACTORIES]
    if len(found) > 1:
        raise mcq.DataError(f"settings name more than one kind of component: {', '.join(found)}")
    return found[0] if found else None


def resolve_component(ref: str, settings: Mapping[str, Any] | None = None) -> Component:
    """The component a preset names: the one its settings' factory key builds, else the
    registry entry ``ref`` names, else the plugin ``ref`` is (``package.module:function``,
    registered under the function's ``__name__`` on first use).

    Raises:
        mcq.DataError: unknown name, or a dotted path that cannot be imported.

    Example:
        >>> resolve_component("format").name, resolve_component("rewards.components:seed").name
        ('format', 'seed')
    """
    if factory_key(settings) is not None:
        return build_component(ref, settings or {})
    if ref in COMPONENTS:
        return COMPONENTS[ref]
    if ":" not in ref:
        known = ", ".join(sorted(COMPONENTS))
        raise mcq.DataError(
            f"unknown reward component {ref!r}; use one of {known} or a plugin 'package.module:function'"
        )
    found = _as_component(ref, load_reference(ref))
    if COMPONENTS.entry(found.name) is found:
        return found
    if found.name in COMPONENTS or not _NAME_RE.match(found.name):
        raise mcq.DataError(
            f"reward plugin {ref!r}: its name {found.name!r} is taken or not an identifier; "
            "register it with @rewards.component under another name"
        )
    COMPONENTS[found.name] = found
    return found


def setting_paths(ref: str, settings: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The settings of ``ref`` that are file paths, as its component (or factory) declares.

    Example:
        >>> setting_paths("neutrality", {}), setting_paths("rm", {"reward_model": "x"})
        (('lexicon',), ('reward_model',))
    """
    key = factory_key(settings)
    if key is not None:
        return getattr(FACTORIES[key], "paths", ())
    return resolve_component(ref).paths


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
    built = _BUILT[cache_key] = FACTORIES[key](name, settings)
    return built
