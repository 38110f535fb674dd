"""Many completions reach a component's batch function together, from every place that scores many.

The component is a real plugin (``package.module:function`` in a preset) whose batch function
writes the size of every batch it is handed to a log file; a reward model or a judge gets its
batches the same way (``rewards.registry.Component.batch``).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mcq
import rewards

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = "zl_batch_probe"

PLUGIN_SOURCE = f'''
"""A reward plugin whose batch function logs each batch size it is handed."""
from rewards.registry import COMPONENTS, Component


def _value(text):
    return min(len(text), 100) / 100


def reply_length(completion, sample=None, log=None):
    """Longer answers score higher, up to 100 characters."""
    return _value(completion)


def _batch(completions, samples, log=None):
    with open(log, "a", encoding="utf-8") as f:
        f.write(f"{{len(completions)}}\\n")
    return [_value(c) for c in completions]


COMPONENTS["reply_length"] = Component(
    "reply_length", "Longer answers score higher.", reply_length,
    source="{PLUGIN}:reply_length", batch=_batch,
)
'''


def batch_sizes(log: Path) -> list[int]:
    return [int(line) for line in log.read_text(encoding="utf-8").split()]


@pytest.fixture
def probe(tmp_path, monkeypatch):
    """(preset path, batch log) for a preset of ``format`` and the logging plugin."""
    (tmp_path / f"{PLUGIN}.py").write_text(PLUGIN_SOURCE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    log = tmp_path / "batches.log"
    preset = tmp_path / "probe.yaml"
    preset.write_text(
        "name: probe\ncomponents:\n  format: 1\n"
        f"  {PLUGIN}:reply_length: 1\n"
        f"settings:\n  {PLUGIN}:reply_length:\n    log: {json.dumps(str(log))}\n",
        encoding="utf-8",
    )
    yield preset, log
    rewards.COMPONENTS.pop("reply_length", None)
    sys.modules.pop(PLUGIN, None)


def test_evals_score_hands_the_whole_file_to_the_component_in_one_batch(probe, tmp_path):
    preset, log = probe
    texts = [f"答案：{'ABCD'[i % 4]}\n理由：" + "因為" * i for i in range(20)]
    completions = tmp_path / "completions.jsonl"
    completions.write_text(
        "".join(
            json.dumps({"id": f"q{i}", "completion": t}, ensure_ascii=False) + "\n"
            for i, t in enumerate(texts)
        ),
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, "-m", "evals", "score", "--input", str(completions)]
        + ["--preset", str(preset), "--output-dir", str(tmp_path / "report"), "--md-only"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert batch_sizes(log) == [20]
    report = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert "reply_length" in report


def test_evals_score_file_puts_each_batch_score_on_its_own_row(probe, tmp_path):
    from evals.data import score_file

    preset, log = probe
    texts = ["答案：A", "答案：B\n理由：" + "因為" * 30, "無法判斷"]
    completions = tmp_path / "three.jsonl"
    completions.write_text(
        "".join(json.dumps({"completion": t}, ensure_ascii=False) + "\n" for t in texts),
        encoding="utf-8",
    )
    run = score_file(completions, preset=str(preset), progress=False)
    assert [row.components["reply_length"] for row in run.rows] == [
        min(len(t), 100) / 100 for t in texts
    ]
    assert batch_sizes(log) == [3]


@pytest.mark.slow
def test_inference_generate_scores_a_chunk_of_answers_in_one_batch(
    probe, tmp_path, capsys, sample_test, demo_grpo
):
    from inference.cli import main

    preset, log = probe
    questions = mcq.load_test(sample_test)[:4]
    subset = tmp_path / "four.tsv"
    subset.write_text(
        "id\tquestion\toption_A\toption_B\toption_C\toption_D\n"
        + "".join(
            "\t".join([q.id, q.question, *(q.options[x] for x in mcq.LETTERS)]) + "\n"
            for q in questions
        ),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    argv = ["generate", "--model", str(demo_grpo), "--input", str(subset)]
    argv += ["--output-dir", str(out), "--backend", "transformers", "--preset", str(preset)]
    argv += ["--chunk-size", "4", "--max-new-tokens", "16", "--seed", "7"]
    assert main(argv) == 0, capsys.readouterr().err
    assert batch_sizes(log) == [4]
    with (out / "detailed_results.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["reply_length"]) for r in rows] == pytest.approx(
        [min(len(r["response"]), 100) / 100 for r in rows], abs=1e-4
    )


def test_score_batch_with_a_progress_bar_scores_in_chunks_of_512_with_the_same_results(probe):
    from rewards.scoring import PROGRESS_CHUNK, score_batch

    preset, log = probe
    texts = [f"答案：{'ABCD'[i % 4]}" + "。" * (i % 120) for i in range(1200)]
    quiet = score_batch(texts, None, str(preset))
    shown = score_batch(texts, None, str(preset), progress="scoring")
    assert shown == quiet
    assert batch_sizes(log) == [1200, PROGRESS_CHUNK, PROGRESS_CHUNK, 1200 - 2 * PROGRESS_CHUNK]


def test_a_slow_component_gets_small_chunks_and_a_bar_for_small_files(probe, tmp_path):
    """A component that says it is slow (a model, a judge) sets ``progress_chunk``: scored
    files show progress after one chunk, not after 2,000 rows."""
    import dataclasses

    from rewards.io import score_rows
    from rewards.scoring import progress_chunk

    preset, log = probe
    rewards.load_preset(str(preset))  # imports the plugin
    fast = rewards.COMPONENTS["reply_length"]
    rewards.COMPONENTS["reply_length"] = dataclasses.replace(fast, progress_chunk=40)
    assert progress_chunk(str(preset)) == 40
    rows = [{"id": f"q{i}", "completion": "答案：A" + "。" * i} for i in range(100)]
    score_rows(rows, str(preset))  # no bar asked: one batch
    score_rows(rows, str(preset), progress=True)
    assert batch_sizes(log) == [100, 40, 40, 20]
