"""The tiny Qwen2 model and its supervised warm-up on the sample questions (-> demo-base)."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

import mcq
from training.demo.settings import IM_END, MODEL_SHAPE, PAD_TOKEN


def new_model(tokenizer, seed: int):
    """Return a randomly initialised tiny Qwen2ForCausalLM sized for ``tokenizer`` (float32)."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    eos = tokenizer.convert_tokens_to_ids(IM_END)
    pad = tokenizer.convert_tokens_to_ids(PAD_TOKEN)
    shape = dict(MODEL_SHAPE)
    rope_theta = shape.pop("rope_theta")
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        bos_token_id=pad,
        eos_token_id=eos,
        pad_token_id=pad,
        rope_parameters={"rope_type": "default", "rope_theta": rope_theta},
        **shape,
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(
        bos_token_id=pad, eos_token_id=[eos, pad], pad_token_id=pad, max_new_tokens=256
    )
    return model


@dataclass
class SupervisedExample:
    """One supervised pair: chat messages for the prompt and the assistant text to learn."""

    messages: list[dict[str, str]]
    target: str


#: Answer styles of the supervised warm-up and how many copies of each question get each one.
#: Untuned instruct models often answer at the end, or name the option by its text instead of
#: its letter; mixing those in gives demo-base that behaviour, and GRPO (whose ``format`` and
#: ``correctness`` rewards favour ``答案：X`` first) something real to learn. The requested
#: format is the minority, so demo-base's *most likely* answer (what greedy decoding, and so a
#: user, sees) is not in it: GRPO has to move the mode, not only the tail.
STYLE_MIX: tuple[tuple[str, int], ...] = (
    ("answer_first", 1),
    ("answer_last", 1),
    ("option_text", 2),
)


_CLOSING_LETTER = re.compile(r"正確答案(?:為|是)\s*([A-D])")


# The letter-naming clause of a closing sentence ("因此正確答案為A。", "因此正確答案為B，各方…").
_CLOSING_SENTENCE = re.compile(r"因此正確答案(?:為|是)\s*[A-D]\s*(?:[。.]\s*$|[，,；;]\s*而?)")


def target_text(letter: str, reasoning: str) -> str:
    """Return the assistant answer the demo model is taught: ``答案：X`` then ``理由：...``."""
    return mcq.format_answer(letter, reasoning.strip())


def styled_answer(q: mcq.Question, style: str) -> str:
    """The reference answer to ``q`` written in one of the :data:`STYLE_MIX` styles.

    ``answer_first`` is the format the prompt asks for (``答案：X`` then ``理由：...``, the
    letter named once: a closing ``因此正確答案為X`` is left out, so it cannot contradict);
    ``answer_last`` is the reasoning alone, whose closing sentence names the letter;
    ``option_text`` is the reasoning with that letter replaced by the option's wording, so no
    letter can be extracted.
    """
    reasoning = (q.reasoning or "").strip()
    letter = q.correct_answer or "A"
    if style == "answer_first":
        return target_text(letter, _CLOSING_SENTENCE.sub("", reasoning) or reasoning)
    if not _CLOSING_LETTER.search(reasoning):
        reasoning = f"{reasoning}因此正確答案為{letter}。"
    if style == "answer_last":
        return reasoning
    if style == "option_text":
        return _CLOSING_LETTER.sub(
            lambda m: f"較合適的說法是「{q.options[m.group(1)]}」", reasoning
        )
    raise ValueError(f"unknown answer style {style!r}")


def supervised_examples(
    questions: Sequence[mcq.Question], styles: Sequence[tuple[str, int]] = STYLE_MIX
) -> list[SupervisedExample]:
    """mcq's chat prompt for each question with its reference answer, once per style copy."""
    return [
        SupervisedExample(mcq.build_messages(q), styled_answer(q, style))
        for q in questions
        if q.correct_answer
        for style, copies in styles
        for _ in range(copies)
    ]


def encode_examples(tokenizer, examples: Sequence[SupervisedExample], max_len: int = 1024):
    """Tokenize prompt + target + ``<|im_end|>``; labels are -100 on the prompt tokens."""
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
    lr: float = 2e-3,
    seed: int = 0,
    progress: bool = True,
) -> list[float]:
    """Train ``model`` in place for ``steps`` AdamW steps on ``examples``; return the losses.

    A plain loop (no Trainer) is enough for a 7M-parameter model and fast on two cores. The lr
    warms up over the first 10% of steps, then decays with a cosine to 10% of ``lr``.
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
            if not order:  # epochs of a seeded shuffle
                order = list(range(len(data)))
                rng.shuffle(order)
            batch.append(data[order.pop()])
        width = max(len(ids) for ids, _ in batch)
        input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
        labels = torch.full((len(batch), width), -100, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, (ids, lab) in enumerate(batch):  # right padding while training
            input_ids[row, : len(ids)] = torch.tensor(ids)
            labels[row, : len(lab)] = torch.tensor(lab)
            mask[row, : len(ids)] = 1
        for group in optim.param_groups:
            group["lr"] = lr_at(step)
        loss = _target_loss(model, input_ids, mask, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        optim.zero_grad(set_to_none=True)
        losses.append(loss.item())
        bar.set_postfix(loss=f"{losses[-1]:.3f}")
    model.eval()
    return losses


def _target_loss(model, input_ids, attention_mask, labels):
    """Mean next-token cross-entropy over the labelled positions (what ``labels=`` computes).

    The output layer runs on the answer positions only: with a vocabulary of ~17,000 tokens it
    costs more than the rest of the tiny model, and the prompt positions carry no loss.
    """
    import torch

    hidden = model.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    targets = labels[:, 1:]
    keep = targets != -100
    logits = model.lm_head(hidden[:, :-1][keep])
    return torch.nn.functional.cross_entropy(logits.float(), targets[keep])
