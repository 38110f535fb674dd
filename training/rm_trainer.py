"""The heavy half of ``python -m training rm``: TRL's ``RewardConfig``, the model, the trainer,
and the held-out pairwise accuracy.

Imports torch, transformers and TRL at the top, so :mod:`training.rm` imports this module only
when a run (or its ``--help``) needs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trl import ModelConfig, RewardConfig

from mcq.errors import UsageError
from rewards.learned import reward_input, score_logits
from training.grpo_trainer import fit_to_device, load_tokenizer, model_kwargs
from training.runlog import log, make_callback, one_line

__all__ = ["RewardTrainingConfig", "build_trainer", "load_reward_base", "pairwise_accuracy"]


@dataclass
class RewardTrainingConfig(RewardConfig):
    """TRL's ``RewardConfig``, fitted to the device as ``training grpo`` fits ``GRPOConfig``:
    the CPU when there is no GPU, ``bf16`` only where the device computes it natively."""

    def __post_init__(self):
        fit_to_device(self)
        super().__post_init__()


def build_trainer(train_pairs, eval_pairs, training_args: RewardConfig, model_args: ModelConfig):
    """Tokenizer → one-output classifier (LoRA ``SEQ_CLS`` when asked) → ``RewardTrainer``."""
    from datasets import Dataset
    from trl import RewardTrainer, get_peft_config

    from training.rm_data import trainer_rows

    tokenizer = load_tokenizer(model_args, training_args, chat=False)
    model = load_reward_base(model_args, training_args)
    model.config.pad_token_id = tokenizer.pad_token_id
    if model_args.use_peft and model_args.lora_task_type != "SEQ_CLS":
        log.info("LoRA task type %s -> SEQ_CLS (a reward model)", model_args.lora_task_type)
        model_args.lora_task_type = "SEQ_CLS"

    def rows(pairs):  # conversational preference rows (plain text without a chat template)
        return Dataset.from_list(trainer_rows(pairs, tokenizer))

    return RewardTrainer(
        model=model,
        args=training_args,
        train_dataset=rows(train_pairs),
        eval_dataset=rows(eval_pairs) if eval_pairs else None,
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
        callbacks=[make_callback()],
    )


def load_reward_base(model_args: ModelConfig, training_args: RewardConfig):
    """``AutoModelForSequenceClassification`` with one output from any causal-LM checkpoint.

    The classification head (``score``) starts random; the transformer comes from the checkpoint.
    """
    from transformers import AutoModelForSequenceClassification

    kwargs = model_kwargs(model_args, training_args)
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            model_args.model_name_or_path, num_labels=1, **kwargs
        )
    except (OSError, ValueError) as err:
        raise UsageError(
            f"cannot load model {model_args.model_name_or_path}: {one_line(err)}"
        ) from None
    log.info(
        "reward model from %s: %.1fM parameters, dtype %s, bf16 training %s, LoRA %s",
        model_args.model_name_or_path,
        sum(p.numel() for p in model.parameters()) / 1e6,
        kwargs["dtype"],
        training_args.bf16,
        model_args.use_peft,
    )
    return model


def pairwise_accuracy(trainer: Any, pairs, batch_size: int) -> dict[str, Any]:
    """Score held-out pairs with the trained model: RewardBench-style pairwise accuracy.

    A pair is right only when the chosen text scores strictly higher; ties are counted wrong
    and reported on their own. ``ci`` is the 95% Wilson interval, as ``evals rewards`` gives
    for the same pairs (:func:`evals.stats.wilson_interval`).
    """
    from evals.stats import wilson_interval

    model, tokenizer = trainer.model, trainer.processing_class
    was_training = model.training
    model.eval()
    texts = [reward_input(p[side], tokenizer) for side in ("chosen", "rejected") for p in pairs]
    device = str(next(model.parameters()).device)
    max_length = trainer.args.max_length or 1024
    logits = score_logits(model, tokenizer, texts, batch_size, max_length, device)
    model.train(was_training)
    n = len(pairs)
    margins = [logits[i] - logits[n + i] for i in range(n)]
    right = sum(m > 0 for m in margins)
    ties = sum(m == 0 for m in margins)
    low, high = wilson_interval(right, n)
    return {
        "accuracy": right / n,
        "ties": ties / n,
        "n": n,
        "ci": [low, high],
        "accuracy_without_ties": right / (n - ties) if n > ties else None,
        "mean_margin": sum(margins) / n,
    }
