"""rewards: the reward registry that defines what a good answer is.

One registry drives GRPO training (``rewards.trl``), offline scoring (``python -m rewards``),
generation reports and the app. Light on purpose: no torch, vLLM or Gradio; OpenCC and
jieba load on first use.

Example:
    >>> import rewards
    >>> b = rewards.score("答案：A\\n理由：首先……", rewards.Sample(correct_answer="A"))
    >>> sorted(b.components)
    ['correctness', 'format', 'neutrality', 'reasoning']
"""

from rewards.neutrality import NeutralityLexicon, load_lexicon
from rewards.presets import Preset, list_presets, load_preset
from rewards.registry import COMPONENTS, Component, Sample, Scored, component, resolve_component
from rewards.scoring import Breakdown, score, weighted_total

__all__ = [
    "COMPONENTS",
    "Breakdown",
    "Component",
    "NeutralityLexicon",
    "Preset",
    "Sample",
    "Scored",
    "component",
    "list_presets",
    "load_lexicon",
    "load_preset",
    "resolve_component",
    "score",
    "weighted_total",
]
