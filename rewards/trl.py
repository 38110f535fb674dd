"""TRL adapter: the registry's components as GRPOTrainer reward functions.

``GRPOTrainer`` calls each reward function as ``f(prompts=..., completions=...,
completion_ids=..., **columns)`` where ``columns`` are the dataset's other columns, one list
entry per completion. zhongli's datasets carry ``correct_answer``, ``id``, ``question`` and
``option_A``..``option_D``; the adapter turns them into :class:`~rewards.Sample` objects.
Completions may be plain strings or conversational (a list of messages).

Use from Python::

    trainer = GRPOTrainer(..., reward_funcs=rewards.trl.reward_funcs("default"),
                          args=GRPOConfig(..., reward_weights=rewards.trl.reward_weights("default")))

or name a built-in by dotted path in TRL's own script: ``trl grpo --reward_funcs
rewards.trl.correctness rewards.trl.neutrality ...``. Each function's ``__name__`` is its
component name, so TRL logs ``rewards/<name>/mean``. This module never imports TRL or torch.

Note: TRL sums ``weight × reward`` with ``None`` (not applicable) counted as 0, while
:func:`rewards.score` averages over the applicable components only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from rewards.presets import Preset, load_preset
from rewards.registry import Component, Sample, resolve_component
from rewards.text import as_text

__all__ = ["RewardFunction", "completion_text", "reward_funcs", "reward_weights"]


def completion_text(completion: Any) -> str:
    """The assistant text of a TRL completion: a string, or a list of chat messages.

    Example:
        >>> completion_text([{"role": "assistant", "content": "答案：A"}])
        '答案：A'
        >>> completion_text("答案：B")
        '答案：B'
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return _content_text(completion.get("content"))
    if isinstance(completion, Sequence) and not isinstance(completion, bytes | bytearray):
        messages = [m for m in completion if isinstance(m, dict)]
        assistant = [m for m in messages if m.get("role", "assistant") == "assistant"]
        return "".join(_content_text(m.get("content")) for m in (assistant or messages))
    return as_text(completion)


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # multimodal parts: [{"type": "text", "text": ...}]
        return "".join(
            part.get("text") or "" if isinstance(part, dict) else as_text(part) for part in content
        )
    return as_text(content)


class RewardFunction:
    """One component as a TRL reward function (picklable; ``__name__`` is the component name).

    Args:
        ref: A component name or plugin dotted path ``package.module:function``.
        settings: Keyword arguments for the component (a preset's ``settings[name]``).

    Example:
        >>> f = RewardFunction("correctness")
        >>> f.__name__
        'correctness'
        >>> f(prompts=["?", "?"], completions=["答案：A", "答案：B"], correct_answer=["A", "A"])
        [1.0, 0.0]
    """

    def __init__(self, ref: str, settings: dict[str, Any] | None = None):
        self.ref = ref
        self.settings = dict(settings or {})
        self._component: Component | None = resolve_component(ref, self.settings)
        self.__name__ = self._component.name

    def __repr__(self) -> str:
        return f"RewardFunction({self.ref!r})"

    def __getstate__(self) -> dict[str, Any]:
        # A plugin or factory-built component is found again from (ref, settings) after pickling.
        return {**self.__dict__, "_component": None}

    @property
    def component(self) -> Component:
        """The registry component this function scores with."""
        if self._component is None:
            self._component = resolve_component(self.ref, self.settings)
        return self._component

    def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        """Score a batch (in one call where the component has a batch function); ``None``
        where the component does not apply."""
        completions = list(completions or [])
        samples = _samples(len(completions), kwargs, prompts)
        texts = [completion_text(c) for c in completions]
        return [found.score for found in self.component.run_batch(texts, samples, self.settings)]


def _samples(n: int, columns: dict[str, Any], prompts: Sequence[Any] | None = None) -> list[Sample]:
    def column(name: str) -> list[Any]:
        values = columns.get(name)
        if isinstance(values, Sequence) and not isinstance(values, str) and len(values) == n:
            return list(values)
        return [None] * n

    gold, ids, questions = column("correct_answer"), column("id"), column("question")
    options = [column(f"option_{letter}") for letter in "ABCD"]
    samples = []
    for i in range(n):
        opts = {letter: options[k][i] for k, letter in enumerate("ABCD") if options[k][i]}
        samples.append(
            Sample(
                id=None if ids[i] is None else str(ids[i]),
                question=questions[i],
                options=opts or None,
                correct_answer=gold[i],
                prompt=prompts[i] if prompts is not None and len(prompts) == n else None,
            )
        )
    return samples


def reward_funcs(preset: str | os.PathLike[str] | Preset = "default") -> list[RewardFunction]:
    """One TRL reward function per component of ``preset``, in the preset's order.

    Example:
        >>> [f.__name__ for f in reward_funcs("default")]
        ['correctness', 'format', 'reasoning', 'neutrality']
    """
    chosen = load_preset(preset)
    return [RewardFunction(name, chosen.settings.get(name)) for name in chosen.weights]


def reward_weights(preset: str | os.PathLike[str] | Preset = "default") -> list[float]:
    """The preset's weights, in the order of :func:`reward_funcs` (GRPOConfig.reward_weights).

    Example:
        >>> reward_weights("default")
        [0.4, 0.2, 0.2, 0.2]
    """
    return list(load_preset(preset).weights.values())


# Built-ins by dotted path for `trl grpo --reward_funcs rewards.trl.<name>`.
correctness = RewardFunction("correctness")
format = RewardFunction("format")  # shadows the builtin here: TRL logs the name
reasoning = RewardFunction("reasoning")
neutrality = RewardFunction("neutrality")
seed = RewardFunction("seed")
