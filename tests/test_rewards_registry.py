"""The reward registry: one function per component, its result explaining itself, found lazily.

A component is one function returning its score, or a ``rewards.Scored`` (score and details)
when it can say why; it declares which settings are paths; the built-ins are registered as
``"module:attr"`` entries imported on first lookup.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import rewards

PLUGIN = "zl_registry_plugin"

PLUGIN_SOURCE = """
import rewards


@rewards.component("vocab_hits", "Share of the words in a vocabulary file found.", paths=("vocabulary",))
def vocab_hits(completion, sample=None, *, vocabulary):
    with open(vocabulary, encoding="utf-8") as f:
        words = f.read().split()
    found = [w for w in words if w in completion]
    return rewards.Scored(len(found) / len(words), {"found": found})


def _lengths(completions, samples, **settings):
    return [min(1.0, len(c) / settings.get("scale", 10)) for c in completions]


lengthy = rewards.Component("lengthy", "Longer is better.", batch=_lengths)
"""


@pytest.fixture
def plugin_preset(tmp_path, monkeypatch):
    (tmp_path / f"{PLUGIN}.py").write_text(PLUGIN_SOURCE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    folder = tmp_path / "presets"
    folder.mkdir()
    (folder / "vocab.txt").write_text("憲法 任期\n", encoding="utf-8")
    preset = folder / "mine.yaml"
    preset.write_text(
        f"components:\n  {PLUGIN}:vocab_hits: 1\n  {PLUGIN}:lengthy: 1\n"
        f"settings:\n  {PLUGIN}:vocab_hits: {{vocabulary: vocab.txt}}\n"
        f"  {PLUGIN}:lengthy: {{scale: 20}}\n",
        encoding="utf-8",
    )
    yield preset
    for name in ("vocab_hits", "lengthy"):
        rewards.COMPONENTS.pop(name, None)
    sys.modules.pop(PLUGIN, None)


def test_a_components_details_come_from_the_same_call_as_its_score(plugin_preset):
    breakdown = rewards.score("答案：B\n理由：憲法規定。", preset=str(plugin_preset))
    assert breakdown.components["vocab_hits"] == 0.5
    assert breakdown.details["vocab_hits"] == {"found": ["憲法"]}


def test_a_decorated_component_called_directly_gives_its_score_only(plugin_preset):
    rewards.load_preset(str(plugin_preset))
    module = sys.modules[PLUGIN]
    vocabulary = plugin_preset.parent / "vocab.txt"
    assert module.vocab_hits("任期", vocabulary=str(vocabulary)) == 0.5


def test_a_path_setting_the_component_declares_is_read_beside_the_preset(plugin_preset):
    loaded = rewards.load_preset(str(plugin_preset))
    vocabulary = loaded.settings["vocab_hits"]["vocabulary"]
    assert vocabulary == str((plugin_preset.parent / "vocab.txt").resolve())
    assert loaded.settings["lengthy"] == {"scale": 20}  # not declared: kept as written


def test_a_batch_only_component_named_by_dotted_path_scores_with_its_settings(plugin_preset):
    breakdown = rewards.score("答" * 5, preset=str(plugin_preset))
    assert breakdown.components["lengthy"] == 0.25


def test_builtins_load_on_first_lookup_not_on_importing_the_registry():
    code = textwrap.dedent(
        """
        import sys
        from rewards.registry import COMPONENTS
        before = "rewards.components" in sys.modules, "format" in COMPONENTS
        component = COMPONENTS["format"]
        print(before, "rewards.components" in sys.modules, component.name)
        """
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["(False,", "True)", "True", "format"]


def test_every_builtin_declares_its_path_settings():
    assert rewards.COMPONENTS["neutrality"].paths == ("lexicon",)
    assert rewards.COMPONENTS["format"].paths == ()
