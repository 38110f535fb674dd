"""Presets: which components make up a total, with what weights and settings (YAML files).

A preset file looks like::

    name: default
    description: One line saying what this mix rewards.
    components:            # name (or package.module:function) -> weight >= 0
      correctness: 0.4
      format: 0.2
    settings:              # optional keyword arguments per component
      neutrality:
        lexicon: ../lexicon   # a path setting: beside this YAML file
      rm:                     # not a built-in: a factory key says what it is
        reward_model: ../../runs/rm-demo   # a folder (beside this file, else cwd) or hub id

A component listed under ``components`` that is not registered may be built by a factory
(see :mod:`rewards.registry`) when its settings hold a factory key: ``reward_model``
(:mod:`rewards.learned`) or ``judge``. The settings a component (or factory) declares as
paths are read beside the preset file when something is there, else as written.

The shipped presets live in ``assets/rewards/``; any other YAML file can be named by path.
Examples in ``assets/rewards/examples/`` (not listed as shipped) can also be named without it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import mcq
from mcq.files import asset_file, read_yaml
from mcq.paths import PRESET_DIR
from rewards.registry import Component, resolve_component, setting_paths

__all__ = ["PRESET_DIR", "Preset", "list_presets", "load_preset"]


@dataclass(frozen=True)
class Preset:
    """A named mix of reward components.

    Attributes:
        name: The preset's name.
        description: One line for ``python -m rewards list``.
        weights: Component name -> weight, in the order of the file.
        settings: Component name -> keyword arguments passed to it.
        path: The YAML file it came from ("" when built in code).
    """

    name: str
    description: str
    weights: dict[str, float]
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    path: str = ""

    @property
    def components(self) -> dict[str, Component]:
        """The registry entries of the preset's components, in weight order."""
        return {name: resolve_component(name, self.settings.get(name)) for name in self.weights}

    def content_hashes(self) -> dict[str, Any]:
        """What this preset scores with, by content: for a record of where a score came from.

        The preset file's SHA-256, the lexicon files' (when ``neutrality`` is a component),
        each reward model's identity (folder fingerprint or hub commit) and each judge
        rubric file's SHA-256.

        Example:
            >>> hashes = load_preset("default").content_hashes()
            >>> sorted(hashes), sorted(hashes["lexicon"])[0]
            (['lexicon', 'name', 'sha256'], 'absolute')
        """
        from mcq.provenance import file_sha256, model_identity
        from rewards.lexicon import lexicon_hashes

        hashes: dict[str, Any] = {
            "name": self.name,
            "sha256": file_sha256(self.path) if self.path else None,
        }
        if "neutrality" in self.weights:
            hashes["lexicon"] = lexicon_hashes(self.settings.get("neutrality", {}).get("lexicon"))
        models, rubrics = {}, {}
        for name in self.weights:
            own = self.settings.get(name, {})
            if own.get("reward_model"):
                models[name] = model_identity(str(own["reward_model"]))
            judge = own.get("judge")
            rubric = judge.get("rubric") if isinstance(judge, dict) else None
            if rubric:
                from mcq.paths import RUBRIC_DIR

                found = asset_file(str(rubric), RUBRIC_DIR, "rubric")[0]
                rubrics[name] = file_sha256(found)
        if models:
            hashes["reward_models"] = models
        if rubrics:
            hashes["rubrics"] = rubrics
        return hashes


def list_presets() -> list[Preset]:
    """The shipped presets (``assets/rewards/*.yaml``), sorted by name."""
    return [load_preset(path) for path in sorted(PRESET_DIR.glob("*.yaml"))]


def load_preset(name_or_path: str | os.PathLike[str] | Preset = "default") -> Preset:
    """Load a preset by name (``default``, ``seed``) or by path to a YAML file.

    Raises:
        mcq.DataError: unknown preset, unreadable or invalid YAML, unknown component, bad
            weight, a plugin that cannot be imported.

    Example:
        >>> preset = load_preset("seed")
        >>> preset.name, preset.weights
        ('seed', {'seed': 1.0})
    """
    if isinstance(name_or_path, Preset):
        return name_or_path
    return _load_file(
        *asset_file(_example_path(os.fspath(name_or_path)), PRESET_DIR, "reward preset")
    )


def _example_path(text: str) -> str:
    """An example preset named without its folder (``length_hedge``, ``examples/length_hedge``)
    is found in ``assets/rewards/examples/``; anything else is returned as given.

    Example:
        >>> Path(_example_path("length_hedge")).parent.name
        'examples'
    """
    if text.endswith((".yaml", ".yml")) or Path(text).expanduser().exists():
        return text
    for candidate in (PRESET_DIR / f"{text}.yaml", PRESET_DIR / "examples" / f"{text}.yaml"):
        if candidate.is_file():
            return str(candidate)
    return text


@lru_cache(maxsize=32)
def _load_file(path_text: str, mtime: float) -> Preset:
    path = Path(path_text)
    data = read_yaml(path, "reward preset")
    if not isinstance(data, dict):
        raise mcq.DataError(f"reward preset {path}: expected a mapping with 'components'")
    unknown = sorted(set(data) - {"name", "description", "components", "settings"})
    if unknown:
        raise mcq.DataError(f"reward preset {path}: unknown keys {unknown}")

    raw_settings = data.get("settings") or {}
    if not isinstance(raw_settings, dict):
        raise mcq.DataError(f"reward preset {path}: 'settings' must be a mapping")
    raw_settings = dict(raw_settings)
    for ref, options in raw_settings.items():
        if not isinstance(options, dict):
            raise mcq.DataError(f"reward preset {path}: settings of {ref!r} must be a mapping")

    raw_weights = data.get("components")
    if not isinstance(raw_weights, dict) or not raw_weights:
        raise mcq.DataError(f"reward preset {path}: 'components' must map names to weights")
    weights: dict[str, float] = {}
    refs: dict[str, str] = {}
    for ref, weight in raw_weights.items():
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight >= 0:
            raise mcq.DataError(
                f"reward preset {path}: weight of {ref!r} must be a number >= 0, not {weight!r}"
            )
        own = raw_settings.get(str(ref))
        if own:  # the settings its component declares as paths, read beside this file
            own = _resolve_paths(path, own, setting_paths(str(ref), own))
            raw_settings[str(ref)] = own
        name = resolve_component(str(ref), own).name
        if name in weights:
            raise mcq.DataError(f"reward preset {path}: component {name!r} listed twice")
        weights[name] = float(weight)
        refs[str(ref)] = name
    if not any(weights.values()):
        raise mcq.DataError(f"reward preset {path}: every weight is 0")

    settings: dict[str, dict[str, Any]] = {}
    for ref, options in raw_settings.items():
        name = refs.get(str(ref), str(ref))
        if name not in weights:
            raise mcq.DataError(
                f"reward preset {path}: settings for {ref!r}, which is not among its components"
            )
        settings[name] = dict(options)

    return Preset(
        name=str(data.get("name") or path.stem),
        description=" ".join(str(data.get("description") or "").split()),
        weights=weights,
        settings=settings,
        path=str(path),
    )


def _resolve_paths(
    preset_path: Path, own: dict[str, Any], paths: tuple[str, ...]
) -> dict[str, Any]:
    """``own`` with each path setting (``key``, or ``outer.inner`` inside a mapping) read
    beside the preset file (:func:`_beside`)."""
    own = dict(own)
    for dotted in paths:
        outer, _, inner = dotted.partition(".")
        if not inner:
            if outer in own:
                own[outer] = _beside(preset_path, own[outer])
        elif isinstance(own.get(outer), dict) and own[outer].get(inner):
            own[outer] = {**own[outer], inner: _beside(preset_path, own[outer][inner])}
    return own


def _beside(preset_path: Path, value: Any) -> Any:
    """A relative path beside the preset file when something is there (each of a mapping of
    paths too); else as written (a hub id, a rubric name, a path from the working directory)."""
    if isinstance(value, dict):
        return {k: _beside(preset_path, v) for k, v in value.items()}
    if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
        beside = preset_path.parent / value
        if beside.exists():
            return str(beside.resolve())
    return value
