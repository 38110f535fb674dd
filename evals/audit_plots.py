"""The plots of ``evals audit``: reward against held-out accuracy, and detector shares."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.plots import COLOURS, GOLD_COLOUR, _save, _style

__all__ = ["RUN_SIGNALS", "detector_shares", "reward_and_accuracy"]


def reward_and_accuracy(record: Any, path: Path) -> Path:
    """Reward (total and each ``rewards/<c>/mean``) and held-out accuracy with its 95% band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with matplotlib.rc_context(_style()):
        fig, ax = plt.subplots(figsize=(8.5, 4.4))
        _plot(ax, record.series("reward"), "reward (total)", color="black", linewidth=2.0)
        components = sorted(
            {
                k
                for m in record.metrics
                for k in m
                if k.startswith("rewards/") and k.endswith("/mean")
            }
        )
        for colour, key in zip(COLOURS[1:] * 4, components, strict=False):
            _plot(ax, record.series(key), key.split("/")[1], color=colour, linewidth=1, alpha=0.6)
        accuracy = record.series("eval/accuracy")
        if accuracy:
            _plot(ax, accuracy, "held-out accuracy", color=COLOURS[0], linewidth=2.2)
            low = dict(record.series("eval/accuracy_ci_low"))
            high = dict(record.series("eval/accuracy_ci_high"))
            band = [(s, low[s], high[s]) for s, _ in accuracy if s in low and s in high]
            if band:
                steps, lo, hi = zip(*band, strict=True)
                ax.fill_between(steps, lo, hi, color=COLOURS[0], alpha=0.18, label="95% interval")
        else:
            ax.text(
                0.5,
                0.92,
                "held-out accuracy not logged",
                ha="center",
                transform=ax.transAxes,
                color=GOLD_COLOUR,
            )
        ax.set_ylim(-0.02, 1.05)
        ax.set_xlabel("step")
        ax.set_ylabel("reward / accuracy")
        ax.set_title("Reward vs held-out accuracy")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        fig.tight_layout()
        return _save(fig, path)


#: The watch's run-level signals (``training.watch.signals.SIGNALS``; evals does not import
#: training): drawn on their own panel, since they are not shares of completions.
RUN_SIGNALS = ("component_dominance", "flat_groups", "length_drift", "reward_up_accuracy_down")
_MORE_COLOURS = ("#17becf", "#bcbd22", "#8c564b", "#e377c2", "#7f7f7f", "#d62728")


def detector_shares(record: Any, detectors: Sequence[str], path: Path) -> Path:
    """Left: each detector's share of the sampled completions; right: the run-level signals.
    An alarm's threshold is a dotted line, each alarm a cross."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = (list(COLOURS) + list(_MORE_COLOURS)) * 2
    panels = (
        ("Detectors: share of sampled completions", [d for d in detectors if d not in RUN_SIGNALS]),
        ("Run-level signals", [d for d in detectors if d in RUN_SIGNALS]),
    )
    with matplotlib.rc_context(_style()):
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.4), sharex=True)
        i = 0
        for ax, (title, names) in zip(axes, panels, strict=True):
            for name in names:
                colour, i = colours[i], i + 1
                _plot(ax, record.series(f"watch/{name}"), name, color=colour, linewidth=1.5)
                alarms = [a for a in record.alarms if a.get("detector") == name]
                first = alarms[0] if alarms else {}
                if isinstance(first.get("threshold"), int | float):
                    ax.axhline(first["threshold"], color=colour, linestyle=":", linewidth=1)
                hits = [(a["step"], a["value"]) for a in alarms if _is_point(a)]
                if hits:
                    ax.plot(
                        *zip(*hits, strict=True),
                        marker="X",
                        markersize=10,
                        color=colour,
                        linestyle="none",
                    )
            ax.set_xlabel("step")
            ax.set_title(title, fontsize=11)
            if names:
                ax.legend(fontsize=7, loc="best", framealpha=0.8)
        axes[0].set_ylabel("share (dotted: alarm threshold; X: alarm)")
        fig.tight_layout()
        return _save(fig, path)


def _is_point(alarm: dict[str, Any]) -> bool:
    return all(
        isinstance(alarm.get(k), int | float) and not isinstance(alarm.get(k), bool)
        for k in ("step", "value")
    )


def _plot(ax: Any, points: list[tuple[int, float]], label: str, **style: Any) -> None:
    if points:
        steps, values = zip(*points, strict=True)
        ax.plot(
            steps,
            values,
            marker="o" if len(points) < 30 else None,
            markersize=3,
            label=label,
            **style,
        )
