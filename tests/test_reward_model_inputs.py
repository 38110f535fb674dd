"""A reward model reads the conversation the way it was trained, and refuses what is not one.

Real parts: conftest's ``demo_classifier`` (demo-base saved as a one-output sequence classifier,
its head in the weights; the demo tokenizer has a ChatML chat template), run by hand with
transformers to get the numbers the component and ``evals rewards`` must reproduce. The model
hub is the one part that cannot run here: it is made unreachable on purpose.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time

import pytest

import mcq
import rewards
from mcq.paths import REPO_ROOT
from mcq.prompt import build_messages
from rewards.judgments import read_pairs
from rewards.registry import Sample

QUESTION = "依現行中華民國憲法增修條文，總統、副總統的任期為何？"
OPTIONS = {"A": "四年", "B": "六年", "C": "五年", "D": "三年"}
ANSWER = "答案：A\n理由：憲法增修條文規定任期四年，連選得連任一次。"


def rm_preset(folder, model) -> rewards.Preset:
    return rewards.Preset("rm", "", {"rm": 1.0}, {"rm": {"reward_model": str(model)}})


def logit_by_hand(model_dir, messages=None, text=None) -> float:
    """The model's score, run by hand: the chat template's tokens (or a text's), one forward."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=1).eval()
    if messages is not None:
        ids = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"]
    else:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    with torch.inference_mode():
        return float(model(input_ids=torch.tensor([ids])).logits[0, 0])


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def test_the_component_scores_the_chat_template_of_the_question_as_the_policy_was_asked(
    demo_classifier,
):
    sample = Sample(question=QUESTION, options=OPTIONS)
    found = rewards.score(ANSWER, sample, rm_preset(None, demo_classifier)).components["rm"]
    q = mcq.Question(id="", question=QUESTION, options=OPTIONS)
    messages = [*build_messages(q), {"role": "assistant", "content": ANSWER}]
    assert found == pytest.approx(sigmoid(logit_by_hand(demo_classifier, messages)), abs=1e-5)


@pytest.mark.parametrize(
    "prompt",
    [
        "總統任期幾年？",
        [{"role": "system", "content": "簡答"}, {"role": "user", "content": "任期？"}],
    ],
    ids=["text", "messages"],
)
def test_a_rows_own_prompt_is_what_the_answer_replies_to(demo_classifier, prompt):
    sample = Sample(question=QUESTION, options=OPTIONS, prompt=prompt)
    found = rewards.score(ANSWER, sample, rm_preset(None, demo_classifier)).components["rm"]
    before = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
    messages = [*before, {"role": "assistant", "content": ANSWER}]
    assert found == pytest.approx(sigmoid(logit_by_hand(demo_classifier, messages)), abs=1e-5)


def test_a_tokenizer_without_a_chat_template_reads_the_plain_text(demo_classifier, tmp_path):
    from rewards.learned import input_format, plain_text

    plain = tmp_path / "plain"
    shutil.copytree(demo_classifier, plain)
    (plain / "chat_template.jinja").unlink(missing_ok=True)
    config = json.loads((plain / "tokenizer_config.json").read_text(encoding="utf-8"))
    config.pop("chat_template", None)
    (plain / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    preset = rm_preset(None, plain)
    found = rewards.score(ANSWER, Sample(prompt="任期？"), preset).components["rm"]
    messages = [{"role": "user", "content": "任期？"}, {"role": "assistant", "content": ANSWER}]
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(plain)
    assert not tokenizer.chat_template
    text = plain_text(messages) + tokenizer.eos_token
    assert found == pytest.approx(sigmoid(logit_by_hand(plain, text=text)), abs=1e-5)
    assert input_format(preset.settings["rm"]) == "plain"


def rewardbench_pairs(path):
    """prompt, chosen, rejected, subset — RewardBench's columns — with one multi-turn pair."""
    rows = [
        {"id": "p1", "prompt": "總統任期幾年？", "chosen": "四年。", "rejected": "六年。", "subset": "civics"},
        {"id": "p2", "prompt": "總統可連任幾次？", "chosen": "一次。", "rejected": "不限。", "subset": "civics"},
        {"id": "p3", "prompt": "立法委員任期？", "chosen": "四年，可連任。", "rejected": "終身。", "subset": "law"},
        {
            "id": "p4",
            "prompt": [{"role": "user", "content": "請簡答。"}],
            "chosen": [{"role": "assistant", "content": "好。"}, {"role": "user", "content": "任期？"},
                       {"role": "assistant", "content": "四年。"}],
            "rejected": [{"role": "assistant", "content": "好。"}, {"role": "user", "content": "任期？"},
                         {"role": "assistant", "content": "不知道。"}],
            "subset": "law",
        },
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return rows


def conversation_of(row, side):
    prompt = row["prompt"]
    before = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
    answer = row[side]
    return before + (
        answer if isinstance(answer, list) else [{"role": "assistant", "content": answer}]
    )


def test_message_lists_keep_every_message_and_the_prompt_column_is_used(tmp_path):
    rows = rewardbench_pairs(tmp_path / "rb.jsonl")
    pairs = read_pairs(tmp_path / "rb.jsonl")
    assert pairs[0]["chosen_prompt"] == [{"role": "user", "content": "總統任期幾年？"}]
    assert pairs[3]["chosen"] == "四年。" and pairs[3]["rejected"] == "不知道。"
    assert pairs[3]["chosen_prompt"] == conversation_of(rows[3], "chosen")[:-1]
    assert len(pairs[3]["rejected_prompt"]) == 3


def test_evals_rewards_on_a_rewardbench_file_gives_the_accuracy_from_the_models_own_scores(
    demo_classifier, tmp_path
):
    from evals.__main__ import main as evals_main

    rows = rewardbench_pairs(tmp_path / "rb.jsonl")
    preset = tmp_path / "rm.yaml"
    preset.write_text(
        f"name: rm\ncomponents: {{rm: 1.0}}\nsettings:\n  rm: {{reward_model: {demo_classifier}}}\n",
        encoding="utf-8",
    )
    out = tmp_path / "report"
    argv = ["rewards", "--pairs", str(tmp_path / "rb.jsonl"), "--preset", str(preset)]
    assert evals_main([*argv, "--output-dir", str(out), "--resamples", "50"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))["components"]["rm"]

    def right(row):
        good, bad = (
            round(sigmoid(logit_by_hand(demo_classifier, conversation_of(row, side))), 6)
            for side in ("chosen", "rejected")
        )
        return good > bad

    by_hand = {row["id"]: right(row) for row in rows}
    assert summary["accuracy"] == pytest.approx(sum(by_hand.values()) / len(rows))
    for subset in ("civics", "law"):
        mine = [by_hand[r["id"]] for r in rows if r["subset"] == subset]
        assert summary["subsets"][subset]["accuracy"] == pytest.approx(sum(mine) / len(mine))
    assert summary["input_format"] == "chat_template"
    assert "chat template" in (out / "report.md").read_text(encoding="utf-8")


def test_training_rm_writes_heldout_pairs_as_conversations(demo_rm):
    first = json.loads((demo_rm / "heldout_pairs.jsonl").read_text("utf-8").splitlines()[0])
    assert [m["role"] for m in first["chosen"]] == ["system", "user", "assistant"]
    assert first["chosen"][:-1] == first["rejected"][:-1]  # one question, two answers


@pytest.mark.parametrize(
    "env",
    [{"HF_HUB_OFFLINE": "1"}, {"HF_ENDPOINT": "http://127.0.0.1:9"}],
    ids=["offline", "refused"],
)
def test_a_hub_reward_model_without_the_hub_fails_in_seconds_in_one_line(tmp_path, env):
    data = tmp_path / "c.csv"
    data.write_text("id,completion\n1,答案：A\n", encoding="utf-8")
    preset = tmp_path / "hub.yaml"
    preset.write_text(
        "name: hub\ncomponents: {rm: 1.0}\nsettings:\n  rm: {reward_model: no-org/no-such-rm}\n",
        encoding="utf-8",
    )
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "rewards", "score", "--input", str(data), "--preset", str(preset)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HF_HOME": str(tmp_path / "hf"), **env},
    )
    elapsed = time.perf_counter() - started
    assert run.returncode == 2, run.stderr
    assert [line for line in run.stderr.splitlines() if line.strip()] == [run.stderr.strip()]
    assert "cannot be reached" in run.stderr
    assert elapsed < 30  # transformers alone retries for about 52 s


def test_a_completions_files_prompt_column_reaches_the_reward_model(demo_classifier, tmp_path):
    from rewards.io import load_completions, score_rows

    chat = [{"role": "user", "content": "總統任期幾年？"}]
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"id": "1", "completion": ANSWER, "prompt": chat}) + "\n", "utf-8")
    preset = rm_preset(None, demo_classifier)
    found = score_rows(load_completions(path), preset)[0]["rm"]
    assert found == rewards.score(ANSWER, Sample(prompt=chat), preset).components["rm"]
    assert found != rewards.score(ANSWER, Sample(), preset).components["rm"]


def test_evals_score_passes_a_prompt_column_to_the_reward_model(demo_classifier, tmp_path):
    from evals.data import score_file

    chat = [{"role": "user", "content": "總統任期幾年？"}]
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"id": "1", "completion": ANSWER, "prompt": chat}) + "\n", "utf-8")
    preset = tmp_path / "rm.yaml"
    preset.write_text(
        f"name: rm\ncomponents: {{rm: 1.0}}\nsettings:\n  rm: {{reward_model: {demo_classifier}}}\n",
        encoding="utf-8",
    )
    found = score_file(path, preset=str(preset), progress=False).rows[0].components["rm"]
    loaded = rewards.load_preset(preset)
    assert found == rewards.score(ANSWER, Sample(prompt=chat), loaded).components["rm"]


@pytest.fixture(scope="module")
def lora_rm(tmp_path_factory):
    """A LoRA reward model from ``training rm`` (its adapter saves the score head it trained)."""
    from tests.conftest import tiny_pairs, train_rm

    folder = tmp_path_factory.mktemp("lora-rm")
    out = folder / "run"
    args = ["--use_peft", "true", "--lora_target_modules", "q_proj", "v_proj"]
    data = str(tiny_pairs(folder / "pairs.jsonl"))
    assert train_rm("--dataset_path", data, "--output_dir", str(out), *args) == 0
    return out


def test_an_adapter_that_restores_the_head_loads_without_a_load_report(lora_rm, capfd):
    from rewards.learned import load_reward_model

    capfd.readouterr()
    model, _, _ = load_reward_model(str(lora_rm), "cpu", "float32")
    shown = capfd.readouterr()
    assert model.config.num_labels == 1
    assert "LOAD REPORT" not in shown.out + shown.err


def test_an_adapter_without_the_head_is_refused(lora_rm, tmp_path):
    from safetensors.torch import load_file, save_file

    from rewards.learned import load_reward_model

    headless = tmp_path / "headless"
    shutil.copytree(lora_rm, headless, ignore=shutil.ignore_patterns("checkpoint-*"))
    weights = load_file(headless / "adapter_model.safetensors")
    assert any("score" in key for key in weights)
    kept = {k: v for k, v in weights.items() if "score" not in k}
    save_file(kept, headless / "adapter_model.safetensors")
    with pytest.raises(mcq.DataError, match="does not restore the classification head"):
        load_reward_model(str(headless), "cpu", "float32")


def test_generate_scores_each_answer_after_the_prompt_the_model_was_asked(
    demo_classifier, demo_base, sample_test, tmp_path
):
    import csv

    from inference.__main__ import main as inference_main

    subset = tmp_path / "q.tsv"
    subset.write_text("".join(sample_test.read_text("utf-8").splitlines(True)[:3]), "utf-8")
    preset = tmp_path / "rm.yaml"
    preset.write_text(
        f"name: rm\ncomponents: {{rm: 1.0}}\nsettings:\n  rm: {{reward_model: {demo_classifier}}}\n",
        encoding="utf-8",
    )
    argv = ["generate", "--model", str(demo_base), "--input", str(subset), "--backend",
            "transformers", "--max-new-tokens", "8", "--prompt", "fewshot", "--preset",
            str(preset), "--output-dir", str(tmp_path / "out")]  # fmt: skip
    assert inference_main(argv) == 0
    with (tmp_path / "out" / "detailed_results.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    questions = {q.id: q for q in mcq.load_test(subset)}
    loaded = rewards.load_preset(preset)
    for row in rows:
        asked = build_messages(questions[row["id"]], "fewshot")  # the few-shot turns included
        expected = rewards.score(row["response"], Sample(prompt=asked), loaded).components["rm"]
        assert float(row["rm"]) == pytest.approx(expected, abs=1e-4)
