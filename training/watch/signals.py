"""Run-level signals of the hacking watch, and its thresholds (pure functions; no torch).

The detectors (:mod:`training.watch.detectors`) judge one completion; these judge a logging
step's batch or the run so far:

- ``component_dominance``: the largest share of the reward's within-group variance that one
  component carries (GRPO's advantages come from within-group differences, so a component
  near 1.0 is what the policy is really learning).
- ``flat_groups``: the share of groups whose total rewards are all equal (no learning
  signal; TRL logs the same count as ``frac_reward_zero_std``).
- ``length_drift``: the mean completion length now over that at the first logging step.
- ``reward_up_accuracy_down``: how far held-out accuracy (``eval/accuracy``) fell below its
  best while the reward rose past the reward at that best step; 0.0 otherwise.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from mcq.errors import UsageError
from training.watch.detectors import DETECTORS

__all__ = [
    "DEFAULT_THRESHOLDS",
    "SIGNALS",
    "accuracy_drop",
    "component_dominance",
    "crossed",
    "flat_groups",
    "parse_thresholds",
]

SIGNALS = ("component_dominance", "flat_groups", "length_drift", "reward_up_accuracy_down")

#: watch/<name> value above which the watch raises an alarm (detectors: share of completions).
DEFAULT_THRESHOLDS: dict[str, float] = {
    **{name: 0.5 for name in DETECTORS},
    "over_long": 0.25,
    "component_dominance": 0.95,
    "flat_groups": 0.95,
    "length_drift": 3.0,  # also an alarm below 1/3: answers collapsing to nothing
    "reward_up_accuracy_down": 0.1,
}
#: How much the reward must have risen past its value at the best-accuracy step.
REWARD_RISE = 0.02


def parse_thresholds(value: Mapping[str, Any] | str | None) -> dict[str, float]:
    """The defaults with a recipe's ``watch_thresholds`` applied (a mapping, JSON or
    ``name=value,...``); a usage error names an unknown detector or a bad number.

    Example:
        >>> parse_thresholds("hedge_spam=0.2, flat_groups=1")["hedge_spam"]
        0.2
        >>> parse_thresholds({"over_long": 0.1})["over_long"]
        0.1
    """
    given: Any = value or {}
    if isinstance(given, str):
        text = given.strip()
        try:
            given = (
                json.loads(text)
                if text.startswith("{")
                else dict(part.split("=", 1) for part in text.split(",") if part.strip())
            )
        except ValueError:
            raise UsageError(
                f"watch_thresholds: {value!r} is neither JSON nor name=value,..."
            ) from None
    if not isinstance(given, Mapping):
        raise UsageError(f"watch_thresholds must be a mapping of name: number, not {value!r}")
    out = dict(DEFAULT_THRESHOLDS)
    for name, number in given.items():
        name = str(name).strip()
        if name not in out:
            raise UsageError(f"watch_thresholds: unknown name {name!r}; known: {', '.join(out)}")
        try:
            out[name] = float(number)
        except (TypeError, ValueError):
            raise UsageError(f"watch_thresholds: {name} needs a number, not {number!r}") from None
    return out


def crossed(name: str, value: float | None, threshold: float) -> bool:
    """Whether ``value`` is past ``threshold`` (length_drift: either way, by that factor).

    Example:
        >>> crossed("hedge_spam", 0.6, 0.5), crossed("length_drift", 0.2, 3.0)
        (True, True)
    """
    if value is None or math.isnan(value):
        return False
    if name == "length_drift":
        return value > threshold or (threshold > 0 and value < 1 / threshold)
    return value > threshold


def _value(x: float | None) -> float:
    return 0.0 if x is None or math.isnan(x) else float(x)


def component_dominance(
    rewards: Mapping[str, Sequence[float | None]], weights: Mapping[str, float], group: int
) -> tuple[float, str | None]:
    """(share, component): the component carrying most of the within-group reward variance.

    Each component's weighted reward and the total (their sum; ``None`` counts 0, as TRL
    sums) are centred on their group's mean; a component's share is its covariance with the
    total over the total's variance, so the shares add up to 1.

    Example:
        >>> component_dominance({"a": [1, 0, 1, 0], "b": [0.5, 0.5, 0.5, 0.5]}, {"a": 1, "b": 1}, 2)
        (1.0, 'a')
        >>> component_dominance({"a": [1, 1], "b": [0, 0]}, {"a": 1, "b": 1}, 2)
        (0.0, None)
    """
    names = list(rewards)
    n = min((len(v) for v in rewards.values()), default=0)
    if not names or group < 1 or n < group:
        return 0.0, None
    n -= n % group
    columns = {k: [weights.get(k, 1.0) * _value(x) for x in rewards[k][:n]] for k in names}
    total = [sum(columns[k][i] for k in names) for i in range(n)]

    def centred(values: list[float]) -> list[float]:
        out = []
        for start in range(0, n, group):
            part = values[start : start + group]
            mean = sum(part) / group
            out += [x - mean for x in part]
        return out

    t = centred(total)
    variance = sum(x * x for x in t)
    if variance <= 1e-12:
        return 0.0, None
    shares = {
        k: sum(a * b for a, b in zip(centred(columns[k]), t, strict=True)) / variance for k in names
    }
    best = max(shares, key=shares.get)  # type: ignore[arg-type]
    return round(min(1.0, max(0.0, shares[best])), 6), best


def flat_groups(totals: Sequence[float | None], group: int) -> float:
    """Share of the groups whose total rewards are all equal.

    Example:
        >>> flat_groups([1, 1, 0.2, 0.8], 2)
        0.5
    """
    n = len(totals) - len(totals) % group if group > 0 else 0
    if n == 0:
        return 0.0
    flat = 0
    for start in range(0, n, group):
        part = [_value(x) for x in totals[start : start + group]]
        flat += max(part) - min(part) <= 1e-8
    return flat / (n // group)


def accuracy_drop(history: Sequence[tuple[float, float]]) -> float:
    """Held-out accuracy's fall from its best, when the reward rose past its value then.

    ``history`` holds one ``(eval accuracy, reward)`` pair per evaluation, oldest first
    (the reward: the latest logged training reward at that evaluation).

    Example:
        >>> accuracy_drop([(0.4, 0.3), (0.5, 0.4), (0.35, 0.6)])
        0.15
        >>> accuracy_drop([(0.4, 0.3), (0.5, 0.4), (0.35, 0.3)])  # reward fell too
        0.0
    """
    if len(history) < 2:
        return 0.0
    best = max(range(len(history) - 1), key=lambda i: history[i][0])
    (best_acc, best_reward), (acc, reward) = history[best], history[-1]
    if reward - best_reward < REWARD_RISE or acc >= best_acc:
        return 0.0
    return round(best_acc - acc, 6)
