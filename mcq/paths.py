"""Where the repository's shipped files live: one home for every path into ``assets/``.

Example:
    >>> (ASSETS / "data" / "sample_train.tsv").is_file()
    True
    >>> SAMPLE_TEST.name
    'sample_test.tsv'
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ASSETS",
    "CONFIGS",
    "DATA",
    "DEMO_ADAPTER",
    "DEMO_BASE",
    "LEXICON_DIR",
    "MODELS",
    "PRESET_DIR",
    "PROMPT_DIR",
    "REPO_ROOT",
    "SAMPLE_GOLD",
    "SAMPLE_TEST",
    "SAMPLE_TRAIN",
]

#: The checkout's root folder (the one holding ``mcq/`` and ``assets/``).
REPO_ROOT = Path(__file__).resolve().parents[1]
ASSETS = REPO_ROOT / "assets"
CONFIGS = ASSETS / "configs"
DATA = ASSETS / "data"
MODELS = ASSETS / "models"
LEXICON_DIR = ASSETS / "lexicon"
PRESET_DIR = ASSETS / "rewards"
PROMPT_DIR = ASSETS / "prompts"
DEMO_BASE = MODELS / "demo-base"
DEMO_ADAPTER = MODELS / "demo-grpo-adapter"
SAMPLE_TRAIN = DATA / "sample_train.tsv"
SAMPLE_TEST = DATA / "sample_test.tsv"
SAMPLE_GOLD = DATA / "sample_test_gold.csv"
