"""Specification of `python -m training`: GRPO runs, resume after a kill, QLoRA, data checks,
curves and the hub model card. Real TRL, PEFT and bitsandbytes on the demo model (CPU)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import mcq

ROOT = Path(__file__).resolve().parents[1]
# One compute thread per training subprocess: on a small shared CPU, OpenMP threads that
# compete with other processes spin-wait and make each step 10-100x slower.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
DEMO_BASE = "assets/models/demo-base"
TRAIN_TSV = "assets/data/sample_train.tsv"
QWEN_RECIPE = ROOT / "assets/configs/qwen2.5-7b-qlora.yaml"

# Small but real: 4 completions per step (one question x 4), LoRA on the attention projections.
GRPO_ARGS = [
    "--model_name_or_path", DEMO_BASE,
    "--dataset_path", TRAIN_TSV,
    "--per_device_train_batch_size", "4",
    "--num_generations", "4",
    "--max_completion_length", "32",
    "--use_peft", "true",
    "--lora_r", "8",
    "--lora_alpha", "16",
    "--lora_target_modules", "q_proj", "k_proj", "v_proj", "o_proj",
    "--learning_rate", "1e-4",
    "--bf16", "false",
    "--logging_steps", "1",
    "--save_steps", "1",
    "--seed", "0",
]  # fmt: skip


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python -m training ARGS`` from the repository root, as a user would."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", **ONE_THREAD)
    return subprocess.run(
        [sys.executable, "-m", "training", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def read_state(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def logged_steps(state: dict) -> list[int]:
    return [entry["step"] for entry in state["log_history"] if "loss" in entry]


@pytest.fixture(scope="session")
def grpo_run(tmp_path_factory) -> Path:
    """A finished 2-step GRPO LoRA run (with a KL term, so every curve has data)."""
    run_dir = tmp_path_factory.mktemp("grpo") / "run"
    proc = run_cli(
        "grpo",
        *GRPO_ARGS,
        "--output_dir",
        str(run_dir),
        "--max_steps",
        "2",
        "--max_samples",
        "16",
        "--beta",
        "0.04",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return run_dir


# --- GRPO runs -----------------------------------------------------------------------------------


def test_grpo_run_trains_two_steps_and_saves_the_lora_adapter(grpo_run):
    from safetensors import safe_open

    assert read_state(grpo_run / "trainer_state.json")["global_step"] == 2
    adapter_config = read_state(grpo_run / "adapter_config.json")
    assert adapter_config["r"] == 8
    assert set(adapter_config["target_modules"]) == {"q_proj", "k_proj", "v_proj", "o_proj"}
    with safe_open(str(grpo_run / "adapter_model.safetensors"), framework="pt") as weights:
        names = weights.keys()
    assert any("lora_A" in name for name in names)
    assert (grpo_run / "tokenizer.json").is_file()


def test_grpo_run_logs_every_reward_component_of_the_preset(grpo_run):
    import rewards.trl  # binds `rewards` too

    names = [f.__name__ for f in rewards.trl.reward_funcs(rewards.load_preset("default"))]
    entries = [e for e in read_state(grpo_run / "trainer_state.json")["log_history"] if "loss" in e]
    assert names and len(entries) == 2
    for name in names:
        assert all(f"rewards/{name}/mean" in entry for entry in entries), name


def test_training_log_holds_the_resolved_config(grpo_run):
    text = (grpo_run / "training.log").read_text(encoding="utf-8")
    assert '"lora_r": 8' in text
    assert '"max_steps": 2' in text
    assert '"max_samples": 16' in text
    assert "training on 16" in text
    info = read_state(grpo_run / "zhongli_run.json")
    # A local base is recorded absolute, so the adapter loads from any folder.
    assert info["base_model"] == str((ROOT / DEMO_BASE).resolve())
    adapter = read_state(grpo_run / "adapter_config.json")
    assert adapter["base_model_name_or_path"] == info["base_model"]
    assert info["reward_preset"] == "default"
    assert info["prompt"] == {
        "name": "default",
        "path": mcq.DEFAULT_PROMPT.path,
        "fingerprint": mcq.DEFAULT_PROMPT.fingerprint,
    }


def test_qwen_recipe_has_the_competition_settings():
    from training.grpo import make_parser

    script, train, model = make_parser().parse_args_and_config(["--config", str(QWEN_RECIPE)])
    assert (
        train.learning_rate,
        train.per_device_train_batch_size,
        train.gradient_accumulation_steps,
    ) == (
        3e-5,
        16,
        2,
    )
    assert train.num_train_epochs == 2
    assert script.max_prompt_length + train.max_completion_length == 1024
    assert (train.save_steps, train.logging_steps) == (200, 10)
    assert train.gradient_checkpointing and train.report_to == ["tensorboard"]
    assert (model.lora_r, model.lora_alpha, model.lora_dropout) == (16, 32, 0.05)
    assert set(model.lora_target_modules) == {
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"
    }  # fmt: skip
    assert model.load_in_4bit and model.bnb_4bit_quant_type == "nf4" and model.use_bnb_nested_quant
    assert (train.loss_type, train.scale_rewards, train.beta) == ("dapo", "group", 0.0)
    assert train.generation_batch_size % train.num_generations == 0


def test_command_line_overrides_the_recipe():
    from training.grpo import make_parser

    script, train, _ = make_parser().parse_args_and_config(
        ["--config", str(QWEN_RECIPE), "--max_samples", "64", "--learning_rate", "1e-5"]
    )
    assert script.max_samples == 64 and train.learning_rate == 1e-5


# --- data selection ------------------------------------------------------------------------------


def test_dataset_fraction_draws_a_seeded_subset_in_file_order():
    from training.grpo import ScriptArguments, build_dataset

    total = len(mcq.load_train(ROOT / TRAIN_TSV))
    half = build_dataset(
        ScriptArguments(dataset_path=str(ROOT / TRAIN_TSV), dataset_fraction=0.5, dataset_seed=1)
    )
    again = build_dataset(
        ScriptArguments(dataset_path=str(ROOT / TRAIN_TSV), dataset_fraction=0.5, dataset_seed=1)
    )
    other = build_dataset(
        ScriptArguments(dataset_path=str(ROOT / TRAIN_TSV), dataset_fraction=0.5, dataset_seed=2)
    )
    assert len(half) == round(total * 0.5)
    assert half["id"] == again["id"]
    assert half["id"] != other["id"]
    order = [q.id for q in mcq.load_train(ROOT / TRAIN_TSV)]
    assert half["id"] == sorted(half["id"], key=order.index)


def test_max_samples_caps_rows_that_carry_prompt_and_reward_columns():
    from training.grpo import ScriptArguments, build_dataset

    rows = build_dataset(ScriptArguments(dataset_path=str(ROOT / TRAIN_TSV), max_samples=5))
    first = mcq.load_train(ROOT / TRAIN_TSV)[0]
    assert len(rows) == 5
    assert {"prompt", "id", "question", "correct_answer", "option_A", "option_D"} <= set(
        rows.column_names
    )
    assert rows[0]["prompt"] == mcq.build_messages(first)
    assert rows[0]["correct_answer"] == first.correct_answer


def test_max_prompt_length_drops_longer_prompts():
    from transformers import AutoTokenizer

    from training.grpo import ScriptArguments, _prompt_tokens, build_dataset

    tokenizer = AutoTokenizer.from_pretrained(ROOT / DEMO_BASE)

    def tokens(prompt):
        return _prompt_tokens(tokenizer, prompt)

    path = str(ROOT / TRAIN_TSV)
    everything = build_dataset(
        ScriptArguments(dataset_path=path, max_prompt_length=None), tokenizer
    )
    limit = sorted(tokens(p) for p in everything["prompt"])[len(everything) // 2]
    kept = build_dataset(ScriptArguments(dataset_path=path, max_prompt_length=limit), tokenizer)
    assert 0 < len(kept) < len(everything)
    assert all(tokens(p) <= limit for p in kept["prompt"])


def test_dropped_long_prompts_are_counted_in_one_warning_line(caplog):
    from transformers import AutoTokenizer

    from training.grpo import ScriptArguments, _prompt_tokens, build_dataset

    tokenizer = AutoTokenizer.from_pretrained(ROOT / DEMO_BASE)
    path = str(ROOT / TRAIN_TSV)
    everything = build_dataset(ScriptArguments(dataset_path=path, max_prompt_length=None))
    lengths = sorted(_prompt_tokens(tokenizer, row["prompt"]) for row in everything)
    limit = lengths[len(lengths) // 2]  # the median: about half the prompts are longer
    with caplog.at_level(logging.WARNING, logger="training"):
        kept = build_dataset(ScriptArguments(dataset_path=path, max_prompt_length=limit), tokenizer)
    longer = sum(n > limit for n in lengths)
    assert 0 < longer < len(everything) and len(kept) == len(everything) - longer
    dropped = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert dropped == [
        f"data: dropped {longer} of {len(everything)} questions whose "
        f"prompt is longer than max_prompt_length {limit} tokens"
    ]


def test_prompt_argument_chooses_the_prompt_variant():
    from training.grpo import ScriptArguments, build_dataset

    path = str(ROOT / TRAIN_TSV)
    rows = build_dataset(ScriptArguments(dataset_path=path, max_samples=2, prompt="fewshot"))
    first = mcq.load_train(ROOT / TRAIN_TSV)[0]
    assert rows[0]["prompt"] == mcq.build_messages(first, "fewshot")
    assert [m["role"] for m in rows[0]["prompt"]] == ["system", "user", "assistant", "user"]


def test_unknown_prompt_is_a_usage_error():
    from training.grpo import ScriptArguments, UsageError, build_dataset

    with pytest.raises(UsageError, match="^unknown prompt 'nope'; use one of"):
        build_dataset(ScriptArguments(dataset_path=str(ROOT / TRAIN_TSV), prompt="nope"))


# --- QLoRA ---------------------------------------------------------------------------------------


def test_qlora_loads_the_model_in_4bit_on_cpu_and_trains_lora_weights():
    import bitsandbytes as bnb
    import torch
    from peft import get_peft_model
    from trl import get_peft_config

    from training.grpo import load_policy, make_parser

    _, train, model_args = make_parser().parse_args_and_config(
        [
            "--model_name_or_path", str(ROOT / DEMO_BASE), "--output_dir", "unused",
            "--load_in_4bit", "true", "--use_bnb_nested_quant", "true", "--bnb_4bit_quant_type", "nf4",
            "--use_peft", "true", "--lora_target_modules", "q_proj", "v_proj", "--bf16", "false",
        ]
    )  # fmt: skip
    model = get_peft_model(load_policy(model_args, train), get_peft_config(model_args))
    quantized = [m for m in model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    assert quantized and quantized[0].weight.quant_type == "nf4"
    out = model(input_ids=torch.tensor([[1, 5, 9, 20, 30]]))
    assert torch.isfinite(out.logits).all()
    out.logits.float().logsumexp(-1).mean().backward()
    grads = [n for n, p in model.named_parameters() if p.grad is not None]
    assert grads and all("lora_" in n for n in grads)


# --- resume --------------------------------------------------------------------------------------


def test_rerun_after_sigkill_resumes_from_the_last_complete_checkpoint(tmp_path):
    from training.checkpoints import INCOMPLETE_DIR, checkpoint_problem, list_checkpoints

    run_dir = tmp_path / "run"
    args = [
        "grpo",
        *GRPO_ARGS,
        "--output_dir",
        str(run_dir),
        "--max_steps",
        "8",
        "--max_samples",
        "32",
    ]
    env = dict(os.environ, PYTHONPATH=str(ROOT), **ONE_THREAD)
    proc = subprocess.Popen(
        [sys.executable, "-m", "training", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    while not (run_dir / "checkpoint-2" / "trainer_state.json").exists():
        assert proc.poll() is None, "training ended before its 2nd checkpoint"
        assert time.monotonic() < deadline, "no 2nd checkpoint within 240 s"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    complete = [
        step for step, path in list_checkpoints(run_dir) if checkpoint_problem(path) is None
    ]
    last = max(complete)
    assert 1 <= last < 8
    # A checkpoint the kill left half-written: step last+1 with a truncated adapter file.
    broken = run_dir / f"checkpoint-{last + 1}"
    if not broken.exists():
        shutil.copytree(run_dir / f"checkpoint-{last}", broken)
        state = read_state(broken / "trainer_state.json")
        state["global_step"] = last + 1
        (broken / "trainer_state.json").write_text(json.dumps(state))
        weights = broken / "adapter_model.safetensors"
        weights.write_bytes(weights.read_bytes()[:1000])

    resumed = run_cli(*args)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    state = read_state(run_dir / "trainer_state.json")
    assert state["global_step"] == 8  # where a run without the kill ends
    assert logged_steps(state) == list(range(1, 9))  # every step once: no gap, no repeat
    log = (run_dir / "training.log").read_text(encoding="utf-8")
    assert f"resuming from checkpoint-{last} at global step {last}" in log
    assert f"training from global step {last} to 8" in log
    assert f"skipped incomplete checkpoint-{last + 1}" in log
    assert (run_dir / INCOMPLETE_DIR / f"checkpoint-{last + 1}.incomplete").is_dir()
    assert (
        checkpoint_problem(run_dir / f"checkpoint-{last + 1}") is None
    )  # rewritten by the resumed run


DAMAGE = {
    "no trainer state": lambda d: (d / "trainer_state.json").unlink(),
    "half-written trainer state": lambda d: (d / "trainer_state.json").write_text('{"global_st'),
    "truncated adapter weights": lambda d: (d / "adapter_model.safetensors").write_bytes(
        (d / "adapter_model.safetensors").read_bytes()[:-64]
    ),
    "no optimizer": lambda d: (d / "optimizer.pt").unlink(),
    "corrupt optimizer": lambda d: (d / "optimizer.pt").write_bytes(
        (d / "optimizer.pt").read_bytes()[:900]
        + b"\0" * 64
        + (d / "optimizer.pt").read_bytes()[964:]
    ),
    "no rng state": lambda d: (d / "rng_state.pth").unlink(),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_checkpoint_problem_names_each_kind_of_damage(grpo_run, tmp_path, damage):
    from training.checkpoints import checkpoint_problem

    copy = shutil.copytree(grpo_run / "checkpoint-2", tmp_path / "checkpoint-2")
    assert checkpoint_problem(copy) is None
    DAMAGE[damage](copy)
    assert checkpoint_problem(copy)


def test_broken_newest_checkpoint_is_moved_aside_not_deleted(grpo_run, tmp_path):
    from training.checkpoints import INCOMPLETE_DIR, prepare_resume

    for name in ("checkpoint-1", "checkpoint-2"):
        shutil.copytree(grpo_run / name, tmp_path / name)
    (tmp_path / "checkpoint-2" / "optimizer.pt").unlink()
    report = prepare_resume(tmp_path)
    assert report.resume_from == tmp_path / "checkpoint-1" and report.global_step == 1
    aside = tmp_path / INCOMPLETE_DIR / "checkpoint-2.incomplete"
    assert (aside / "adapter_model.safetensors").is_file()
    assert not (tmp_path / "checkpoint-2").exists()


def test_resume_false_refuses_to_overwrite_existing_checkpoints(grpo_run, tmp_path):
    from mcq.errors import UsageError
    from training.grpo import ScriptArguments, find_resume_point

    shutil.copytree(grpo_run / "checkpoint-1", tmp_path / "checkpoint-1")
    with pytest.raises(UsageError, match="already has checkpoints"):
        find_resume_point(
            tmp_path, ScriptArguments(resume=False), SimpleNamespace(resume_from_checkpoint=None)
        )


# --- curves, check-data, push, errors ------------------------------------------------------------


def test_curves_writes_a_png_with_reward_kl_loss_and_length(grpo_run, tmp_path):
    png = tmp_path / "curves.png"
    proc = run_cli("curves", str(grpo_run), "--out", str(png))
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 800 and height >= 600 and len(data) > 30_000
    from PIL import Image

    assert Image.open(png).info["Description"].startswith("Reward (weighted total and components)")

    from training.curves import find_trainer_state, load_history

    history = load_history(find_trainer_state(grpo_run))
    assert all("kl" in entry and "completions/mean_length" in entry for entry in history)


def test_check_data_summarises_a_clean_file():
    questions = mcq.load_train(ROOT / TRAIN_TSV)
    proc = run_cli("check-data", TRAIN_TSV)
    assert proc.returncode == 0
    assert f"{len(questions)} rows ({len(questions)} valid, 0 invalid)" in proc.stdout
    count_a = sum(q.correct_answer == "A" for q in questions)
    assert f"answer balance: A {count_a} (" in proc.stdout
    assert "question length (chars): min" in proc.stdout
    assert "reasoning length (chars): min" in proc.stdout
    assert "invalid rows: 0" in proc.stdout


def test_check_data_counts_prompt_tokens_with_the_chosen_prompt_variant():
    from transformers import AutoTokenizer

    from training.check_data import check_file

    tokenizer = AutoTokenizer.from_pretrained(ROOT / DEMO_BASE)
    plain = check_file(ROOT / TRAIN_TSV, tokenizer=tokenizer)
    fewshot = check_file(ROOT / TRAIN_TSV, tokenizer=tokenizer, prompt="fewshot")
    assert fewshot.prompt_tokens["min"] > plain.prompt_tokens["max"]  # the example comes first


def test_check_data_lists_every_invalid_row_and_duplicates_and_exits_2(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text(
        "question\toption_A\toption_B\toption_C\toption_D\tcorrect_answer\treasoning\n"
        "甲問題\ta\tb\tc\td\tA\t理由一\n"
        "乙問題\ta\tb\tc\td\tE\t理由二\n"
        "丙問題\ta\t\tc\td\tB\t理由三\n"
        "甲問題\ta\tb\tc\td\tC\t理由四\n",
        encoding="utf-8",
    )
    proc = run_cli("check-data", str(bad))
    assert proc.returncode == 2
    assert "4 rows (2 valid, 2 invalid)" in proc.stdout
    assert "line 3: answer 'E' not in A-D" in proc.stdout
    assert "line 4: empty option_B" in proc.stdout
    assert "lines 2, 5: 甲問題" in proc.stdout
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr


def test_push_dry_run_writes_the_model_card_and_file_list(grpo_run, tmp_path):
    out = tmp_path / "preview"
    proc = run_cli(
        "push", str(grpo_run), "--repo-id", "someone/zhongli-demo", "--dry-run", "--out", str(out)
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    card = (out / "README.md").read_text(encoding="utf-8")
    assert f"Base model: `{DEMO_BASE}`" in card
    assert "Reward preset: `default`" in card
    assert "## Final metrics" in card and "| `reward` |" in card
    assert "library_name: peft" in card
    files = [
        line.split("\t")[0] for line in (out / "files.txt").read_text(encoding="utf-8").splitlines()
    ]
    assert "adapter_model.safetensors" in files and "adapter_config.json" in files
    assert not any(
        f.startswith("checkpoint-") or f.endswith(("optimizer.pt", "training.log")) for f in files
    )


def test_grpo_with_a_missing_data_file_exits_2_with_one_line(tmp_path, capsys):
    from training.__main__ import main

    missing = tmp_path / "none.tsv"
    code = main(["grpo", "--model_name_or_path", str(ROOT / DEMO_BASE), "--dataset_path", str(missing),
                 "--output_dir", str(tmp_path / "run"), "--bf16", "false"])  # fmt: skip
    assert code == 2
    assert (
        capsys.readouterr().err.strip()
        == f"python -m training grpo: error: {missing}: file not found"
    )
    assert not (tmp_path / "run").exists()  # nothing written for a run that cannot start


def test_use_vllm_without_vllm_is_one_clear_error(monkeypatch):
    import importlib.util

    from training import vllm_colocate

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        vllm_colocate.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "vllm" else real_find_spec(name, *a),
    )
    with pytest.raises(vllm_colocate.VLLMUnavailable) as err:
        vllm_colocate.check_vllm()
    assert "\n" not in str(err.value) and "use_vllm" in str(err.value)


def test_recipe_arguments_layer_recipe_then_values_then_argv():
    """The Python entry `training demo` trains through: the recipe, overridden by values, then
    by what a user typed."""
    from training.grpo import recipe_arguments

    recipe = ROOT / "assets/configs/demo-cpu.yaml"
    _, from_recipe, _ = recipe_arguments(recipe)
    assert (from_recipe.max_steps, from_recipe.learning_rate) == (80, 1.0e-3)
    _, with_values, model = recipe_arguments(recipe, max_steps=3, lora_r=4)
    assert (with_values.max_steps, model.lora_r, with_values.learning_rate) == (3, 4, 1.0e-3)
    script, typed, _ = recipe_arguments(
        recipe, ["--max_steps", "5", "--preset", "seed"], max_steps=3
    )
    assert typed.max_steps == 5 and script.reward_preset == "seed"  # --preset, as elsewhere
    with pytest.raises(mcq.UsageError, match="unknown options: no_such_option"):
        recipe_arguments(recipe, no_such_option=1)
    with pytest.raises(mcq.UsageError, match="unknown options: --bogus"):
        recipe_arguments(recipe, ["--bogus", "1"])
