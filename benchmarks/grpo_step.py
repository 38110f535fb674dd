"""Seconds per GRPO step on the demo model: transformers generation vs vLLM (colocate), side by side.

Each generation backend trains in its own subprocess (a fresh interpreter, so one vLLM engine
at a time and no shared caches) with the same recipe, data, seed and LoRA settings, through
``training.grpo.build_trainer`` -- the code path of ``python -m training grpo``. Wall-clock time
of every optimizer step is recorded; the first ``--warmup`` steps are left out of the figures.

    python benchmarks/grpo_step.py                       # both backends, 6 steps each
    python benchmarks/grpo_step.py --backends transformers --steps 10
    python benchmarks/grpo_step.py --threads 2       # all cores (a quiet machine)
    python benchmarks/grpo_step.py --min-completion-length 128   # full-length answers
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def training_argv(args: argparse.Namespace, backend: str, output_dir: str) -> list[str]:
    """The ``python -m training grpo`` options every backend shares, plus its own."""
    argv = [
        "--model_name_or_path", args.model,
        "--dataset_path", args.dataset,
        "--output_dir", output_dir,
        "--max_steps", str(args.steps),
        "--per_device_train_batch_size", str(args.batch),
        "--num_generations", str(args.generations),
        "--max_completion_length", str(args.max_completion_length),
        "--use_peft", "true",
        "--lora_r", "16",
        "--lora_alpha", "32",
        "--lora_target_modules", "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj",
        "--learning_rate", "3e-5",
        "--bf16", "false",
        "--gradient_checkpointing", "false",
        "--save_strategy", "no",
        "--logging_steps", "1",
        "--seed", "0",
        "--disable_tqdm", "true",
    ]  # fmt: skip
    if backend == "vllm":
        argv += ["--use_vllm", "true", "--vllm_mode", "colocate"]
    if (
        args.min_completion_length
    ):  # force long answers: the two backends name the option differently
        key = "min_tokens" if backend == "vllm" else "min_new_tokens"
        argv += ["--generation_kwargs", json.dumps({key: args.min_completion_length})]
    return argv


def worker(args: argparse.Namespace) -> dict:
    """Train ``args.steps`` steps with one backend in this process; return its timings."""
    import warnings

    warnings.filterwarnings("ignore", message="TRL currently supports vLLM versions")
    import torch
    from transformers import TrainerCallback

    from training.grpo import build_trainer, make_parser

    with tempfile.TemporaryDirectory(prefix="grpo-bench-") as out:
        parsed = make_parser().parse_args_and_config(training_argv(args, args.worker, out))
        started = time.perf_counter()
        trainer = build_trainer(*parsed)
        setup_s = time.perf_counter() - started

        step_times: list[float] = []

        class StepClock(TrainerCallback):
            def on_step_begin(self, *_, **__):
                self.begin = time.perf_counter()

            def on_step_end(self, *_, **__):
                step_times.append(time.perf_counter() - self.begin)

        trainer.add_callback(StepClock())
        trainer.train()
        history = [e for e in trainer.state.log_history if "completions/mean_length" in e]
    measured = step_times[args.warmup :]
    return {
        "backend": args.worker,
        "setup_s": round(setup_s, 2),
        "step_s": [round(t, 3) for t in step_times],
        "median_step_s": round(statistics.median(measured), 3),
        "mean_step_s": round(statistics.fmean(measured), 3),
        "mean_completion_tokens": round(
            statistics.fmean(e["completions/mean_length"] for e in history[args.warmup :]), 1
        ),
        "torch_threads": torch.get_num_threads(),
        "load_average_after": round(os.getloadavg()[0], 2),
    }


def run_backend(args: argparse.Namespace, backend: str) -> dict:
    """Run :func:`worker` for ``backend`` in a subprocess and return its JSON result."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", backend]
    for name in (
        "model",
        "dataset",
        "steps",
        "warmup",
        "batch",
        "generations",
        "max_completion_length",
        "min_completion_length",
    ):
        command += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS=str(args.threads))
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    result_lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not result_lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"backend": backend, "error": tail, "wall_s": round(wall, 1)}
    return json.loads(result_lines[-1]) | {"wall_s": round(wall, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="assets/models/demo-base")
    parser.add_argument("--dataset", default="assets/data/sample_train.tsv")
    parser.add_argument("--backends", default="transformers,vllm", help="comma-separated")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=1, help="first steps left out of the figures")
    parser.add_argument("--batch", type=int, default=8, help="completions per step")
    parser.add_argument("--generations", type=int, default=4, help="completions per question")
    parser.add_argument("--max-completion-length", type=int, default=128)
    parser.add_argument(
        "--min-completion-length",
        type=int,
        default=0,
        help="make every completion at least this long (a stand-in for a big model's long answers)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="OMP_NUM_THREADS of each run (default 1: on a busy shared CPU more threads spin-wait)",
    )
    parser.add_argument("--out", help="also write the results as JSON here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        print(json.dumps(worker(args)))
        return 0

    load_before = os.getloadavg()[0]
    results = [run_backend(args, name.strip()) for name in args.backends.split(",") if name.strip()]
    print(f"GRPO step time, {args.model}, {args.batch} completions/step ({args.generations} per question), "
          f"{args.min_completion_length}-{args.max_completion_length} new tokens, LoRA r16 on all linear layers, float32, "
          f"{args.steps} steps ({args.warmup} warm-up left out); {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, {args.threads} compute thread(s)")  # fmt: skip
    print(
        f"1-minute load average before the runs: {load_before:.2f} (other work skews the figures)"
    )
    print(
        "| generation | median s/step | mean s/step | mean completion tokens | setup s | total wall s |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for r in results:
        if "error" in r:
            print(f"| {r['backend']} | failed: {r['error']} | | | | {r['wall_s']} |")
        else:
            print(
                f"| {r['backend']} | {r['median_step_s']} | {r['mean_step_s']} | "
                f"{r['mean_completion_tokens']} | {r['setup_s']} | {r['wall_s']} |"
            )
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
