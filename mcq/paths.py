"""Where the shipped files live: one home for every path into ``assets/``.

In a checkout (``pip install -e .`` or run from the repository root) that is the checkout's
``assets/`` folder, demo models included. An installed copy (``pip install .``) carries the
light assets (lexicons, presets, prompts, rubrics, configs, sample data) as ``mcq/_assets``;
the demo models stay in the checkout (:data:`MODELS` does not exist there).

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
    "INSTALLED_ASSETS",
    "LEXICON_DIR",
    "MODELS",
    "PRESET_DIR",
    "PROMPT_DIR",
    "REPO_ROOT",
    "RUBRIC_DIR",
    "SAMPLE_GOLD",
    "SAMPLE_TEST",
    "SAMPLE_TRAIN",
]

#: The checkout's root folder (the one holding ``mcq/`` and ``assets/``); in an installed
#: copy, the folder that holds the ``mcq`` package.
REPO_ROOT = Path(__file__).resolve().parents[1]
#: The shipped files installed with the package (``pyproject.toml`` maps ``assets/`` here).
INSTALLED_ASSETS = Path(__file__).resolve().parent / "_assets"


def _assets() -> Path:
    # The pyproject test tells a checkout from a site-packages that happens to hold "assets/".
    checkout = REPO_ROOT / "assets"
    if (REPO_ROOT / "pyproject.toml").is_file() and (checkout / "lexicon").is_dir():
        return checkout
    return INSTALLED_ASSETS


#: The folder of shipped files in use: the checkout's ``assets/``, else the installed copy.
ASSETS = _assets()
CONFIGS = ASSETS / "configs"
DATA = ASSETS / "data"
MODELS = ASSETS / "models"
LEXICON_DIR = ASSETS / "lexicon"
PRESET_DIR = ASSETS / "rewards"
PROMPT_DIR = ASSETS / "prompts"
RUBRIC_DIR = ASSETS / "rubrics"
DEMO_BASE = MODELS / "demo-base"
DEMO_ADAPTER = MODELS / "demo-grpo-adapter"
SAMPLE_TRAIN = DATA / "sample_train.tsv"
SAMPLE_TEST = DATA / "sample_test.tsv"
SAMPLE_GOLD = DATA / "sample_test_gold.csv"
