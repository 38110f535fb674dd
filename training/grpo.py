"""``python -m training grpo``: GRPO training of a chat model on the multiple-choice data.

Run as ``python -m training grpo --config assets/configs/qwen2.5-7b-qlora.yaml [--key value ...]``,
or under ``accelerate launch`` for several processes (see training/README.md). Three argument
groups are parsed together by TRL's parser (one YAML recipe, command-line overrides):
:class:`ScriptArguments` (data and rewards), TRL's ``GRPOConfig`` and ``ModelConfig``.

A second run with the same ``output_dir`` continues from the newest complete checkpoint.
This module stays light (the subcommand tree imports it); the model, rewards and trainer are
built by :mod:`training.grpo_trainer`, the data by :mod:`training.grpo_data`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcq.errors import UsageError
from mcq.files import encoding_field
from mcq.sources import source_exists
from training.checkpoints import resume_field
from training.grpo_data import load_prompt
from training.heldout import check_heldout_args
from training.recipe_cli import RecipeCommand
from training.runlog import RUN_INFO, local_model_path, logged_run, start_segment
from training.trajectory import check_resume, grpo_trajectory
from training.watch.signals import parse_thresholds

__all__ = [
    "RUN_INFO",
    "ScriptArguments",
    "UsageError",
    "arguments_from",
    "check_required",
    "check_training_args",
    "main",
    "make_parser",
    "recipe_arguments",
    "train",
]

HELP = "GRPO training from a recipe (--config RECIPE.yaml [--key value ...])"
DESCRIPTION = (
    "GRPO training (TRL) on multiple-choice questions with zhongli's rewards. Options come from "
    "--config RECIPE.yaml, then from the command line (--key value; --output-dir and "
    "--output_dir alike)."
)
EPILOG = """\
examples:
  python -m training grpo --config assets/configs/qwen2.5-7b-qlora.yaml
  python -m training grpo --config assets/configs/qwen2.5-7b-qlora.yaml \\
      --max_samples 64 --max_steps 5 --output-dir runs/trial
  accelerate launch --config_file assets/configs/accelerate/ddp.yaml --num_processes 2 \\
      -m training grpo --config assets/configs/qwen2.5-7b-lora-vllm.yaml
Rerunning with the same --output-dir resumes from the newest complete checkpoint (a larger
--max_steps trains on); a rerun whose model, data, preset, prompt or optimisation settings differ
is refused unless --resume_with_changes true says to continue with the change.
"""


@dataclass
class ScriptArguments:
    """Data, reward and run-control arguments of ``python -m training grpo``."""

    dataset_path: str | None = field(
        default=None,
        metadata={
            "help": "Training data (question, option_A..D, correct_answer, reasoning[, id]; "
            "C-Eval's A..D, answer, explanation too): TSV/CSV, JSON/JSONL, Parquet, a "
            "save_to_disk folder or hf:NAME[:CONFIG]:SPLIT."
        },
    )
    encoding: str | None = encoding_field()
    dataset_fraction: float = field(
        default=1.0,
        metadata={
            "help": "Train on a random share of the rows, in (0, 1]; the competition used 0.5."
        },
    )
    dataset_seed: int = field(
        default=42,
        metadata={"help": "Seed of the random subset drawn by --dataset_fraction."},
    )
    max_samples: int | None = field(
        default=None,
        metadata={
            "help": "Keep at most this many rows (after --dataset_fraction), for a quick trial."
        },
    )
    skip_invalid: bool = field(
        default=False,
        metadata={"help": "Drop invalid rows (and say how many) instead of stopping."},
    )
    max_prompt_length: int | None = field(
        default=512,
        metadata={
            "help": "Drop questions whose chat prompt is longer than this many tokens (TRL 1.16 "
            "no longer truncates prompts). None keeps everything."
        },
    )
    reward_preset: str = field(
        default="default",
        metadata={
            "help": "Rewards preset (name in assets/rewards/ or a YAML path): components and "
            "weights. --preset is the same option, as the other commands spell it.",
            "aliases": ["--preset"],
        },
    )
    prompt: str = field(
        default="default",
        metadata={
            "help": "Prompt variant: a name in assets/prompts/ (default, fewshot) or a YAML path."
        },
    )
    system_prompt: str | None = field(
        default=None,
        metadata={
            "help": "Replace the prompt's system turn; an empty string sends no system turn."
        },
    )
    resume: bool = resume_field()
    resume_with_changes: bool = field(
        default=False,
        metadata={
            "help": "Resume even though settings that decide the trajectory (model, data, "
            "preset, lexicon, prompt, optimisation) differ from the run's; zhongli_run.json "
            "records the continuation as a new segment. Without it such a resume is refused."
        },
    )
    vllm_cpu_kv_cache_gib: int = field(
        default=1,
        metadata={
            "help": "KV cache (GiB) of a colocated vLLM engine on CPU (VLLM_CPU_KVCACHE_SPACE)."
        },
    )
    eval_share: float = field(
        default=0.0,
        metadata={
            "help": "Share of the training questions held out (seeded by dataset_seed; a "
            "question and its other-script copy together) and answered greedily every "
            "eval_steps for eval/accuracy; in [0, 1), 0 holds nothing out."
        },
    )
    eval_input: str | None = field(
        default=None,
        metadata={
            "help": "Held-out questions with gold answers (test-file columns plus "
            "correct_answer, any format the data commands read), instead of eval_share; "
            "training questions also in it are left out of training."
        },
    )
    eval_max_questions: int | None = field(
        default=None,
        metadata={"help": "Evaluate at most this many held-out questions (the first ones)."},
    )
    eval_max_new_tokens: int | None = field(
        default=None,
        metadata={"help": "New tokens per held-out answer (default: max_completion_length)."},
    )
    alarm_window: int = field(
        default=3,
        metadata={
            "help": "Logging steps in a row in which a reward component scores nothing (its "
            "rewards/<name>/mean is None) before the run log raises an alarm; 0 turns it off."
        },
    )
    halt_on_alarm: bool = field(
        default=False,
        metadata={"help": "At an alarm, save a checkpoint and stop the run (a rerun resumes)."},
    )
    watch: bool = field(
        default=True,
        metadata={
            "help": "Run the hacking watch: degenerate-answer detectors and run-level signals "
            "logged as watch/<name> at every logging step, with alarms and a record in "
            "<output_dir>/watch/."
        },
    )
    watch_thresholds: dict | str | None = field(
        default=None,
        metadata={
            "help": "Alarm thresholds of the watch by name (a mapping, JSON or name=value,...), "
            "over the defaults: detector shares 0.5 (over_long 0.25), component_dominance "
            "0.95, flat_groups 0.95, length_drift 3.0, reward_up_accuracy_down 0.1."
        },
    )
    watch_sample: int = field(
        default=16,
        metadata={"help": "Completions per logging step kept in watch/completions.jsonl."},
    )
    watch_record_mb: float = field(
        default=20.0,
        metadata={"help": "Size (MB) at which watch/completions.jsonl is rotated (3 kept)."},
    )


# --- command line ------------------------------------------------------------------------------


COMMAND = RecipeCommand(
    "grpo", HELP, DESCRIPTION, EPILOG, config="training.grpo_trainer:TrainingConfig"
)
#: TRL's parser over (ScriptArguments, TrainingConfig, ModelConfig), taking ``--config``;
#: stand-alone, ``parse_args_and_config`` works as in TRL's scripts.
make_parser, main, arguments_from = COMMAND.make_parser, COMMAND.main, COMMAND.arguments_from


def recipe_arguments(
    recipe: str | Path, argv: Sequence[str] = (), **values: Any
) -> tuple[Any, Any, Any]:
    """(ScriptArguments, TrainingConfig, ModelConfig) from a recipe, for code that trains.

    The recipe's values come first, then ``values`` (Python values, by option name), then
    ``argv`` (``--key value`` strings, as a user typed them): the last one wins. Pass the
    result to :func:`train`.

    Raises:
        UsageError: a missing or bad recipe, or an option no dataclass has.
    """
    return COMMAND.recipe_arguments(recipe, tuple(argv), **values)  # type: ignore[return-value]


def train(
    script_args: ScriptArguments, training_args: Any, model_args: Any, *, recipe: str | None = None
) -> Path:
    """Train and save; returns the run folder (``training_args.output_dir``).

    Reads top to bottom: checks → processes → run log → resume point → data → model → rewards →
    trainer → train → save. Raises :class:`UsageError` (or ``mcq.DataError``) for mistakes
    the user can fix. Under ``accelerate launch`` every process runs this; only the main one
    writes the run's files.
    """
    from training.grpo_data import prompt_record
    from training.grpo_trainer import build_trainer, train_and_save

    check_required(script_args, model_args)
    check_training_args(training_args)
    model_args.model_name_or_path = local_model_path(model_args.model_name_or_path)
    run_dir = Path(training_args.output_dir)
    _ = training_args.device  # sets up the process group under a launcher (if not yet done)
    trajectory = grpo_trajectory(script_args, training_args, model_args)
    record = check_resume(run_dir, trajectory, script_args, training_args)  # reads only
    with logged_run(run_dir, training_args) as main_process:
        resume_from = start_segment(
            run_dir,
            record,
            trajectory,
            (script_args, training_args, model_args),
            recipe,
            main_process,
            reward_preset=script_args.reward_preset,
            prompt=prompt_record(script_args.prompt),
        )
        trainer = build_trainer(script_args, training_args, model_args)
        train_and_save(trainer, run_dir, resume_from)
    return run_dir


def check_required(script_args: ScriptArguments, model_args: Any) -> None:
    """Raise :class:`UsageError` when the model or the data is not named, the prompt is bad,
    or a reward component cannot score (a judge nobody answers)."""
    if not model_args.model_name_or_path:
        raise UsageError("model_name_or_path is required (a hub id or a local model folder)")
    if not script_args.dataset_path:
        raise UsageError("dataset_path is required (the training TSV)")
    if not source_exists(script_args.dataset_path):
        raise UsageError(f"{script_args.dataset_path}: file not found")
    load_prompt(script_args.prompt)
    check_heldout_args(script_args)  # eval_input read (and its gold checked) before training
    parse_thresholds(script_args.watch_thresholds)  # a bad watch threshold: before any work
    from rewards.scoring import preflight

    preflight(script_args.reward_preset, flag=False)  # each judge answers, before any work


def check_training_args(training_args: Any, flag: str = "--output-dir") -> None:
    """Raise :class:`UsageError` for a step count or output folder that cannot work."""
    from mcq.files import check_output_folder

    if training_args.max_steps == 0 or training_args.max_steps < -1:
        raise UsageError(
            f"max_steps must be a positive number of steps, or -1 to train num_train_epochs "
            f"(got {training_args.max_steps})"
        )
    check_output_folder(training_args.output_dir, flag)


# Names that lived here before the split, for code that imports them from training.grpo.
_MOVED = {
    "TrainingConfig": "training.grpo_trainer",
    "build_trainer": "training.grpo_trainer",
    "load_policy": "training.grpo_trainer",
    "load_tokenizer": "training.grpo_trainer",
    "load_rewards": "training.grpo_trainer",
    "device_supports_bf16": "training.grpo_trainer",
    "save_final": "training.grpo_trainer",
    "build_dataset": "training.grpo_data",
    "select_subset": "training.grpo_data",
    "_prompt_tokens": "training.grpo_data",
    "find_resume_point": "training.runlog",
    "write_run_info": "training.runlog",
}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        import importlib

        module = importlib.import_module(_MOVED[name])
        return getattr(module, name.lstrip("_") if name == "_prompt_tokens" else name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
