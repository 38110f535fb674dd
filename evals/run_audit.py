"""Audit a GRPO run after the fact: its watch record turned into ``report.md``/``.html``.

A run trained with the watch on keeps, in ``<run>/watch/``: ``metrics.jsonl`` (one object per
logging step: TRL's reward means, ``eval/*`` held-out accuracy, ``watch/<detector>`` shares),
``completions.jsonl`` (+ rotated ``.1`` … : sampled completions with per-component rewards and
detector flags) and ``alarms.jsonl``; ``<run>/zhongli_run.json`` is the run's record. This
module reads them (:func:`read_run`), decides the verdict (:func:`verdict`) and writes the
report (:func:`write_audit_report`): reward against held-out accuracy, detector shares, the
first alarm, and flagged completions beside the best unflagged ones.

A corrupt line in ``metrics.jsonl``, ``alarms.jsonl`` or ``zhongli_run.json`` is bad input
(one line naming the file and line, exit 2): the story would be wrong without it. A corrupt
line in the completions record is skipped and counted in the report: the record is a sample,
and a run killed mid-write leaves a cut last line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcq.errors import UsageError, first_line

__all__ = [
    "ALARM_EXIT",
    "RunRecord",
    "Verdict",
    "read_run",
    "verdict",
    "write_audit_report",
]

#: Exit code of ``evals audit`` when the run had an alarm or its reward rose while accuracy fell.
ALARM_EXIT = 3
#: Completions kept by the rotation: the current file, then ``.1`` (newer) … ``.3`` (older).
ROTATED = 3
#: Characters of a completion or prompt shown in the report.
SHOWN_CHARS = 600


@dataclass
class RunRecord:
    """What a run folder holds for an audit (see the module docstring for the files)."""

    folder: Path
    metrics: list[dict[str, Any]]
    completions: list[dict[str, Any]] = field(default_factory=list)
    alarms: list[dict[str, Any]] = field(default_factory=list)
    run: dict[str, Any] = field(default_factory=dict)
    skipped_lines: int = 0

    def series(self, key: str) -> list[tuple[int, float]]:
        """``(step, value)`` of every logging step that has a number under ``key``."""
        return [
            (int(m["step"]), float(m[key]))
            for m in self.metrics
            if isinstance(m.get(key), int | float) and not isinstance(m.get(key), bool)
        ]

    def logged_steps(self) -> int:
        """Distinct steps with a logged reward (one step may log training, eval and a summary)."""
        return len({step for step, _ in self.series("reward")})

    def detectors(self) -> list[str]:
        """The ``watch/<name>`` names the run logged, sorted."""
        return sorted(
            {k.split("/", 1)[1] for m in self.metrics for k in m if k.startswith("watch/")}
        )


def read_run(folder: str | Path) -> RunRecord:
    """Read a run folder's watch record; :class:`UsageError` (exit 2) when it cannot be audited."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder (give a training run's output folder)")
    watch = folder / "watch"
    metrics_file = watch / "metrics.jsonl"
    if not metrics_file.is_file():
        raise UsageError(
            f"{folder}: no watch record ({metrics_file} is missing); train with watch: true "
            "(the default) to audit a run"
        )
    metrics, _ = _read_jsonl(metrics_file, strict=True)
    metrics = [m for m in metrics if _is_step(m.get("step"))]
    if not metrics:
        raise UsageError(f"{metrics_file}: no logged steps yet")
    alarms_file = watch / "alarms.jsonl"
    alarms = _read_jsonl(alarms_file, strict=True)[0] if alarms_file.is_file() else []
    completions, skipped = [], 0
    for path in _completion_files(watch):
        rows, bad = _read_jsonl(path, strict=False)
        completions += rows
        skipped += bad
    run: dict[str, Any] = {}
    run_file = folder / "zhongli_run.json"
    if run_file.is_file():
        try:
            run = json.loads(run_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as err:
            raise UsageError(f"{run_file}: not a valid run record ({first_line(err)})") from None
        if not isinstance(run, dict):
            raise UsageError(f"{run_file}: not a valid run record (expected a JSON object)")
    metrics.sort(key=lambda m: m["step"])
    alarms.sort(key=lambda a: a.get("step") if _is_step(a.get("step")) else 0)
    return RunRecord(folder, metrics, completions, alarms, run, skipped)


def _completion_files(watch: Path) -> list[Path]:
    """Oldest first: ``completions.jsonl.3`` … ``.1``, then ``completions.jsonl``."""
    names = [f"completions.jsonl.{i}" for i in range(ROTATED, 0, -1)] + ["completions.jsonl"]
    return [watch / name for name in names if (watch / name).is_file()]


def _read_jsonl(path: Path, *, strict: bool) -> tuple[list[dict[str, Any]], int]:
    """Objects of a JSONL file and how many lines were corrupt (``strict``: the first raises)."""
    rows, bad = [], 0
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"{path}: cannot read ({first_line(err)})") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("expected a JSON object")
        except ValueError as err:
            if strict:
                raise UsageError(
                    f"{path}:{number}: corrupt record line ({first_line(err)})"
                ) from None
            bad += 1
            continue
        rows.append(row)
    return rows, bad


def _is_step(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# ------------------------------------------------------------------------------- verdict
@dataclass
class Verdict:
    """The audit's findings: what gates CI (``alarmed``) and the figures the report states."""

    reward_start: float | None
    reward_end: float | None
    accuracy_first: tuple[int, float] | None
    accuracy_last: tuple[int, float] | None
    reward_up_accuracy_down: bool
    first_alarm: dict[str, Any] | None

    @property
    def alarmed(self) -> bool:
        """True when the run had an alarm or its reward rose while held-out accuracy fell."""
        return self.first_alarm is not None or self.reward_up_accuracy_down


def verdict(record: RunRecord, *, min_change: float = 0.02) -> Verdict:
    """Compare the reward's first and last thirds of steps, and the first and last held-out
    accuracy; a rise and a fall of at least ``min_change`` each is ``reward_up_accuracy_down``.

    Example:
        >>> r = RunRecord(Path("."), [
        ...     {"step": 1, "reward": 0.2, "eval/accuracy": 0.5},
        ...     {"step": 2, "reward": 0.5},
        ...     {"step": 3, "reward": 0.8, "eval/accuracy": 0.3}])
        >>> v = verdict(r)
        >>> v.reward_start, v.reward_end, v.reward_up_accuracy_down, v.alarmed
        (0.2, 0.8, True, True)
    """
    rewards = [value for _, value in record.series("reward")]
    start = end = None
    if rewards:
        third = max(1, len(rewards) // 3)
        start = sum(rewards[:third]) / third
        end = sum(rewards[-third:]) / third
    accuracy = record.series("eval/accuracy")
    first = accuracy[0] if accuracy else None
    last = accuracy[-1] if len(accuracy) > 1 else None
    hacked = bool(
        start is not None
        and first is not None
        and last is not None
        and end - start >= min_change
        and first[1] - last[1] >= min_change
    )
    return Verdict(
        reward_start=start,
        reward_end=end,
        accuracy_first=first,
        accuracy_last=last,
        reward_up_accuracy_down=hacked,
        first_alarm=record.alarms[0] if record.alarms else None,
    )


# ------------------------------------------------------------------------------- report
def write_audit_report(
    record: RunRecord, found: Verdict, out: Path, *, examples: int = 3, html: bool = True
) -> list[Path]:
    """Write ``report.md`` (and ``report.html``) with their PNGs into ``out``."""
    from evals.audit_plots import detector_shares, reward_and_accuracy
    from evals.metrics import fmt
    from evals.report import Report

    name = record.folder.resolve().name
    report = Report(f"Run audit: {name}")
    state = "**ALARM**" if found.alarmed else "no alarm"
    preset = record.run.get("reward_preset") or "?"
    report.paragraph(
        f"{state}. Run `{record.folder}` (reward preset `{preset}`, base model "
        f"`{_shown(record.run.get('base_model') or '?')}`), {record.logged_steps()} logging steps up to "
        f"step {record.metrics[-1]['step']}, {len(record.completions)} sampled completions, "
        f"{len(record.alarms)} alarms."
    )
    if record.skipped_lines:
        report.paragraph(
            f"{record.skipped_lines} corrupt lines of the completions record were skipped."
        )
    rows = [["reward (first → last third of steps)", _arrow(found.reward_start, found.reward_end)]]
    if found.accuracy_first:
        last = found.accuracy_last or found.accuracy_first
        rows.append(
            [
                f"held-out accuracy (step {found.accuracy_first[0]} → {last[0]})",
                _arrow(found.accuracy_first[1], last[1]),
            ]
        )
    else:
        rows.append(["held-out accuracy", "not logged (eval_share / eval_input off)"])
    best = record.run.get("best_checkpoint")
    if isinstance(best, dict):
        rows.append(
            [
                "best checkpoint",
                f"step {best.get('step')}, accuracy {fmt(best.get('eval_accuracy'))}",
            ]
        )
    rows.append(
        ["reward rose while accuracy fell", "yes" if found.reward_up_accuracy_down else "no"]
    )
    report.table(["", "value"], rows)

    report.heading("Reward and held-out accuracy")
    reward_and_accuracy(record, out / "reward_accuracy.png")
    report.image("reward_accuracy.png", "reward and held-out accuracy over steps")
    detectors = record.detectors()
    report.heading("Detector shares")
    if detectors:
        detector_shares(record, detectors, out / "detector_shares.png")
        report.image("detector_shares.png", "share of sampled completions each detector flagged")
    else:
        report.paragraph("No `watch/*` shares were logged.")

    _alarm_section(report, record)
    _examples_section(report, record, examples)
    return report.write(out, html_too=html)


def _shown(path: str) -> str:
    """A local path relative to the working directory when it lies inside it (else as given)."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def _arrow(a: float | None, b: float | None) -> str:
    from evals.metrics import fmt

    if a is None or b is None:
        return "not logged"
    return f"{fmt(a)} → {fmt(b)} ({b - a:+.3f})"


def _alarm_section(report: Any, record: RunRecord) -> None:
    report.heading("Alarms")
    if not record.alarms:
        report.paragraph("No alarm: no detector crossed its threshold.")
        return
    first = record.alarms[0]
    report.paragraph(
        f"First alarm at step **{first.get('step')}**: `{first.get('detector')}` at "
        f"{_num(first.get('value'))} (threshold {_num(first.get('threshold'))}). "
        f"{first.get('message') or ''}".strip()
    )
    if first.get("example"):
        report.quote(_cut(str(first["example"])))
    by_detector: dict[str, list[dict[str, Any]]] = {}
    for alarm in record.alarms:
        by_detector.setdefault(str(alarm.get("detector")), []).append(alarm)
    report.table(
        ["detector", "first step", "alarms", "highest value", "threshold"],
        [
            [
                name,
                found[0].get("step"),
                len(found),
                _num(
                    max((a.get("value") for a in found if _is_step(a.get("value"))), default=None)
                ),
                _num(found[0].get("threshold")),
            ]
            for name, found in by_detector.items()
        ],
        align="lrrrr",
    )


def _examples_section(report: Any, record: RunRecord, examples: int) -> None:
    report.heading("Flagged completions beside good ones")
    flagged = [c for c in record.completions if c.get("flags")]
    clean = [c for c in record.completions if not c.get("flags") and _is_step(c.get("total"))]
    if not record.completions:
        report.paragraph("The run kept no sampled completions.")
        return
    report.paragraph(
        f"{len(flagged)} of {len(record.completions)} sampled completions were flagged. "
        "Flagged: the latest of each detector; good: the highest total with no flag."
    )
    latest: dict[str, dict[str, Any]] = {}
    for row in flagged:  # oldest first, so the latest of each detector wins
        latest[str(row["flags"][0])] = row
    for row in list(latest.values())[-examples:] if examples else []:
        _example(report, row, "flagged " + ", ".join(map(str, row["flags"])))
    clean.sort(key=lambda c: (-float(c["total"]), -int(c.get("step") or 0)))
    for row in clean[:examples]:
        _example(report, row, "good (no flag)")


def _example(report: Any, row: dict[str, Any], label: str) -> None:
    rewards = row.get("rewards") if isinstance(row.get("rewards"), dict) else {}
    parts = ", ".join(f"{k} {_num(v)}" for k, v in rewards.items())
    report.heading(f"Step {row.get('step')}: {label}", level=3)
    report.paragraph(f"total {_num(row.get('total'))}" + (f" ({parts})" if parts else ""))
    if row.get("prompt"):
        report.paragraph("Question: " + " ".join(_cut(str(row["prompt"]), 200).split()))
    report.quote(_cut(str(row.get("completion") or "")))


def _num(value: Any) -> str:
    from evals.metrics import fmt

    return fmt(value if _is_step(value) else None)


def _cut(text: str, limit: int = SHOWN_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + " …"
