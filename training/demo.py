"""Build the embedded demo models in assets/models/ from nothing but the repository.

``python -m training demo`` trains, on a CPU in minutes:

1. a byte-level BPE tokenizer on the sample data and the prompt text (ChatML chat template,
   like Qwen2: ``<|im_start|>`` / ``<|im_end|>``);
2. a tiny Qwen2 model (head_dim 64, which vLLM's CPU attention accepts) warm-started by a short
   supervised pass on ``assets/data/sample_train.tsv`` so that it writes ``答案：X\\n理由：...``
   -> ``demo-base``;
3. a GRPO run with the ``default`` rewards preset through the same code path as
   ``python -m training grpo --config assets/configs/demo-cpu.yaml`` -> ``demo-grpo-adapter``
   (PEFT LoRA) and ``demo-grpo`` (merged);
4. an evaluation of both models on the held-out ``sample_test`` questions, written to
   ``assets/models/README.md``.

Heavy libraries are imported inside the functions that use them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "assets" / "models"
DEFAULT_TRAIN = REPO_ROOT / "assets" / "data" / "sample_train.tsv"
DEFAULT_TEST = REPO_ROOT / "assets" / "data" / "sample_test.tsv"
DEFAULT_GOLD = REPO_ROOT / "assets" / "data" / "sample_test_gold.csv"
DEFAULT_CONFIG = REPO_ROOT / "assets" / "configs" / "demo-cpu.yaml"

BASE_DIR = "demo-base"
ADAPTER_DIR = "demo-grpo-adapter"
MERGED_DIR = "demo-grpo"

PAD_TOKEN = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS = (PAD_TOKEN, IM_START, IM_END)

# ChatML, as Qwen2 uses it, without Qwen's default system prompt (mcq supplies its own).
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

# The tiny Qwen2 shape: head_dim = hidden_size / num_attention_heads = 64.
MODEL_SHAPE: dict[str, Any] = {
    "hidden_size": 256,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "num_hidden_layers": 4,
    "intermediate_size": 512,
    "max_position_embeddings": 1024,
    "rms_norm_eps": 1e-6,
    "tie_word_embeddings": True,
}

LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")


def target_text(letter: str, reasoning: str) -> str:
    """Return the assistant answer the demo model is taught: ``答案：X`` then ``理由：...``."""
    return f"答案：{letter}\n理由：{reasoning.strip()}"


# --------------------------------------------------------------------------- tokenizer


def train_tokenizer(texts: Iterable[str], vocab_size: int = 6000):
    """Train a byte-level BPE tokenizer on ``texts`` and wrap it for transformers.

    Byte-level means every string, in any script, still encodes (unseen characters fall back
    to bytes). The result has the ChatML special tokens, ``<|im_end|>`` as eos,
    ``<|endoftext|>`` as pad, and :data:`CHAT_TEMPLATE`.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=IM_END,
        pad_token=PAD_TOKEN,
        model_max_length=MODEL_SHAPE["max_position_embeddings"],
        padding_side="left",
    )
    wrapped.chat_template = CHAT_TEMPLATE
    return wrapped


# --------------------------------------------------------------------------- model


def new_model(tokenizer, seed: int):
    """Return a randomly initialised tiny Qwen2ForCausalLM sized for ``tokenizer`` (float32)."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    eos = tokenizer.convert_tokens_to_ids(IM_END)
    pad = tokenizer.convert_tokens_to_ids(PAD_TOKEN)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        bos_token_id=pad,
        eos_token_id=eos,
        pad_token_id=pad,
        **MODEL_SHAPE,
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(
        bos_token_id=pad, eos_token_id=[eos, pad], pad_token_id=pad, max_new_tokens=128
    )
    return model


@dataclass
class SupervisedExample:
    """One supervised pair: chat messages for the prompt and the assistant text to learn."""

    messages: list[dict[str, str]]
    target: str


def encode_examples(tokenizer, examples: Sequence[SupervisedExample], max_len: int = 1024):
    """Tokenize prompt + target; labels are -100 on the prompt so only the answer is learned."""
    encoded = []
    for ex in examples:
        prompt = tokenizer.apply_chat_template(
            ex.messages, tokenize=False, add_generation_prompt=True
        )
        p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        t_ids = tokenizer(ex.target + IM_END, add_special_tokens=False)["input_ids"]
        ids = (p_ids + t_ids)[:max_len]
        labels = ([-100] * len(p_ids) + t_ids)[:max_len]
        encoded.append((ids, labels))
    return encoded


def supervised_warmup(
    model,
    tokenizer,
    examples: Sequence[SupervisedExample],
    *,
    steps: int,
    batch_size: int = 8,
    lr: float = 3e-3,
    seed: int = 0,
    progress: bool = True,
) -> list[float]:
    """Train ``model`` in place for ``steps`` AdamW steps on ``examples``; return the losses.

    A plain loop (no Trainer) keeps this fast and dependency-light on two CPU cores. The lr
    warms up over the first 10% of steps and decays with a cosine to 10%.
    """
    import torch
    from tqdm import tqdm

    data = encode_examples(tokenizer, examples)
    pad = tokenizer.pad_token_id
    rng = random.Random(seed)
    torch.manual_seed(seed)
    optim = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01, betas=(0.9, 0.98))
    warm = max(1, steps // 10)

    def lr_at(step: int) -> float:
        if step < warm:
            return lr * (step + 1) / warm
        frac = (step - warm) / max(1, steps - warm)
        return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))

    model.train()
    order: list[int] = []
    losses: list[float] = []
    bar = tqdm(range(steps), desc="supervised warm-up", disable=not progress, unit="step")
    for step in bar:
        batch = []
        for _ in range(batch_size):
            if not order:
                order = list(range(len(data)))
                rng.shuffle(order)
            batch.append(data[order.pop()])
        width = max(len(ids) for ids, _ in batch)
        input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
        labels = torch.full((len(batch), width), -100, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, (ids, lab) in enumerate(batch):  # right padding for training
            input_ids[row, : len(ids)] = torch.tensor(ids)
            labels[row, : len(lab)] = torch.tensor(lab)
            mask[row, : len(ids)] = 1
        for group in optim.param_groups:
            group["lr"] = lr_at(step)
        out = model(input_ids=input_ids, attention_mask=mask, labels=labels)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        optim.zero_grad(set_to_none=True)
        losses.append(float(out.loss))
        bar.set_postfix(loss=f"{losses[-1]:.3f}")
    model.eval()
    return losses


# --------------------------------------------------------------------------- saving


def save_model_dir(model, tokenizer, out_dir: Path, *, dtype: str = "bfloat16") -> None:
    """Save ``model`` (cast to ``dtype``, safetensors) and ``tokenizer`` to ``out_dir`` atomically.

    Written into a temporary sibling directory first, then swapped in, so a reader never sees
    a half-written model and a failed save leaves the previous one untouched.
    """
    import torch

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        model = model.to(getattr(torch, dtype))
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        _swap_dir(tmp, out_dir)
    finally:
        model.to(torch.float32)
        shutil.rmtree(tmp, ignore_errors=True)


def _swap_dir(new: Path, target: Path) -> None:
    """Replace directory ``target`` by ``new`` (two renames; the old one is removed last)."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def dir_size_bytes(path: Path) -> int:
    """Total size of the regular files under ``path``."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def _write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


__all__ = [
    "CHAT_TEMPLATE",
    "MODEL_SHAPE",
    "SupervisedExample",
    "dir_size_bytes",
    "new_model",
    "save_model_dir",
    "supervised_warmup",
    "target_text",
    "train_tokenizer",
]

_UNUSED = (argparse, json, sys, time, Callable, field)
