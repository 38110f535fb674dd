"""Reward components that cannot score, score nothing, or raise: said in one line, or alarmed.

A judge endpoint is checked once before any work; a component that scored no row is an error
unless ``--allow-unscored``; a plugin that raises names itself and the row; the LLM judge
retries through the OpenAI client; a GRPO run whose component stops scoring raises an alarm in
its run log (and halts with ``halt_on_alarm``). Stand-ins, each said where used: a closed port
(a dead endpoint) and a small HTTP server answering as an OpenAI-compatible one would, in the
ways a real one fails (another model, a refused key, a 503, replies without a rating). The GRPO
runs are real (TRL on the demo model, CPU).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import mcq
import rewards
from app.process import free_port
from rewards.judge import get_judge, judge_batch
from rewards.judge.client import JudgeSettings
from rewards.scoring import preflight, score_batch, scoring_checked, unscored

ROOT = Path(__file__).resolve().parents[1]
ANSWERS = ["答案：B\n理由：依憲法規定，由立法委員互選產生。", "答案：A"]
COMPLETIONS = "id,completion,correct_answer\nq1,答案：B,B\nq2,答案：A,B\nq3,答案：C,B\n"


class _Endpoint(BaseHTTPRequestHandler):
    """Stand-in for an OpenAI-compatible server; ``behaviour`` says how it answers."""

    behaviour: dict = {}
    posts: list[float] = []  # when each chat request came

    def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        b = type(self).behaviour
        if b.get("status"):
            self._send(b["status"], {"error": {"message": "Incorrect API key provided"}})
        else:
            models = [{"id": m, "object": "model", "owned_by": "x"} for m in b["models"]]
            self._send(200, {"object": "list", "data": models})

    def do_POST(self):
        b = type(self).behaviour
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).posts.append(time.monotonic())
        if b.get("status"):
            self._send(b["status"], {"error": {"message": "Incorrect API key provided"}})
        elif b.get("unknown_model"):
            self._send(404, {"error": {"message": "The model `m` does not exist."}})
        elif len(type(self).posts) <= b.get("busy_first", 0):
            self._send(503, {"error": {"message": "busy"}}, {"Retry-After": "1"})
        else:
            message = {"role": "assistant", "content": b.get("reply", "4")}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            self._send(200, {"id": "x", "object": "chat.completion", "created": 0,
                             "model": "m", "choices": [choice]})  # fmt: skip

    def log_message(self, *args):
        pass


@pytest.fixture
def endpoint():
    """Start the stand-in; the test sets ``_Endpoint.behaviour`` and gets the base URL."""
    _Endpoint.behaviour, _Endpoint.posts = {"models": ["m"]}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def judge_preset(path: Path, url: str, name: str = "judge_n", **more) -> Path:
    judge = {"base_url": url, "model": "m", "rubric": "neutrality", "cache_dir": False, **more}
    text = json.dumps({"components": {"correctness": 1.0, name: 1.0},
                       "settings": {name: {"judge": judge}}})  # fmt: skip
    path.write_text(text, "utf-8")  # JSON is YAML
    return path


def run_cli(*args: str, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), str(ROOT)])
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def error_lines(run: subprocess.CompletedProcess) -> list[str]:
    return [line for line in run.stderr.splitlines() if line.strip()]


# ------------------------------------------------------------------ the judge, checked first
def test_preflight_names_the_judge_and_its_url_when_nothing_listens(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there: connection refused
    preset = judge_preset(tmp_path / "p.yaml", url, retries=0)
    start = time.monotonic()
    with pytest.raises(mcq.UsageError, match=rf"'judge_n': cannot reach {url} ") as err:
        preflight(str(preset))
    assert time.monotonic() - start < 5
    assert "--allow-unscored" in str(err.value)


def test_preflight_names_a_judge_that_accepts_and_never_answers(tmp_path):
    with socket.socket() as silent:  # stand-in: accepts connections (backlog), never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
        preset = judge_preset(tmp_path / "p.yaml", url, retries=0, timeout=1)
        with pytest.raises(mcq.UsageError, match=rf"'judge_n': {url} did not answer within 1 s"):
            preflight(str(preset))


def test_preflight_names_a_model_the_endpoint_does_not_serve(endpoint, tmp_path):
    _Endpoint.behaviour = {"models": ["other"], "unknown_model": True}
    with pytest.raises(mcq.UsageError, match=r"does not serve model 'm' \(it serves other\)"):
        preflight(str(judge_preset(tmp_path / "p.yaml", endpoint)))


def test_preflight_names_a_refused_api_key(endpoint, tmp_path):
    _Endpoint.behaviour = {"status": 401}
    with pytest.raises(mcq.UsageError, match=r"refused the API key \(HTTP 401"):
        preflight(str(judge_preset(tmp_path / "p.yaml", endpoint, retries=0)))


def test_preflight_passes_a_judge_that_serves_its_model_without_rating_anything(endpoint, tmp_path):
    preflight(str(judge_preset(tmp_path / "p.yaml", endpoint)))
    assert _Endpoint.posts == []  # the models list was enough


def test_allow_unscored_turns_a_dead_judge_into_a_warning(tmp_path, caplog):
    preset = judge_preset(tmp_path / "p.yaml", f"http://127.0.0.1:{free_port()}/v1", retries=0)
    preflight(str(preset), allow_unscored=True)
    assert "judge_n" in caplog.text and "--allow-unscored" in caplog.text


def test_rewards_score_with_a_dead_judge_exits_2_before_scoring(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    source = tmp_path / "c.csv"
    source.write_text(COMPLETIONS, "utf-8")
    out = tmp_path / "scored.csv"
    run = run_cli("rewards", "score", "-i", str(source), "-p",
                  str(judge_preset(tmp_path / "p.yaml", url)), "-o", str(out))  # fmt: skip
    assert run.returncode == 2 and len(error_lines(run)) == 1, run.stderr
    assert "judge_n" in run.stderr and url in run.stderr and not out.exists()


# ------------------------------------------------------------------ the client's retries
def test_the_judge_retries_through_the_openai_client_honouring_retry_after(endpoint, tmp_path):
    _Endpoint.behaviour = {"models": ["m"], "busy_first": 1}  # one 503 with Retry-After: 1
    settings = {"base_url": endpoint, "model": "m", "rubric": "neutrality", "cache_dir": False}
    [(value, details)] = judge_batch(ANSWERS[:1], [None], judge=settings)
    assert value == 0.75 and details["rating"] == "4"
    first, second = _Endpoint.posts
    assert second - first >= 0.9  # the server's Retry-After, not a fixed backoff
    judge = get_judge(JudgeSettings.from_mapping(settings))
    assert judge._openai().max_retries == 2 and judge.stats["requests"] == 2


# ------------------------------------------------------------------ a component that scores nothing
def test_a_judge_that_rates_no_row_is_an_error_naming_the_first_failure(endpoint, tmp_path):
    _Endpoint.behaviour = {"models": ["m"], "reply": "I would rather not say."}
    preset = rewards.load_preset(judge_preset(tmp_path / "p.yaml", endpoint))
    samples = [rewards.Sample(correct_answer="B")] * 2
    refused = pytest.raises(
        mcq.UsageError, match=r"'judge_n' scored none of the 2 rows .* no rating"
    )
    with refused, scoring_checked(preset):
        score_batch(ANSWERS, samples, preset)
    with scoring_checked(preset, allow_unscored=True):  # allowed: totals without it
        found = score_batch(ANSWERS, samples, preset)
    assert [b.total for b in found] == [1.0, 0.0]


def test_correctness_without_gold_is_not_applicable_rather_than_unscored():
    preset = rewards.load_preset("default")
    samples = [rewards.Sample()] * 2
    found = score_batch(ANSWERS, samples, preset)
    assert all(b.components["correctness"] is None for b in found)
    assert unscored(found, samples, preset) == {}


def write_plugin(folder: Path, body: str, module: str = "user_plugin") -> Path:
    folder.mkdir(exist_ok=True)
    (folder / f"{module}.py").write_text(body, "utf-8")
    return folder


def test_rewards_score_refuses_a_plugin_that_scored_nothing_unless_allowed(tmp_path):
    plugins = write_plugin(
        tmp_path / "plugins", "def never(completion, sample=None):\n    return None\n"
    )
    preset = tmp_path / "p.yaml"
    preset.write_text("components: {format: 1.0, 'user_plugin:never': 1.0}\n", "utf-8")
    source = tmp_path / "c.csv"
    source.write_text(COMPLETIONS, "utf-8")
    out = tmp_path / "scored.csv"
    argv = ["rewards", "score", "-i", str(source), "-p", str(preset), "-o", str(out)]
    refused = run_cli(*argv, pythonpath=plugins)
    assert refused.returncode == 2 and len(error_lines(refused)) == 1, refused.stderr
    assert "'never' scored none of the 3 rows" in refused.stderr and not out.exists()
    allowed = run_cli(*argv, "--allow-unscored", pythonpath=plugins)
    assert allowed.returncode == 0, allowed.stderr
    assert "never" in allowed.stderr and out.read_text("utf-8").count("\n") == 4


# ------------------------------------------------------------------ a plugin that raises
def test_a_plugin_that_raises_ends_in_one_line_naming_it_and_the_row(tmp_path):
    body = (
        "def picky(completion, sample=None):\n"
        "    if 'C' in completion:\n"
        "        raise ValueError('cannot judge option C')\n"
        "    return 1.0\n"
    )
    plugins = write_plugin(tmp_path / "plugins", body)
    preset = tmp_path / "p.yaml"
    preset.write_text("components: {format: 1.0, 'user_plugin:picky': 1.0}\n", "utf-8")
    source = tmp_path / "c.csv"
    source.write_text(COMPLETIONS, "utf-8")
    run = run_cli("rewards", "score", "-i", str(source), "-p", str(preset),
                  "-o", str(tmp_path / "scored.csv"), pythonpath=plugins)  # fmt: skip
    assert run.returncode == 2 and "Traceback" not in run.stderr
    [line] = error_lines(run)
    assert line.endswith(
        "error: reward component 'picky' (user_plugin:picky) failed on id q3: "
        "ValueError: cannot judge option C"
    )
    assert not (tmp_path / "scored.csv").exists()


def test_a_plugin_error_on_a_row_without_id_names_its_row_number(tmp_path, monkeypatch):
    body = "def odd(completion, sample=None):\n    raise KeyError('options')\n"
    monkeypatch.syspath_prepend(str(write_plugin(tmp_path / "plugins", body, "odd_plugin")))
    preset = tmp_path / "p.yaml"
    preset.write_text("components: {'odd_plugin:odd': 1.0}\n", "utf-8")
    with pytest.raises(mcq.UsageError, match=r"'odd' \(odd_plugin:odd\) failed on row 1: KeyError"):
        score_batch(ANSWERS, None, str(preset))
    rewards.COMPONENTS.pop("odd", None)


# ------------------------------------------------------------------ a GRPO run that stops scoring
FLAKY = """\
calls = 0


def flaky(completion, sample=None):
    \"\"\"Scores the first step's two completions, then nothing.\"\"\"
    global calls
    calls += 1
    return 1.0 if calls <= 2 else None
"""

GRPO_ARGS = [
    "--model_name_or_path", "assets/models/demo-base",
    "--dataset_path", "assets/data/sample_train.tsv",
    "--per_device_train_batch_size", "2", "--num_generations", "2",
    "--max_completion_length", "8", "--bf16", "false",
    "--logging_steps", "1", "--save_steps", "100", "--seed", "0",
    "--alarm_window", "2",
]  # fmt: skip


def run_grpo(tmp_path: Path, out: Path, *more: str) -> subprocess.CompletedProcess:
    plugins = write_plugin(tmp_path / "plugins", FLAKY, "flaky_plugin")
    preset = tmp_path / "flaky.yaml"
    preset.write_text("components: {format: 1.0, 'flaky_plugin:flaky': 1.0}\n", "utf-8")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(plugins), str(ROOT)]),
               HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")  # fmt: skip
    argv = [*GRPO_ARGS, "--preset", str(preset), "--output_dir", str(out), *more]
    return subprocess.run([sys.executable, "-m", "training", "grpo", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip


@pytest.mark.slow
def test_a_component_that_stops_scoring_is_an_alarm_and_halt_on_alarm_stops_with_a_checkpoint(
    tmp_path,
):
    out = tmp_path / "run"
    halted = run_grpo(tmp_path, out, "--max_steps", "6", "--halt_on_alarm", "true")
    assert halted.returncode == 0, halted.stderr[-3000:]
    log = (out / "training.log").read_text("utf-8")
    alarms = [line for line in log.splitlines() if "alarm at step" in line]
    assert len(alarms) == 1 and "'flaky'" in alarms[0] and "alarm at step 3" in alarms[0]
    assert "stopping (halt_on_alarm)" in alarms[0]
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-3"]
    state = json.loads((out / "trainer_state.json").read_text("utf-8"))
    assert state["global_step"] == 3  # of 6
    # A rerun resumes from the halt's checkpoint; without halt_on_alarm an alarm only warns.
    resumed = run_grpo(tmp_path, out, "--max_steps", "6")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    log = (out / "training.log").read_text("utf-8")
    assert "resuming from checkpoint-3" in log
    assert "alarm at step 6" in log and "training goes on" in log
    assert json.loads((out / "trainer_state.json").read_text("utf-8"))["global_step"] == 6
