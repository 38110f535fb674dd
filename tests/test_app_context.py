"""The app's Compare and Chat with questions longer than the model's context.

AppService runs in-process on the demo models (transformers backend, a 1,024-token context as
vLLM has on a CPU), so a long question is over-long whatever the demo model's own context.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import mcq
from app.helpers import InputError
from app.service import AppService, ModelChoice

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
    with pytest.raises(InputError, match="shorten the system prompt or lower max tokens"):
        service.compare_side("base", "問題？", OPTIONS, "", 0.0, 512, system_prompt="長" * 1900)


def test_a_chat_longer_than_the_context_is_refused_with_a_clear_message(service):
    history = [{"role": "user", "content": PASSAGE}, {"role": "assistant", "content": PASSAGE}]
    with pytest.raises(InputError, match="clear the conversation"):
        next(service.chat("請總結。", history, "tuned", "", 0.0, 64))
