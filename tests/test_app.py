"""The real app, started as `python -m app` on a free loopback port, driven over HTTP.

One app process serves every test in this file (module-scoped fixture): gradio_client calls
the named endpoints (chat, compare, score, score_file) and a headless Chromium fills in the
compare form. The demo models run on the transformers backend, which starts faster here than
a vLLM engine (measured: see app/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mcq
from app.process import running_app
from app.screenshot import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_TEST = ROOT / "assets" / "data" / "sample_test.tsv"
COMPONENTS = {"format", "reasoning", "neutrality", "correctness"}
START_TIMEOUT_S = 180


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """`python -m app` (demo models, transformers backend) on a free loopback port.

    The context is capped at 1,024 tokens (the demo models have 4,096) so that questions and
    chats within the per-field limits can still be too long for it.
    """
    log_path = tmp_path_factory.mktemp("app") / "app.log"
    try:
        with running_app(
            ["--backend", "transformers", "--max-model-len", "1024"],
            log_path=log_path,
            timeout=START_TIMEOUT_S,
        ) as url:
            yield url
    except RuntimeError as err:
        pytest.fail(str(err))


@pytest.fixture(scope="module")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False, analytics_enabled=False)


@pytest.fixture(scope="module")
def sample():
    return mcq.load_test(SAMPLE_TEST)[0]


def _check_side(side: dict, gold: str | None, *, needs_letter: bool) -> None:
    # The tuned demo model is trained to the answer format; the base one may miss it.
    if needs_letter or side["answer"] is not None:
        assert side["answer"] in mcq.LETTERS, side["text"]
    else:  # no letter, or several offered as the answer
        assert side["answer_rule"] in ("none", "ambiguous")
    assert side["text"].strip()
    assert 0.0 <= side["total"] <= 1.0
    assert set(side["components"]) >= COMPONENTS
    for name, score in side["components"].items():
        assert score is None or 0.0 <= score <= 1.0, name
    for term in side["terms"]:
        assert side["text"][term["start"] : term["end"]]
        assert term["category"] in {"neutral", "absolute", "loaded"}
    if gold:
        assert side["components"]["correctness"] in (0.0, 1.0)
        assert side["correct"] is (side["answer"] == gold)
    else:
        assert side["correct"] is None


def test_app_binds_loopback_and_names_its_api_endpoints(app_url, client):
    assert app_url.startswith("http://127.0.0.1:")
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/chat", "/compare", "/score", "/score_file", "/info"} <= set(endpoints)


def test_compare_answers_with_both_models_and_scores_each(client, sample):
    options = [sample.options[x] for x in mcq.LETTERS]
    result = client.predict(sample.question, *options, "B", api_name="/compare")
    assert result["question"] == sample.question
    assert result["base"]["model"] == "demo-base"
    assert "demo-grpo" in result["tuned"]["model"]
    _check_side(result["base"], "B", needs_letter=False)
    _check_side(result["tuned"], "B", needs_letter=True)


def test_chat_streams_a_reply_then_its_breakdown(client):
    job = client.submit("請問立法院的主要職權是什麼？", [], "tuned", "", 0.0, 48, api_name="/chat")
    parts = list(job)
    final = job.result(timeout=60)
    assert final["done"] is True
    assert final["reply"].strip()
    assert all(p["reply"] == final["reply"][: len(p["reply"])] for p in parts)
    assert 0.0 <= final["breakdown"]["total"] <= 1.0
    assert final["breakdown"]["components"]["correctness"] is None


def test_chat_continues_a_conversation_with_the_base_model(client):
    history = [
        {"role": "user", "content": "你好"},
        {"role": "assistant", "content": "你好，請問有什麼問題？"},
    ]
    final = client.predict("立法委員任期幾年？", history, "base", "", 0.0, 32, api_name="/chat")
    assert final["side"] == "base" and final["done"] is True
    assert final["reply"].strip()


def test_score_returns_components_and_highlighted_neutrality_terms(client):
    text = "答案：B\n理由：這個問題可能有不同觀點，也許各方看法不一，但並非絕對。"
    result = client.predict(
        text, "誰制定法律？", "行政院", "立法院", "司法院", "監察院", "B", api_name="/score"
    )
    assert result["answer"] == "B"
    assert result["correct"] is True
    assert result["components"]["correctness"] == 1.0
    assert set(result["components"]) >= COMPONENTS
    assert 0.0 <= result["total"] <= 1.0
    assert result["terms"], "a hedged answer must show neutrality terms"
    for term in result["terms"]:
        assert text[term["start"] : term["end"]]
    assert {t["category"] for t in result["terms"]} & {"neutral"}


def test_score_file_returns_a_scored_file_and_summary(client, tmp_path):
    from gradio_client import handle_file

    rows = [
        {"id": "a", "completion": "答案：A\n理由：可能如此。", "correct_answer": "A"},
        {"id": "b", "completion": "我不知道"},
    ]
    src = tmp_path / "completions.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    scored_path, summary = client.predict(handle_file(src), "default", api_name="/score_file")
    scored = [json.loads(line) for line in Path(scored_path).read_text("utf-8").splitlines()]
    assert [r["id"] for r in scored] == ["a", "b"]
    assert scored[0]["answer"] == "A" and scored[1]["answer"] in (None, "")
    assert summary["rows"] == 2
    assert 0.0 <= summary["mean_total"] <= 1.0


def test_input_over_the_limit_is_refused_with_a_clear_message(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=r"question is too long: 2,001 characters"):
        client.predict("問" * 2001, "一", "二", "三", "四", api_name="/compare")
    with pytest.raises(AppError, match=r"completion is too long"):
        client.predict("字" * 8001, api_name="/score")


def test_a_visitor_cannot_name_a_server_file_or_preset_path(app_url, client):
    import httpx
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="unknown reward preset"):
        client.predict("答案：A", preset="/etc/passwd", api_name="/score")
    # A FileData naming a server path, sent without uploading it first, must be rejected.
    payload = {"data": [{"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}, "default"]}
    with httpx.Client(base_url=app_url, timeout=30) as http:
        event = http.post("/gradio_api/call/score_file", json=payload)
        if event.status_code == 200:
            stream = http.get(f"/gradio_api/call/score_file/{event.json()['event_id']}").text
            assert "event: error" in stream
            assert "root:" not in stream
        else:
            assert event.status_code in (400, 403, 422)


def test_browser_compare_shows_both_answers_and_the_breakdown(app_url, sample, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run `make system-deps` (installs Debian's chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1300})
            page.goto(app_url)
            page.locator("#compare-question textarea").fill(sample.question)
            for letter in mcq.LETTERS:
                box = page.locator(f"#compare-option-{letter}").locator("textarea, input").first
                box.fill(sample.options[letter])
            page.locator("#compare-button").click()
            for side in ("base", "tuned"):
                summary = page.locator(f"#{side}-summary")
                expect(summary).to_contain_text("total", timeout=60_000)
                expect(summary).to_contain_text("Answer:")
                # Both answers are shown; only the tuned model reliably opens with 答案：X
                # (the untuned demo base writes free text: that is the difference to see).
                expect(page.locator(f"#{side}-answer")).to_contain_text("。")
                expect(
                    page.locator(f"#{side}-chart svg, #{side}-chart canvas").first
                ).to_be_visible()
            expect(page.locator("#tuned-answer")).to_contain_text("答案")
            text = page.locator("#tuned-summary").inner_text()
            assert "neutrality" in text and "format" in text
            page.screenshot(path=tmp_path / "compare.png", full_page=True)
        finally:
            browser.close()
    assert (tmp_path / "compare.png").stat().st_size > 10_000


def test_uploads_over_the_size_limit_are_refused_by_the_server(app_url):
    import httpx

    from app.limits import LIMITS

    big = b'{"completion": "' + b"a" * (LIMITS.upload_bytes + 1024) + b'"}\n'
    with httpx.Client(base_url=app_url, timeout=30) as http:
        response = http.post(
            "/gradio_api/upload", files={"files": ("big.jsonl", big, "application/json")}
        )
    assert response.status_code == 413


def test_an_over_long_chat_is_answered_with_its_oldest_turns_left_out(client):
    # 20 turns within every per-field limit, hundreds of times the model's context.
    history = []
    for _ in range(20):
        history.append({"role": "user", "content": "請問立法院的職權" * 1000})
        history.append({"role": "assistant", "content": "立法院負責審議法案" * 888})
    job = client.submit("最後一個問題？", history, "tuned", "", 0.0, 16, api_name="/chat")
    final = job.result(timeout=120)
    assert final["done"] is True and final["reply"].strip()
    assert final["turns_dropped"] == 20
    assert "20 oldest turns were left out" in " ".join(final["notes"])


def test_a_chat_message_too_long_for_the_context_gets_a_readable_error(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="shorten the message") as info:
        client.predict("長" * 2000, [], "tuned", "", 0.0, 64, api_name="/chat")
    assert "upstream" not in str(info.value)


def test_an_over_long_compare_is_answered_with_a_note(client):
    options = ["選項內容" * 125] * 4
    result = client.predict("問題" * 1000, *options, "", 0.0, 32, api_name="/compare")
    for side in ("base", "tuned"):
        assert result[side]["prompt_truncated"] is True
        assert result[side]["timed_out"] is False


def test_browser_chat_says_which_turns_were_left_out(app_url):
    from playwright.sync_api import expect, sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run `make system-deps` (installs Debian's chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1300})
            page.goto(app_url)
            page.get_by_role("tab", name="Chat").click()
            box = page.locator("#chat-message textarea")
            # Two messages of ~620 tokens each: the second leaves no room for the first turn.
            for turn in (1, 2):
                box.fill("長" * 600)
                box.press("Enter")
                expect(page.locator("#chatbot [data-testid='bot']")).to_have_count(
                    turn, timeout=60_000
                )
                # The page ignores a new message while a reply streams: wait for its end.
                expect(page.locator(".generating")).to_have_count(0, timeout=90_000)
            expect(page.locator("#chat-note")).to_contain_text(
                "oldest turn was left out", timeout=60_000
            )
        finally:
            browser.close()
