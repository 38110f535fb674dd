"""Find the checkpoint a run can safely resume from.

A training process killed while writing ``checkpoint-N`` leaves a directory that looks like a
checkpoint but is missing files or holds a truncated one. Hugging Face's ``Trainer`` picks the
highest-numbered directory and crashes (or silently loads half a state) on it. Here every
checkpoint is inspected; the newest *complete* one is chosen and any broken one is moved aside,
never loaded and never deleted.
"""

from __future__ import annotations

import json
import logging
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcq.errors import first_line

__all__ = [
    "INCOMPLETE_DIR",
    "RUN_INFO",
    "CheckpointReport",
    "checkpoint_step",
    "checkpoint_problem",
    "list_checkpoints",
    "prepare_resume",
    "read_run_info",
    "resume_field",
]

log = logging.getLogger(__name__)

#: Broken checkpoints are moved into this sub-folder of the run. They must leave the run folder
#: itself: ``Trainer`` rotates (deletes) anything matching ``checkpoint-*`` there.
INCOMPLETE_DIR = "incomplete-checkpoints"

#: The run record in a run folder (settings, segments, provenance, best checkpoint): written by
#: ``training.runlog``, compared on resume by ``training.trajectory``, put in the model card by push.
RUN_INFO = "zhongli_run.json"


def read_run_info(run_dir: Path) -> dict[str, Any] | None:
    """The run record of ``run_dir`` (None when it is missing, unreadable or not an object)."""
    try:
        record = json.loads((Path(run_dir) / RUN_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


_CHECKPOINT_NAME = re.compile(r"^checkpoint-(\d+)$")
_WEIGHT_FILES = ("adapter_model.safetensors", "model.safetensors", "model.safetensors.index.json")
_TORCH_FILES = ("optimizer.pt", "scheduler.pt")


@dataclass(frozen=True)
class CheckpointReport:
    """What :func:`prepare_resume` decided for one run folder."""

    resume_from: Path | None
    """The newest complete checkpoint, or ``None`` to start from scratch."""
    global_step: int
    """The step stored in ``resume_from`` (0 when starting from scratch)."""
    moved_aside: tuple[tuple[Path, Path, str], ...] = ()
    """``(old path, new path, reason)`` for every broken checkpoint that was moved."""


def list_checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    """Return ``(step, path)`` for every ``checkpoint-<step>`` folder in ``run_dir``, oldest first."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    found = []
    for child in run_dir.iterdir():
        match = _CHECKPOINT_NAME.match(child.name)
        if match and child.is_dir():
            found.append((int(match.group(1)), child))
    return sorted(found)


def checkpoint_problem(path: str | Path) -> str | None:
    """Return why ``path`` cannot be resumed from, or ``None`` when it is complete.

    Complete means: ``trainer_state.json`` parses and names this checkpoint's step; the model
    or adapter weights are there and their safetensors headers match the file sizes; the
    optimizer, scheduler and RNG state files are intact zip archives (``torch.save`` format),
    checked entry by entry against their CRCs.
    """
    path = Path(path)
    state_file = path / "trainer_state.json"
    if not state_file.is_file():
        return "no trainer_state.json"
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return f"trainer_state.json unreadable ({err.__class__.__name__})"
    match = _CHECKPOINT_NAME.match(path.name)
    if not isinstance(state, dict) or "global_step" not in state:
        return "trainer_state.json has no global_step"
    if match and state["global_step"] != int(match.group(1)):
        return f"trainer_state.json says step {state['global_step']}"

    weights = [path / name for name in _WEIGHT_FILES if (path / name).is_file()]
    if not weights:
        return "no model or adapter weights"
    for weight in weights:
        problem = _safetensors_problem(weight)
        if problem:
            return problem

    rng_files = sorted(path.glob("rng_state*.pth"))
    if not rng_files:
        return "no rng_state.pth"
    for torch_file in [*(path / name for name in _TORCH_FILES), *rng_files]:
        if not torch_file.is_file():
            return f"no {torch_file.name}"
        problem = _zip_problem(torch_file)
        if problem:
            return problem
    return None


def checkpoint_step(path: str | Path | None) -> int:
    """The global step a checkpoint holds (its ``trainer_state.json``); 0 for None."""
    if path is None:
        return 0
    state = json.loads((Path(path) / "trainer_state.json").read_text(encoding="utf-8"))
    return int(state["global_step"])


def prepare_resume(run_dir: str | Path) -> CheckpointReport:
    """Choose the newest complete checkpoint in ``run_dir``; move broken ones aside.

    A broken checkpoint newer than the chosen one would be overwritten (or confuse the trainer)
    when training reaches its step again, so it is renamed to
    ``<run_dir>/incomplete-checkpoints/<name>.incomplete`` (with ``-2``, ``-3``... when that
    name is taken) and logged. Broken checkpoints older than the chosen one are left alone.
    """
    run_dir = Path(run_dir)
    checkpoints = list_checkpoints(run_dir)
    moved: list[tuple[Path, Path, str]] = []
    for step, path in reversed(checkpoints):
        problem = checkpoint_problem(path)
        if problem is None:
            return CheckpointReport(path, step, tuple(moved))
        target = _aside_name(run_dir, path.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
        log.warning("checkpoint %s is incomplete (%s): moved to %s", path.name, problem, target)
        moved.append((path, target, problem))
    return CheckpointReport(None, 0, tuple(moved))


def _aside_name(run_dir: Path, name: str) -> Path:
    folder = run_dir / INCOMPLETE_DIR
    target = folder / f"{name}.incomplete"
    counter = 2
    while target.exists():
        target = folder / f"{name}.incomplete-{counter}"
        counter += 1
    return target


def _safetensors_problem(path: Path) -> str | None:
    if path.suffix == ".json":  # a sharded checkpoint's index: every shard must be intact
        try:
            index = json.loads(path.read_text(encoding="utf-8"))
            shards = sorted(set(index["weight_map"].values()))
        except (OSError, ValueError, KeyError, AttributeError):
            return f"{path.name} unreadable"
        for shard in shards:
            if not (path.parent / shard).is_file():
                return f"missing shard {shard}"
            problem = _safetensors_problem(path.parent / shard)
            if problem:
                return problem
        return None
    from safetensors import safe_open

    try:
        # safe_open checks that the header's tensor offsets fit the file: a truncated file fails.
        with safe_open(str(path), framework="numpy") as handle:
            handle.keys()
    except Exception as err:  # safetensors raises its own error types
        return f"{path.name} does not load ({first_line(err)})"
    return None


def _zip_problem(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (OSError, zipfile.BadZipFile) as err:
        return f"{path.name} does not load ({first_line(err)})"
    if bad is not None:
        return f"{path.name} is corrupt ({bad})"
    return None


def resume_field() -> Any:
    """The ``resume`` setting of a training command's script arguments (``--resume``)."""
    return field(
        default=True,
        metadata={
            "help": "Continue from the newest complete checkpoint in output_dir. With false, an "
            "output_dir that already has checkpoints is refused rather than overwritten."
        },
    )
