"""``build``: tokenizer -> demo-base -> GRPO adapter -> demo-grpo -> evaluation -> report."""

from __future__ import annotations

import json
import os
import platform
import random
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from training.demo.evaluate import ModelScore, evaluate_models, greedy_gain
from training.demo.files import dir_size_bytes, save_model_dir, swap_dir, write_text_atomic
from training.demo.readme import render_readme
from training.demo.settings import (
    ADAPTER_DIR,
    BASE_DIR,
    MERGED_DIR,
    DemoSettings,
    load_sample_data,
    repo_relative,
    say,
)
from training.demo.tokenizer import exam_characters, sample_texts, tokenizer_corpus, train_tokenizer
from training.demo.tuning import merge_adapter, recipe_value, run_grpo, save_adapter
from training.demo.warmup import new_model, supervised_examples, supervised_warmup


def build(settings: DemoSettings, argv: Sequence[str] = ()) -> dict[str, Any]:
    """Rebuild demo-base, demo-grpo-adapter and demo-grpo in ``settings.out``; return a report.

    Everything is built in a hidden staging folder inside ``settings.out`` and only moved over
    the existing models once all three exist (and are evaluated), so a failed or interrupted
    build leaves the previous models untouched.
    """
    import torch

    torch.set_num_threads(settings.threads)
    started = time.perf_counter()
    timings: dict[str, float] = {}
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    random.seed(settings.seed)
    torch.manual_seed(settings.seed)

    train, test = load_sample_data(settings)
    say(f"data: {len(train)} training questions, {len(test)} held-out test questions")
    _remove_stale_stages(out)
    stage = out / f".build-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    try:
        t0 = time.perf_counter()
        corpus = tokenizer_corpus(train)
        characters = exam_characters([*sample_texts(settings), *corpus])
        tokenizer = train_tokenizer(corpus, characters, merges=settings.tokenizer_merges)
        timings["tokenizer"] = time.perf_counter() - t0
        say(
            f"tokenizer: {len(tokenizer)} tokens, {len(characters)} characters as single tokens "
            f"({timings['tokenizer']:.1f} s)"
        )

        t0 = time.perf_counter()
        model = new_model(tokenizer, settings.seed)
        losses = supervised_warmup(
            model,
            tokenizer,
            supervised_examples(train),
            steps=settings.sft_steps,
            batch_size=settings.sft_batch_size,
            lr=settings.sft_lr,
            seed=settings.seed,
        )
        save_model_dir(model, tokenizer, stage / BASE_DIR)
        del model
        timings["supervised"] = time.perf_counter() - t0
        say(
            f"{BASE_DIR}: {settings.sft_steps} supervised steps, loss {losses[0]:.2f} -> {losses[-1]:.2f}"
        )

        t0 = time.perf_counter()
        run_dir = run_grpo(settings, stage / BASE_DIR, stage / "grpo-run")
        state = json.loads((run_dir / "trainer_state.json").read_text(encoding="utf-8"))
        save_adapter(
            run_dir,
            stage / ADAPTER_DIR,
            repo_relative(out / BASE_DIR),
            tokenizer_dir=stage / BASE_DIR,
        )
        timings["grpo"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        merge_adapter(stage / BASE_DIR, stage / ADAPTER_DIR, stage / MERGED_DIR)
        timings["merge"] = time.perf_counter() - t0
        say(f"{ADAPTER_DIR}, {MERGED_DIR}: {state.get('global_step')} GRPO steps")

        scores: dict[str, ModelScore] = {}
        greedy: dict[str, ModelScore] = {}
        if not settings.skip_eval:
            t0 = time.perf_counter()
            if settings.eval_max_new_tokens is None:
                settings.eval_max_new_tokens = int(
                    recipe_value(settings.config, "max_completion_length", 256)
                )
            models = {BASE_DIR: stage / BASE_DIR, MERGED_DIR: stage / MERGED_DIR}
            greedy = evaluate_models(
                models, test, temperature=0.0, max_new_tokens=settings.greedy_max_new_tokens
            )
            scores = evaluate_models(
                models,
                test,
                samples=settings.eval_samples,
                temperature=settings.eval_temperature,
                max_new_tokens=settings.eval_max_new_tokens,
                seed=settings.seed,
            )
            timings["evaluation"] = time.perf_counter() - t0
            for label, results in (("greedy", greedy), ("sampled", scores)):
                for name, s in results.items():
                    say(
                        f"{label} {name}: mean total {s.mean_total:.3f}, extractable "
                        f"{s.extractable:.1%}, accuracy {s.accuracy:.1%}"
                    )
        for name in (BASE_DIR, ADAPTER_DIR, MERGED_DIR):
            swap_dir(stage / name, out / name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    timings["total"] = time.perf_counter() - started
    report = {
        "command": " ".join(["python -m training demo", *argv]),
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(settings).items()},
        "vocab_size": len(tokenizer),
        "characters": len(characters),
        "sft_loss": [losses[0], losses[-1]],
        "grpo_steps": state.get("global_step"),
        "grpo_log": [e for e in state.get("log_history", []) if "reward" in e],
        "timings": timings,
        "scores": {k: asdict(v) for k, v in scores.items()},
        "greedy_scores": {k: asdict(v) for k, v in greedy.items()},
        "greedy_gain": greedy_gain(greedy, settings.seed) if greedy else None,
        "sizes": {d: dir_size_bytes(out / d) for d in (BASE_DIR, ADAPTER_DIR, MERGED_DIR)},
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch threads {settings.threads}",
    }
    report["total_size"] = sum(report["sizes"].values())
    if not settings.skip_eval:
        write_text_atomic(out / "README.md", render_readme(report, out))
    write_text_atomic(out / "build-report.json", json.dumps(report, ensure_ascii=False, indent=2))
    say(
        f"done in {timings['total'] / 60:.1f} min; {out} holds {report['total_size'] / 2**20:.1f} MiB"
    )
    return report


def _remove_stale_stages(out: Path) -> None:
    """Delete staging folders left by builds that were killed (their process is gone)."""
    for stage in out.glob(".build-*"):
        pid = stage.name.removeprefix(".build-")
        if pid.isdigit() and not _process_alive(int(pid)):
            shutil.rmtree(stage, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
