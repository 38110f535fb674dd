"""Shared test fixtures: where the repository, its sample data and its demo models are.

Session-scoped and free: they only build paths (and fail with the command to run when the
demo models are missing). Any test module may use them:

``repo_root``, ``sample_train``, ``sample_test``, ``sample_gold``,
``demo_base``, ``demo_adapter``, ``demo_grpo`` (all :class:`pathlib.Path`).

Two are not free. ``served`` starts ``python -m inference serve`` of demo-grpo once for the whole
run (1-4 minutes on 2 cores) and stops it after the last test that uses it; a test that needs a
server started with other arguments starts its own with :func:`serving`. ``demo_rm`` trains a
reward model once for the whole run (``python -m training rm``, two steps on eight sample pairs:
seconds); :func:`train_rm` runs that command with the same quick arguments. ``demo_classifier``
saves demo-base as a one-output sequence classifier with its (seeded, untrained) head: a reward
model in form, with the demo tokenizer's chat template.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from app.process import free_port
from mcq.paths import CONFIGS, REPO_ROOT
from mcq.paths import DATA as DATA_DIR
from mcq.paths import MODELS as MODELS_DIR

if TYPE_CHECKING:
    from openai import OpenAI

#: Seconds ``inference serve`` of a demo model may take to answer (213 s seen on a loaded machine).
SERVE_DEADLINE_S = 300
#: Seconds it may take to stop after SIGTERM.
SERVE_STOP_S = 60


#: The sample preference pairs (the first ones train the quick reward model).
PAIRS = DATA_DIR / "preference_pairs.jsonl"
#: ``python -m training rm`` arguments for a run of seconds on the demo recipe.
RM_FAST = [
    "--max_steps", "2", "--save_steps", "2", "--per_device_train_batch_size", "2",
    "--eval_strategy", "no", "--logging_steps", "1", "--max_length", "384",
    "--bf16", "false",
]  # fmt: skip


def tiny_pairs(path: Path, n: int = 8) -> Path:
    """Write the first ``n`` pairs of the sample file (two per question) to ``path``."""
    lines = PAIRS.read_text(encoding="utf-8").splitlines()[:n]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def train_rm(*args: str) -> int:
    """``python -m training rm`` (in this process) with the demo recipe, :data:`RM_FAST` and
    ``args``; returns its exit code."""
    from training.__main__ import main as training_main

    recipe = str(CONFIGS / "rm-demo-cpu.yaml")
    return training_main(["rm", "--config", recipe, *RM_FAST, *args])


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


@pytest.fixture(scope="session")
def demo_rm(tmp_path_factory, demo_base) -> Path:
    """A reward model of demo-base from ``python -m training rm``: two steps on the first eight
    sample pairs, a quarter of the questions held out. Good for plumbing, not for judging."""
    folder = tmp_path_factory.mktemp("rm")
    data = tiny_pairs(folder / "pairs.jsonl")
    out = folder / "run"
    assert (
        train_rm("--dataset_path", str(data), "--output_dir", str(out), "--eval_share", "0.25") == 0
    )
    return out


@pytest.fixture(scope="session")
def demo_classifier(tmp_path_factory, demo_base) -> Path:
    """demo-base as ``AutoModelForSequenceClassification`` (one output, seeded head), saved with
    its tokenizer: it loads as a reward model without a random head."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = tmp_path_factory.mktemp("classifier")
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(demo_base, num_labels=1)
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(demo_base).save_pretrained(folder)
    return folder


@contextmanager
def serving(model: Path, *extra: str, log_dir: Path) -> Iterator[tuple[subprocess.Popen, OpenAI]]:
    """``python -m inference serve --model MODEL [EXTRA...]`` on a free port, and a client for it.

    Waits until the server lists its models (at most :data:`SERVE_DEADLINE_S`); on exit sends
    SIGTERM and asserts that alone stopped it, as ``inference serve`` promises.
    """
    from openai import OpenAI

    log_path = log_dir / "server.log"
    port = free_port()
    command = [sys.executable, "-m", "inference", "serve", "--model", str(model)]
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [*command, "--port", str(port), *extra],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0)
        try:
            deadline = time.monotonic() + SERVE_DEADLINE_S
            while True:
                assert server.poll() is None, log_path.read_text()[-2000:]
                try:
                    client.models.list()
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(1)
            yield server, client
        finally:
            server.send_signal(signal.SIGTERM)  # forwarded to vLLM, which shuts down cleanly
            stopped_on_sigterm = True
            try:
                server.wait(timeout=SERVE_STOP_S)
            except subprocess.TimeoutExpired:
                stopped_on_sigterm = False
                server.kill()
                server.wait()
    assert stopped_on_sigterm, f"inference serve was still running {SERVE_STOP_S} s after SIGTERM"
    assert server.returncode != -signal.SIGKILL


_LAST_USER = pytest.StashKey[str]()  # node id of the last selected test that uses `served`
_STOP = pytest.StashKey[ExitStack]()  # stops the `served` server


@pytest.fixture(scope="session")
def served(request, tmp_path_factory, demo_grpo) -> Iterator[tuple[subprocess.Popen, OpenAI]]:
    """``python -m inference serve`` of demo-grpo (the CPU defaults) and an OpenAI client for it.

    Started on first use, stopped after the last test that uses it (not at the end of the run,
    so it does not hold memory and a core while later modules load models of their own).
    """
    with ExitStack() as stack:
        pair = stack.enter_context(serving(demo_grpo, log_dir=tmp_path_factory.mktemp("serve")))
        request.config.stash[_STOP] = stack
        yield pair


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    users = [item.nodeid for item in items if "served" in getattr(item, "fixturenames", ())]
    if users:
        config.stash[_LAST_USER] = users[-1]


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    if item.nodeid == item.config.stash.get(_LAST_USER, None) and _STOP in item.config.stash:
        item.config.stash[_STOP].close()  # closing again at session end does nothing
