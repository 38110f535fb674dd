"""The app's Compare and Chat past the model's context and past the time limit.

AppService runs in-process on the demo models (transformers backend, a 1,024-token context as
vLLM has on a CPU), so a long question is over-long whatever the demo model's own context.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import mcq
from app.service import AppService, ModelChoice
from mcq.errors import UsageError

pytestmark = pytest.mark.slow

PASSAGE = "".join(
    (Path(__file__).parent / "fixtures" / "long_civics_passage.txt").read_text("utf-8").split()
)
OPTIONS = ["議會審議被完全取代", "提案須經評估並公開理由", "只有里長可以提案", "只能網路投票"]


@pytest.fixture(scope="module")
def service(demo_base, demo_adapter):
    models = ModelChoice(str(demo_base), None, str(demo_adapter), "transformers")
    app = AppService(models, engine_kwargs={"max_model_len": 1024})
    app.load()
    return app


def test_compare_shortens_an_over_long_question_and_says_so(service):
    result = service.compare_side("tuned", PASSAGE + "下列何者正確？", OPTIONS, "B", 0.0, 32)
    assert result["prompt_truncated"] is True
    assert result["text"].strip() and 0.0 <= result["total"] <= 1.0


def test_compare_of_a_short_question_is_not_marked_shortened(service):
    result = service.compare_side("base", "議會的職權為何？", OPTIONS, "", 0.0, 16)
    assert result["prompt_truncated"] is False


def test_the_visitor_sees_a_note_next_to_a_shortened_answer():
    from app.ui import result_markdown

    result = {"answer": "B", "answer_rule": "marker", "total": 0.5, "components": {}}
    assert mcq.CUT_MARK not in result_markdown(result)
    note = result_markdown({**result, "prompt_truncated": True})
    assert "too long for the model's context" in note and mcq.CUT_MARK in note
    assert note.index("Answer: B") < note.index("too long")


def test_a_system_prompt_that_leaves_no_room_is_a_clear_input_error(service):
    with pytest.raises(UsageError, match="shorten the system prompt or lower max tokens"):
        service.compare_side("base", "問題？", OPTIONS, "", 0.0, 512, system_prompt="長" * 1900)


def test_a_chat_longer_than_the_context_drops_its_oldest_turns_and_says_so(service):
    history = [{"role": "user", "content": PASSAGE}, {"role": "assistant", "content": PASSAGE}]
    history += [{"role": "user", "content": "你好"}, {"role": "assistant", "content": "你好！"}]
    final = list(service.chat("請總結。", history, "tuned", "", 0.0, 32))[-1]
    assert final["done"] is True and final["reply"].strip()
    assert final["turns_dropped"] == 1
    assert any("oldest turn was left out" in note for note in final["notes"])


def test_fitting_a_chat_keeps_the_system_turn_the_newest_turns_and_the_message(service):
    old = [{"role": "user", "content": PASSAGE}, {"role": "assistant", "content": "好。"}]
    recent = [{"role": "user", "content": "你好"}, {"role": "assistant", "content": "你好！"}]
    messages = [{"role": "system", "content": "系統"}, *old, *recent]
    messages.append({"role": "user", "content": "請總結。"})
    kept, dropped = service.fit_history("tuned", messages, 64)
    assert dropped == 1
    assert kept == [messages[0], *recent, messages[-1]]


def test_a_chat_that_fits_is_sent_whole(service):
    messages = [{"role": "user", "content": "你好"}, {"role": "assistant", "content": "你好！"}]
    messages.append({"role": "user", "content": "請總結。"})
    assert service.fit_history("base", messages, 64) == (messages, 0)


def test_a_message_too_long_for_the_context_on_its_own_is_refused_in_one_line(service):
    with pytest.raises(UsageError, match="shorten the message") as info:
        next(service.chat("長" * 2000, [], "tuned", "", 0.0, 64))
    assert "\n" not in str(info.value)


@pytest.fixture
def one_tenth_second_limit(service):
    saved = service.request_timeout
    service.request_timeout = 0.1
    yield service
    service.request_timeout = saved


def test_a_chat_reply_past_the_time_limit_is_cut_and_frees_the_worker(one_tenth_second_limit):
    service = one_tenth_second_limit
    start = time.monotonic()
    final = list(service.chat("請詳細說明立法院的職權。", [], "tuned", "", 0.0, 512))[-1]
    assert time.monotonic() - start < 10
    assert final["done"] is True and final["timed_out"] is True
    assert any("time limit of 0.1 s" in note for note in final["notes"])
    backend, _ = service._side("tuned")
    # The generation thread has let go of the model: the next request can run at once.
    assert backend._lock.acquire(blocking=False)
    backend._lock.release()


def test_a_compare_answer_past_the_time_limit_is_cut_and_says_so(one_tenth_second_limit):
    from app.ui import result_markdown

    result = one_tenth_second_limit.compare_side("tuned", "議會的職權為何？", OPTIONS, "", 0.0, 512)
    assert result["timed_out"] is True
    assert "time limit" in result_markdown(result)


def test_a_chat_within_the_time_limit_is_not_marked_cut(service):
    final = list(service.chat("你好", [], "base", "", 0.0, 8))[-1]
    assert final["timed_out"] is False and final["notes"] == []


def test_closing_the_service_removes_its_scored_files(service, tmp_path):
    src = tmp_path / "completions.jsonl"
    src.write_text('{"id": "a", "completion": "答案：A"}\n', "utf-8")
    scored = Path(service.score_file(src)["path"])
    assert scored.exists()
    service.close()
    assert not scored.parent.exists()
