"""``inference.generate(settings, questions, output_dir)``: the typed API behind the CLI.

Real transformers backend on demo-base, three questions, four new tokens: the run is about
the API's contract (settings in, files and a summary out, run.json read back), not the answers.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import pytest

import inference
import mcq
from inference import GenerationSettings
from mcq.errors import UsageError


@pytest.fixture(scope="module")
def questions(sample_test) -> list[mcq.Question]:
    return mcq.load_test(sample_test)[:3]


@pytest.fixture(scope="module")
def settings(demo_base) -> GenerationSettings:
    return GenerationSettings(model=str(demo_base), backend="transformers", max_new_tokens=4)


@pytest.fixture(scope="module")
def finished(tmp_path_factory, settings, questions) -> tuple[Path, inference.GenerationSummary]:
    out = tmp_path_factory.mktemp("api") / "run"
    return out, inference.generate(settings, questions, out)


def test_generate_writes_a_submission_with_every_id_and_returns_what_it_wrote(finished, questions):
    out, summary = finished
    with summary.submission.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert summary.submission == out / "submission.csv"
    assert [r["id"] for r in rows] == [q.id for q in questions]
    assert summary.questions == 3 and summary.generated_tokens > 0


def test_run_json_reads_back_as_settings_that_resume_the_same_run(finished, questions):
    out, _ = finished
    recorded = GenerationSettings.from_dict(json.loads((out / "run.json").read_text("utf-8")))
    before = (out / "detailed_results.csv").read_bytes()
    again = inference.generate(recorded, questions, out)
    assert again.generated_tokens == 0  # nothing left to answer: the same run, resumed
    assert (out / "detailed_results.csv").read_bytes() == before


def test_settings_of_another_run_are_refused_before_anything_changes(finished, settings, questions):
    out, _ = finished
    before = (out / "detailed_results.csv").read_bytes()
    other = dataclasses.replace(settings, seed=7)
    with pytest.raises(UsageError, match="seed 0 -> 7"):
        inference.generate(other, questions, out)
    assert (out / "detailed_results.csv").read_bytes() == before


def test_impossible_settings_raise_usage_error_and_write_nothing(tmp_path, settings, questions):
    bad = dataclasses.replace(settings, samples=3, temperature=0.0)
    with pytest.raises(UsageError, match="--temperature"):
        inference.generate(bad, questions, tmp_path / "out")
    assert not (tmp_path / "out").exists()
