"""The heavy half of ``python -m training grpo``: TRL's config, the model, rewards, the trainer.

Imports torch, transformers and TRL at the top (several seconds), so the command tree in
:mod:`training.grpo` imports this module only when a run (or its ``--help``) needs it.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from trl import GRPOConfig, ModelConfig

from mcq.errors import UsageError
from training.component_watch import component_watch
from training.distributed import check_batch_arithmetic, world_size
from training.runlog import fmt, log, make_callback, one_line
from training.watch.callback import add_hacking_watch

__all__ = [
    "TrainingConfig",
    "build_trainer",
    "device_supports_bf16",
    "fit_to_device",
    "load_policy",
    "load_rewards",
    "load_tokenizer",
    "quantization_config",
    "model_kwargs",
    "save_final",
    "train_and_save",
]


@dataclass
class TrainingConfig(GRPOConfig):
    """TRL's ``GRPOConfig``, fitted to the device before it is validated.

    Without a GPU the run goes to the CPU (``use_cpu``); ``bf16`` is kept only where the
    device computes in bfloat16 natively (CUDA with bf16 support, or a CPU with AVX512-BF16 or
    AMX), otherwise the run falls back to float32 and says so in the log. The batch
    arithmetic across processes is checked first, with one error that says what to change.
    """

    def __post_init__(self):
        check_batch_arithmetic(
            self.per_device_train_batch_size,
            world_size(),
            self.num_generations,
            steps_per_generation=self.steps_per_generation,
            generation_batch_size=self.generation_batch_size,
            gradient_accumulation_steps=self.gradient_accumulation_steps,
        )
        fit_to_device(self)
        super().__post_init__()


def fit_to_device(config: Any) -> None:
    """Fit a trainer config to the device before TRL validates it: the CPU when there is no
    GPU, ``bf16`` only where the device computes it natively. What changed is kept in
    ``config.device_notes`` as (logging level, message) for the run log."""
    config.device_notes = []
    if not config.use_cpu and not _has_accelerator():
        config.use_cpu = True
        config.device_notes.append((logging.INFO, "no GPU found: training on the CPU"))
    if config.bf16 is None:  # TRL's default: bf16 unless fp16; here only where it is native
        config.bf16 = not config.fp16 and device_supports_bf16(config.use_cpu)
    elif config.bf16 and not device_supports_bf16(config.use_cpu):
        config.bf16 = False
        config.device_notes.append(
            (logging.WARNING, "bf16 asked for but this device lacks it: using float32")
        )


def build_trainer(script_args: Any, training_args: GRPOConfig, model_args: ModelConfig):
    """Data → model → rewards → ``GRPOTrainer`` (LoRA from ``model_args``, vLLM when asked)."""
    from trl import GRPOTrainer, get_peft_config

    from training.grpo_data import build_datasets
    from training.heldout_eval import heldout_callback

    tokenizer = load_tokenizer(model_args, training_args)
    dataset, heldout = build_datasets(script_args, tokenizer)
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
        callbacks=[make_callback()],
    )
    trainer.add_callback(component_watch(script_args))  # alarm when a component stops scoring
    evaluation = heldout_callback(trainer, heldout, script_args, training_args)
    if evaluation is not None:  # held-out accuracy every eval_steps, best_checkpoint
        trainer.add_callback(evaluation)
    add_hacking_watch(trainer, script_args)  # degenerate answers, flat groups, accuracy vs reward
    if training_args.use_vllm:
        from training.vllm_colocate import use_reload_for_weight_sync

        use_reload_for_weight_sync(trainer)
    return trainer


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


# --- model -------------------------------------------------------------------------------------


def load_tokenizer(model_args: ModelConfig, training_args: Any, *, chat: bool = True):
    """The model's tokenizer with a pad token (its end token when it has none).

    For a chat policy (``chat``), padding on the left as generation needs, and a chat template.
    """
    from transformers import AutoTokenizer

    sides = {"padding_side": "left", "truncation_side": "left"} if chat else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            model_args.model_name_or_path,
            revision=model_args.model_revision,
            trust_remote_code=training_args.trust_remote_code,
            **sides,
        )
    except OSError as err:
        raise UsageError(
            f"cannot load a tokenizer from {model_args.model_name_or_path}: {one_line(err)}"
        ) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if chat and not tokenizer.chat_template:
        raise UsageError(f"{model_args.model_name_or_path}: the tokenizer has no chat template")
    return tokenizer


def load_policy(model_args: ModelConfig, training_args: GRPOConfig):
    """Load the policy model: bf16 where the run uses it, 4-bit (bitsandbytes) when asked."""
    from transformers import AutoModelForCausalLM

    kwargs = model_kwargs(model_args, training_args)
    try:
        model = AutoModelForCausalLM.from_pretrained(model_args.model_name_or_path, **kwargs)
    except OSError as err:
        raise UsageError(
            f"cannot load model {model_args.model_name_or_path}: {one_line(err)}"
        ) from None
    quant = (
        "4-bit " + model_args.bnb_4bit_quant_type if model_args.load_in_4bit else "no quantization"
    )
    log.info(
        "model %s: %.1fM parameters, dtype %s, %s, bf16 training %s",
        model_args.model_name_or_path,
        sum(p.numel() for p in model.parameters()) / 1e6,
        kwargs["dtype"],
        quant,
        training_args.bf16,
    )
    return model


def model_kwargs(model_args: ModelConfig, training_args: Any) -> dict[str, Any]:
    """``from_pretrained`` keywords: the recipe's ``model_init_kwargs``, revision, dtype (float32
    where bf16 training is off), attention and bitsandbytes quantization."""
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
    return kwargs


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


# --- rewards and generation ------------------------------------------------------------------


def load_rewards(script_args: Any, training_args: GRPOConfig):
    """Reward functions and weights from the preset; the weights go into ``training_args``."""
    import rewards.trl  # binds `rewards` too

    try:
        preset = rewards.load_preset(script_args.reward_preset)
        funcs = rewards.trl.reward_funcs(preset)
        weights = rewards.trl.reward_weights(preset)
    except (ValueError, KeyError, FileNotFoundError) as err:
        raise UsageError(f"reward preset {script_args.reward_preset!r}: {one_line(err)}") from None
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


def prepare_vllm(script_args: Any, training_args: GRPOConfig) -> None:
    """Check vLLM is usable and fit TRL's colocate settings to this machine."""
    from training.vllm_colocate import VLLMUnavailable, check_vllm, prepare_cpu_vllm

    if training_args.vllm_mode == "server":  # the engine runs elsewhere (`trl vllm-serve`)
        log.info(
            "generation: vLLM server at %s",
            training_args.vllm_server_base_url
            or f"{training_args.vllm_server_host}:{training_args.vllm_server_port}",
        )
        return
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


def train_and_save(trainer: Any, run_dir: Path, resume_from: Path | None) -> None:
    """Train (from ``resume_from`` when given), log how it went, and save into ``run_dir``."""
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    log.info(
        "training finished at global step %d in %.1f s (train_loss %s)",
        trainer.state.global_step,
        time.perf_counter() - started,
        fmt(result.training_loss),
    )
    save_final(trainer, run_dir)


def save_final(trainer: Any, run_dir: Path) -> None:
    """Save the adapter/model, tokenizer and trainer state into the run folder.

    Files are written to a scratch folder first and then moved in one by one, so a kill
    during the save never leaves a half-written weights file in the run folder. Every process
    takes part in ``save_model`` (ZeRO-3 and FSDP gather the sharded weights for it); only
    the main process writes and moves files.
    """
    main = trainer.args.process_index == 0
    scratch = run_dir / ".final.tmp"
    if main:
        shutil.rmtree(scratch, ignore_errors=True)
    trainer.accelerator.wait_for_everyone()
    trainer.save_model(str(scratch))
    trainer.accelerator.wait_for_everyone()
    if not main:
        return
    for item in scratch.iterdir():
        target = run_dir / item.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(item, target)
    scratch.rmdir()
    trainer.state.save_to_json(str(run_dir / "trainer_state.json.tmp"))
    os.replace(run_dir / "trainer_state.json.tmp", run_dir / "trainer_state.json")
    log.info("saved the final model and trainer_state.json to %s", run_dir)
