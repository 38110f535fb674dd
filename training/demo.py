"""Build the embedded demo models in assets/models/ from nothing but the repository.

``python -m training demo`` trains, on a CPU in minutes:

1. a byte-level BPE tokenizer on the sample training data, the prompt text and the
   lexicons (ChatML chat template like Qwen2's: ``<|im_start|>`` / ``<|im_end|>``);
2. a tiny Qwen2 model (head_dim 64, which vLLM's CPU attention accepts) warm-started by a short
   supervised pass on ``assets/data/sample_train.tsv``. Half of its targets are ``答案：X`` then
   ``理由：...``; the rest answer at the end or name the option by its wording (see
   :data:`STYLE_MIX`), like an instruct model that follows the format only sometimes
   -> ``demo-base``;
3. a GRPO run with the ``default`` rewards preset through the same code path as
   ``python -m training grpo --config assets/configs/demo-cpu.yaml`` -> ``demo-grpo-adapter``
   (PEFT LoRA) and ``demo-grpo`` (the adapter merged into demo-base);
4. an evaluation of both models on the held-out ``sample_test`` questions, recorded in
   ``assets/models/README.md``.

Heavy libraries (torch, transformers, peft, trl) are imported inside the functions that use them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import mcq
from training.errors import UsageError

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "assets" / "data"
DEFAULT_OUT = REPO_ROOT / "assets" / "models"
DEFAULT_CONFIG = REPO_ROOT / "assets" / "configs" / "demo-cpu.yaml"
LEXICON_DIR = REPO_ROOT / "assets" / "lexicon"

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja")

BASE_DIR = "demo-base"
ADAPTER_DIR = "demo-grpo-adapter"
MERGED_DIR = "demo-grpo"
#: assets/models must stay below this many bytes (they are committed to git).
SIZE_LIMIT_BYTES = 30 * 1024 * 1024

PAD_TOKEN = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS = (PAD_TOKEN, IM_START, IM_END)

# ChatML as Qwen2 writes it, without Qwen's default system prompt (mcq supplies its own).
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

# Qwen2's pre-tokenizer split. transformers loads any qwen2-typed model's tokenizer as
# Qwen2Tokenizer, which installs this split, so training with it keeps ids identical everywhere.
QWEN2_SPLIT_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# The tiny Qwen2 shape: head_dim = hidden_size / num_attention_heads = 64.
MODEL_SHAPE: dict[str, Any] = {
    "hidden_size": 256,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "num_hidden_layers": 4,
    "intermediate_size": 512,
    "max_position_embeddings": 4096,
    "rms_norm_eps": 1e-6,
    "rope_theta": 10000.0,
    "tie_word_embeddings": True,
}

#: Answer length cap of the greedy evaluation: ``python -m evals demo-report``'s default.
GREEDY_MAX_NEW_TOKENS = 256
#: Bootstrap resamples and seed of the greedy gain's paired interval (as ``evals compare``).
BOOTSTRAP_RESAMPLES = 2000

EPILOG = """\
example:
  python -m training demo                       # rebuild assets/models (about 10 min on 2 cores)
  python -m training demo --out /tmp/demo --sft-steps 40 --grpo-steps 5 --skip-eval  # smoke run
"""


@dataclass
class DemoSettings:
    """Everything that decides what ``python -m training demo`` builds (all seeded)."""

    out: Path = DEFAULT_OUT
    train: Path = DATA_DIR / "sample_train.tsv"
    test: Path = DATA_DIR / "sample_test.tsv"
    gold: Path = DATA_DIR / "sample_test_gold.csv"
    config: Path = DEFAULT_CONFIG
    seed: int = 0
    tokenizer_merges: int = 3000  # merges learned from the sample corpus (on top of the characters)
    sft_steps: int = 200
    sft_batch_size: int = 8
    sft_lr: float = 2e-3
    grpo_steps: int | None = None  # None: max_steps from the recipe
    eval_samples: int = 4
    eval_temperature: float = 0.7
    eval_max_new_tokens: int | None = None  # None: the recipe's max_completion_length
    greedy_max_new_tokens: int = GREEDY_MAX_NEW_TOKENS
    skip_eval: bool = False
    threads: int = 2
    grpo_overrides: list[str] = field(default_factory=list)


def target_text(letter: str, reasoning: str) -> str:
    """Return the assistant answer the demo model is taught: ``答案：X`` then ``理由：...``."""
    return f"答案：{letter}\n理由：{reasoning.strip()}"


# --------------------------------------------------------------------------- data


def load_sample_data(settings: DemoSettings) -> tuple[list[mcq.Question], list[mcq.Question]]:
    """Load the training questions and the held-out test questions with their gold letters."""
    import dataclasses

    train = mcq.load_train(settings.train)
    test = mcq.load_test(settings.test)
    gold = read_gold(settings.gold)
    missing = [q.id for q in test if q.id not in gold]
    if missing:
        raise mcq.DataError(f"{settings.gold}: no gold answer for {len(missing)} test ids ({missing[0]}, ...)")
    test = [dataclasses.replace(q, correct_answer=gold[q.id]) for q in test]
    return train, test


def read_gold(path: Path) -> dict[str, str]:
    """Read ``id,correct_answer`` (CSV or TSV) into a dict."""
    import csv

    text = Path(path).read_text(encoding="utf-8-sig")
    dialect = "excel-tab" if "\t" in text.splitlines()[0] else "excel"
    rows = list(csv.DictReader(text.splitlines(), dialect=dialect))
    if not rows or not {"id", "correct_answer"} <= set(rows[0]):
        raise mcq.DataError(f"{path}: expected columns id,correct_answer")
    return {r["id"].strip(): r["correct_answer"].strip().upper() for r in rows}


def tokenizer_corpus(train: Sequence[mcq.Question]) -> list[str]:
    """Texts the tokenizer learns its merges from: prompts, reference answers, lexicon terms.

    The prompts are mcq's chat messages (every shipped prompt variant's wording included), so
    the tokenizer follows prompt changes. Each text also appears converted to Simplified
    Chinese (OpenCC), so users typing either script get sensible tokens.
    """
    import opencc

    texts: list[str] = []
    for prompt in mcq.list_prompts():
        texts += [prompt.system or "", prompt.answer_format]
        if prompt.example is not None:
            texts += [mcq.format_question(prompt.example.question, prompt), prompt.example.answer]
    texts += [m["content"] for q in train for m in mcq.build_messages(q)]
    texts += [styled_answer(q, style) for q in train if q.correct_answer for style, _ in STYLE_MIX]
    texts += lexicon_terms()
    texts = [t for t in texts if t]
    to_simplified = opencc.OpenCC("t2s")
    return texts + [to_simplified.convert(t) for t in texts]


def lexicon_terms() -> list[str]:
    """Every term of the shipped neutrality lexicons (comments and blank lines left out)."""
    terms = []
    for lexicon in sorted(LEXICON_DIR.glob("*.txt")):
        lines = lexicon.read_text(encoding="utf-8").splitlines()
        terms += [ln.split("#", 1)[0].strip() for ln in lines if ln.split("#", 1)[0].strip()]
    return terms


def exam_characters(extra_texts: Iterable[str] = ()) -> list[str]:
    """Every character the demo tokenizer keeps as one token, sorted by code point.

    jieba's own dictionary (``jieba/dict.txt``: about 350,000 Simplified words, 12,010
    distinct CJK characters), each word and character also converted to Traditional with
    OpenCC (``s2t``, and ``s2tw`` for Taiwan's variants), plus every character of
    ``extra_texts`` (the sample data and the prompt texts). Those cover practically every
    character of a real Traditional or Simplified exam.
    """
    import unicodedata
    from importlib.resources import files

    import opencc

    words = [
        line.split(" ", 1)[0]
        for line in (files("jieba") / "dict.txt").read_text(encoding="utf-8").splitlines()
    ]
    chars = {c for w in words for c in w}
    converters = [opencc.OpenCC(name) for name in ("s2t", "s2tw")]
    for convert in converters:
        chars |= {c for ch in sorted(chars) for c in convert.convert(ch)}
        chars |= {c for w in words for c in convert.convert(w)}
    for text in extra_texts:
        chars |= set(unicodedata.normalize("NFC", text))
    # Multi-byte characters only: ASCII is a single byte (a base token) anyway; no controls.
    return sorted(c for c in chars if ord(c) > 0x7F and unicodedata.category(c)[0] not in "CZ")


def sample_texts(settings: DemoSettings) -> list[str]:
    """The raw text of the sample data, the prompt variants and the lexicons (for characters)."""
    paths = [settings.train, settings.test, *sorted(mcq.PROMPT_DIR.glob("*.yaml"))]
    paths += sorted(LEXICON_DIR.glob("*.txt"))
    return [Path(p).read_text(encoding="utf-8-sig") for p in paths]


# --------------------------------------------------------------------------- tokenizer


def train_tokenizer(texts: Iterable[str], characters: Sequence[str] = (), merges: int = 3000):
    """A byte-level BPE tokenizer that knows every one of ``characters`` as one token.

    Byte-level means every string in any script still encodes (an unknown character falls
    back to its UTF-8 bytes). The merges come in two ranks:

    1. character merges, built, not learned: for each of ``characters``, its bytes joined
       left to right (``b1 b2 -> b1b2``, ``b1b2 b3 -> b1b2b3``). They rank before every other
       merge and only ever join bytes of one character (UTF-8 lead bytes never follow a
       character's last byte), so each such character always ends up one token;
    2. ``merges`` merges learned by BPE on ``texts`` over whole characters (the same split
       and normalizer, without the byte mapping), then written in the byte alphabet.

    The result has the ChatML special tokens, ``<|im_end|>`` as eos, ``<|endoftext|>`` as
    pad, Qwen2's normalizer and pre-tokenizer, and :data:`CHAT_TEMPLATE`.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    split = pre_tokenizers.Split(Regex(QWEN2_SPLIT_REGEX), behavior="isolated", invert=False)
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)

    def in_bytes(text: str) -> str:
        return "".join(piece for piece, _ in byte_level.pre_tokenize_str(text))

    # 2. merges over whole characters, learned from the sample corpus.
    learner = Tokenizer(models.BPE())
    learner.normalizer = normalizers.NFC()
    learner.pre_tokenizer = split
    learner.train_from_iterator(
        list(texts), trainers.BpeTrainer(vocab_size=1_000_000, min_frequency=2, show_progress=False)
    )
    learned = json.loads(learner.to_str())["model"]["merges"][:merges]

    # 1. character merges, shortest prefixes first.
    spelled = [in_bytes(c) for c in sorted(set(characters))]
    char_merges = [
        (s[: i - 1], s[i - 1]) for i in range(2, 5) for s in spelled if len(s) >= i
    ]
    vocab: dict[str, int] = {}
    for token in [*SPECIAL_TOKENS, *sorted(pre_tokenizers.ByteLevel.alphabet())]:
        vocab.setdefault(token, len(vocab))
    all_merges: list[tuple[str, str]] = []
    for left, right in [*char_merges, *((in_bytes(a), in_bytes(b)) for a, b in learned)]:
        if left + right not in vocab:
            vocab[left + right] = len(vocab)
            all_merges.append((left, right))

    tok = Tokenizer(models.BPE(vocab=vocab, merges=all_merges))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([split, byte_level])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(list(SPECIAL_TOKENS))
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=IM_END,
        pad_token=PAD_TOKEN,
        additional_special_tokens=[IM_START],
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
STYLE_MIX: tuple[tuple[str, int], ...] = (("answer_first", 1), ("answer_last", 1), ("option_text", 2))

_CLOSING_LETTER = re.compile(r"正確答案(?:為|是)\s*([A-D])")
# The letter-naming clause of a closing sentence ("因此正確答案為A。", "因此正確答案為B，各方…").
_CLOSING_SENTENCE = re.compile(r"因此正確答案(?:為|是)\s*[A-D]\s*(?:[。.]\s*$|[，,；;]\s*而?)")


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
        return _CLOSING_LETTER.sub(lambda m: f"較合適的說法是「{q.options[m.group(1)]}」", reasoning)
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
        prompt = tokenizer.apply_chat_template(ex.messages, tokenize=False, add_generation_prompt=True)
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

    A plain loop (no Trainer) is enough for a 4M-parameter model and fast on two cores. The lr
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


# --------------------------------------------------------------------------- GRPO


def grpo_argv(settings: DemoSettings, base_dir: Path, run_dir: Path) -> list[str]:
    """Arguments for ``python -m training grpo`` that train the demo adapter on ``base_dir``."""
    argv = [
        "--config", str(settings.config),
        "--model_name_or_path", str(base_dir),
        "--dataset_path", str(settings.train),
        "--output_dir", str(run_dir),
        "--seed", str(settings.seed),
        "--data_seed", str(settings.seed),
    ]  # fmt: skip
    if settings.grpo_steps is not None:
        argv += ["--max_steps", str(settings.grpo_steps)]
    return argv + list(settings.grpo_overrides)


def recipe_value(config: Path, key: str, default: Any = None) -> Any:
    """One setting of a YAML recipe (``default`` when the recipe does not set it)."""
    import yaml

    data = yaml.safe_load(Path(config).read_text(encoding="utf-8")) or {}
    return data.get(key, default)


def run_grpo(settings: DemoSettings, base_dir: Path, run_dir: Path) -> Path:
    """Train the LoRA adapter with ``python -m training grpo``'s code; return the run folder."""
    from training import grpo

    argv = grpo_argv(settings, base_dir, run_dir)
    print("[demo] python -m training grpo " + " ".join(argv), file=sys.stderr, flush=True)
    grpo.cli(argv)
    return run_dir


def save_adapter(run_dir: Path, out_dir: Path, base_ref: str, tokenizer_dir: Path) -> None:
    """Copy the adapter files of a GRPO run folder to ``out_dir`` (atomically).

    ``base_model_name_or_path`` is set to ``base_ref`` (repo-relative, as zhongli runs from the
    repository root) so the adapter names the committed base rather than a scratch folder.
    """
    tmp = _scratch_dir(out_dir)
    try:
        for name in ("adapter_config.json", "adapter_model.safetensors"):
            shutil.copy2(run_dir / name, tmp / name)
        for name in TOKENIZER_FILES:  # the base's tokenizer, so the folder is self-contained
            if (Path(tokenizer_dir) / name).is_file():
                shutil.copy2(Path(tokenizer_dir) / name, tmp / name)
        config_path = tmp / "adapter_config.json"
        config = json.loads(config_path.read_text(encoding="utf-8"))
        config["base_model_name_or_path"] = base_ref
        config["target_modules"] = sorted(config["target_modules"])  # PEFT keeps a set: fix the order
        config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        _swap_dir(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def merge_adapter(base_dir: Path, adapter_dir: Path, out_dir: Path, *, dtype: str = "bfloat16") -> None:
    """Merge the adapter into its base with ``python -m training merge``'s code, then store as ``dtype``.

    The merge runs in float32 (LoRA deltas are small next to the weights; merging in bfloat16
    would round part of them away), and only the result is cast for storage.
    """
    import torch
    from transformers import AutoModelForCausalLM

    from training import merge

    scratch = Path(tempfile.mkdtemp(prefix=".merge-", dir=Path(out_dir).parent))
    try:
        merge.merge_adapter(adapter_dir, scratch / "fp32", str(base_dir), dtype="float32")
        model = AutoModelForCausalLM.from_pretrained(scratch / "fp32", dtype=torch.float32)
        save_model_dir(model, Path(base_dir), out_dir, dtype=dtype)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# --------------------------------------------------------------------------- evaluation


@dataclass
class ModelScore:
    """Mean ``default`` reward and answer statistics of one model on the held-out questions."""

    model: str
    completions: int
    mean_total: float
    extractable: float  # share of completions with an extractable letter
    accuracy: float  # share of completions whose letter is the gold one
    components: dict[str, float | None]
    mean_new_tokens: float
    seconds: float
    examples: list[str] = field(default_factory=list)
    totals: list[float] = field(default_factory=list)  # per completion, in question order


def evaluate_models(
    models: Mapping[str, str | Path],
    questions: Sequence[mcq.Question],
    *,
    preset: str = "default",
    samples: int = 4,
    temperature: float = 0.7,
    max_new_tokens: int = 96,
    seed: int = 0,
    batch_size: int = 64,
    progress: bool = True,
) -> dict[str, ModelScore]:
    """Sample ``samples`` answers per question from each model and score them with the gold.

    ``temperature`` 0 means greedy decoding (one answer per question, ``samples`` ignored),
    as ``python -m evals demo-report`` and a user of the app see. Every model gets the same
    prompts, sampling settings and seeds (the torch generator is reset to ``seed + batch
    index`` before each batch), so the numbers compare like for like. Scores are
    ``rewards.score(completion, Sample.from_question(q), preset)``.
    """
    import torch
    from tqdm import tqdm
    from transformers import AutoModelForCausalLM, AutoTokenizer

    import rewards

    greedy = temperature <= 0
    samples = 1 if greedy else samples
    jobs = [q for q in questions for _ in range(samples)]
    sampling = {} if greedy else {"temperature": temperature, "top_p": 1.0, "top_k": 0}
    results: dict[str, ModelScore] = {}
    for name, path in models.items():
        started = time.perf_counter()
        tokenizer = AutoTokenizer.from_pretrained(path, padding_side="left")
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
        texts: list[str] = []
        new_tokens: list[int] = []
        starts = range(0, len(jobs), batch_size)
        for index, start in enumerate(tqdm(starts, desc=f"evaluate {name}", disable=not progress)):
            batch = jobs[start : start + batch_size]
            prompts = [mcq.render_prompt(q, tokenizer) for q in batch]
            enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
            torch.manual_seed(seed + index)
            with torch.no_grad():
                out = model.generate(
                    **enc,
                    do_sample=not greedy,
                    **sampling,
                    max_new_tokens=max_new_tokens,
                    pad_token_id=tokenizer.pad_token_id,
                )
            for row in out[:, enc["input_ids"].shape[1] :]:
                ids = [int(t) for t in row if int(t) != tokenizer.pad_token_id]
                new_tokens.append(len(ids))
                texts.append(tokenizer.decode(ids, skip_special_tokens=True))
        breakdowns = [
            rewards.score(text, rewards.Sample.from_question(q), preset=preset)
            for text, q in zip(texts, jobs, strict=True)
        ]
        names = sorted({c for b in breakdowns for c in b.components})
        components: dict[str, float | None] = {}
        for comp in names:
            values = [b.components.get(comp) for b in breakdowns]
            values = [v for v in values if v is not None]
            components[comp] = sum(values) / len(values) if values else None
        results[name] = ModelScore(
            model=str(path),
            completions=len(texts),
            mean_total=sum(b.total for b in breakdowns) / len(breakdowns),
            extractable=sum(b.answer is not None for b in breakdowns) / len(breakdowns),
            accuracy=sum(b.answer == q.correct_answer for b, q in zip(breakdowns, jobs, strict=True))
            / len(breakdowns),
            components=components,
            mean_new_tokens=sum(new_tokens) / len(new_tokens),
            seconds=time.perf_counter() - started,
            examples=texts[::samples][:3],  # the first sample of the first three questions
            totals=[round(b.total, 6) for b in breakdowns],
        )
    return results


# --------------------------------------------------------------------------- saving


def save_model_dir(model, tokenizer, out_dir: Path, *, dtype: str = "bfloat16") -> None:
    """Save ``model`` (cast to ``dtype``, safetensors) and its tokenizer to ``out_dir`` atomically.

    ``tokenizer`` is a tokenizer object, or a model folder whose tokenizer files are copied
    byte for byte. Everything is written to a scratch sibling folder first and then swapped
    in, so a reader never sees a half-written model and a failed save leaves the previous one
    untouched.
    """
    import torch

    tmp = _scratch_dir(out_dir)
    try:
        model.to(getattr(torch, dtype)).save_pretrained(tmp, safe_serialization=True)
        if isinstance(tokenizer, str | os.PathLike):
            for name in TOKENIZER_FILES:
                if (Path(tokenizer) / name).is_file():
                    shutil.copy2(Path(tokenizer) / name, tmp / name)
        else:
            tokenizer.save_pretrained(tmp)
            _name_tokenizer_class(tmp / "tokenizer_config.json")
        _swap_dir(tmp, out_dir)
    finally:
        model.to(torch.float32)
        shutil.rmtree(tmp, ignore_errors=True)


def _name_tokenizer_class(config_path: Path) -> None:
    """Record ``Qwen2Tokenizer`` as the class: transformers 4 and 5 (and so vLLM) load it alike.

    transformers 5 loads a qwen2 model's tokenizer as Qwen2Tokenizer whatever the file says;
    naming it lets transformers 4 find the same class instead of failing on ``TokenizersBackend``.
    """
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "Qwen2Tokenizer"
    config_path.write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _scratch_dir(out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))


def _swap_dir(new: Path, target: Path) -> None:
    """Replace folder ``target`` by ``new`` (readable by all; the old one is removed last)."""
    for path in [new, *new.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def dir_size_bytes(path: Path) -> int:
    """Total size of the regular files under ``path``, hidden scratch folders excluded."""
    return sum(
        p.stat().st_size
        for p in Path(path).rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


# --------------------------------------------------------------------------- build


def build(settings: DemoSettings, argv: Sequence[str] = ()) -> dict[str, Any]:
    """Rebuild demo-base, demo-grpo-adapter and demo-grpo in ``settings.out``; return a report.

    Everything is built in a hidden staging folder inside ``settings.out`` and only moved over
    the existing models once all three exist (and are evaluated), so a failed or interrupted
    build leaves the previous models untouched.
    """
    import torch

    torch.set_num_threads(settings.threads)
    started = time.perf_counter()
    timings: dict[str, float] = {}
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    random.seed(settings.seed)
    torch.manual_seed(settings.seed)

    train, test = load_sample_data(settings)
    _say(f"data: {len(train)} training questions, {len(test)} held-out test questions")
    _remove_stale_stages(out)
    stage = out / f".build-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    try:
        t0 = time.perf_counter()
        corpus = tokenizer_corpus(train)
        characters = exam_characters([*sample_texts(settings), *corpus])
        tokenizer = train_tokenizer(corpus, characters, merges=settings.tokenizer_merges)
        timings["tokenizer"] = time.perf_counter() - t0
        _say(
            f"tokenizer: {len(tokenizer)} tokens, {len(characters)} characters as single tokens "
            f"({timings['tokenizer']:.1f} s)"
        )

        t0 = time.perf_counter()
        model = new_model(tokenizer, settings.seed)
        losses = supervised_warmup(
            model,
            tokenizer,
            supervised_examples(train),
            steps=settings.sft_steps,
            batch_size=settings.sft_batch_size,
            lr=settings.sft_lr,
            seed=settings.seed,
        )
        save_model_dir(model, tokenizer, stage / BASE_DIR)
        del model
        timings["supervised"] = time.perf_counter() - t0
        _say(f"{BASE_DIR}: {settings.sft_steps} supervised steps, loss {losses[0]:.2f} -> {losses[-1]:.2f}")

        t0 = time.perf_counter()
        run_dir = run_grpo(settings, stage / BASE_DIR, stage / "grpo-run")
        state = json.loads((run_dir / "trainer_state.json").read_text(encoding="utf-8"))
        save_adapter(
            run_dir, stage / ADAPTER_DIR, _repo_relative(out / BASE_DIR), tokenizer_dir=stage / BASE_DIR
        )
        timings["grpo"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        merge_adapter(stage / BASE_DIR, stage / ADAPTER_DIR, stage / MERGED_DIR)
        timings["merge"] = time.perf_counter() - t0
        _say(f"{ADAPTER_DIR}, {MERGED_DIR}: {state.get('global_step')} GRPO steps")

        scores: dict[str, ModelScore] = {}
        greedy: dict[str, ModelScore] = {}
        if not settings.skip_eval:
            t0 = time.perf_counter()
            if settings.eval_max_new_tokens is None:
                settings.eval_max_new_tokens = int(recipe_value(settings.config, "max_completion_length", 256))
            models = {BASE_DIR: stage / BASE_DIR, MERGED_DIR: stage / MERGED_DIR}
            greedy = evaluate_models(
                models, test, temperature=0.0, max_new_tokens=settings.greedy_max_new_tokens
            )
            scores = evaluate_models(
                models,
                test,
                samples=settings.eval_samples,
                temperature=settings.eval_temperature,
                max_new_tokens=settings.eval_max_new_tokens,
                seed=settings.seed,
            )
            timings["evaluation"] = time.perf_counter() - t0
            for label, results in (("greedy", greedy), ("sampled", scores)):
                for name, s in results.items():
                    _say(
                        f"{label} {name}: mean total {s.mean_total:.3f}, extractable "
                        f"{s.extractable:.1%}, accuracy {s.accuracy:.1%}"
                    )
        for name in (BASE_DIR, ADAPTER_DIR, MERGED_DIR):
            _swap_dir(stage / name, out / name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    timings["total"] = time.perf_counter() - started
    report = {
        "command": " ".join(["python -m training demo", *argv]),
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(settings).items()},
        "vocab_size": len(tokenizer),
        "sft_loss": [losses[0], losses[-1]],
        "grpo_steps": state.get("global_step"),
        "grpo_log": [e for e in state.get("log_history", []) if "reward" in e],
        "timings": timings,
        "scores": {k: asdict(v) for k, v in scores.items()},
        "greedy_scores": {k: asdict(v) for k, v in greedy.items()},
        "greedy_gain": greedy_gain(greedy, settings.seed) if greedy else None,
        "sizes": {d: dir_size_bytes(out / d) for d in (BASE_DIR, ADAPTER_DIR, MERGED_DIR)},
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch threads {settings.threads}",
    }
    report["total_size"] = sum(report["sizes"].values())
    if not settings.skip_eval:
        write_text_atomic(out / "README.md", render_readme(report, out))
    write_text_atomic(out / "build-report.json", json.dumps(report, ensure_ascii=False, indent=2))
    _say(f"done in {timings['total'] / 60:.1f} min; {out} holds {report['total_size'] / 2**20:.1f} MiB")
    return report


def greedy_gain(greedy: Mapping[str, ModelScore], seed: int = 0) -> dict[str, Any]:
    """demo-grpo minus demo-base in greedy ``default`` total: the mean paired difference over
    the questions and its percentile bootstrap 95% interval (``evals.stats``, as in reports)."""
    from evals.stats import paired_bootstrap_ci

    base, tuned = greedy[BASE_DIR].totals, greedy[MERGED_DIR].totals
    diff, low, high = paired_bootstrap_ci(base, tuned, resamples=BOOTSTRAP_RESAMPLES, seed=seed)
    wins = sum(t > b for b, t in zip(base, tuned, strict=True))
    losses = sum(t < b for b, t in zip(base, tuned, strict=True))
    _say(f"greedy gain {diff:+.3f} (95% CI {low:+.3f} to {high:+.3f}); grpo higher on {wins}, base on {losses}")
    return {
        "difference": round(diff, 6),
        "ci_low": round(low, 6),
        "ci_high": round(high, 6),
        "questions": len(base),
        "tuned_higher": wins,
        "base_higher": losses,
        "resamples": BOOTSTRAP_RESAMPLES,
        "seed": seed,
    }


def _remove_stale_stages(out: Path) -> None:
    """Delete staging folders left by builds that were killed (their process is gone)."""
    for stage in out.glob(".build-*"):
        pid = stage.name.removeprefix(".build-")
        if pid.isdigit() and not _process_alive(int(pid)):
            shutil.rmtree(stage, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def render_readme(report: Mapping[str, Any], out: Path) -> str:
    """The assets/models/README.md text: what the models are, how they were built, how they score."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(out / BASE_DIR)
    params = _count_params(out / BASE_DIR)
    s = report["settings"]
    scores = report["scores"]
    t = report["timings"]
    lines = [
        "# Embedded demo models",
        "",
        "Tiny models that let the app, the tests and the inference paths run instantly on a CPU",
        "without downloading anything. They are toys: they learned the answer *format* and some",
        "vocabulary from 132 sample questions, not facts. Rebuild them from the repository alone:",
        "",
        "```",
        report["command"].strip(),
        "```",
        "",
        "| folder | what |",
        "|---|---|",
        f"| `{BASE_DIR}/` | byte-level BPE tokenizer + tiny Qwen2 after a short supervised pass |",
        f"| `{ADAPTER_DIR}/` | PEFT LoRA adapter from GRPO on top of `{BASE_DIR}` (`default` rewards) |",
        f"| `{MERGED_DIR}/` | the adapter merged into `{BASE_DIR}` (for vLLM without LoRA) |",
        "",
        "## Model",
        "",
        f"- `Qwen2ForCausalLM`: hidden {config.hidden_size}, {config.num_hidden_layers} layers, "
        f"{config.num_attention_heads} attention heads / {config.num_key_value_heads} KV heads "
        f"(head_dim {config.hidden_size // config.num_attention_heads}, which vLLM's CPU attention "
        f"needs), MLP {config.intermediate_size}, tied embeddings, "
        f"{params / 1e6:.2f}M parameters, stored in {str(config.dtype).removeprefix('torch.')}.",
        f"- Tokenizer: byte-level BPE, {report['vocab_size']} tokens, trained on the sample training "
        "data, the prompt text and the lexicons (each also in Simplified Chinese); Qwen2's "
        "pre-tokenizer; ChatML template (`<|im_start|>` / `<|im_end|>`, eos `<|im_end|>`, "
        "pad `<|endoftext|>`).",
        f"- Supervised warm-up: {s['sft_steps']} AdamW steps, batch {s['sft_batch_size']}, lr "
        f"{s['sft_lr']} (cosine), on `mcq.build_messages` prompts; loss "
        f"{report['sft_loss'][0]:.2f} → {report['sft_loss'][1]:.2f}. The targets mix three answer "
        "styles of the same reference reasoning ("
        + ", ".join(f"{name} ×{copies}" for name, copies in STYLE_MIX)
        + "): `答案：X\\n理由：...` as the prompt asks; the reasoning alone, ending in "
        "`因此正確答案為X`; and the reasoning ending in the option's wording instead of its "
        "letter. So `demo-base` behaves like an instruct model that follows the requested "
        "format only about half the time, and GRPO has a real job: teach the format the "
        "rewards ask for.",
        f"- GRPO: `python -m training grpo --config {_repo_relative(Path(s['config']))}` code path "
        "(TRL GRPOTrainer, LoRA on q/k/v/o), `default` rewards preset"
        + f", {report['grpo_steps']} steps; LoRA and trainer settings are in the recipe.",
        "",
        "Why not simply stop the warm-up early so the format is shaky? Tried: after 40 "
        "supervised steps the model babbles, and GRPO on top of it learned to repeat `答案：` "
        "markers until some letter could be extracted: a better score and a worse model.",
        "",
        "## Using them",
        "",
        "```python",
        "from transformers import AutoModelForCausalLM, AutoTokenizer",
        f'model = AutoModelForCausalLM.from_pretrained("assets/models/{MERGED_DIR}")',
        f'tokenizer = AutoTokenizer.from_pretrained("assets/models/{MERGED_DIR}")',
        "",
        "# vLLM's CPU build (inside `if __name__ == \"__main__\":`); base + LoRA works too:",
        "from vllm import LLM",
        "from vllm.lora.request import LoRARequest",
        f'llm = LLM("assets/models/{BASE_DIR}", max_model_len=1024, kv_cache_memory_bytes=512 << 20,',
        "          enable_lora=True, max_lora_rank=16)",
        f'lora = LoRARequest("grpo", 1, "assets/models/{ADAPTER_DIR}")',
        "```",
        "",
        "On a CPU, vLLM sizes its KV cache as `gpu_memory_utilization` x the NUMA node's memory",
        "minus the RSS of the process; with 0.05 that came out negative on the build machine,",
        "so give `kv_cache_memory_bytes` (as `inference.backends` does) or a larger share.",
        "",
        "## Sizes",
        "",
    ]
    for name, size in report["sizes"].items():
        lines.append(f"- `{name}/`: {size / 2**20:.2f} MiB")
    lines.append(f"- total: {report['total_size'] / 2**20:.2f} MiB (limit 30 MB)")
    lines += [
        "",
        "## Held-out evaluation",
        "",
        "Setting: the 44 `assets/data/sample_test.tsv` questions (gold in "
        f"`sample_test_gold.csv`, never trained on), {s['eval_samples']} samples each, temperature "
        f"{s['eval_temperature']}, top-p 1, max {s['eval_max_new_tokens']} new tokens, transformers "
        f"`generate` with seed {s['seed']} (+ batch index) for both models; scores from "
        "`rewards.score(completion, Sample.from_question(q), preset=\"default\")`.",
        "",
    ]
    comps = sorted({c for v in scores.values() for c in v["components"]})
    lines.append("| model | mean total | extractable letter | accuracy | " + " | ".join(comps) + " | new tokens |")
    lines.append("|---" * (5 + len(comps)) + "|")
    for name, v in scores.items():
        cells = [f"{v['components'][c]:.3f}" if v["components"].get(c) is not None else "–" for c in comps]
        lines.append(
            f"| `{name}` | {v['mean_total']:.3f} | {v['extractable']:.1%} | {v['accuracy']:.1%} | "
            + " | ".join(cells)
            + f" | {v['mean_new_tokens']:.1f} |"
        )
    if BASE_DIR in scores and MERGED_DIR in scores:
        gain = scores[MERGED_DIR]["mean_total"] - scores[BASE_DIR]["mean_total"]
        lines += ["", f"GRPO gain in mean `default` total: {gain:+.3f}."]
    lines += [
        "",
        "Accuracy stays near chance (25%): a 4M-parameter model cannot learn civics from 132",
        "questions. What GRPO improves is what the rewards check beyond correctness.",
        "",
        "## Build time",
        "",
        f"Measured on {report['machine']} (shared with other jobs): "
        + ", ".join(f"{k} {v:.0f} s" for k, v in t.items() if k != "total")
        + f"; total {t['total'] / 60:.1f} min.",
        "",
        "## Example completions",
        "",
        "The first sampled answer of each model to the first three test questions:",
        "",
    ]
    for name, v in scores.items():
        lines.append(f"`{name}`:")
        lines.append("")
        for ex in v["examples"]:
            lines += ["```", ex.strip(), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def _count_params(path: Path) -> int:
    from safetensors import safe_open

    total = 0
    with safe_open(str(Path(path) / "model.safetensors"), framework="pt") as fh:
        for key in fh.keys():  # noqa: SIM118 - safe_open has no __iter__
            total += math.prod(fh.get_slice(key).get_shape())
    return total


def _repo_relative(path: Path) -> str:
    path = Path(path).resolve()
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _say(message: str) -> None:
    print(f"[demo] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- CLI


def make_parser() -> argparse.ArgumentParser:
    """The ``python -m training demo`` argument parser."""
    d = DemoSettings()
    p = argparse.ArgumentParser(
        prog="python -m training demo",
        description="Rebuild the embedded demo models (tokenizer, tiny Qwen2, GRPO LoRA adapter, "
        "merged model) from the repository's sample data, on a CPU.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", type=Path, default=d.out, help="output folder (default: assets/models)")
    p.add_argument("--train", type=Path, default=d.train, help="training TSV")
    p.add_argument("--test", type=Path, default=d.test, help="held-out test questions")
    p.add_argument("--gold", type=Path, default=d.gold, help="gold answers of --test (id,correct_answer)")
    p.add_argument("--config", type=Path, default=d.config, help="GRPO recipe (default: demo-cpu.yaml)")
    p.add_argument("--seed", type=int, default=d.seed, help="seed for every random choice")
    p.add_argument(
        "--merges",
        type=int,
        default=d.tokenizer_merges,
        help="BPE merges learned from the sample corpus, on top of the exam characters",
    )
    p.add_argument("--sft-steps", type=int, default=d.sft_steps, help="supervised warm-up steps")
    p.add_argument("--sft-lr", type=float, default=d.sft_lr, help="supervised learning rate")
    p.add_argument("--grpo-steps", type=int, default=None, help="GRPO steps (default: the recipe's max_steps)")
    p.add_argument("--eval-samples", type=int, default=d.eval_samples, help="samples per test question")
    p.add_argument("--eval-temperature", type=float, default=d.eval_temperature, help="sampling temperature")
    p.add_argument(
        "--eval-max-new-tokens",
        type=int,
        default=None,
        help="answer length cap in the evaluation (default: the recipe's max_completion_length)",
    )
    p.add_argument("--skip-eval", action="store_true", help="do not evaluate or rewrite README.md")
    p.add_argument("--threads", type=int, default=d.threads, help="torch CPU threads")
    p.add_argument(
        "--grpo-arg",
        action="append",
        default=[],
        metavar="--KEY=VALUE",
        help="extra override passed to `training grpo` (repeatable), e.g. --grpo-arg=--beta=0.02",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m training demo``; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = make_parser().parse_args(argv)
    # Sleeping (not spinning) OpenMP workers: on a CPU shared with other jobs, spinning threads
    # made GRPO steps 30x slower. Only effective before torch is first imported.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    settings = DemoSettings(
        out=args.out,
        train=args.train,
        test=args.test,
        gold=args.gold,
        config=args.config,
        seed=args.seed,
        tokenizer_merges=args.merges,
        sft_steps=args.sft_steps,
        sft_lr=args.sft_lr,
        grpo_steps=args.grpo_steps,
        eval_samples=args.eval_samples,
        eval_temperature=args.eval_temperature,
        eval_max_new_tokens=args.eval_max_new_tokens,
        skip_eval=args.skip_eval,
        threads=args.threads,
        grpo_overrides=[x for a in args.grpo_arg for x in a.split("=", 1)],
    )
    for path in (settings.train, settings.test, settings.gold, settings.config):
        if not Path(path).is_file():
            print(f"error: {path}: file not found", file=sys.stderr)
            return 2
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)  # clean up staging on `kill`
    try:
        build(settings, argv)
    except (mcq.DataError, UsageError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; the previous models were left in place", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    raise SystemExit(main())
