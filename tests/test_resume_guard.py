"""A resume continues the run it finds, or says what differs; every record says where it came from.

One real 1-step GRPO run (TRL on the demo model, CPU) is copied for each resume; refusals run the
command in this process (they stop before any model loads), continuations run it as a user would.
The reward-model side reuses conftest's ``demo_rm`` run.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from evals.stats import wilson_interval
from tests.conftest import tiny_pairs, train_rm
from tests.test_training import GRPO_ARGS, ROOT, TRAIN_TSV, run_cli

ONE_STEP = [*GRPO_ARGS, "--max_samples", "8", "--max_completion_length", "16"]
PROVENANCE_KEYS = {"zhongli", "git", "packages"}


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``folder``: its SHA-256 and modification time (ns)."""
    return {
        str(p.relative_to(folder)): (
            hashlib.sha256(p.read_bytes()).hexdigest(),
            p.stat().st_mtime_ns,
        )
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def record(run_dir: Path) -> dict:
    return json.loads((run_dir / "zhongli_run.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def one_step_run(tmp_path_factory) -> Path:
    """A finished 1-step GRPO LoRA run with its checkpoint-1 (default preset, sample data)."""
    run_dir = tmp_path_factory.mktemp("guard") / "run"
    proc = run_cli("grpo", *ONE_STEP, "--output_dir", str(run_dir), "--max_steps", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return run_dir


@pytest.fixture
def run_copy(one_step_run, tmp_path) -> Path:
    return Path(shutil.copytree(one_step_run, tmp_path / "run"))


def other_data(tmp_path: Path) -> Path:
    """The sample training file less its last row: other content."""
    lines = (ROOT / TRAIN_TSV).read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path / "other.tsv"
    path.write_text("".join(lines[:-1]), encoding="utf-8")
    return path


CHANGES = {
    "preset": (["--reward_preset", "seed"], "reward_preset default -> seed"),
    "model": (["--model_name_or_path", "assets/models/demo-grpo"], "model_name_or_path"),
    "learning rate": (["--learning_rate", "2e-4"], "learning_rate 0.0001 -> 0.0002"),
    "lora rank": (["--lora_r", "4"], "lora_r 8 -> 4"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_resume_with_another_setting_is_refused_naming_it_and_touching_nothing(
    run_copy, capsys, change
):
    from training.__main__ import main

    extra, named = CHANGES[change]
    before = snapshot(run_copy)
    argv = ["grpo", *ONE_STEP, "--output_dir", str(run_copy), "--max_steps", "2", *extra]
    assert main(argv) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and named in err[0] and "--resume_with_changes true" in err[0], err
    assert snapshot(run_copy) == before


def test_a_resume_on_other_data_is_refused_naming_both_files(run_copy, tmp_path, capsys):
    from training.__main__ import main

    data = other_data(tmp_path)
    before = snapshot(run_copy)
    argv = ["grpo", *ONE_STEP, "--output_dir", str(run_copy), "--max_steps", "2"]
    assert main([*argv, "--dataset_path", str(data)]) == 2
    err = capsys.readouterr().err.strip()
    assert f"dataset_path {TRAIN_TSV} -> {data}" in err and "\n" not in err
    assert snapshot(run_copy) == before


def test_resume_with_changes_continues_and_keeps_each_segment(run_copy):
    proc = run_cli(
        "grpo", *ONE_STEP, "--output_dir", str(run_copy), "--max_steps", "2",
        "--reward_preset", "seed", "--resume_with_changes", "true",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = record(run_copy)
    first, second = info["segments"]
    assert (first["start_step"], second["start_step"]) == (0, 1)
    assert (first["sources"]["reward_preset"], second["sources"]["reward_preset"]) == (
        "default",
        "seed",
    )
    assert first["settings"]["reward_preset"] != second["settings"]["reward_preset"]
    assert second["changed"] == ["reward_preset default -> seed"]
    assert info["reward_preset"] == "seed"  # the top level describes the latest segment
    state = json.loads((run_copy / "trainer_state.json").read_text(encoding="utf-8"))
    assert state["global_step"] == 2
    assert "continuing with changed settings: reward_preset default -> seed" in (
        run_copy / "training.log"
    ).read_text(encoding="utf-8")


def test_more_steps_and_other_logging_resume_without_a_flag(run_copy):
    proc = run_cli(
        "grpo", *ONE_STEP, "--output_dir", str(run_copy), "--max_steps", "2",
        "--logging_steps", "2", "--save_steps", "5", "--report_to", "none",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "resuming from checkpoint-1 at global step 1" in (run_copy / "training.log").read_text(
        encoding="utf-8"
    )
    segments = record(run_copy)["segments"]
    assert [s["start_step"] for s in segments] == [0, 1] and segments[1]["changed"] == []


def test_the_run_record_holds_provenance_and_the_trajectory(one_step_run):
    info = record(one_step_run)
    assert set(info["provenance"]) >= PROVENANCE_KEYS
    assert info["provenance"]["git"]["commit"]  # the suite runs from a checkout
    assert {"torch", "transformers", "trl", "peft"} <= set(info["provenance"]["packages"])
    assert set(info["provenance"]["preset"]["lexicon"]) == {
        "absolute",
        "loaded",
        "negators",
        "neutral",
    }
    weights = info["provenance"]["models"]["base_model"]["weights"]
    assert info["trajectory"]["model_name_or_path"] == f"weights:{weights}"
    assert (
        info["trajectory"]["dataset_path"]
        == hashlib.sha256((ROOT / TRAIN_TSV).read_bytes()).hexdigest()
    )
    assert "max_steps" not in info["trajectory"] and "logging_steps" not in info["trajectory"]


# --- what is compared, without training ------------------------------------------------------


def trajectory(**settings):
    from training.trajectory import Trajectory

    sources = {k: "default" for k in settings if k in ("reward_preset", "lexicon")}
    return Trajectory(settings, sources, {})


def test_an_edited_lexicon_under_the_same_preset_is_named():
    from training.trajectory import differences

    old = {"settings": {"reward_preset": "p1", "lexicon": "l1"}, "sources": {"lexicon": "default"}}
    assert differences(old, trajectory(reward_preset="p1", lexicon="l2")) == [
        "lexicon default (its content changed)"
    ]


def test_a_hub_model_whose_commit_one_side_could_not_tell_compares_by_id():
    from training.trajectory import differences

    old = {"settings": {"model_name_or_path": "hub:Qwen/X@abc"}}
    assert differences(old, trajectory(model_name_or_path="hub:Qwen/X@?")) == []
    assert differences(old, trajectory(model_name_or_path="hub:Qwen/X@def"))
    assert differences(old, trajectory(model_name_or_path="hub:Qwen/Y@?"))


def test_a_hub_model_resolves_to_its_cached_commit_without_the_network(tmp_path, monkeypatch):
    """A hub cache laid out by hand (no model hub here): offline, the cache names the commit."""
    from huggingface_hub import constants

    from mcq.provenance import model_identity

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "models--org--tiny"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "snapshots" / commit / "config.json").write_text("{}")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    assert model_identity("org/tiny") == {
        "hub_id": "org/tiny",
        "revision": None,
        "resolved": commit,
    }
    assert model_identity("org/not-cached")["resolved"] is None


# --- reward models -----------------------------------------------------------------------------


def test_an_rm_resume_on_other_pairs_is_refused_and_touches_nothing(demo_rm, tmp_path, capsys):
    copy = Path(shutil.copytree(demo_rm, tmp_path / "run"))
    other = tiny_pairs(tmp_path / "other.jsonl", n=6)
    before = snapshot(copy)
    argv = ["--output_dir", str(copy), "--eval_share", "0.25", "--max_steps", "3"]
    assert train_rm("--dataset_path", str(other), *argv) == 2
    err = capsys.readouterr().err.strip()
    assert "dataset_path" in err and str(other) in err and "\n" not in err
    assert snapshot(copy) == before


def test_rm_eval_records_provenance_and_a_wilson_interval(demo_rm):
    found = json.loads((demo_rm / "rm_eval.json").read_text(encoding="utf-8"))
    assert set(found["provenance"]) >= PROVENANCE_KEYS
    right = round(found["accuracy"] * found["n"])
    assert found["ci"] == list(wilson_interval(right, found["n"]))
    segments = record(demo_rm)["segments"]
    assert len(segments) == 1 and segments[0]["settings"]["eval_share"] == 0.25


def test_the_same_pair_counts_get_the_same_interval_in_rm_eval_and_evals_rewards(demo_rm, tmp_path):
    """evals rewards on pairs that ``format`` gets right exactly as often as the reward model
    got its held-out pairs right: the same interval, not a bootstrap beside an exact one."""
    from evals.cli import main

    found = json.loads((demo_rm / "rm_eval.json").read_text(encoding="utf-8"))
    n, right = found["n"], round(found["accuracy"] * found["n"])
    good, bare = "答案：A\n理由：依憲法規定，一般而言如此。", "A"
    pairs = [
        {"chosen": good if i < right else bare, "rejected": bare if i < right else good}
        for i in range(n)
    ]
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs), "utf-8")
    out = tmp_path / "report"
    assert main(["rewards", "--pairs", str(path), "--output-dir", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["components"]["format"]["accuracy"] == found["accuracy"]
    assert summary["components"]["format"]["ci"] == found["ci"]
    assert set(summary["provenance"]) >= PROVENANCE_KEYS
    assert summary["provenance"]["preset"]["name"] == "default"


# --- inference ---------------------------------------------------------------------------------


def test_generate_run_json_records_provenance_not_compared_on_resume(tmp_path):
    import subprocess
    import sys

    questions = tmp_path / "q.tsv"
    lines = (ROOT / "assets/data/sample_test.tsv").read_text(encoding="utf-8").splitlines()
    questions.write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")
    argv = [sys.executable, "-m", "inference", "generate", "--model", "assets/models/demo-base",
            "--input", str(questions), "--backend", "transformers", "--max-new-tokens", "4",
            "--output-dir", str(tmp_path / "out")]  # fmt: skip
    for _ in range(2):  # the second run resumes the finished one
        proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert set(manifest["provenance"]) >= PROVENANCE_KEYS
    assert manifest["provenance"]["models"]["model"]["weights"]
    assert manifest["provenance"]["preset"]["name"] == "default"
