"""Specification of `python -m training grpo` under `accelerate launch` with two processes.

A real two-process data-parallel run on this CPU (torch's gloo backend, the demo model, a few
steps): killed after a checkpoint, relaunched, and checked for one writer, the world size in
the log and the resumed step. The launcher is `assets/configs/accelerate/ddp.yaml`; without a
GPU its processes train on the CPU (`accelerate launch --cpu --num_processes 2` would start one
process: accelerate needs MPI for several CPU processes). Also: the shipped accelerate configs
and recipes load and pass the up-front checks, and FSDP 2 starts in one CPU process (DeepSpeed
ZeRO-2 too: its first start compiles DeepSpeed's C++ CPU op, about 40 s here). What only a GPU can
prove (NCCL, sharding across processes, vLLM colocate and server mode) is left to
benchmarks/gpu_check.py and training/README.md.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ACCELERATE = ROOT / "assets/configs/accelerate"
CONFIGS = ROOT / "assets/configs"
STEPS = 5
ENV = {
    "OMP_NUM_THREADS": "1",  # two processes on a small shared CPU: one thread each
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_OFFLINE": "1",
    "PYTHONPATH": str(ROOT),
}


def launch_command(run_dir: Path) -> list[str]:
    """Two processes, 2 completions each per step (4 = one question's group), tiny answers."""
    return [
        sys.executable, "-m", "accelerate.commands.launch",
        "--config_file", str(ACCELERATE / "ddp.yaml"), "--num_processes", "2",
        "--main_process_port", str(29500 + os.getpid() % 1000),
        "-m", "training", "grpo", "--config", "assets/configs/demo-cpu.yaml",
        "--output-dir", str(run_dir), "--max_steps", str(STEPS), "--max_samples", "8",
        "--per_device_train_batch_size", "2", "--num_generations", "4",
        "--max_completion_length", "8", "--save_strategy", "steps", "--save_steps", "1",
        "--logging_steps", "1", "--disable_tqdm", "true",
    ]  # fmt: skip


def kill_tree(pid: int) -> None:
    """SIGKILL the launcher and its workers at once (torchrun starts workers in new sessions)."""
    import psutil

    launcher = psutil.Process(pid)
    for process in [*launcher.children(recursive=True), launcher]:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signal.SIGKILL)


@pytest.fixture(scope="module")
def resumed_run(tmp_path_factory) -> Path:
    """Train with 2 processes, SIGKILL the whole launch after checkpoint-2, relaunch to the end."""
    run_dir = tmp_path_factory.mktemp("ddp") / "run"
    env = dict(os.environ, **ENV)
    first = subprocess.Popen(
        launch_command(run_dir),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    try:
        while not (run_dir / "checkpoint-2" / "trainer_state.json").exists():
            assert first.poll() is None, "the first launch ended before checkpoint-2"
            assert time.monotonic() < deadline, "no checkpoint-2 within 240 s"
            time.sleep(0.05)
    finally:
        kill_tree(first.pid)
        first.wait()
    second = subprocess.run(
        launch_command(run_dir), cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert second.returncode == 0, second.stderr[-3000:]
    return run_dir


def log_text(run_dir: Path) -> str:
    return (run_dir / "training.log").read_text(encoding="utf-8")


def test_each_launch_logs_two_processes_once(resumed_run):
    log = log_text(resumed_run)
    assert log.count("run started") == 2  # two launches, one writer each
    assert log.count("2 processes (world size 2), cpu") == 2


def test_relaunch_resumes_from_the_newest_complete_checkpoint(resumed_run):
    log = log_text(resumed_run)
    resumed = re.findall(r"resuming from checkpoint-(\d+) at global step (\d+)", log)
    assert len(resumed) == 1
    step = int(resumed[0][0])
    assert 1 <= step < STEPS and resumed[0][1] == str(step)
    assert f"training from global step {step} to {STEPS}" in log


def test_resumed_run_ends_at_the_planned_step_with_every_step_logged_once(resumed_run):
    state = json.loads((resumed_run / "trainer_state.json").read_text(encoding="utf-8"))
    assert state["global_step"] == STEPS
    assert [e["step"] for e in state["log_history"] if "loss" in e] == list(range(1, STEPS + 1))


def test_only_the_main_process_writes_the_run_records(resumed_run):
    log = log_text(resumed_run)
    for step in range(1, STEPS + 1):  # the relaunch rewrites the steps after the resume point
        assert 1 <= log.count(f"saved checkpoint-{step}\n") <= 2, step
    assert log.count("saved the final model") == 1
    info = json.loads((resumed_run / "zhongli_run.json").read_text(encoding="utf-8"))
    assert info["world_size"] == 2
    leftovers = [p.name for p in resumed_run.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_checkpoints_keep_the_random_state_of_each_process(resumed_run):
    checkpoint = resumed_run / f"checkpoint-{STEPS}"
    assert {p.name for p in checkpoint.glob("rng_state*.pth")} == {
        "rng_state_0.pth",
        "rng_state_1.pth",
    }


def test_reward_model_training_with_two_processes_has_one_writer(tmp_path):
    """`training rm` (TRL's RewardTrainer) under the same launcher: one log, per-rank RNG states."""
    run_dir = tmp_path / "rm"
    command = [
        sys.executable, "-m", "accelerate.commands.launch",
        "--config_file", str(ACCELERATE / "ddp.yaml"), "--num_processes", "2",
        "--main_process_port", str(29500 + (os.getpid() + 1) % 1000),
        "-m", "training", "rm", "--config", "assets/configs/rm-demo-cpu.yaml",
        "--output-dir", str(run_dir), "--max_steps", "2", "--save_steps", "1",
        "--per_device_train_batch_size", "2", "--eval_strategy", "no", "--max_length", "256",
        "--logging_steps", "1", "--disable_tqdm", "true",
    ]  # fmt: skip
    proc = subprocess.run(
        command, cwd=ROOT, env=dict(os.environ, **ENV), capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = log_text(run_dir)
    assert log.count("run started") == 1 and log.count("saved checkpoint-2\n") == 1
    assert log.count("held-out pairwise accuracy") == 1
    assert {p.name for p in (run_dir / "checkpoint-2").glob("rng_state*.pth")} == {
        "rng_state_0.pth",
        "rng_state_1.pth",
    }


# --- configs and recipes -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ddp", "zero2", "zero3", "fsdp"])
def test_accelerate_config_loads_with_accelerates_own_classes(name):
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.utils import DistributedType

    config = load_config_from_file(str(ACCELERATE / f"{name}.yaml"))
    expected = {
        "ddp": DistributedType.MULTI_GPU,
        "zero2": DistributedType.DEEPSPEED,
        "zero3": DistributedType.DEEPSPEED,
        "fsdp": DistributedType.FSDP,
    }
    assert config.distributed_type == expected[name]
    assert config.num_machines == 1 and config.num_processes >= 2


@pytest.mark.parametrize("name,stage", [("zero2", 2), ("zero3", 3)])
def test_deepspeed_configs_build_a_deepspeed_plugin(name, stage):
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.utils import DeepSpeedPlugin

    settings = load_config_from_file(str(ACCELERATE / f"{name}.yaml")).deepspeed_config
    plugin = DeepSpeedPlugin(
        zero_stage=settings["zero_stage"],
        offload_optimizer_device=settings["offload_optimizer_device"],
        offload_param_device=settings["offload_param_device"],
        zero3_init_flag=settings["zero3_init_flag"],
        zero3_save_16bit_model=settings.get("zero3_save_16bit_model", False),
    )
    assert plugin.deepspeed_config["zero_optimization"]["stage"] == stage


def test_fsdp_config_builds_an_fsdp2_plugin():
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.utils import FullyShardedDataParallelPlugin

    settings = load_config_from_file(str(ACCELERATE / "fsdp.yaml")).fsdp_config
    plugin = FullyShardedDataParallelPlugin(
        fsdp_version=settings["fsdp_version"],
        auto_wrap_policy=settings["fsdp_auto_wrap_policy"].lower(),
        reshard_after_forward=settings["fsdp_reshard_after_forward"],
        state_dict_type=settings["fsdp_state_dict_type"],
        cpu_ram_efficient_loading=settings["fsdp_cpu_ram_efficient_loading"],
    )
    assert plugin.fsdp_version == 2 and plugin.reshard_after_forward is True


RECIPES = {
    "qwen2.5-7b-qlora.yaml": 1,
    "qwen2.5-7b-lora-vllm.yaml": 1,
    "qwen2.5-7b-multi-gpu.yaml": 7,  # 7 training GPUs + 1 for `trl vllm-serve`
    "demo-cpu.yaml": 1,
}


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_recipe_loads_through_the_training_parser_and_passes_the_checks(recipe):
    from training.distributed import check_batch_arithmetic
    from training.grpo import arguments_from, make_parser

    namespace, extras = make_parser().parse_known_args(["--config", str(CONFIGS / recipe)])
    assert extras == [] and namespace.config == str(CONFIGS / recipe)
    script, train, model = arguments_from(namespace)  # TRL's own checks, for one process
    assert script.reward_preset == "default" and model.use_peft
    # ... and the batch check for the number of processes the recipe is written for
    check_batch_arithmetic(
        train.per_device_train_batch_size,
        RECIPES[recipe],
        train.num_generations,
        gradient_accumulation_steps=train.gradient_accumulation_steps,
    )


def test_vllm_recipes_generate_with_vllm_and_the_qlora_recipe_does_not():
    from training.grpo import arguments_from, make_parser

    def parsed(recipe):
        return arguments_from(
            make_parser().parse_known_args(["--config", str(CONFIGS / recipe)])[0]
        )

    _, colocate, _ = parsed("qwen2.5-7b-lora-vllm.yaml")
    assert (
        colocate.use_vllm and colocate.vllm_mode == "colocate" and colocate.vllm_enable_sleep_mode
    )
    _, server, _ = parsed("qwen2.5-7b-multi-gpu.yaml")
    assert server.use_vllm and server.vllm_mode == "server"
    _, qlora, qlora_model = parsed("qwen2.5-7b-qlora.yaml")
    assert (
        qlora_model.load_in_4bit and not qlora.use_vllm
    )  # TRL cannot sync 4-bit weights into vLLM


def test_batch_that_splits_a_group_across_processes_is_one_error(monkeypatch):
    from mcq.errors import UsageError
    from training.grpo import arguments_from, make_parser

    monkeypatch.setenv("WORLD_SIZE", "2")
    namespace, _ = make_parser().parse_known_args(
        [
            "--config",
            str(CONFIGS / "qwen2.5-7b-multi-gpu.yaml"),
            "--per_device_train_batch_size",
            "3",
        ]
    )
    with pytest.raises(UsageError) as err:
        arguments_from(namespace)
    message = str(err.value)
    assert "× 2 processes" in message and "num_generations 8" in message
    assert "use per_device_train_batch_size 4" in message


def test_fsdp_config_starts_fsdp2_and_trains_a_complete_checkpoint_on_the_cpu(tmp_path):
    from training.checkpoints import checkpoint_problem

    run_dir = tmp_path / "run"
    command = [
        sys.executable, "-m", "accelerate.commands.launch",
        "--config_file", str(ACCELERATE / "fsdp.yaml"), "--num_processes", "1",
        "--mixed_precision", "no", "-m", "training", "grpo", "--config", "assets/configs/demo-cpu.yaml",
        "--output-dir", str(run_dir), "--max_steps", "1", "--max_samples", "4",
        "--per_device_train_batch_size", "4", "--num_generations", "4", "--max_completion_length", "8",
        "--save_strategy", "steps", "--save_steps", "1", "--disable_tqdm", "true",
    ]  # fmt: skip
    proc = subprocess.run(
        command, cwd=ROOT, env=dict(os.environ, **ENV), capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "1 process (world size 1), cpu, FSDP 2" in log_text(run_dir)
    assert checkpoint_problem(run_dir / "checkpoint-1") is None


@pytest.mark.skipif(
    shutil.which("c++") is None,
    reason="DeepSpeed compiles a C++ op (its CPU communication kernel) on its first start, and "
    "this machine has no C++ compiler",
)
def test_zero2_config_starts_deepspeed_and_trains_one_step_on_the_cpu(tmp_path):
    run_dir = tmp_path / "run"
    command = [
        sys.executable, "-m", "accelerate.commands.launch",
        "--config_file", str(ACCELERATE / "zero2.yaml"), "--num_processes", "1",
        "--mixed_precision", "no", "-m", "training", "grpo", "--config", "assets/configs/demo-cpu.yaml",
        "--output-dir", str(run_dir), "--max_steps", "1", "--max_samples", "4",
        "--per_device_train_batch_size", "4", "--num_generations", "4", "--max_completion_length", "8",
    ]  # fmt: skip
    proc = subprocess.run(
        command, cwd=ROOT, env=dict(os.environ, **ENV), capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "1 process (world size 1), cpu, DeepSpeed ZeRO-2" in log_text(run_dir)
    state = json.loads((run_dir / "trainer_state.json").read_text(encoding="utf-8"))
    assert state["global_step"] == 1
