"""Specification of held-out accuracy while `python -m training grpo` trains: which questions are
held out, what each evaluation logs, the best checkpoint, and that the answers are the ones
`python -m inference generate --backend transformers` gives. Real TRL and the demo models (CPU)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import mcq
from mcq.paths import CONFIGS, REPO_ROOT

ONE_THREAD = {"OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
HELD = 12
#: Two steps, evaluated after each; checkpoints only at step 2, so a best step 1 must point there.
EVAL_RUN = [
    "--max_steps", "2", "--per_device_train_batch_size", "4", "--num_generations", "4",
    "--max_completion_length", "32", "--logging_steps", "1",
    "--save_strategy", "steps", "--save_steps", "2",
    "--eval_share", "0.1", "--eval_max_questions", str(HELD), "--eval_steps", "1",
    "--eval_max_new_tokens", "32",
]  # fmt: skip


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def eval_run(tmp_path_factory) -> Path:
    """A finished 2-step demo GRPO run holding out 12 questions, evaluated at steps 1 and 2."""
    run_dir = tmp_path_factory.mktemp("heldout") / "run"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), HF_HUB_OFFLINE="1", **ONE_THREAD)
    argv = ["grpo", "--config", str(CONFIGS / "demo-cpu.yaml"), "--output_dir", str(run_dir)]
    proc = subprocess.run(
        [sys.executable, "-m", "training", *argv, *EVAL_RUN],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return run_dir


def eval_entries(run_dir: Path) -> list[dict]:
    history = read_json(run_dir / "trainer_state.json")["log_history"]
    return [entry for entry in history if "eval/accuracy" in entry]


# --- what a run logs -----------------------------------------------------------------------------


def test_each_eval_step_logs_accuracy_inside_its_95_percent_interval(eval_run):
    entries = eval_entries(eval_run)
    assert [e["step"] for e in entries] == [1, 2]
    for e in entries:
        assert 0.0 <= e["eval/accuracy_ci_low"] <= e["eval/accuracy"] <= e["eval/accuracy_ci_high"]
        assert e["eval/accuracy_ci_high"] <= 1.0
        assert e["eval/n"] == HELD


def test_letter_shares_with_no_letter_and_ambiguous_sum_to_one(eval_run):
    for e in eval_entries(eval_run):
        shares = [e[f"eval/letter/{x}"] for x in mcq.LETTERS]
        assert sum(shares) + e["eval/no_letter"] + e["eval/ambiguous"] == pytest.approx(1.0)


def test_eval_logs_the_mean_of_every_component_of_the_preset(eval_run):
    import rewards

    names = rewards.load_preset("default").weights
    for e in eval_entries(eval_run):
        for name in names:
            assert 0.0 <= e[f"eval/rewards/{name}"] <= 1.0, name


def test_training_metrics_are_still_logged_at_every_step(eval_run):
    history = read_json(eval_run / "trainer_state.json")["log_history"]
    assert [e["step"] for e in history if "reward" in e] == [1, 2]


def test_each_evaluation_writes_one_line_in_the_run_log(eval_run):
    lines = (eval_run / "training.log").read_text(encoding="utf-8").splitlines()
    for step in (1, 2):
        found = [line for line in lines if f"held-out at step {step}: accuracy" in line]
        assert len(found) == 1, found


def test_best_checkpoint_names_the_best_step_and_a_checkpoint_saved_at_or_after_it(eval_run):
    best = read_json(eval_run / "zhongli_run.json")["best_checkpoint"]
    entries = eval_entries(eval_run)
    top = max(e["eval/accuracy"] for e in entries)
    assert best["eval_accuracy"] == top
    assert best["step"] == min(e["step"] for e in entries if e["eval/accuracy"] == top)
    assert Path(best["path"]) == eval_run / "checkpoint-2"  # the only checkpoint, at step 2
    assert (Path(best["path"]) / "adapter_model.safetensors").is_file()


# --- which questions are held out ----------------------------------------------------------------


def script_args(**values) -> SimpleNamespace:
    defaults = dict(eval_share=0.0, eval_input=None, eval_max_questions=None, dataset_seed=42)
    return SimpleNamespace(**(defaults | values))


def test_held_out_questions_are_not_in_the_training_set(sample_train):
    from training.grpo_data import build_datasets

    args = script_args(
        dataset_path=str(sample_train), encoding=None, skip_invalid=False, dataset_fraction=1.0,
        max_samples=None, max_prompt_length=None, prompt="default", system_prompt=None,
        eval_share=0.1, eval_max_questions=HELD,
    )  # fmt: skip
    dataset, held = build_datasets(args)
    total = len(mcq.load_train(sample_train))
    assert len(held) == HELD
    assert not {q.id for q in held} & set(dataset["id"])
    assert len(dataset) == total - round(total * 0.1)  # the capped-off ones stay out too
    again = build_datasets(args)[1]
    assert [q.id for q in again] == [q.id for q in held]  # reproducible by dataset_seed


def test_a_question_and_its_other_script_copy_land_on_one_side(sample_train):
    from rewards.text import to_simplified
    from training.heldout import split_heldout

    questions = mcq.load_train(sample_train)
    copies = [
        mcq.Question(
            id=f"{q.id}-s", question=to_simplified(q.question), options=q.options,
            correct_answer=q.correct_answer,
        )
        for q in questions
    ]  # fmt: skip
    train, held = split_heldout(questions + copies, script_args(eval_share=0.3))
    held_ids = {q.id for q in held}
    assert held_ids and train
    for q in questions:
        assert (q.id in held_ids) == (f"{q.id}-s" in held_ids), q.id


def test_eval_input_questions_are_left_out_of_training_and_win_over_eval_share(
    tmp_path, sample_train
):
    from training.heldout import split_heldout

    questions = mcq.load_train(sample_train)
    lines = sample_train.read_text(encoding="utf-8").splitlines()
    subset = tmp_path / "heldout.tsv"
    subset.write_text("\n".join(lines[:6]) + "\n", encoding="utf-8")  # header + 5 questions
    train, held = split_heldout(questions, script_args(eval_input=str(subset), eval_share=0.2))
    assert [q.id for q in held] == [q.id for q in questions[:5]]
    assert [q.id for q in train] == [q.id for q in questions[5:]]


# --- the same answers as `inference generate` ----------------------------------------------------


def test_eval_answers_are_the_letters_inference_generate_gives(tmp_path, sample_test, demo_grpo):
    """The evaluation's function on demo-grpo in memory, and `inference generate --backend
    transformers` on the same questions: the same letters (generate re-asks where no letter
    was found; the evaluation leaves those without one)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from inference.backends.transformers import TransformersBackend
    from inference.cli import main as inference_main
    from training.heldout_eval import answer_heldout

    lines = sample_test.read_text(encoding="utf-8").splitlines()
    subset = tmp_path / "questions.tsv"
    subset.write_text("\n".join(lines[: HELD + 1]) + "\n", encoding="utf-8")
    questions = mcq.load_test(subset)
    tokens = "32"
    code = inference_main(
        ["generate", "--model", str(demo_grpo), "--input", str(subset), "--output-dir",
         str(tmp_path / "gen"), "--backend", "transformers", "--max-new-tokens", tokens,
         "--chunk-size", str(HELD), "--engine-arg", f"batch_size={HELD}"]
    )  # fmt: skip
    assert code == 0
    with (tmp_path / "gen" / "detailed_results.csv").open(encoding="utf-8", newline="") as f:
        generated = list(csv.DictReader(f))

    tokenizer = AutoTokenizer.from_pretrained(demo_grpo)
    lm = AutoModelForCausalLM.from_pretrained(demo_grpo).eval()
    backend = TransformersBackend.from_loaded(lm, tokenizer, batch_size=HELD)
    texts, breakdowns = answer_heldout(
        backend, questions, mcq.load_prompt("default"), "default", max_new_tokens=int(tokens)
    )
    assert [r["id"] for r in generated] == [q.id for q in questions]
    # Letters, not whole texts: after the answer line, float noise between two batchings of the
    # same greedy decode may pick another token late in a long reasoning.
    assert len(texts) == len(generated)
    for b, row in zip(breakdowns, generated, strict=True):
        expected = row["answer"] if row["answer_source"] == "extracted" else None
        assert b.answer == expected, row["id"]
    assert any(b.answer for b in breakdowns)  # the comparison says something


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("missing.tsv", None, "file not found"),
        ("no_gold.tsv", "id\tquestion\toption_A\toption_B\toption_C\toption_D\nq1\t?\ta\tb\tc\td\n",
         "no question has a gold answer"),
    ],
)  # fmt: skip
def test_unusable_eval_input_exits_2_with_one_line_before_training(
    tmp_path, capsys, name, text, message
):
    from training.__main__ import main

    path = tmp_path / name
    if text is not None:
        path.write_text(text, encoding="utf-8")
    run = tmp_path / "run"
    code = main(["grpo", "--config", str(CONFIGS / "demo-cpu.yaml"), "--output_dir", str(run),
                 "--eval_input", str(path)])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and err.startswith(
        f"python -m training grpo: error: eval_input {path}"
    )
    assert message in err
    assert not run.exists()  # refused before the run folder is made


def test_a_resumed_run_keeps_its_earlier_best_checkpoint_and_a_fresh_run_drops_it(tmp_path):
    from training.runlog import _carried_best, record_best_checkpoint

    best = {"step": 4, "path": str(tmp_path / "checkpoint-4"), "eval_accuracy": 0.5}
    (tmp_path / "zhongli_run.json").write_text("{}", encoding="utf-8")
    record_best_checkpoint(tmp_path, best)
    assert read_json(tmp_path / "zhongli_run.json")["best_checkpoint"] == best
    assert _carried_best(tmp_path, [{"start_step": 0}, {"start_step": 6}]) == best
    assert _carried_best(tmp_path, [{"start_step": 0}]) is None  # a fresh start
    assert _carried_best(tmp_path, [{"start_step": 2}]) is None  # resumed before that best
