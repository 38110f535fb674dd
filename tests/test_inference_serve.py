"""`python -m inference serve`: vLLM's OpenAI-compatible server, talked to with `openai`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inference.cli import main

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_passes_unknown_flags_to_vllm_and_binds_localhost(capsys, demo_base, demo_adapter):
    code = main(
        [
            "serve",
            "--model",
            str(demo_base),
            "--adapter",
            str(demo_adapter),
            "--port",
            "9123",
            "--max-num-seqs",
            "4",
            "--max-model-len",
            "512",
            "--print-command",
        ]
    )
    command = capsys.readouterr().out.split()
    assert code == 0
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert command[command.index("--max-num-seqs") + 1] == "4"
    assert command.count("--max-model-len") == 1  # the user's value replaces the CPU default
    assert f"demo-grpo-adapter={demo_adapter.resolve()}" in command


@pytest.fixture(scope="module")
def served(tmp_path_factory, demo_grpo, repo_root):
    """`python -m inference serve` of demo-grpo on a free port, and an OpenAI client for it."""
    from openai import OpenAI

    log_path = tmp_path_factory.mktemp("serve") / "server.log"
    port = free_port()
    log = log_path.open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "inference",
            "serve",
            "--model",
            str(demo_grpo),
            "--port",
            str(port),
        ],
        cwd=repo_root,
        env={**os.environ, "PYTHONPATH": str(repo_root)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0)
    try:
        deadline = time.monotonic() + 150
        while True:
            assert server.poll() is None, log_path.read_text()[-2000:]
            try:
                client.models.list()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        yield server, client
    finally:
        server.send_signal(signal.SIGTERM)  # forwarded to vLLM, which shuts down cleanly
        stopped_on_sigterm = True
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            stopped_on_sigterm = False
            server.kill()
            server.wait()
        log.close()
    # `inference serve` promises that SIGTERM stops it (and vLLM with it): no kill needed.
    assert stopped_on_sigterm, "inference serve was still running 60 s after SIGTERM"
    assert server.returncode != -signal.SIGKILL


def test_openai_client_chats_with_the_served_demo_model(served):
    _, client = served
    assert [m.id for m in client.models.list()] == ["demo-grpo"]
    reply = client.chat.completions.create(
        model="demo-grpo",
        messages=[{"role": "user", "content": "問題：立法院院長如何產生？\nA. 任命\nB. 互選"}],
        max_tokens=24,
        temperature=0,
    )
    assert reply.choices[0].message.content.strip()
    assert 0 < reply.usage.completion_tokens <= 24


def test_an_over_long_request_gets_http_400_and_the_server_keeps_serving(served):
    import openai

    server, client = served
    passage = (Path(__file__).parent / "fixtures" / "long_civics_passage.txt").read_text("utf-8")
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model="demo-grpo",
            messages=[{"role": "user", "content": passage * 2}],
            max_tokens=16,
        )
    assert info.value.status_code == 400 and "context length" in str(info.value)
    reply = client.chat.completions.create(
        model="demo-grpo", messages=[{"role": "user", "content": "你好"}], max_tokens=8
    )
    assert server.poll() is None and reply.choices[0].message.content is not None
