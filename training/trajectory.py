"""What decides a training run's trajectory, and the check that a resume keeps it.

A run folder's ``zhongli_run.json`` records, per *segment* (one start of the command, from
step 0 or from a checkpoint), the settings that decide where training goes: the base model's
identity (a local folder's weights fingerprint, a hub model's commit), the data's content hash,
the rewards preset's, lexicon's, rubrics' and reward models' hashes, the prompt, and the
trainer arguments that change the optimisation (learning rate and schedule, batch sizes,
generations, KL and clipping, sampling, LoRA shape, quantisation, seed, lengths). A resume whose
settings differ from the last segment's is refused in one line naming each change, before
anything in the folder is touched; ``--resume_with_changes true`` continues anyway and starts a
new segment with its own settings. What only decides how long or how loudly a run goes
(``max_steps``, ``num_train_epochs``, ``logging_steps``, ``save_steps``, ``output_dir``,
``report_to``) is not compared: extending ``max_steps`` is the way to continue a run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcq.errors import UsageError
from mcq.provenance import file_sha256, model_identity, provenance
from training.checkpoints import list_checkpoints, read_run_info

__all__ = [
    "GRPO_KEYS",
    "MODEL_KEYS",
    "RM_KEYS",
    "Trajectory",
    "check_resume",
    "content_hash",
    "grpo_trajectory",
    "next_segments",
    "rm_trajectory",
]

#: Trainer arguments that change a GRPO run's optimisation (those the config has are compared).
GRPO_KEYS = (
    "learning_rate", "lr_scheduler_type", "lr_scheduler_kwargs", "warmup_steps", "warmup_ratio",
    "weight_decay", "adam_beta1", "adam_beta2", "adam_epsilon", "max_grad_norm", "optim",
    "per_device_train_batch_size", "gradient_accumulation_steps", "seed", "data_seed",
    "bf16", "fp16", "num_generations", "generation_batch_size", "steps_per_generation", "beta",
    "epsilon", "epsilon_high", "delta", "loss_type", "scale_rewards", "num_iterations",
    "temperature", "top_p", "top_k", "min_p", "repetition_penalty", "max_completion_length",
    "mask_truncated_completions", "reward_weights", "importance_sampling_level",
    "top_entropy_quantile", "shuffle_dataset", "disable_dropout", "generation_kwargs",
    "chat_template_kwargs", "sync_ref_model", "ref_model_mixup_alpha", "ref_model_sync_steps",
)  # fmt: skip
#: Trainer arguments that change a reward model's optimisation.
RM_KEYS = (
    "learning_rate", "lr_scheduler_type", "lr_scheduler_kwargs", "warmup_steps", "warmup_ratio",
    "weight_decay", "adam_beta1", "adam_beta2", "adam_epsilon", "max_grad_norm", "optim",
    "per_device_train_batch_size", "gradient_accumulation_steps", "seed", "data_seed",
    "bf16", "fp16", "max_length", "center_rewards_coefficient", "disable_dropout",
)  # fmt: skip
#: Model arguments that change what is trained: LoRA shape, quantisation, dtype.
MODEL_KEYS = (
    "use_peft", "lora_r", "lora_alpha", "lora_dropout", "lora_target_modules",
    "lora_target_parameters", "lora_modules_to_save", "lora_task_type", "use_rslora", "use_dora",
    "load_in_4bit", "load_in_8bit", "bnb_4bit_quant_type", "use_bnb_nested_quant", "dtype",
)  # fmt: skip
_GRPO_SCRIPT_KEYS = (
    "encoding", "dataset_fraction", "dataset_seed", "max_samples", "skip_invalid", "max_prompt_length",
    "system_prompt",
)  # fmt: skip
_RM_SCRIPT_KEYS = (
    "encoding", "pairs_from_labels", "eval_share", "dataset_seed", "max_samples", "skip_invalid",
)  # fmt: skip
#: Parts of a preset hashed on their own; reported only when the preset itself is the same.
_PRESET_PARTS = ("lexicon", "reward_models", "rubrics")
_MISSING = object()
log = logging.getLogger("training")
#: Ends a hub model's setting whose commit could not be told (offline, not cached): such a
#: model is compared by its id only.
_UNRESOLVED = "@?"


@dataclass(frozen=True)
class Trajectory:
    """One start's settings (compared on resume), where they came from, and its provenance."""

    settings: dict[str, Any]
    """Setting -> value (content settings as hashes): what a resume must keep."""
    sources: dict[str, Any]
    """Content setting -> what the user named (a path, a preset name), for messages."""
    provenance: dict[str, Any]
    """:func:`mcq.provenance.provenance` of this start."""


def grpo_trajectory(script_args: Any, training_args: Any, model_args: Any) -> Trajectory:
    """The trajectory settings of a ``training grpo`` start (reads the data and preset files)."""
    from rewards import load_preset
    from training.grpo_data import prompt_record

    preset = load_preset(script_args.reward_preset)
    hashes = preset.content_hashes()
    settings, sources = _content(model_args, script_args.dataset_path)
    settings["reward_preset"] = hashes["sha256"]
    sources["reward_preset"] = script_args.reward_preset
    for part in _PRESET_PARTS:
        settings[part] = _digest(hashes.get(part))
        sources[part] = f"of preset {script_args.reward_preset}"
    prompt = prompt_record(script_args.prompt)
    settings["prompt"] = prompt["fingerprint"]
    sources["prompt"] = script_args.prompt
    settings |= _picked(script_args, _GRPO_SCRIPT_KEYS)
    if getattr(script_args, "eval_share", 0) and not getattr(script_args, "eval_input", None):
        # recorded only when it takes questions away from training
        settings["eval_share"] = script_args.eval_share
    settings |= _picked(training_args, GRPO_KEYS) | _picked(model_args, MODEL_KEYS)
    settings["world_size"] = training_args.world_size
    record = provenance(preset=preset, models=_models(model_args))
    return Trajectory(settings, sources, record)


def rm_trajectory(script_args: Any, training_args: Any, model_args: Any) -> Trajectory:
    """The trajectory settings of a ``training rm`` start (reads the pairs file)."""
    settings, sources = _content(model_args, script_args.dataset_path)
    settings |= _picked(script_args, _RM_SCRIPT_KEYS)
    settings |= _picked(training_args, RM_KEYS) | _picked(model_args, MODEL_KEYS)
    settings["world_size"] = training_args.world_size
    return Trajectory(settings, sources, provenance(models=_models(model_args)))


def content_hash(path: str | None) -> str | None:
    """SHA-256 of a data file, or of a folder's files (names and bytes); None for anything else.

    Example:
        >>> from mcq.paths import SAMPLE_TRAIN
        >>> len(content_hash(str(SAMPLE_TRAIN)))
        64
    """
    if not path:
        return None
    from mcq.files import check_size

    target = Path(path).expanduser()
    if target.is_file():
        check_size(target, target.stat().st_size)  # the reader refuses it too: before hashing
        return file_sha256(target)
    if target.is_dir():
        digest = hashlib.sha256()
        for child in sorted(p for p in target.rglob("*") if p.is_file()):
            rel = child.relative_to(target).as_posix()
            digest.update(f"{rel}\x1f{file_sha256(child)}\x1e".encode())
        return digest.hexdigest()
    return None


def check_resume(
    run_dir: Path,
    trajectory: Trajectory,
    script_args: Any,
    training_args: Any,
    *,
    flag: str = "--resume_with_changes true",
) -> dict[str, Any] | None:
    """Refuse a resume whose trajectory settings differ from the run's last segment.

    Reads only: returns the run's record when this start continues from a checkpoint (None
    when it starts from step 0, or when no record says what the checkpoints were made with).
    ``script_args.resume`` / ``resume_with_changes`` and ``training_args.resume_from_checkpoint``
    say whether it continues and whether a change is allowed.

    Raises:
        UsageError: a setting differs and ``resume_with_changes`` is false; the line names each.
    """
    resume_from_checkpoint = training_args.resume_from_checkpoint
    resume, allow_changes = script_args.resume, script_args.resume_with_changes
    explicit = Path(resume_from_checkpoint) if resume_from_checkpoint else None
    if explicit is None and not (resume and list_checkpoints(run_dir)):
        return None
    record = read_run_info(run_dir) or (read_run_info(explicit.parent) if explicit else None)
    segments = (record or {}).get("segments")
    if not segments:
        return record
    changes = differences(segments[-1], trajectory)
    if changes and not allow_changes:
        raise UsageError(
            f"{run_dir} holds a run made with other settings ({'; '.join(changes)}): rerun with "
            f"the same settings to resume, add {flag} to continue it with the change, or pick "
            "another output_dir"
        )
    return record


def differences(segment: dict[str, Any], trajectory: Trajectory) -> list[str]:
    """``"name old -> new"`` for each trajectory setting that differs from ``segment``'s."""
    old, new = segment.get("settings", {}), trajectory.settings
    old_sources = segment.get("sources", {})
    changes = []
    for key in dict.fromkeys([*old, *new]):
        before, after = old.get(key), new.get(key)
        if before == after or _unresolved_same(before, after):
            continue
        if key in _PRESET_PARTS and any(c.startswith("reward_preset ") for c in changes):
            continue  # another preset: its lexicon and models differ with it
        if key in trajectory.sources or key in old_sources:
            was, now = old_sources.get(key), trajectory.sources.get(key)
            shown = (  # what the user named, in full: a path cut short names nothing
                f"{key} {was} -> {now}" if was != now else f"{key} {now} (its content changed)"
            )
        else:
            shown = f"{key} {_short(before)} -> {_short(after)}"
        changes.append(shown)
    return changes


def next_segments(
    record: dict[str, Any] | None, trajectory: Trajectory, start_step: int
) -> list[dict[str, Any]]:
    """The record's segments with this start appended (a start from step 0 begins a new list)."""
    earlier = list((record or {}).get("segments") or []) if start_step > 0 else []
    segment = {
        "start_step": start_step,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "settings": trajectory.settings,
        "sources": trajectory.sources,
        "provenance": trajectory.provenance,
    }
    if earlier:
        segment["changed"] = differences(earlier[-1], trajectory)
        if segment["changed"]:
            log.warning("continuing with changed settings: %s", "; ".join(segment["changed"]))
    elif start_step > 0:
        segment["note"] = "the segments before this one were not recorded"
    return [*earlier, segment]


def _content(model_args: Any, dataset_path: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    name = model_args.model_name_or_path
    identity = model_identity(name, model_args.model_revision) or {}
    if "weights" in identity:
        model = f"weights:{identity['weights']}"
    else:
        resolved = identity.get("resolved")
        model = f"hub:{name}@{resolved}" if resolved else f"hub:{name}{_UNRESOLVED}"
    data = content_hash(dataset_path) or f"source:{dataset_path}"  # a hub dataset: its name
    settings = {"model_name_or_path": model, "dataset_path": data}
    sources = {"model_name_or_path": name, "dataset_path": dataset_path}
    return settings, sources


def _models(model_args: Any) -> dict[str, tuple[str, str | None]]:
    return {"base_model": (model_args.model_name_or_path, model_args.model_revision)}


def _picked(args: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    values = {key: getattr(args, key, _MISSING) for key in keys}
    present = {key: value for key, value in values.items() if value is not _MISSING}
    return json.loads(json.dumps(present, default=str))  # as the record will read it back


def _digest(value: Any) -> str | None:
    if not value:
        return None
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _unresolved_same(before: Any, after: Any) -> bool:
    """A hub model whose commit one side could not tell: the same id counts as the same."""
    if not (isinstance(before, str) and isinstance(after, str) and before.startswith("hub:")):
        return False
    if not (before.endswith(_UNRESOLVED) or after.endswith(_UNRESOLVED)):
        return False
    return before.rsplit("@", 1)[0] == after.rsplit("@", 1)[0]


def _short(value: Any, width: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"
