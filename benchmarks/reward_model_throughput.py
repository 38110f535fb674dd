"""Completions per second of a learned reward model scored through the rewards registry.

Scores ``--n`` completions (the chosen and rejected answers of assets/data/preference_pairs.jsonl,
with their questions and options, repeated as needed) with a preset whose only component is
``{reward_model: MODEL}``, through :func:`rewards.scoring.score_batch`, the path ``rewards
score``, evals and the TRL adapter take. Without ``--model`` it first trains a demo reward model
for a few steps into a temporary folder (``python -m training rm`` on the demo base), which has
the same shape and speed as a fully trained one. Best of ``--repeat`` passes after a warm-up::

    python benchmarks/reward_model_throughput.py --n 1000 --batch-size 32 --threads 2

Text length decides the cost: the sample answers with question and options average ~100 demo
tokens. ``--dtype auto`` is bfloat16 on a CPU with AVX512-BF16/AMX (several times float32).
It also prints completions per CPU-second (process time), which other processes on a shared
machine do not change: with ``--threads 1`` on an idle core, wall time equals it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rewards  # noqa: E402
from mcq.paths import CONFIGS, DATA  # noqa: E402
from rewards.scoring import score_batch  # noqa: E402


def load_completions(n: int) -> tuple[list[str], list[rewards.Sample]]:
    """``n`` completions with their samples, cycling through the sample preference pairs."""
    texts, samples = [], []
    for line in (DATA / "preference_pairs.jsonl").read_text(encoding="utf-8").splitlines():
        pair = json.loads(line)
        sample = rewards.Sample(question=pair["question"], options=pair["options"])
        for side in ("chosen", "rejected"):
            texts.append(pair[side])
            samples.append(sample)
    reps = -(-n // len(texts))
    return (texts * reps)[:n], (samples * reps)[:n]


def train_demo_model(folder: Path) -> Path:
    """A few RewardTrainer steps on the demo base: a demo reward model to time."""
    from training.__main__ import main as training_main

    out = folder / "rm"
    code = training_main(
        ["rm", "--config", str(CONFIGS / "rm-demo-cpu.yaml"), "--output_dir", str(out),
         "--max_steps", "2", "--eval_share", "0", "--eval_strategy", "no",
         "--save_strategy", "no", "--per_device_train_batch_size", "2"]
    )  # fmt: skip
    if code != 0:
        raise SystemExit(f"training the demo reward model failed (exit {code})")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="reward model folder (default: train a demo one)")
    parser.add_argument("--n", type=int, default=1000, help="completions to score")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16"])
    parser.add_argument("--workers", default="auto", help="batches at once ('auto': one a thread)")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed passes; the best is reported")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(args.model) if args.model else train_demo_model(Path(tmp))
        settings = {
            "reward_model": str(model),
            "batch_size": args.batch_size,
            "max_length": args.max_length,
            "dtype": args.dtype,
            "workers": args.workers if args.workers == "auto" else int(args.workers),
        }
        preset = rewards.Preset("rm-bench", "", {"rm": 1.0}, {"rm": settings})
        texts, samples = load_completions(args.n)
        score_batch(texts[: args.batch_size], samples[: args.batch_size], preset)  # load, warm up
        times, cpu_times = [], []
        for _ in range(args.repeat):
            started, cpu_started = time.perf_counter(), time.process_time()
            found = score_batch(texts, samples, preset)
            times.append(time.perf_counter() - started)
            cpu_times.append(time.process_time() - cpu_started)
        scores = [b.components["rm"] for b in found]
        assert len(scores) == args.n and all(0.0 <= s <= 1.0 for s in scores)
        from rewards.learned import load_reward_model

        loaded, _, device = load_reward_model(str(model), "auto", args.dtype)
        best = min(times)
        print(
            f"{args.n} completions in {best:.2f} s (best of {args.repeat}): "
            f"{args.n / best:.0f} completions/s; passes {', '.join(f'{t:.2f}' for t in times)} s"
        )
        # CPU time is what a busy shared machine cannot hide: completions per CPU-second.
        print(f"{args.n / min(cpu_times):.0f} completions per CPU-second (process time)")
        print(
            f"batch_size {args.batch_size}, workers {args.workers}, max_length {args.max_length}, dtype "
            f"{next(loaded.parameters()).dtype}, device {device}, torch threads "
            f"{torch.get_num_threads()}, {os.cpu_count()} CPUs, {platform.processor() or '?'}, "
            f"load average {os.getloadavg()[0]:.2f}, mean score {sum(scores) / len(scores):.3f}"
        )


if __name__ == "__main__":
    main()
