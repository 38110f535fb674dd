"""Shared test fixtures: where the repository, its sample data and its demo models are.

Session-scoped and free: they only build paths (and fail with the command to run when the
demo models are missing). Any test module may use them:

``repo_root``, ``sample_train``, ``sample_test``, ``sample_gold``,
``demo_base``, ``demo_adapter``, ``demo_grpo`` (all :class:`pathlib.Path`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mcq.paths import DATA as DATA_DIR
from mcq.paths import MODELS as MODELS_DIR
from mcq.paths import REPO_ROOT


def _existing(path: Path, hint: str) -> Path:
    if not path.exists():
        pytest.fail(f"{path.relative_to(REPO_ROOT)} is missing: {hint}", pytrace=False)
    return path


def _demo_model(name: str) -> Path:
    return _existing(MODELS_DIR / name, "rebuild the demo models with `python -m training demo`")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (the folder `python -m <package>` runs from)."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def sample_train() -> Path:
    """assets/data/sample_train.tsv: labelled questions with reasoning."""
    return _existing(DATA_DIR / "sample_train.tsv", "it ships with the repository")


@pytest.fixture(scope="session")
def sample_test() -> Path:
    """assets/data/sample_test.tsv: test questions (id, question, option_A..option_D)."""
    return _existing(DATA_DIR / "sample_test.tsv", "it ships with the repository")


@pytest.fixture(scope="session")
def sample_gold() -> Path:
    """assets/data/sample_test_gold.csv: id,correct_answer for sample_test.tsv."""
    return _existing(DATA_DIR / "sample_test_gold.csv", "it ships with the repository")


@pytest.fixture(scope="session")
def demo_base() -> Path:
    """assets/models/demo-base: the tiny Qwen2 base model (tokenizer + chat template)."""
    return _demo_model("demo-base")


@pytest.fixture(scope="session")
def demo_adapter() -> Path:
    """assets/models/demo-grpo-adapter: the GRPO LoRA adapter on demo-base."""
    return _demo_model("demo-grpo-adapter")


@pytest.fixture(scope="session")
def demo_grpo() -> Path:
    """assets/models/demo-grpo: demo-base with the adapter merged in."""
    return _demo_model("demo-grpo")
