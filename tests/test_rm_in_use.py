"""A learned reward model in use: GRPO training logs it, the app's breakdown shows it.

Real parts throughout: the reward model is conftest's ``demo_rm`` (``python -m training rm``
on demo-base, shared with tests/test_training_rm.py), GRPO is ``python -m training grpo`` (TRL's
GRPOTrainer) on demo-base, and the app is :class:`app.service.AppService` on the demo models.
The preset is the shipped example assets/rewards/examples/with-reward-model.yaml with its
``reward_model`` pointed at that run.
"""

from __future__ import annotations

import json
import re

import pytest
import yaml

import rewards
from mcq.paths import CONFIGS, PRESET_DIR

pytestmark = pytest.mark.slow

EXAMPLE = PRESET_DIR / "examples" / "with-reward-model.yaml"
OPTIONS = ["總統直選", "內閣制", "委員制", "君主立憲"]
ANSWER = "答案：A\n理由：題目描述人民直接選出總統，可能較符合A；B、C、D 則未必涉及直選。"


@pytest.fixture(scope="module")
def rm_preset(demo_rm, tmp_path_factory):
    """The example preset, its reward model being the session's demo run."""
    preset = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    preset["settings"]["rm"]["reward_model"] = str(demo_rm)
    path = tmp_path_factory.mktemp("preset") / "with-reward-model.yaml"
    path.write_text(yaml.safe_dump(preset, allow_unicode=True), encoding="utf-8")
    return path


def logged_steps(run_dir):
    """The per-step metrics ``training.log`` records (TRL's log entries, one per logging step)."""
    text = (run_dir / "training.log").read_text(encoding="utf-8")
    return [json.loads(m) for m in re.findall(r"step \d+: (\{.*\})$", text, flags=re.M)]


def test_two_grpo_steps_log_the_reward_model_mean(rm_preset, demo_base, sample_train, tmp_path):
    from training.__main__ import main as training_main

    out = tmp_path / "grpo"
    code = training_main(
        ["grpo", "--config", str(CONFIGS / "demo-cpu.yaml"),
         "--model_name_or_path", str(demo_base), "--dataset_path", str(sample_train),
         "--reward_preset", str(rm_preset), "--output_dir", str(out),
         "--max_steps", "2", "--max_samples", "4", "--per_device_train_batch_size", "2",
         "--num_generations", "2", "--max_completion_length", "8", "--logging_steps", "1",
         "--warmup_steps", "0"]
    )  # fmt: skip
    assert code == 0
    steps = [entry for entry in logged_steps(out) if "loss" in entry]
    assert len(steps) == 2
    for entry in steps:
        assert 0.0 <= float(entry["rewards/rm/mean"]) <= 1.0, entry


def test_the_app_breakdown_shows_the_reward_model_score(rm_preset, demo_base, demo_adapter):
    from app.service import AppService, ModelChoice
    from app.ui import result_markdown
    from app.ui.common import component_rows

    models = ModelChoice(str(demo_base), None, str(demo_adapter), "transformers")
    service = AppService(models, preset=str(rm_preset))
    service.load()
    try:
        result = service.score_text(ANSWER, "下列何者為總統直選？", OPTIONS, "A")
    finally:
        service.close()
    score = result["components"]["rm"]
    assert 0.0 <= score <= 1.0
    assert f"rm {score:.2f}" in result_markdown(result)  # the Score tab's summary line
    assert {"component": "rm", "score": score} in component_rows(result["components"])


def test_the_example_preset_is_not_loaded_with_the_shipped_ones():
    # A fresh checkout has no runs/rm-demo: listing presets must not try to load it.
    names = {preset.name for preset in rewards.list_presets()}
    assert "default" in names and "with-reward-model" not in names
