"""Completions per second of the full ``default`` reward breakdown against the ``seed`` formula.

Both presets score the same synthetic completions (~300 characters each, built from the
sample training data: answer line, reasoning sentences, hedges, absolutes, loaded words,
one in ten in Simplified script, one in ten without the answer format) in one run,
interleaved, best of ``--repeat`` passes each, on whatever cores the process may use (the
jieba cut cache stays warm between passes, as it does in training). Pin it to one core::

    taskset -c 0 python benchmarks/reward_throughput.py --n 10000 --chars 300

``--no-block-cache`` turns off the neutrality component's cache of jieba cuts, so every
text run holding a lexicon term is cut afresh (the worst case: no phrase ever repeats).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import mcq  # noqa: E402
import rewards  # noqa: E402
from mcq.paths import SAMPLE_TRAIN  # noqa: E402
from rewards.neutrality import load_lexicon  # noqa: E402
from rewards.text import to_simplified  # noqa: E402

SAMPLE = SAMPLE_TRAIN
EXTRA_PHRASES = (
    "這個議題可能存在不同觀點，需要權衡各方的利益。",
    "相對而言，這種做法比較平衡。",
    "並非唯一的解釋，不過在一定程度上說得通。",
    "有人認為政府必須絕對服從民意，這種說法顯然過於武斷。",
    "批評者稱對方是賣國賊，這種標籤無助於討論。",
    "不可能只有一種答案，各有利弊。",
    "這一說法沒有錯誤，但也未必完整。",
    "一方面要保障言論自由，另一方面也要避免傷害他人。",
)


def make_completions(n: int, chars: int, seed: int = 0) -> list[tuple[str, rewards.Sample]]:
    """``n`` reproducible (completion, sample) pairs of about ``chars`` characters each."""
    with SAMPLE.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    sentences = [
        s + "。"
        for row in rows
        for s in re.split(r"[。！？]", row["reasoning"])
        if len(s.strip()) >= 6
    ]
    rng = random.Random(seed)
    out = []
    for i in range(n):
        row = rng.choice(rows)
        letter = rng.choice("ABCD")
        head = mcq.format_answer(letter, "") if i % 10 else "我想了一下這個問題。"
        parts = [head]
        length = len(head)
        while length < chars:
            piece = rng.choice(EXTRA_PHRASES) if rng.random() < 0.3 else rng.choice(sentences)
            parts.append(piece)
            length += len(piece)
        text = "".join(parts)[:chars]
        if i % 10 == 5:
            text = to_simplified(text)
        options = {k: row[f"option_{k}"] for k in "ABCD"}
        out.append(
            (text, rewards.Sample(id=str(i), options=options, correct_answer=row["correct_answer"]))
        )
    return out


def measure(data: list[tuple[str, rewards.Sample]], preset: str) -> float:
    """Completions per second of ``rewards.score`` over ``data`` with ``preset``."""
    chosen = rewards.load_preset(preset)
    rewards.score(data[0][0], data[0][1], chosen)  # load lexicon, jieba, OpenCC first
    start = time.perf_counter()
    for text, sample in data:
        rewards.score(text, sample, chosen)
    return len(data) / (time.perf_counter() - start)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example: taskset -c 0 python benchmarks/reward_throughput.py --n 10000 --chars 300",
    )
    parser.add_argument("--n", type=int, default=10_000, help="completions to score (10000)")
    parser.add_argument("--chars", type=int, default=300, help="characters per completion (300)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the synthetic data")
    parser.add_argument(
        "--repeat", type=int, default=3, help="passes per preset, best kept (3): less noise"
    )
    parser.add_argument(
        "--no-block-cache", action="store_true", help="cut every text run with jieba afresh"
    )
    args = parser.parse_args(argv)
    if args.n < 1 or args.chars < 1:
        parser.error("--n and --chars must be positive")

    data = make_completions(args.n, args.chars, args.seed)
    if args.no_block_cache:
        load_lexicon(
            rewards.load_preset("default").settings["neutrality"]["lexicon"]
        ).cache_blocks = False
    mean_chars = sum(len(t) for t, _ in data) / len(data)
    seed_rate = default_rate = 0.0
    for _ in range(max(1, args.repeat)):  # interleaved, so both see the same machine load
        seed_rate = max(seed_rate, measure(data, "seed"))
        default_rate = max(default_rate, measure(data, "default"))

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"machine: {platform.machine()} {_cpu_model()} · Python "
        f"{platform.python_version()} · {cores} core(s) usable"
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{len(data):,} completions, {mean_chars:.0f} characters on average; "
        f"jieba block cache {'off' if args.no_block_cache else 'on'}; best of {args.repeat} "
        f"passes; load average {load:.1f}"
    )
    print(f"{'preset':<10}{'completions/s':>15}{'µs/completion':>16}")
    for name, rate in (("seed", seed_rate), ("default", default_rate)):
        print(f"{name:<10}{rate:>15,.0f}{1e6 / rate:>16,.0f}")
    print(
        f"default is {seed_rate / default_rate:.1f}x slower than seed "
        f"(ratio default/seed = {default_rate / seed_rate:.3f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
