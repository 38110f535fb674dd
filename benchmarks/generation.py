"""Generation throughput: vLLM batched vs transformers batched vs transformers one at a time.

Every path answers the same prompts (sample_test.tsv questions through mcq's chat prompt) with
the same number of new tokens, end-of-sequence ignored (vLLM ``ignore_eos=True``,
transformers ``min_new_tokens=max_new_tokens``), so each does exactly equal work. Each path
runs in a fresh subprocess (its own imports, threads and memory), after one untimed warm-up
call; the figure is generated tokens / wall seconds of the fastest of ``--repeat`` timed runs
(the least disturbed by whatever else the machine is doing).

    python benchmarks/generation.py                       # demo-base on this machine
    python benchmarks/generation.py --questions 64 --max-new-tokens 128
    # a GPU box with torch + transformers only: random weights of Qwen2.5-0.5B's shape
    python benchmarks/generation.py --random-init-shape qwen2.5-0.5b --device cuda --skip-vllm

Paths: ``vllm`` (``inference.backends.VLLMBackend.chat``: every prompt in one call),
``hf-batched`` (``TransformersBackend.chat``, ``--batch-size`` prompts per ``generate``),
``hf-single`` (one ``generate`` per prompt, as the competition scripts did).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Run as a script (``python benchmarks/generation.py``): make the repository importable first.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mcq.paths import DEMO_BASE as DEFAULT_MODEL  # noqa: E402
from mcq.paths import REPO_ROOT  # noqa: E402
from mcq.paths import SAMPLE_TEST as DEFAULT_INPUT  # noqa: E402

PATHS = ("vllm", "hf-batched", "hf-single")

#: Shapes for --random-init-shape (random weights, the demo tokenizer; only speed matters).
SHAPES = {
    "qwen2.5-0.5b": {
        "hidden_size": 896,
        "intermediate_size": 4864,
        "num_hidden_layers": 24,
        "num_attention_heads": 14,
        "num_key_value_heads": 2,
        "vocab_size": 151936,
        "max_position_embeddings": 32768,
        "rope_theta": 1000000.0,
        "rms_norm_eps": 1e-6,
        "tie_word_embeddings": True,
    },
}


def build_random_model(shape: str, folder: Path) -> Path:
    """Save a randomly initialised Qwen2 of ``shape`` with demo-base's tokenizer in ``folder``."""
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(DEFAULT_MODEL)
    config = Qwen2Config(
        **SHAPES[shape],
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def conversations(path: Path, count: int) -> list[list[dict[str, str]]]:
    """``count`` chat prompts from the test file (repeated when it has fewer questions)."""
    import mcq

    questions = mcq.load_test(path)
    return [mcq.build_messages(questions[i % len(questions)]) for i in range(count)]


def measure(args: argparse.Namespace) -> dict:
    """Run one path in this process; return its timing."""
    from inference.backends import TransformersBackend, VLLMBackend

    convs = conversations(Path(args.input), args.questions)
    settings = {"max_new_tokens": args.max_new_tokens, "ignore_eos": True}
    start = time.perf_counter()
    if args.path == "vllm":
        kwargs = json.loads(args.engine_kwargs or "{}")
        backend = VLLMBackend(args.model, **kwargs)
    else:
        backend = TransformersBackend(args.model, device=args.device, batch_size=args.batch_size)
    load_seconds = time.perf_counter() - start
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    threads = _torch_threads()
    backend.chat(convs[:2], **settings)  # warm-up: kernels, allocator, caches

    timings = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        if args.path == "hf-single":
            results = [backend.chat([conv], **settings)[0] for conv in convs]
        else:
            results = backend.chat(convs, **settings)
        timings.append(time.perf_counter() - start)
    seconds = min(timings)  # best of --repeat: the least disturbed by other load
    tokens = sum(g.num_tokens for r in results for g in r)
    return {
        "path": args.path,
        "tokens": tokens,
        "seconds": seconds,
        "load_seconds": load_seconds,
        "tokens_per_second": tokens / seconds,
        "torch_threads": threads,
    }


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def run_path(path: str, args: argparse.Namespace, model: str) -> dict:
    """Measure ``path`` in a subprocess and return its result."""
    with tempfile.TemporaryDirectory() as tmp:
        result_file = Path(tmp) / "result.json"
        command = [
            sys.executable,
            __file__,
            "--measure",
            path,
            "--model",
            model,
            "--input",
            str(args.input),
            "--questions",
            str(args.questions),
            "--max-new-tokens",
            str(args.max_new_tokens),
            "--device",
            args.device,
            "--batch-size",
            str(args.batch_size),
            "--result-file",
            str(result_file),
            "--repeat",
            str(args.repeat),
            "--threads",
            str(args.threads or 0),
        ]
        if args.engine_kwargs:
            command += ["--engine-kwargs", args.engine_kwargs]
        env = {**os.environ, "VLLM_LOGGING_LEVEL": os.environ.get("VLLM_LOGGING_LEVEL", "WARNING")}
        print(f"[{path}] running ...", file=sys.stderr, flush=True)
        subprocess.run(command, check=True, env=env, cwd=REPO_ROOT)
        return json.loads(result_file.read_text())


def report(results: list[dict], args: argparse.Namespace, model_label: str) -> str:
    """A Markdown table: tokens/s per path and its ratio to the one-at-a-time path."""
    baseline = next((r for r in results if r["path"] == "hf-single"), None)
    lines = [
        f"model: {model_label} · device: {args.device} · {args.questions} prompts x "
        f"{args.max_new_tokens} new tokens (EOS ignored) · hf batch size {args.batch_size} · "
        f"best of {args.repeat}",
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "",
        "| path | torch threads | output tokens | seconds | tokens/s | vs one at a time |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ratio = r["tokens_per_second"] / baseline["tokens_per_second"] if baseline else float("nan")
        lines.append(
            f"| {r['path']} | {r['torch_threads']} | {r['tokens']} | {r['seconds']:.2f} | "
            f"{r['tokens_per_second']:.1f} | {ratio:.1f}x |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="example: python benchmarks/generation.py --questions 32",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--model", default=str(DEFAULT_MODEL), help="model folder (default: demo-base)"
    )
    parser.add_argument(
        "--input", default=str(DEFAULT_INPUT), help="test file the prompts come from"
    )
    parser.add_argument("--questions", type=int, default=32, help="prompts per path (default: 32)")
    parser.add_argument(
        "--max-new-tokens", type=int, default=64, help="tokens per answer (default: 64)"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=32,
        help="prompts per transformers generate call (default: 32)",
    )
    parser.add_argument(
        "--device", default="cpu", help="transformers device: cpu or cuda (default: cpu)"
    )
    parser.add_argument(
        "--random-init-shape",
        choices=sorted(SHAPES),
        help="benchmark random weights of this shape instead of --model",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed runs per path; the best counts (default: 3)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch CPU threads for every path (default: each library's own choice; "
        "vLLM's CPU build picks 1)",
    )
    parser.add_argument("--skip-vllm", action="store_true", help="leave out the vLLM path")
    parser.add_argument("--engine-kwargs", help="JSON dict of extra vllm.LLM arguments")
    parser.add_argument("--output", help="also write the results as JSON here")
    parser.add_argument("--measure", choices=PATHS, dest="path", help=argparse.SUPPRESS)
    parser.add_argument("--result-file", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.path:  # child: measure one path
        Path(args.result_file).write_text(json.dumps(measure(args)))
        return 0
    paths = [p for p in PATHS if not (args.skip_vllm and p == "vllm")]
    with tempfile.TemporaryDirectory() as tmp:
        model, label = args.model, Path(args.model).name
        if args.random_init_shape:
            model = str(build_random_model(args.random_init_shape, Path(tmp) / "model"))
            label = f"random-init {args.random_init_shape}"
        results = [run_path(p, args, model) for p in paths]
    table = report(results, args, label)
    print(table)
    if args.output:
        Path(args.output).write_text(json.dumps({"results": results, "table": table}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
