"""Specification of benchmarks/gpu_check.py in its --dry-run mode: a tiny random Qwen2 model on
the CPU goes through every row (QLoRA GRPO steps, bf16-recipe GRPO steps, generation through
inference.generate) and the JSON and Markdown reports are written. The figures themselves need
a GPU (see benchmarks/README.md); here only the plumbing is checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path_factory.mktemp("gpu-check")
    env = dict(os.environ, OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false", HF_HUB_OFFLINE="1")
    proc = subprocess.run(
        [sys.executable, "benchmarks/gpu_check.py", "--dry-run", "--output-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc, out


def rows(out: Path) -> dict[str, dict]:
    report = json.loads((out / "gpu_check.json").read_text(encoding="utf-8"))
    return {row["row"]: row for row in report["rows"]}


def test_dry_run_times_grpo_steps_for_both_recipes(dry_run):
    found = rows(dry_run[1])
    for name in ("grpo-qlora", "grpo-lora-bf16"):
        row = found[name]
        assert "error" not in row and "skipped" not in row, row
        assert row["s_per_step"] > 0 and len(row["step_s"]) == 2
        assert row["peak_gpu_gib"] is None  # no GPU: no figure rather than a made-up one


def test_dry_run_measures_generation_through_the_inference_api(dry_run):
    row = rows(dry_run[1])["generate"]
    assert "error" not in row, row
    assert row["generated_tokens"] > 0 and row["tokens_per_s"] > 0
    assert row["generation"] == "transformers"


def test_dry_run_writes_a_markdown_table_and_reports_progress(dry_run):
    proc, out = dry_run
    table = (out / "gpu_check.md").read_text(encoding="utf-8")
    assert "| row | s/step (vs 26 s) |" in table
    assert all(f"| {name} |" in table for name in ("grpo-qlora", "grpo-lora-bf16", "generate"))
    assert "[1/3] grpo-qlora ..." in proc.stderr and "[3/3] generate:" in proc.stderr


def test_a_missing_package_skips_its_row_with_the_reason():
    sys.path.insert(0, str(ROOT))
    from benchmarks.gpu_check import markdown, missing

    assert missing("json", "zhongli_no_such_package") == "zhongli_no_such_package is not installed"
    table = markdown(
        {"dry_run": False, "device": "H200", "steps": 3, "max_completion_length": 256,
         "rows": [{"row": "grpo-qlora", "skipped": "bitsandbytes is not installed"}]}
    )  # fmt: skip
    assert "| grpo-qlora | – | – | – | – | bitsandbytes is not installed |" in table
