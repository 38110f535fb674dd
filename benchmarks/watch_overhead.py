"""What the hacking watch costs a GRPO step at the demo settings: watch on vs off, interleaved.

One run of the demo recipe (``assets/configs/demo-cpu.yaml``: 16 completions per step, the
``default`` preset) through ``training.grpo_trainer.build_trainer``, the code of
``python -m training grpo``, logging every step (the watch's worst case: it reads the
completions at every logging step). The watch is switched on and off step by step in the
pattern on, off, off, on, ... so drift in the machine's load hits both alike. A step's time
runs from its start to the next step's start (generation, rewards, update, logging). The
time spent inside the watch itself (its callbacks and its copy of each batch) is clocked too:
on a shared machine that share is the steadier figure.

    python benchmarks/watch_overhead.py                 # 17 steps (the first left out)
    python benchmarks/watch_overhead.py --steps 33 --out watch_overhead.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def watch_on(step: int) -> bool:
    """Step 1, 2, 3, 4, ... -> on, off, off, on, on, off, off, on (ABBA blocks)."""
    return (step - 1) % 4 in (0, 3)


def measure(args: argparse.Namespace) -> dict:
    from transformers import TrainerCallback

    from training.grpo import recipe_arguments
    from training.grpo_trainer import build_trainer
    from training.watch.callback import HackingWatch

    with tempfile.TemporaryDirectory(prefix="watch-bench-") as out:
        script_args, training_args, model_args = recipe_arguments(
            ROOT / args.recipe,
            output_dir=out,
            max_steps=args.steps,
            logging_steps=1,
            disable_tqdm=True,
        )
        trainer = build_trainer(script_args, training_args, model_args)
        watch = next(c for c in trainer.callback_handler.callbacks if isinstance(c, HackingWatch))
        inside = {"s": 0.0}

        def clocked(method):
            def run(*a, **k):
                started = time.perf_counter()
                try:
                    return method(*a, **k)
                finally:
                    inside["s"] += time.perf_counter() - started

            return run

        watch.on_step_end, watch.on_log = clocked(watch.on_step_end), clocked(watch.on_log)
        watch._take = clocked(watch._take)
        starts: list[float] = []
        modes: list[bool] = []
        watch_s: list[float] = []

        class Switch(TrainerCallback):
            def on_step_begin(self, args_, state, control, **kwargs):
                now = time.perf_counter()
                if starts:
                    watch_s.append(inside["s"])
                starts.append(now)
                inside["s"] = 0.0
                watch.enabled = watch_on(state.global_step + 1)
                modes.append(watch.enabled)

            def on_train_end(self, *a, **k):
                watch_s.append(inside["s"])
                starts.append(time.perf_counter())

        trainer.add_callback(Switch())
        trainer.train()
    steps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    rows = list(zip(modes, steps, watch_s, strict=True))[args.warmup :]
    on = [s for m, s, _ in rows if m]
    off = [s for m, s, _ in rows if not m]
    inside_on = [w for m, _, w in rows if m]
    return {
        "steps_on": len(on),
        "steps_off": len(off),
        "median_s_on": round(statistics.median(on), 3),
        "median_s_off": round(statistics.median(off), 3),
        "mean_s_on": round(statistics.fmean(on), 3),
        "mean_s_off": round(statistics.fmean(off), 3),
        "ratio_median": round(statistics.median(on) / statistics.median(off), 3),
        "ratio_mean": round(statistics.fmean(on) / statistics.fmean(off), 3),
        "watch_s_per_step": round(statistics.fmean(inside_on), 4),
        "watch_share_of_step": round(sum(inside_on) / sum(on), 4),
        "load_average_after": round(os.getloadavg()[0], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="assets/configs/demo-cpu.yaml")
    parser.add_argument("--steps", type=int, default=17)
    parser.add_argument("--warmup", type=int, default=1, help="first steps left out")
    parser.add_argument("--out", help="also write the result as JSON here")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    load_before = os.getloadavg()[0]
    result = measure(args)
    print(
        f"watch overhead, {args.recipe} logging every step, {args.steps} steps "
        f"({args.warmup} left out), {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average before {load_before:.2f}"
    )
    print("| watch | steps | median s/step | mean s/step |")
    print("| --- | --- | --- | --- |")
    print(f"| on | {result['steps_on']} | {result['median_s_on']} | {result['mean_s_on']} |")
    print(f"| off | {result['steps_off']} | {result['median_s_off']} | {result['mean_s_off']} |")
    print(
        f"on/off: {result['ratio_median']} (medians), {result['ratio_mean']} (means); "
        f"inside the watch {result['watch_s_per_step']} s per step "
        f"({100 * result['watch_share_of_step']:.1f}% of a watched step)"
    )
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
