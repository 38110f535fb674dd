"""One request type: every ``generate`` flag is a :class:`GenerationSettings` field, run.json is
the resolved settings plus fingerprints, and a setting (``top_p``) goes from its flag to the
backend's sampling and to run.json, and is compared when a run resumes.

Real transformers backend on demo-base. The only stand-in is a spy that records the keyword
arguments of the real ``TransformersBackend.chat`` and then calls it.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

import inference
import mcq
from inference.backends.transformers import TransformersBackend
from inference.generation.cli import make_parser, settings_from_args
from inference.generation.settings import GenerationSettings, flag_of, resolve
from mcq.errors import UsageError
from tests.test_inference_generate import generate

pytestmark = pytest.mark.slow


@pytest.fixture
def subset(sample_test, tmp_path) -> Path:
    lines = sample_test.read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path / "subset.tsv"
    path.write_text("".join(lines[:5]), encoding="utf-8")
    return path


@pytest.fixture
def chat_calls(monkeypatch) -> list[dict]:
    """The keyword arguments of every real TransformersBackend.chat call."""
    calls: list[dict] = []
    real_chat = TransformersBackend.chat

    def spy(self, conversations, **kwargs):
        calls.append(kwargs)
        return real_chat(self, conversations, **kwargs)

    monkeypatch.setattr(TransformersBackend, "chat", spy)
    return calls


def test_every_setting_has_a_flag_and_the_defaults_parse_to_the_default_settings():
    parser = make_parser()
    flags = {flag for action in parser._actions for flag in action.option_strings}
    assert {flag_of(f) for f in dataclasses.fields(GenerationSettings)} <= flags
    args = parser.parse_args(["--model", "m", "--input", "x", "--output-dir", "y"])
    assert settings_from_args(args) == GenerationSettings(model="m")


def test_resolving_twice_changes_nothing(demo_base):
    once = resolve(GenerationSettings(model=str(demo_base), backend="transformers", samples=3))
    assert once.temperature == 0.7 and Path(once.model).is_absolute()
    assert resolve(once) == once


def test_top_p_flag_reaches_the_backend_and_run_json_and_another_is_refused_on_resume(
    tmp_path, capsys, subset, demo_base, chat_calls
):
    common = ["--model", demo_base, "--input", subset, "--backend", "transformers",
              "--samples", "2", "--max-new-tokens", "8", "--output-dir", tmp_path / "out"]  # fmt: skip
    code, _, stderr = generate(capsys, *common, "--top-p", "0.9")
    assert code == 0, stderr
    assert chat_calls and {call["top_p"] for call in chat_calls} == {0.9}
    manifest = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert manifest["top_p"] == 0.9
    before = (tmp_path / "out" / "detailed_results.csv").read_bytes()

    code, _, stderr = generate(capsys, *common, "--top-p", "0.8")
    assert code == 2
    assert stderr.count("\n") == 1 and "top_p 0.9 -> 0.8" in stderr
    assert (tmp_path / "out" / "detailed_results.csv").read_bytes() == before


@pytest.mark.parametrize("value", ["0", "1.5"])
def test_top_p_outside_zero_to_one_exits_2_with_one_line(tmp_path, capsys, subset, value):
    code, _, stderr = generate(capsys, "--model", "m/m", "--input", subset,
                               "--output-dir", tmp_path / "out", "--top-p", value)  # fmt: skip
    assert code == 2 and stderr.count("\n") == 1 and "--top-p" in stderr
    with pytest.raises(UsageError, match="--top-p must be"):
        resolve(GenerationSettings(model="m/m", top_p=float(value)))


def test_a_run_json_written_before_a_setting_existed_resumes_with_its_default(
    tmp_path, sample_test, demo_base
):
    questions = mcq.load_test(sample_test)[:3]
    settings = GenerationSettings(model=str(demo_base), backend="transformers", max_new_tokens=4)
    inference.generate(settings, questions, tmp_path / "out")
    manifest_path = tmp_path / "out" / "run.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    del manifest["top_p"]  # as a run.json of a version without --top-p
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    old = shutil.copytree(tmp_path / "out", tmp_path / "old")

    assert inference.generate(settings, questions, old).generated_tokens == 0
    with pytest.raises(UsageError, match="top_p 1.0 -> 0.5"):
        inference.generate(dataclasses.replace(settings, top_p=0.5), questions, old)
