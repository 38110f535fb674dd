"""Watching a GRPO run's reward components: one that stops scoring is an alarm in the run log.

TRL logs ``rewards/<name>/mean`` at each logging step as the mean over the completions the
component scored there, and ``None`` when it scored none of them (every value ``None``: a judge
nobody answers, a plugin that gives up). A run whose component stopped scoring trains on the
others alone; :class:`ComponentWatch` notices it. After ``window`` logging steps in a row
without a score, it writes one warning line to the run log (the ``training`` logger, so
``training.log`` and the console) naming the component and the step; with ``halt`` it also
asks the trainer to save a checkpoint and stop, so the run ends cleanly there (exit 0, the
alarm in the log) and a rerun resumes from that checkpoint.

The recipe keys are ``alarm_window`` (logging steps, default 3; 0 turns the watch off) and
``halt_on_alarm`` (default false).
"""

from __future__ import annotations

import math
from typing import Any

from transformers import TrainerCallback

from training.runlog import log

__all__ = ["ComponentWatch", "component_watch", "is_unscored"]

_PREFIX, _SUFFIX = "rewards/", "/mean"


def is_unscored(value: Any) -> bool:
    """Whether a logged reward mean says the component scored nothing (None or NaN).

    Example:
        >>> [is_unscored(v) for v in (None, float("nan"), 0.0, 0.5)]
        [True, True, False, False]
    """
    return value is None or (isinstance(value, float) and math.isnan(value))


class ComponentWatch(TrainerCallback):
    """Alarm (and halt, when asked) after ``window`` logging steps in a row of a component
    scoring nothing.

    Attributes:
        window: Logging steps in a row without a score before the alarm.
        halt: Save a checkpoint and stop the run at the alarm.
        alarms: ``(component, global step)`` of each alarm raised in this process.

    Example:
        >>> from types import SimpleNamespace
        >>> from transformers import TrainerControl
        >>> watch, control = ComponentWatch(window=2, halt=True), TrainerControl()
        >>> state = SimpleNamespace(global_step=0, is_world_process_zero=False)
        >>> for step, value in enumerate([0.5, None, None], 1):
        ...     state.global_step = step
        ...     _ = watch.on_log(None, state, control, logs={"rewards/judge/mean": value})
        >>> watch.alarms, control.should_save, control.should_training_stop
        ([('judge', 3)], True, True)
    """

    def __init__(self, window: int = 3, halt: bool = False):
        self.window = int(window)
        self.halt = bool(halt)
        self.alarms: list[tuple[str, int]] = []
        self._streak: dict[str, int] = {}

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.window < 1 or not logs:
            return control
        for key, value in logs.items():
            if not (key.startswith(_PREFIX) and key.endswith(_SUFFIX)):
                continue  # eval_rewards/... and the std lines are not watched
            name = key[len(_PREFIX) : -len(_SUFFIX)]
            if not is_unscored(value):
                self._streak[name] = 0
                continue
            self._streak[name] = self._streak.get(name, 0) + 1
            if self._streak[name] == self.window:
                self._alarm(name, state, control)
        return control

    def _alarm(self, name: str, state: Any, control: Any) -> None:
        step = state.global_step
        self.alarms.append((name, step))
        # Every process sees the same gathered metrics, so all of them stop alike; one logs.
        if state.is_world_process_zero:
            action = (
                "saving a checkpoint and stopping (halt_on_alarm)"
                if self.halt
                else "training goes on with the other components (halt_on_alarm stops it)"
            )
            log.warning(
                "alarm at step %d: reward component %r scored no completion in the last %d "
                "logging steps (rewards/%s/mean is None); %s",
                step,
                name,
                self.window,
                name,
                action,
            )
        if self.halt:
            control.should_save = True
            control.should_training_stop = True


def component_watch(script_args: Any) -> ComponentWatch:
    """The watch a run's script arguments ask for (``alarm_window``, ``halt_on_alarm``)."""
    return ComponentWatch(
        window=getattr(script_args, "alarm_window", 3),
        halt=getattr(script_args, "halt_on_alarm", False),
    )
