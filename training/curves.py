"""``python -m training curves RUN_DIR``: training curves from a run's ``trainer_state.json``.

Four panels against the optimizer step. A GRPO run (``training grpo``): reward (total and each
component, as TRL logs them under ``rewards/<name>/mean``), KL to the reference model (when
``beta`` > 0 logs it), loss, and completion length. A reward-model run (``training rm``, told
apart by TRL's ``accuracy``/``margin`` metrics): loss, pairwise accuracy, margin (chosen minus
rejected score), and the scores' mean with their min-max band; each with its ``eval_`` points
where an eval strategy logged them. A GRPO run that logged held-out accuracy (``eval/*``) or
the watch (``watch/*``) gets two more panels: accuracy with its 95% interval beside the reward,
and each detector's share of the sampled completions.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from mcq.cli import command_parser
from mcq.errors import UsageError
from mcq.files import refuse_overwrite

__all__ = [
    "find_trainer_state",
    "has_watch_panels",
    "is_reward_model_run",
    "load_history",
    "main",
    "make_parser",
    "plot_curves",
]

EPILOG = """\
examples:
  python -m training curves --input runs/qwen2.5-7b-qlora --output curves.png
  python -m training curves --input runs/qwen2.5-7b-qlora/checkpoint-400
Reads the run's trainer_state.json, or its newest checkpoint's while the run is going.
"""


def find_trainer_state(run_dir: str | Path) -> Path:
    """The most advanced ``trainer_state.json`` of a run: its own or its newest checkpoint's."""
    from training.checkpoints import list_checkpoints

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UsageError(f"{run_dir}: not a folder")
    candidates = [run_dir / "trainer_state.json"]
    candidates += [path / "trainer_state.json" for _, path in list_checkpoints(run_dir)]
    best, best_step, malformed = None, -1, None
    for candidate in candidates:
        if not candidate.is_file():
            continue
        try:
            step = int(json.loads(candidate.read_text(encoding="utf-8")).get("global_step", 0))
        except (OSError, ValueError, TypeError, AttributeError):
            malformed = malformed or candidate
            continue
        if step > best_step:
            best, best_step = candidate, step
    if best is None and malformed is not None:
        raise UsageError(f"{malformed}: not a valid trainer_state.json (malformed JSON)")
    if best is None:
        raise UsageError(f"{run_dir}: no trainer_state.json (in the folder or its checkpoints)")
    return best


def load_history(state_file: str | Path) -> list[dict[str, float]]:
    """The training entries of ``log_history`` (those with a step), values as floats."""
    state = json.loads(Path(state_file).read_text(encoding="utf-8"))
    entries = []
    for raw in state.get("log_history", []):
        entry = {}
        for key, value in raw.items():
            try:
                entry[key] = float(value)
            except (TypeError, ValueError):
                continue
        if "step" in entry and not any(key.startswith("train_") for key in entry):
            entries.append(entry)
    return entries


def plot_curves(history: list[dict[str, float]], out: str | Path, title: str = "") -> Path:
    """Draw the four panels into a PNG at ``out`` (written atomically); returns ``out``.

    The PNG's ``Description`` text names the panels, for readers that cannot see it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    rm_run = is_reward_model_run(history)
    watched = not rm_run and has_watch_panels(history)
    rows = 3 if watched else 2
    fig, axes = plt.subplots(rows, 2, figsize=(11, 3.75 * rows), sharex=True)
    if rm_run:
        _rm_panels(axes.flat, history)
    else:
        _grpo_panels(list(axes.flat)[:4], history)
    if watched:
        _watch_panels(list(axes.flat)[4:], history)
    for ax in axes[-1]:
        ax.set_xlabel("step")
    for ax in axes.flat:
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        panels = "; ".join(ax.get_title() for ax in axes.flat)
        fig.savefig(tmp, format="png", dpi=110, metadata={"Title": title, "Description": panels})
        os.replace(tmp, out)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
    return out


def _grpo_panels(axes: Any, history: list[dict[str, float]]) -> None:
    reward_ax, kl_ax, loss_ax, length_ax = axes

    _line(reward_ax, history, "reward", "total", linewidth=2.2, color="black")
    for key in sorted({k for entry in history for k in entry if _is_component(k)}):
        _line(reward_ax, history, key, key.split("/")[1])
    reward_ax.set_title("Reward (weighted total and components)")
    low, high = reward_ax.get_ylim()
    reward_ax.set_ylim(low, high + 0.3 * (high - low))  # headroom for the legend
    reward_ax.legend(fontsize=7, ncol=3, loc="upper center")

    if not _line(kl_ax, history, "kl", "KL"):
        kl_ax.text(
            0.5,
            0.5,
            "KL not logged (beta = 0)",
            ha="center",
            va="center",
            transform=kl_ax.transAxes,
        )
    kl_ax.set_title("KL to the reference model")

    _line(loss_ax, history, "loss", "loss")
    loss_ax.set_title("Loss")

    _mean_and_band(length_ax, history, "completions/{}_length")
    length_ax.set_title("Completion length (tokens)")


def has_watch_panels(history: list[dict[str, float]]) -> bool:
    """True when a GRPO run logged held-out accuracy (``eval/*``) or the watch (``watch/*``):
    two more panels are drawn.

    Example:
        >>> has_watch_panels([{"step": 1, "reward": 0.6, "watch/repetition": 0.0}])
        True
        >>> has_watch_panels([{"step": 1, "reward": 0.6}])
        False
    """
    return any(key.startswith(("eval/", "watch/")) for entry in history for key in entry)


def _watch_panels(axes: Any, history: list[dict[str, float]]) -> None:
    accuracy_ax, watch_ax = axes
    if _line(accuracy_ax, history, "eval/accuracy", "held-out accuracy", linewidth=2.2):
        spans = [
            (e["step"], e["eval/accuracy_ci_low"], e["eval/accuracy_ci_high"])
            for e in history
            if "eval/accuracy_ci_low" in e and "eval/accuracy_ci_high" in e
        ]
        if spans:
            steps, low, high = zip(*spans, strict=True)
            accuracy_ax.fill_between(steps, low, high, alpha=0.2, label="95% interval")
        _line(accuracy_ax, history, "reward", "reward (total)", color="black", alpha=0.5)
        accuracy_ax.legend(fontsize=8)
    else:
        accuracy_ax.text(
            0.5,
            0.5,
            "held-out accuracy not logged (eval_share 0)",
            ha="center",
            va="center",
            transform=accuracy_ax.transAxes,
        )
    accuracy_ax.set_ylim(-0.05, 1.05)
    accuracy_ax.set_title("Held-out accuracy (greedy, 95% interval)")

    shown = False
    for key in sorted({k for entry in history for k in entry if k.startswith("watch/")}):
        shown = _line(watch_ax, history, key, key.split("/", 1)[1]) or shown
    if shown:
        watch_ax.legend(fontsize=7, ncol=2)
    else:
        watch_ax.text(
            0.5, 0.5, "watch not logged", ha="center", va="center", transform=watch_ax.transAxes
        )
    watch_ax.set_title("Watch: detector shares and run-level signals")


def is_reward_model_run(history: list[dict[str, float]]) -> bool:
    """True for a ``training rm`` history: TRL's RewardTrainer logs accuracy and margin, GRPO
    logs a reward.

    Example:
        >>> is_reward_model_run([{"step": 1, "loss": 0.7, "accuracy": 0.5, "margin": 0.1}])
        True
        >>> is_reward_model_run([{"step": 1, "loss": 0.0, "reward": 0.6}])
        False
    """
    keys = {key for entry in history for key in entry}
    return "reward" not in keys and bool({"accuracy", "margin", "eval_accuracy"} & keys)


def _rm_panels(axes: Any, history: list[dict[str, float]]) -> None:
    loss_ax, accuracy_ax, margin_ax, score_ax = axes
    for ax, key, title in (
        (loss_ax, "loss", "Loss (Bradley-Terry)"),
        (accuracy_ax, "accuracy", "Pairwise accuracy (chosen scored higher)"),
        (margin_ax, "margin", "Margin (chosen minus rejected score)"),
    ):
        shown = _line(ax, history, key, "train")
        shown = _line(ax, history, f"eval_{key}", "eval", linewidth=2.2, color="black") or shown
        if shown:
            ax.legend(fontsize=8)
        ax.set_title(title)
    accuracy_ax.set_ylim(-0.05, 1.05)
    _mean_and_band(score_ax, history, "{}_reward")
    score_ax.set_title("Scores the model gives (train batches)")


def _mean_and_band(ax: Any, history: list[dict[str, float]], pattern: str) -> None:
    """The ``mean`` line of ``pattern`` (``{}`` -> mean/min/max) with its min-max band."""
    if not _line(ax, history, pattern.format("mean"), "mean"):
        return
    low_key, high_key = pattern.format("min"), pattern.format("max")
    spans = [
        (e["step"], e[low_key], e[high_key]) for e in history if low_key in e and high_key in e
    ]
    if spans:
        steps, low, high = zip(*spans, strict=True)
        ax.fill_between(steps, low, high, alpha=0.2, label="min–max")
    ax.legend(fontsize=8)


def _is_component(key: str) -> bool:
    return key.startswith("rewards/") and key.endswith("/mean")


def _line(ax: Any, history: list[dict[str, float]], key: str, label: str, **style: Any) -> bool:
    points = [(entry["step"], entry[key]) for entry in history if key in entry]
    if not points:
        return False
    steps, values = zip(*points, strict=True)
    ax.plot(
        steps, values, marker="o" if len(points) < 30 else None, markersize=3, label=label, **style
    )
    return True


def make_parser(subparsers: Any | None = None) -> argparse.ArgumentParser:
    """The ``curves`` parser; the run folder may also be given as the old positional argument."""
    parser = command_parser(
        subparsers,
        "curves",
        help="plot a run's curves: reward, KL, loss, length, held-out accuracy, watch (grpo); loss, accuracy, margin (rm)",
        description=__doc__.splitlines()[0].split(": ", 1)[1],
        epilog=EPILOG,
        prog="python -m training curves",
    )
    parser.add_argument(
        "--input", metavar="RUN_DIR", help="training run folder (or one of its checkpoints)"
    )
    parser.add_argument("run_dir", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument("--output", help="PNG to write (default: RUN_DIR/curves.png)")
    parser.add_argument("--out", dest="output", help=argparse.SUPPRESS)
    parser.add_argument("--title", default=None, help="figure title (default: the run folder name)")
    parser.set_defaults(func=main)
    return parser


def main(args: argparse.Namespace) -> int:
    """Find the state, plot, print where the PNG went."""
    run_dir = args.input or args.run_dir
    if not run_dir or (args.input and args.run_dir and args.input != args.run_dir):
        raise UsageError("give the run folder once (--input RUN_DIR)")
    state_file = find_trainer_state(run_dir)
    history = load_history(state_file)
    if not history:
        raise UsageError(f"{state_file}: no logged training steps yet")
    out = Path(args.output) if args.output else Path(run_dir) / "curves.png"
    refuse_overwrite(out, [state_file])
    title = args.title if args.title is not None else Path(run_dir).resolve().name
    plot_curves(history, out, title)
    print(f"{out}: {len(history)} logged steps from {state_file}")
    return 0
