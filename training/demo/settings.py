"""What the demo builder builds and from which files: paths, names, the model shape, settings."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mcq
from mcq import paths

REPO_ROOT = paths.REPO_ROOT
DATA_DIR = paths.DATA
DEFAULT_OUT = paths.MODELS
DEFAULT_CONFIG = paths.CONFIGS / "demo-cpu.yaml"
LEXICON_DIR = paths.LEXICON_DIR

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja")

BASE_DIR = "demo-base"
ADAPTER_DIR = "demo-grpo-adapter"
MERGED_DIR = "demo-grpo"
#: assets/models must stay below this many bytes, 40 MB (they are committed to git).
SIZE_LIMIT_BYTES = 40 * 1000 * 1000

PAD_TOKEN = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS = (PAD_TOKEN, IM_START, IM_END)

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
    sft_steps: int = 250
    sft_batch_size: int = 8
    sft_lr: float = 3e-3
    grpo_steps: int | None = None  # None: max_steps from the recipe
    eval_samples: int = 4
    eval_temperature: float = 0.7
    eval_max_new_tokens: int | None = None  # None: the recipe's max_completion_length
    greedy_max_new_tokens: int = GREEDY_MAX_NEW_TOKENS
    skip_eval: bool = False
    threads: int = 2
    grpo_overrides: list[str] = field(default_factory=list)


def load_sample_data(settings: DemoSettings) -> tuple[list[mcq.Question], list[mcq.Question]]:
    """Load the training questions and the held-out test questions with their gold letters."""
    import dataclasses

    train = mcq.load_train(settings.train)
    test = mcq.load_test(settings.test)
    gold = mcq.load_gold(settings.gold)
    missing = [q.id for q in test if q.id not in gold]
    if missing:
        raise mcq.DataError(
            f"{settings.gold}: no gold answer for {len(missing)} test ids ({missing[0]}, ...)"
        )
    test = [dataclasses.replace(q, correct_answer=gold[q.id]) for q in test]
    return train, test


def repo_relative(path: Path) -> str:
    path = Path(path).resolve()
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def say(message: str) -> None:
    print(f"[demo] {message}", file=sys.stderr, flush=True)
