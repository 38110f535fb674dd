"""``python -m evals audit RUN``: a run's watch record turned into a report, gated by exit code.

The run folders here are written by hand in the shape the watch writes (``watch/metrics.jsonl``,
``completions.jsonl`` rotated, ``alarms.jsonl``, ``zhongli_run.json``), so each story (hacked,
clean, broken) is known exactly; ``test_audit_reads_a_real_demo_run`` reads one written by a
real GRPO run of the demo model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import rewards
from evals.cli import main as evals_main
from evals.run_audit import ALARM_EXIT

GOOD = "答案：B\n理由：首先，憲法保障言論自由，但得以法律適度限制，因此B較為持平；其次，A忽略比例原則。"
SPAM = (
    "答案：B\n理由：可能或許也許，相對而言見仁見智，可能或許也許，相對而言見仁見智，可能或許也許。"
)


def write_jsonl(path: Path, rows: list[object]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


def make_run(folder: Path, *, hacked: bool) -> Path:
    """Six logging steps; ``hacked``: reward climbs, accuracy falls, hedge spam spreads, an alarm."""
    watch = folder / "watch"
    watch.mkdir(parents=True)
    metrics = []
    for i, step in enumerate(range(1, 7)):
        entry = {
            "step": step,
            "time": 1000.0 + step,
            "reward": 0.3 + (0.1 * i if hacked else 0.01 * (i % 2)),
            "rewards/hedging/mean": 0.1 + (0.15 * i if hacked else 0.0),
            "watch/hedge_spam": (0.1 * i if hacked else 0.0),
            "watch/repetition": 0.0,
            "watch/length_drift": 1.0 + (0.2 * i if hacked else 0.0),
        }
        if step % 2 == 0:  # eval every 2 steps
            accuracy = 0.6 - (0.1 * i if hacked else 0.0)
            entry |= {
                "eval/accuracy": accuracy,
                "eval/accuracy_ci_low": accuracy - 0.15,
                "eval/accuracy_ci_high": accuracy + 0.15,
                "eval/n": 40,
            }
        metrics.append(entry)
    write_jsonl(watch / "metrics.jsonl", metrics)
    old = [completion(1, GOOD, 0.9, []), completion(2, SPAM, 0.5, ["hedge_spam"] if hacked else [])]
    write_jsonl(watch / "completions.jsonl.1", old)
    write_jsonl(
        watch / "completions.jsonl", [completion(6, SPAM, 0.95, ["hedge_spam"])] if hacked else []
    )
    alarms = []
    if hacked:
        alarms = [
            {
                "step": 4,
                "detector": "hedge_spam",
                "value": 0.3,
                "threshold": 0.25,
                "message": "hedge_spam flagged 30% of sampled completions (threshold 25%)",
                "example": SPAM,
            }
        ]
    write_jsonl(watch / "alarms.jsonl", alarms)
    record = {"reward_preset": "length_hedge", "base_model": "assets/models/demo-base"}
    record["best_checkpoint"] = {
        "step": 2,
        "path": str(folder / "checkpoint-2"),
        "eval_accuracy": 0.6,
    }
    (folder / "zhongli_run.json").write_text(json.dumps(record), "utf-8")
    return folder


def completion(step: int, text: str, total: float, flags: list[str]) -> dict[str, object]:
    return {
        "step": step,
        "group": 0,
        "question_id": "q1",
        "prompt": "關於言論自由，下列何者最適當？",
        "completion": text,
        "rewards": {"hedging": total},
        "total": total,
        "flags": flags,
    }


def audit(run: Path, out: Path, *extra: str) -> int:
    return evals_main(["audit", str(run), "--output-dir", str(out), *extra])


def test_a_clean_run_exits_0_with_a_report_and_its_plots(tmp_path, capsys):
    run = make_run(tmp_path / "run", hacked=False)
    assert audit(run, tmp_path / "report") == 0
    assert "no alarm" in capsys.readouterr().out
    text = (tmp_path / "report" / "report.md").read_text("utf-8")
    assert "No alarm" in text and "length_hedge" in text
    for png in ("reward_accuracy.png", "detector_shares.png"):
        assert (tmp_path / "report" / png).stat().st_size > 1000
    assert "data:image/png;base64" in (tmp_path / "report" / "report.html").read_text("utf-8")


def test_an_alarm_exits_3_and_names_the_first_alarm_with_its_example(tmp_path, capsys):
    run = make_run(tmp_path / "run", hacked=True)
    assert audit(run, tmp_path / "report") == ALARM_EXIT == 3
    assert "step 4 (hedge_spam)" in capsys.readouterr().out
    text = (tmp_path / "report" / "report.md").read_text("utf-8")
    assert "First alarm at step **4**: `hedge_spam` at 0.300 (threshold 0.250)" in text
    assert "> " + SPAM.splitlines()[1] in text  # the alarm's example, quoted


def test_the_report_states_reward_up_and_accuracy_down_with_the_best_checkpoint(tmp_path):
    run = make_run(tmp_path / "run", hacked=True)
    audit(run, tmp_path / "report")
    text = (tmp_path / "report" / "report.md").read_text("utf-8")
    assert "| reward (first → last third of steps) | 0.350 → 0.750 (+0.400) |" in text
    assert "| held-out accuracy (step 2 → 6) | 0.500 → 0.100 (-0.400) |" in text
    assert "| reward rose while accuracy fell | yes |" in text
    assert "step 2, accuracy 0.600" in text


def test_reward_rising_while_accuracy_falls_exits_3_without_any_alarm(tmp_path):
    run = make_run(tmp_path / "run", hacked=True)
    (run / "watch" / "alarms.jsonl").write_text("", "utf-8")
    assert audit(run, tmp_path / "report") == 3
    assert audit(run, tmp_path / "report", "--min-change", "0.5") == 0  # a smaller fall passes


def test_flagged_completions_are_shown_beside_the_best_unflagged_one(tmp_path):
    run = make_run(tmp_path / "run", hacked=True)
    audit(run, tmp_path / "report", "--examples", "1")
    text = (tmp_path / "report" / "report.md").read_text("utf-8")
    assert "2 of 3 sampled completions were flagged" in text  # both rotated files read
    assert "### Step 6: flagged hedge_spam" in text
    assert "### Step 1: good (no flag)" in text
    assert text.index("flagged hedge_spam") < text.index("good (no flag)")


def test_corrupt_completion_lines_are_skipped_and_counted(tmp_path):
    run = make_run(tmp_path / "run", hacked=True)
    with (run / "watch" / "completions.jsonl").open("a", encoding="utf-8") as f:
        f.write('{"step": 7, "completion": "cut by a kill\n')
    assert audit(run, tmp_path / "report") == 3
    assert "1 corrupt lines of the completions record were skipped" in (
        tmp_path / "report" / "report.md"
    ).read_text("utf-8")


def test_a_corrupt_metrics_line_is_one_line_naming_file_and_line_exit_2(tmp_path, capsys):
    run = make_run(tmp_path / "run", hacked=False)
    with (run / "watch" / "metrics.jsonl").open("a", encoding="utf-8") as f:
        f.write("{not json\n")
    assert audit(run, tmp_path / "report") == 2
    err = capsys.readouterr().err
    assert "metrics.jsonl:7: corrupt record line" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "report").exists()


def test_a_corrupt_alarm_line_is_bad_input(tmp_path, capsys):
    run = make_run(tmp_path / "run", hacked=True)
    with (run / "watch" / "alarms.jsonl").open("a", encoding="utf-8") as f:
        f.write("[1, 2]\n")
    assert audit(run, tmp_path / "report") == 2
    assert "alarms.jsonl:2: corrupt record line (expected a JSON object)" in capsys.readouterr().err


@pytest.mark.parametrize("case", ["missing", "no-watch", "empty-metrics"])
def test_a_folder_without_a_watch_record_is_bad_input(tmp_path, capsys, case):
    run = tmp_path / "run"
    if case != "missing":
        run.mkdir()
    if case == "empty-metrics":
        (run / "watch").mkdir()
        (run / "watch" / "metrics.jsonl").write_text("\n", "utf-8")
    assert audit(run, tmp_path / "report") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(run) in err


def test_the_report_goes_to_run_audit_by_default(tmp_path):
    run = make_run(tmp_path / "run", hacked=False)
    assert evals_main(["audit", str(run), "-q"]) == 0
    assert (run / "audit" / "report.md").is_file()
    assert (
        evals_main(["audit", str(run), "--output-dir", str(run / "watch")]) == 2
    )  # not over the record


def test_help_names_the_alarm_exit_code_and_an_example(capsys):
    with pytest.raises(SystemExit):
        evals_main(["audit", "--help"])
    out = capsys.readouterr().out
    assert "3  report written, and the run had an alarm" in out
    assert "python -m evals audit runs/" in out


# ------------------------------------------------------------------ the gameable example preset
def test_the_example_preset_loads_by_name_by_folder_and_by_path():
    by_name = rewards.load_preset("length_hedge")
    assert by_name.weights == {"verbosity": 0.5, "hedging": 0.5}
    assert rewards.load_preset("examples/length_hedge").path == by_name.path
    assert rewards.load_preset("assets/rewards/examples/length_hedge.yaml").path == by_name.path
    assert "length_hedge" not in [p.name for p in rewards.list_presets()]  # not a shipped preset


def test_the_example_preset_pays_hedge_spam_and_padding_above_a_good_answer():
    from evals import probe
    from tests.test_rewards_degenerate import GOOD as REASONED
    from tests.test_rewards_degenerate import SAMPLE

    good = rewards.score(REASONED, SAMPLE, "length_hedge").total
    spam = rewards.score(probe.hedge_spam(SAMPLE, REASONED), SAMPLE, "length_hedge").total
    padded = rewards.score(REASONED + "或許可能也許。" * 20, SAMPLE, "length_hedge").total
    assert spam > good + 0.1 and padded > good + 0.1
    assert (
        rewards.score(REASONED, SAMPLE, "default").total
        > rewards.score(probe.hedge_spam(SAMPLE, REASONED), SAMPLE, "default").total
    )  # what default refuses, length_hedge pays


# ------------------------------------------------------------------ training curves
def test_training_curves_draws_accuracy_and_watch_panels_when_logged(tmp_path):
    from PIL import Image

    from training.curves import main as curves_main
    from training.curves import make_parser as curves_parser

    history = [
        {"step": s, "loss": 0.1, "reward": 0.3 + 0.05 * s, "watch/hedge_spam": 0.1 * s}
        | (
            {"eval/accuracy": 0.5, "eval/accuracy_ci_low": 0.35, "eval/accuracy_ci_high": 0.65}
            if s % 2
            else {}
        )
        for s in range(1, 6)
    ]
    for name, entries in (
        ("watched", history),
        ("plain", [{"step": 1, "loss": 0.1, "reward": 0.3}]),
    ):
        run = tmp_path / name
        run.mkdir()
        (run / "trainer_state.json").write_text(
            json.dumps({"global_step": 5, "log_history": entries}), "utf-8"
        )
        assert curves_main(curves_parser().parse_args(["--input", str(run)])) == 0
    watched = Image.open(tmp_path / "watched" / "curves.png")
    plain = Image.open(tmp_path / "plain" / "curves.png")
    assert "Held-out accuracy" in watched.info["Description"]
    assert "Watch: detector shares and run-level signals" in watched.info["Description"]
    assert "Held-out accuracy" not in plain.info["Description"]
    assert watched.size[1] > plain.size[1] * 1.3  # a third row of panels


# ------------------------------------------------------------------ a real run
@pytest.mark.slow
def test_audit_reads_a_real_demo_run(tmp_path):
    """A real GRPO run of the demo model (TRL, CPU) with the watch and held-out accuracy on; a
    threshold no share stays under makes its alarm sure, so the audit must exit 3. (16
    completions a logging step: fewer raise no alarm.)"""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    run = tmp_path / "run"
    argv = [
        "--model_name_or_path", "assets/models/demo-base",
        "--dataset_path", "assets/data/sample_train.tsv",
        "--per_device_train_batch_size", "16", "--num_generations", "4",
        "--max_completion_length", "24", "--bf16", "false", "--use_peft", "true",
        "--lora_r", "8", "--lora_alpha", "16", "--lora_target_modules", "q_proj", "v_proj",
        "--max_steps", "2", "--logging_steps", "1", "--save_strategy", "no", "--seed", "0",
        "--eval_share", "0.1", "--eval_steps", "1", "--eval_max_questions", "4",
        "--watch_thresholds", "flat_groups=-1", "--output_dir", str(run),
    ]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(root), HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-m", "training", "grpo", *argv],
        cwd=root, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert audit(run, tmp_path / "report") == ALARM_EXIT
    text = (tmp_path / "report" / "report.md").read_text("utf-8")
    assert "First alarm at step **1**: `flat_groups`" in text
    assert "held-out accuracy (step 1 → 2)" in text  # eval/accuracy reached the watch's metrics
    assert "2 logging steps up to step 2, 32 sampled completions" in text
    assert "sampled completions were flagged" in text
    assert (tmp_path / "report" / "reward_accuracy.png").is_file()
    assert (tmp_path / "report" / "detector_shares.png").is_file()


def test_the_audit_knows_the_watch_run_level_signals_by_name():
    from evals.audit_plots import RUN_SIGNALS
    from training.watch.signals import SIGNALS

    assert tuple(RUN_SIGNALS) == tuple(SIGNALS)
