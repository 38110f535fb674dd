"""LLM-as-judge components (rewards.judge), against the real `python -m inference serve`.

The server is the demo model behind vLLM's OpenAI-compatible API: the session's ``served``
fixture (tests/conftest.py), started once for the run. Two stand-ins, each said where used:
a closed port and a socket that never answers (a dead and a hung endpoint), and a small HTTP
server that rejects vLLM's ``structured_outputs`` field the way a non-vLLM server does.
"""

from __future__ import annotations

import csv
import json
import logging
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

import mcq
import rewards
from app.process import free_port
from rewards.judge import get_judge, judge_batch, load_rubric, parse_rating
from rewards.judge.client import JudgeSettings
from rewards.scoring import score_batch
from rewards.trl import reward_funcs

QUESTION = rewards.Sample(
    question="立法院院長如何產生？",
    options={"A": "總統任命", "B": "立法委員互選", "C": "行政院院長兼任", "D": "公民直選"},
    correct_answer="B",
)
ANSWERS = [
    "答案：B\n理由：依憲法規定，立法院院長由立法委員互選產生，其他選項不符合現行制度。",
    "答案：B\n理由：只有愚蠢的人才會選別的，這絕對是唯一正確的答案。",
    "答案：A",
    "答案：B\n理由：各方對議長角色看法可能不同，但依現行規定由立法委員互選。",
]


def judge_settings(base_url: str, model: str, cache_dir, **more) -> dict:
    return {"base_url": base_url, "model": model, "cache_dir": str(cache_dir), **more}


def write_preset(path, judges: dict[str, dict]) -> str:
    components = {"correctness": 1.0, **dict.fromkeys(judges, 1.0)}
    settings = {name: {"judge": judge} for name, judge in judges.items()}
    path.write_text(yaml.safe_dump({"components": components, "settings": settings}), "utf-8")
    return str(path)


# ------------------------------------------------------------------ rubrics and settings
@pytest.mark.parametrize("name", ["neutrality", "reasoning"])
def test_shipped_rubrics_map_ratings_one_to_five_evenly_onto_zero_to_one(name):
    rubric = load_rubric(name)
    assert {r: score for r, (score, _) in rubric.scale.items()} == {
        "1": 0.0,
        "2": 0.25,
        "3": 0.5,
        "4": 0.75,
        "5": 1.0,
    }
    assert all(meaning for _, meaning in rubric.scale.values())


def test_the_judge_prompt_shows_question_options_answer_and_the_scale():
    user = load_rubric("neutrality").messages(ANSWERS[1], QUESTION)[-1]["content"]
    for part in (QUESTION.question, "B. 立法委員互選", ANSWERS[1], "- 5 分：", "1、2、3、4、5"):
        assert part in user


def test_free_text_ratings_are_parsed_and_two_ratings_are_none():
    ratings = ["1", "2", "3", "4", "5"]
    assert parse_rating("這個回答相當持平。\n評分：４", ratings) == "4"
    assert parse_rating("Score: 2", ratings) == "2"
    assert parse_rating("給 1 分或 5 分都說得通", ratings) is None
    assert parse_rating("答案：B", ratings) is None


def test_bad_judge_settings_in_a_preset_are_one_line_errors(tmp_path):
    preset = write_preset(tmp_path / "p.yaml", {"judge_x": {"base_url": "ftp://x", "model": "m"}})
    with pytest.raises(mcq.DataError) as info:
        rewards.load_preset(preset)
    assert "missing rubric" in str(info.value) and "\n" not in str(info.value)
    preset = write_preset(
        tmp_path / "q.yaml",
        {"judge_y": {"base_url": "http://h/v1", "model": "m", "rubric": "nope", "timeout": 0}},
    )
    with pytest.raises(mcq.DataError, match="timeout must be a number > 0"):
        rewards.load_preset(preset)


def test_a_rubric_file_beside_the_preset_is_found_and_its_scale_used(tmp_path):
    (tmp_path / "rubrics").mkdir()
    rubric = {"name": "tone", "criteria": "語氣是否平和", "scale": {"差": 0, "可": 0.5, "好": 1}}
    (tmp_path / "rubrics" / "tone.yaml").write_text(
        yaml.safe_dump(rubric, sort_keys=False), "utf-8"
    )
    preset = write_preset(
        tmp_path / "p.yaml",
        {"judge_tone": {"base_url": "http://h/v1", "model": "m", "rubric": "rubrics/tone.yaml"}},
    )
    judge = rewards.load_preset(preset).settings["judge_tone"]["judge"]
    assert load_rubric(judge["rubric"]).ratings == ["差", "可", "好"]


def test_loading_a_judge_preset_does_not_import_openai(tmp_path):
    preset = write_preset(
        tmp_path / "p.yaml",
        {"judge_n": {"base_url": "http://h/v1", "model": "m", "rubric": "reasoning"}},
    )
    code = (
        f"import sys, rewards; p = rewards.load_preset({preset!r}); "
        "print(sorted(p.components), 'openai' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["['correctness',", "'judge_n']", "False"]


# ------------------------------------------------------------------ endpoints that fail
def test_a_dead_endpoint_gives_none_per_row_counted_and_logged_within_the_timeout(tmp_path, caplog):
    port = free_port()  # nothing listens there: connection refused
    settings = judge_settings(
        f"http://127.0.0.1:{port}/v1", "m", tmp_path, rubric="neutrality", retries=1, timeout=2
    )
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="rewards.judge"):
        results = judge_batch(ANSWERS * 3, [QUESTION] * 12, judge=settings)
    assert time.monotonic() - start < 5
    assert [value for value, _ in results] == [None] * 12
    assert all(details["failures"] == 1 and details["error"] for _, details in results)
    assert get_judge(JudgeSettings.from_mapping(settings)).stats["failures"] == 12
    assert "12 of 12 ratings failed" in caplog.text


def test_after_a_dead_endpoint_the_next_batch_fails_at_once_without_requests(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    settings = judge_settings(url, "m", tmp_path, rubric="reasoning", retries=2, timeout=5)
    judge_batch(ANSWERS[:1], [QUESTION], judge=settings)
    judge = get_judge(JudgeSettings.from_mapping(settings))
    requests, start = judge.stats["requests"], time.monotonic()
    results = judge_batch(ANSWERS, [QUESTION] * 4, judge=settings)
    assert time.monotonic() - start < 0.5 and judge.stats["requests"] == requests
    assert {details["error"].split(":")[0] for _, details in results} == {"endpoint down"}


def test_an_endpoint_that_never_answers_times_out_instead_of_hanging(tmp_path):
    with socket.socket() as silent:  # accepts connections (backlog), never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
        settings = judge_settings(url, "m", tmp_path, rubric="reasoning", retries=1, timeout=1)
        start = time.monotonic()
        values = [v for v, _ in judge_batch(ANSWERS * 4, [QUESTION] * 16, judge=settings)]
        elapsed = time.monotonic() - start
    assert values == [None] * 16
    assert elapsed < 6  # two timed-out tries of the first rows; the rest fail at once


class _PlainChatServer(BaseHTTPRequestHandler):
    """Stand-in for a non-vLLM endpoint: 400 for `structured_outputs`, else a free-text reply."""

    requests: list[dict] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(body)
        if "structured_outputs" in body:
            status, reply = 400, {"error": {"message": "Unrecognized request argument"}}
        else:
            message = {"role": "assistant", "content": "回答持平，引用制度。評分：4"}
            status = 200
            reply = {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            }
        data = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_a_server_without_structured_output_is_asked_in_free_text_and_parsed(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PlainChatServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        settings = judge_settings(url, "gpt-x", tmp_path, rubric="neutrality", max_concurrency=1)
        results = judge_batch(ANSWERS, [QUESTION] * 4, judge=settings)
    finally:
        server.shutdown()
    assert [value for value, _ in results] == [0.75] * 4
    structured = ["structured_outputs" in body for body in _PlainChatServer.requests]
    assert structured == [True, False, False, False, False]  # asked once, then never again


# ------------------------------------------------------------------ the real served model
@pytest.fixture(scope="module")
def endpoint(served):
    _, client = served
    return str(client.base_url).rstrip("/"), client.models.list().data[0].id


@pytest.mark.slow
def test_a_preset_judge_rates_each_completion_in_zero_to_one(endpoint, tmp_path):
    url, model = endpoint
    preset = write_preset(
        tmp_path / "judged.yaml",
        {
            "judge_neutral": judge_settings(url, model, tmp_path / "cache", rubric="neutrality"),
            "judge_reasoning": judge_settings(url, model, tmp_path / "cache", rubric="reasoning"),
        },
    )
    found = score_batch(ANSWERS, [QUESTION] * 4, preset)
    for breakdown in found:
        for name in ("judge_neutral", "judge_reasoning"):
            assert 0.0 <= breakdown.components[name] <= 1.0
            assert breakdown.details[name]["rating"] in list("12345")
            assert breakdown.details[name]["cached"] is False


@pytest.mark.slow
def test_scoring_again_is_served_from_the_cache_without_the_server(endpoint, tmp_path):
    url, model = endpoint
    live = judge_settings(url, model, tmp_path, rubric="neutrality")
    first = [v for v, _ in judge_batch(ANSWERS, [QUESTION] * 4, judge=live)]
    judge = get_judge(JudgeSettings.from_mapping(live))
    requests = judge.stats["requests"]
    again = judge_batch(ANSWERS, [QUESTION] * 4, judge=live)
    dead = {**live, "base_url": f"http://127.0.0.1:{free_port()}/v1"}  # same model and cache
    offline = [v for v, _ in judge_batch(ANSWERS, [QUESTION] * 4, judge=dead)]
    assert requests == 4 and judge.stats["requests"] == 4
    assert [v for v, _ in again] == first == offline
    assert all(details["cached"] for _, details in again)


@pytest.mark.slow
def test_rewards_score_command_writes_a_judge_column(endpoint, tmp_path, repo_root):
    url, model = endpoint
    preset = write_preset(
        tmp_path / "judged.yaml",
        {"judge_neutral": judge_settings(url, model, tmp_path / "cache", rubric="neutrality")},
    )
    rows = [
        {
            "id": f"q{i}",
            "completion": text,
            "question": QUESTION.question,
            "options": QUESTION.options,
            "correct_answer": "B",
        }
        for i, text in enumerate(ANSWERS)
    ]
    source = tmp_path / "completions.jsonl"
    source.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    out = tmp_path / "scored.csv"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "rewards",
            "score",
            "--input",
            str(source),
            "--preset",
            preset,
            "--output",
            str(out),
        ],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    with out.open(encoding="utf-8") as handle:
        scored = list(csv.DictReader(handle))
    assert [row["id"] for row in scored] == ["q0", "q1", "q2", "q3"]
    assert all(0.0 <= float(row["judge_neutral"]) <= 1.0 for row in scored)
    assert "judge_neutral" in done.stdout


@pytest.mark.slow
def test_the_trl_reward_function_of_a_judge_scores_a_batch(endpoint, tmp_path):
    url, model = endpoint
    preset = write_preset(
        tmp_path / "judged.yaml",
        {"judge_reasoning": judge_settings(url, model, tmp_path, rubric="reasoning")},
    )
    funcs = {f.__name__: f for f in reward_funcs(preset)}
    conversational = [[{"role": "assistant", "content": text}] for text in ANSWERS]
    values = funcs["judge_reasoning"](
        prompts=["?"] * 4,
        completions=conversational,
        question=[QUESTION.question] * 4,
        **{f"option_{k}": [v] * 4 for k, v in QUESTION.options.items()},
    )
    assert len(values) == 4 and all(0.0 <= v <= 1.0 for v in values)


@pytest.mark.slow
def test_an_answer_too_long_for_the_judge_is_none_and_the_rest_are_rated(endpoint, tmp_path):
    url, model = endpoint
    settings = judge_settings(url, model, tmp_path, rubric="reasoning")
    too_long = (
        "答案：B\n理由：" + "依規定由立法委員互選產生，" * 120
    )  # over the demo's 1,024 tokens
    (long_value, details), (value, _) = judge_batch(
        [too_long, ANSWERS[0]], [QUESTION] * 2, judge=settings
    )
    assert long_value is None and details["error"].startswith("HTTP 400")
    assert value is not None and 0.0 <= value <= 1.0
