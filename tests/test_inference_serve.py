"""`python -m inference serve`: vLLM's OpenAI-compatible server, talked to with `openai`.

The server is the session's ``served`` fixture (tests/conftest.py), shared with
tests/test_rewards_judge.py so the suite starts it once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.cli import main

pytestmark = pytest.mark.slow


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
