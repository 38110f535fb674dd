"""The run folder's own records: ``training.log``, ``zhongli_run.json`` and the resume point.

Only the main process writes them (see :mod:`training.distributed`); the other processes log
warnings to their console and take the resume point the main process chose.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mcq.errors import UsageError, first_line
from mcq.files import write_atomic
from mcq.provenance import package_versions
from training.checkpoints import (
    RUN_INFO,
    checkpoint_problem,
    checkpoint_step,
    list_checkpoints,
    prepare_resume,
    read_run_info,
)
from training.trajectory import next_segments

__all__ = [
    "LOG_FILE",
    "RUN_INFO",
    "find_resume_point",
    "local_model_path",
    "log",
    "logged_run",
    "one_line",
    "package_versions",
    "record_best_checkpoint",
    "record_segments",
    "start_run_log",
    "start_segment",
    "stop_run_log",
    "write_run_info",
]

log = logging.getLogger("training")
metrics_log = logging.getLogger("training.metrics")  # per-step metrics: file only
config_log = logging.getLogger("training.config")  # the resolved configuration: file only
# Why a run stopped: file only, since the CLI prints the same line as its error.
outcome_log = logging.getLogger("training.outcome")
_FILE_ONLY = (metrics_log.name, config_log.name, outcome_log.name)

LOG_FILE = "training.log"

#: The first line of a library error, as the run log quotes it (one home: mcq.errors.first_line).
one_line = first_line


def start_run_log(
    run_dir: Path, main_process: bool = True, training_args: Any = None
) -> logging.Handler | None:
    """Append this run's log (ours, TRL's and transformers' warnings) to ``run_dir/training.log``.

    On a process other than the main one nothing is written and the console shows warnings
    only, so N processes do not print every line N times. Given the trainer's arguments, the
    first lines say who trains (``2 processes (world size 2), cuda``). Returns the file
    handler (or None).
    """
    root = logging.getLogger()
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    if not any(getattr(h, "_zhongli_console", False) for h in log.handlers):
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(logging.Formatter("[training] %(message)s"))
        console.addFilter(lambda record: record.name not in _FILE_ONLY)
        console.setLevel(logging.INFO if main_process else logging.WARNING)
        console._zhongli_console = True  # type: ignore[attr-defined]
        log.addHandler(console)
    if not main_process:
        return None
    handler = logging.FileHandler(run_dir / LOG_FILE, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    _transformers_logging().add_handler(handler)
    log.info("=" * 20 + " run started: %s", " ".join(sys.argv))
    if training_args is not None:
        from training.distributed import describe_world, sharding

        world = describe_world(training_args.world_size, training_args.device.type, sharding())
        log.info("%s", world)
    return handler


def stop_run_log(handler: logging.Handler | None) -> None:
    """Detach and close what :func:`start_run_log` attached."""
    if handler is None:
        return
    logging.getLogger().removeHandler(handler)
    _transformers_logging().remove_handler(handler)
    handler.close()


@contextmanager
def logged_run(run_dir: Path, training_args: Any) -> Iterator[bool]:
    """Around a run: the run folder and its log (:func:`start_run_log`); yields whether this is
    the main process. Why a run ended early goes into the log: ``run stopped`` for a mistake the
    user can fix, ``run failed`` for anything else."""
    main_process = training_args.process_index == 0
    if main_process:
        run_dir.mkdir(parents=True, exist_ok=True)
    handler = start_run_log(run_dir, main_process, training_args)
    try:
        yield main_process
    except UsageError as err:  # mcq.DataError too
        outcome_log.error("run stopped: %s", err)
        raise
    except BaseException as err:
        outcome_log.error("run failed: %s", one_line(err) if str(err) else err.__class__.__name__)
        raise
    finally:
        stop_run_log(handler)


def start_segment(
    run_dir: Path,
    record: Any,
    trajectory: Any,
    args: tuple[Any, Any, Any],
    recipe: str | None,
    main_process: bool,
    **fields: Any,
) -> Path | None:
    """The checkpoint this start resumes from (None: step 0), after the main process recorded
    the start as a segment in ``zhongli_run.json`` (see :mod:`training.trajectory`)."""
    script_args, training_args, model_args = args
    resume_from = find_resume_point(run_dir, script_args, training_args)
    if main_process:
        segments = next_segments(record, trajectory, checkpoint_step(resume_from))
        write_run_info(run_dir, *args, recipe, segments, **fields)
    return resume_from


def write_run_info(
    run_dir: Path,
    script_args: Any,
    training_args: Any,
    model_args: Any,
    recipe: str | None,
    segments: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> None:
    """Log the resolved configuration and save it as ``zhongli_run.json`` (atomically).

    The top-level fields describe the latest start (``fields``: what the command adds, such
    as the GRPO preset and prompt); ``segments`` (see :mod:`training.trajectory`) keeps every
    start's settings and provenance.
    """
    changed = _changed_fields(training_args)
    info = {
        "base_model": model_args.model_name_or_path,
        "recipe": recipe,
        **fields,
        "dataset": script_args.dataset_path,
        "world_size": training_args.world_size,
        "script_args": dataclasses.asdict(script_args),
        "model_args": dataclasses.asdict(model_args),
        "training_args": json.loads(training_args.to_json_string()),
        **record_segments(segments),
    }
    carried = _carried_best(run_dir, segments)
    if carried:
        info["best_checkpoint"] = carried
    for level, note in getattr(training_args, "device_notes", []):
        log.log(level, "%s", note)
    log.info("recipe: %s", recipe or "(none, command line only)")
    config_log.info("script arguments: %s", json.dumps(info["script_args"], ensure_ascii=False))
    config_log.info(
        "model arguments: %s", json.dumps(info["model_args"], ensure_ascii=False, default=str)
    )
    config_log.info(
        "training arguments (differing from the trainer's defaults): %s",
        json.dumps(changed, default=str),
    )
    config_log.info("versions: %s", json.dumps(package_versions()))
    write_atomic(run_dir / RUN_INFO, json.dumps(info, ensure_ascii=False, indent=2, default=str))


def record_best_checkpoint(run_dir: Path, best: dict[str, Any]) -> None:
    """Set ``best_checkpoint`` (``step``, ``path``, ``eval_accuracy``) in ``zhongli_run.json``."""
    info = read_run_info(run_dir) or {}
    info["best_checkpoint"] = {k: best.get(k) for k in ("step", "path", "eval_accuracy")}
    write_atomic(run_dir / RUN_INFO, json.dumps(info, ensure_ascii=False, indent=2, default=str))


def _carried_best(run_dir: Path, segments: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    """A resumed run's ``best_checkpoint`` from before its resume point (a fresh run: none)."""
    start = (segments or [{}])[-1].get("start_step", 0)
    best = (read_run_info(run_dir) or {}).get("best_checkpoint")
    if start > 0 and isinstance(best, dict) and isinstance(best.get("step"), int):
        return best if best["step"] <= start else None
    return None


def record_segments(segments: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The record's ``provenance`` (the latest start's), ``trajectory`` and ``segments`` fields."""
    if not segments:
        return {"provenance": None, "segments": []}
    latest = segments[-1]
    return {
        "provenance": latest["provenance"],
        "trajectory": latest["settings"],
        "segments": segments,
    }


def find_resume_point(run_dir: Path, script_args: Any, training_args: Any) -> Path | None:
    """Return the checkpoint to resume from (None: start fresh), after moving broken ones aside.

    With several processes, the main one decides (it alone renames folders) and every process
    gets its answer (:func:`training.distributed.decided_by_main`), so all resume alike.
    """
    from training.distributed import decided_by_main

    return decided_by_main(
        lambda: _choose_resume_point(run_dir, script_args, training_args),
        getattr(training_args, "world_size", 1),
    )


def _choose_resume_point(run_dir: Path, script_args: Any, training_args: Any) -> Path | None:
    explicit = training_args.resume_from_checkpoint
    if explicit:
        problem = checkpoint_problem(explicit) if Path(explicit).is_dir() else "not a folder"
        if problem:
            raise UsageError(f"resume_from_checkpoint {explicit}: {problem}")
        log.info("resuming from %s (given)", explicit)
        return Path(explicit)
    if not script_args.resume:
        if list_checkpoints(run_dir):
            raise UsageError(
                f"{run_dir} already has checkpoints; rerun with --resume true to continue, "
                "or pick a new --output-dir"
            )
        return None
    report = prepare_resume(run_dir)
    for old, new, reason in report.moved_aside:
        log.warning("skipped incomplete %s (%s); moved it to %s", old.name, reason, new)
    if report.resume_from is None:
        log.info("no complete checkpoint in %s: starting from step 0", run_dir)
        return None
    log.info("resuming from %s at global step %d", report.resume_from.name, report.global_step)
    return report.resume_from


def make_callback():
    """A ``TrainerCallback`` copying progress into ``training.log`` (main process only)."""
    from transformers import TrainerCallback

    class RunLogCallback(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                log.info("training from global step %d to %d", state.global_step, state.max_steps)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and state.is_world_process_zero:  # the console shows them already
                values = {key: fmt(value) for key, value in logs.items()}
                metrics_log.info("step %d: %s", state.global_step, json.dumps(values))

        def on_save(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                log.info("saved checkpoint-%d", state.global_step)

    return RunLogCallback()


def fmt(value: Any) -> Any:
    """A log-friendly value: floats to 6 significant digits, odd types as text."""
    if isinstance(value, float):
        return float(f"{value:.6g}")
    return value if isinstance(value, int | str | bool | None) else str(value)


def _changed_fields(args: Any) -> dict[str, Any]:
    changed = {}
    for f in dataclasses.fields(args):
        if not f.init:
            continue
        default = f.default if f.default is not dataclasses.MISSING else None
        if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            default = f.default_factory()  # type: ignore[misc]
        value = getattr(args, f.name)
        if value != default:
            changed[f.name] = value
    return changed


def _transformers_logging():
    from transformers.utils import logging as hf_logging

    return hf_logging


def local_model_path(name: str) -> str:
    """A local model folder as an absolute path; a hub id (no such folder) unchanged.

    A LoRA run's ``adapter_config.json`` records the base model as it was named, so a relative
    folder would make the adapter load only from the folder training started in.

    Example:
        >>> local_model_path("Qwen/no-such-local-folder")
        'Qwen/no-such-local-folder'
        >>> Path(local_model_path(".")).is_absolute()
        True
    """
    folder = Path(name).expanduser()
    return str(folder.resolve()) if folder.is_dir() else name
