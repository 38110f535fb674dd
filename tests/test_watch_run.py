"""The hacking watch in a real GRPO run of the demo model (TRL on the CPU): ``watch/*`` in the
trainer's logs, the record in ``<output_dir>/watch/``, alarms, and ``halt_on_alarm``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_component_failures import FLAKY  # scores the first step's 2 completions only
from tests.test_component_failures import GRPO_ARGS as FLAKY_ARGS  # 2 a step, alarm_window 2
from training.watch.detectors import DETECTORS
from training.watch.signals import SIGNALS

ROOT = Path(__file__).resolve().parents[1]

# 16 completions per logging step (2 steps x 2 questions x 4 generations): what an alarm needs.
ARGS = [
    "--model_name_or_path", "assets/models/demo-base",
    "--dataset_path", "assets/data/sample_train.tsv",
    "--per_device_train_batch_size", "8", "--num_generations", "4",
    "--max_completion_length", "24", "--bf16", "false",
    "--use_peft", "true", "--lora_r", "8", "--lora_alpha", "16",
    "--lora_target_modules", "q_proj", "v_proj",
    "--logging_steps", "2", "--save_strategy", "no", "--seed", "0",
    "--watch_sample", "6",
]  # fmt: skip
#: A threshold no share can stay under: the alarm surely fires at the first logging step.
SURE_ALARM = "flat_groups=-1"
COMPLETION_KEYS = {
    "step",
    "group",
    "question_id",
    "prompt",
    "completion",
    "rewards",
    "total",
    "flags",
}
ALARM_KEYS = {"step", "detector", "value", "threshold", "message", "example"}


def grpo(out: Path, *more: str, args=ARGS, path: str = "") -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [path, str(ROOT)])),
               HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")  # fmt: skip
    argv = [*args, "--output_dir", str(out), *more]
    return subprocess.run([sys.executable, "-m", "training", "grpo", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)  # fmt: skip


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


@pytest.fixture(scope="module")
def watched_run(tmp_path_factory) -> Path:
    """Four steps, logged every two, an alarm at the first logging step (no halt)."""
    out = tmp_path_factory.mktemp("watch") / "run"
    proc = grpo(out, "--max_steps", "4", "--watch_thresholds", SURE_ALARM)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.mark.slow
def test_every_logging_step_logs_each_detector_and_signal(watched_run):
    state = json.loads((watched_run / "trainer_state.json").read_text("utf-8"))
    logged = [e for e in state["log_history"] if "loss" in e]
    assert [e["step"] for e in logged] == [2, 4]
    for entry in logged:
        for name in [*DETECTORS, *SIGNALS]:
            assert isinstance(entry[f"watch/{name}"], float), name
            assert entry[f"watch/{name}"] >= 0
    assert logged[0]["watch/length_drift"] == 1.0  # the first step is the baseline


@pytest.mark.slow
def test_metrics_record_every_logging_event_with_trl_and_watch_values(watched_run):
    metrics = lines(watched_run / "watch" / "metrics.jsonl")
    steps = [m["step"] for m in metrics if "loss" in m]
    assert steps == [2, 4]
    first = metrics[0]
    assert isinstance(first["time"], float)
    assert {"reward", "reward_std", "completions/mean_length", "watch/hedge_spam"} <= set(first)
    assert "rewards/correctness/mean" in first


@pytest.mark.slow
def test_completions_record_keeps_a_bounded_sample_with_rewards_and_flags(watched_run):
    rows = lines(watched_run / "watch" / "completions.jsonl")
    assert len(rows) == 2 * 6  # watch_sample per logging step
    assert {r["step"] for r in rows} == {2, 4}
    for row in rows:
        assert set(row) == COMPLETION_KEYS
        assert set(row["rewards"]) == {"correctness", "format", "reasoning", "neutrality"}
        assert row["question_id"] and "問題" in row["prompt"]
        assert set(row["flags"]) <= set(DETECTORS)
        weights = {"correctness": 0.4, "format": 0.2, "reasoning": 0.2, "neutrality": 0.2}
        expected = sum(w * (row["rewards"][k] or 0) for k, w in weights.items())
        assert row["total"] == pytest.approx(expected)
        assert 0 <= row["group"] < 4  # 2 steps x 2 questions


@pytest.mark.slow
def test_an_alarm_is_written_once_with_its_step_and_an_example(watched_run):
    alarms = lines(watched_run / "watch" / "alarms.jsonl")
    assert len(alarms) == 1  # still past the threshold at step 4: no second line
    alarm = alarms[0]
    assert set(alarm) == ALARM_KEYS
    assert (alarm["step"], alarm["detector"], alarm["threshold"]) == (2, "flat_groups", -1.0)
    assert isinstance(alarm["example"], str) and alarm["example"]
    log = (watched_run / "training.log").read_text("utf-8")
    assert "alarm at step 2: watch/flat_groups" in log and "training goes on" in log
    state = json.loads((watched_run / "trainer_state.json").read_text("utf-8"))
    assert state["global_step"] == 4  # no halt asked for


@pytest.mark.slow
def test_halt_on_alarm_saves_a_checkpoint_at_the_alarm_and_a_rerun_resumes(tmp_path):
    out = tmp_path / "run"
    halted = grpo(
        out, "--max_steps", "6", "--watch_thresholds", SURE_ALARM, "--halt_on_alarm", "true"
    )
    assert halted.returncode == 0, halted.stderr[-3000:]
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-2"]
    assert json.loads((out / "trainer_state.json").read_text("utf-8"))["global_step"] == 2
    assert "stopping (halt_on_alarm)" in (out / "training.log").read_text("utf-8")
    resumed = grpo(
        out, "--max_steps", "6", "--watch_thresholds", SURE_ALARM, "--halt_on_alarm", "true"
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming from checkpoint-2" in (out / "training.log").read_text("utf-8")
    assert (out / "checkpoint-4").is_dir()  # the resumed run's own first alarm
    assert [a["step"] for a in lines(out / "watch" / "alarms.jsonl")] == [2, 4]


@pytest.mark.slow
def test_watch_false_leaves_no_watch_logs_or_files(tmp_path):
    out = tmp_path / "run"
    proc = grpo(out, "--max_steps", "2", "--watch", "false")
    assert proc.returncode == 0, proc.stderr[-3000:]
    state = json.loads((out / "trainer_state.json").read_text("utf-8"))
    assert not [k for e in state["log_history"] for k in e if k.startswith("watch/")]
    assert not (out / "watch").exists()


def test_an_unknown_threshold_name_is_one_line_exit_2_before_any_work(tmp_path):
    proc = grpo(tmp_path / "run", "--max_steps", "1", "--watch_thresholds", "hedge=0.2")
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .endswith(
            "watch_thresholds: unknown name 'hedge'; known: repetition, question_pasted, hedge_spam, "
            "connective_spam, bare_letter, several_letters, no_chinese, over_long, prompt_copied, "
            "component_dominance, flat_groups, length_drift, reward_up_accuracy_down"
        )
    )
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "run").exists()  # refused before the run folder is made


@pytest.mark.slow
def test_a_component_that_stops_scoring_is_recorded_in_alarms_jsonl(tmp_path):
    # The first step's two completions are scored, then none: ComponentWatch's alarm at step 3.
    (tmp_path / "flaky_plugin.py").write_text(FLAKY, "utf-8")
    preset = tmp_path / "flaky.yaml"
    preset.write_text("components: {format: 1.0, 'flaky_plugin:flaky': 1.0}\n", "utf-8")
    out = tmp_path / "run"
    proc = grpo(out, "--max_steps", "3", "--preset", str(preset), args=FLAKY_ARGS,
                path=str(tmp_path))  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    alarms = lines(out / "watch" / "alarms.jsonl")
    assert [(a["step"], a["detector"]) for a in alarms] == [(3, "component_unscored")]
    assert "'flaky'" in alarms[0]["message"] and set(alarms[0]) == ALARM_KEYS
