"""``python -m training rm``: TRL's real RewardTrainer on the demo base model, a few steps.

One short run (conftest's session fixture ``demo_rm``, shared with tests/test_rm_in_use.py) is
checked here: its held-out accuracy file, its model as a rewards preset component, and a copy of
it resumed for one more step.
"""

from __future__ import annotations

import csv
import json
import shutil

import pytest

import mcq
from rewards.judgments import read_pairs
from tests.conftest import PAIRS, tiny_pairs, train_rm
from training.rm_data import load_pairs, pairs_from_labels


def test_training_writes_the_heldout_pairwise_accuracy(demo_rm):
    found = json.loads((demo_rm / "rm_eval.json").read_text(encoding="utf-8"))
    assert 1 <= found["n"] < 8  # whole questions held out, not every pair
    assert 0.0 <= found["accuracy"] <= 1.0 and 0.0 <= found["ties"] <= 1.0
    assert found["ci"][0] <= found["accuracy"] <= found["ci"][1]
    # The held-out pairs come back as a pairs file evals reads, whole questions only.
    held = read_pairs(demo_rm / found["heldout_file"])
    assert len(held) == found["n"]
    every = read_pairs(demo_rm.parent / "pairs.jsonl")  # what conftest's demo_rm trained on
    assert {p["id"] for p in held} < {p["id"] for p in every}
    trained_on = {p["group"] for p in every if p["id"] not in {h["id"] for h in held}}
    assert all(p["group"] not in trained_on and p["question"] for p in held)


def test_the_run_log_says_who_trains(demo_rm):
    log = (demo_rm / "training.log").read_text(encoding="utf-8")
    assert "1 process (world size 1), cpu" in log


def test_the_run_folder_is_a_one_output_classifier(demo_rm):
    config = json.loads((demo_rm / "config.json").read_text(encoding="utf-8"))
    assert len(config["id2label"]) == 1
    assert config["architectures"] == ["Qwen2ForSequenceClassification"]


def test_a_rerun_resumes_from_the_newest_checkpoint(demo_rm, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(demo_rm, copy)
    data = tiny_pairs(tmp_path / "pairs.jsonl")  # the same pairs, split the same way
    argv = ["--output_dir", str(copy), "--eval_share", "0.25", "--max_steps", "3"]
    assert train_rm("--dataset_path", str(data), *argv) == 0
    log = (copy / "training.log").read_text(encoding="utf-8")
    assert "resuming from checkpoint-2 at global step 2" in log
    state = json.loads((copy / "trainer_state.json").read_text(encoding="utf-8"))
    assert state["global_step"] == 3


def test_the_trained_model_is_a_column_of_rewards_score(demo_rm, tmp_path):
    from rewards.cli import main as rewards_main

    preset = tmp_path / "rm.yaml"
    preset.write_text(
        "name: rm\ncomponents: {learned: 1.0, format: 0.5}\n"
        f"settings:\n  learned: {{reward_model: {demo_rm}, batch_size: 4}}\n",
        encoding="utf-8",
    )
    completions = tmp_path / "c.jsonl"
    with completions.open("w", encoding="utf-8") as fh:
        for pair in map(json.loads, PAIRS.read_text(encoding="utf-8").splitlines()[:3]):
            for side in ("chosen", "rejected"):
                row = {"id": f"{pair['id']}-{side}", "completion": pair[side]}
                row.update(question=pair["question"], options=pair["options"])
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    scored = tmp_path / "scored.csv"
    assert rewards_main(["score", "--input", str(completions), "--preset", str(preset),
                         "--output", str(scored)]) == 0  # fmt: skip
    rows = list(csv.DictReader(scored.open(encoding="utf-8")))
    assert len(rows) == 6 and "learned" in rows[0]
    assert all(0.0 <= float(r["learned"]) <= 1.0 for r in rows)


def test_a_lora_run_saves_an_adapter_that_scores_as_a_component(tmp_path, monkeypatch):
    import rewards

    data = tiny_pairs(tmp_path / "pairs.jsonl")
    out = tmp_path / "lora"
    args = ["--use_peft", "true", "--lora_target_modules", "q_proj", "v_proj"]
    assert train_rm("--dataset_path", str(data), "--output_dir", str(out), *args) == 0
    assert (out / "adapter_config.json").is_file()
    monkeypatch.chdir(tmp_path)  # the recipe names the base model relative to the repo root
    preset = rewards.Preset("p", "", {"rm": 1.0}, {"rm": {"reward_model": str(out)}})
    found = rewards.scoring.score_batch(["答案：A", "答案：B"], None, preset)
    assert all(0.0 <= b.components["rm"] <= 1.0 for b in found)


def test_pairs_from_labels_pair_good_with_bad_on_the_same_question(tmp_path):
    path = tmp_path / "labelled.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "question", "completion", "good"])
        writer.writerows(
            [
                ["a1", "甲題", "答案：A 好", "1"],
                ["a2", "甲題", "答案：B 壞", "0"],
                ["a3", "甲題", "答案：C 壞", "0"],
                ["b1", "乙題", "答案：D 好", "yes"],
                ["c1", "丙題", "答案：A 壞", "no"],
            ]
        )
    pairs = pairs_from_labels(path, "good", seed=0)
    ids = sorted(p["id"] for p in pairs)
    # a1 with each bad answer to its question; b1 and c1 have no partner there: paired across.
    assert ids == ["a1>a2", "a1>a3", "b1>c1"]
    assert all("好" in p["chosen"][-1]["content"] for p in pairs)
    assert all("壞" in p["rejected"][-1]["content"] for p in pairs)


def test_pairs_are_the_conversations_the_reward_model_scores():
    from rewards.learned import conversation
    from rewards.registry import Sample

    pair = load_pairs(PAIRS)[0]
    first = json.loads(PAIRS.read_text(encoding="utf-8").splitlines()[0])
    sample = Sample(question=first["question"], options=first["options"])
    assert pair["chosen"] == conversation(first["chosen"], sample)
    assert [m["role"] for m in pair["chosen"]] == ["system", "user", "assistant"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--dataset_path", "no/such/pairs.jsonl"], "file not found"),
        (["--eval_share", "1.5"], "eval_share"),
        (["--model_name_or_path", "./no/such-model"], "folder not found"),
        (["--pairs_from_labels", "nope"], "no label column"),
    ],
)
def test_bad_inputs_exit_2_with_one_line(args, message, tmp_path, capsys):
    code = train_rm("--dataset_path", str(PAIRS), "--output_dir", str(tmp_path / "out"), *args)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert message in err[-1] and err[-1].startswith("python -m training rm: error:")


def test_a_pairs_file_without_rejected_answers_is_refused(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"chosen": "答案：A"}\n{"chosen": "答案：B", "rejected": ""}\n', "utf-8")
    with pytest.raises(mcq.DataError, match="2 invalid pair row"):
        load_pairs(bad)


def test_curves_of_a_reward_model_run_show_loss_accuracy_and_margin(demo_rm, tmp_path):
    from PIL import Image

    from training.__main__ import main as training_main
    from training.curves import find_trainer_state, is_reward_model_run, load_history

    history = load_history(find_trainer_state(demo_rm))
    assert is_reward_model_run(history) and all("accuracy" in e for e in history)
    png = tmp_path / "rm-curves.png"
    assert training_main(["curves", "--input", str(demo_rm), "--output", str(png)]) == 0
    panels = Image.open(png).info["Description"]
    assert panels.startswith("Loss (Bradley-Terry); Pairwise accuracy") and "Margin" in panels
    assert "KL" not in panels
