"""Specification of mcq's prompt template and its rendering through a real chat template."""

from __future__ import annotations

import logging
import re

import pytest

import mcq
from mcq import (
    ANSWER_FORMAT_HINT,
    SYSTEM_PROMPT,
    Question,
    build_messages,
    extract_answer,
    format_question,
    render_prompt,
)

QUESTION = Question(
    id="q1",
    question="關於集會遊行的規範，下列敘述何者較為正確？",
    options={
        "A": "集會遊行一律須經許可",
        "B": "集會自由受憲法保障，但得依法律合理限制",
        "C": "集會遊行完全不受任何限制",
        "D": "只有政黨可以申請集會",
    },
)

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
NO_SYSTEM = (
    "{% for m in messages %}{% if m['role'] == 'system' %}"
    "{{ raise_exception('System role not supported') }}{% endif %}"
    "<turn>{{ m['role'] }}\n{{ m['content'] }}</turn>\n{% endfor %}"
    "{% if add_generation_prompt %}<turn>model\n{% endif %}"
)


def tiny_tokenizer(chat_template):
    """A real PreTrainedTokenizerFast built locally (no hub download) with the given template."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"[UNK]": 0, "<|im_start|>": 1, "<|im_end|>": 2}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, chat_template=chat_template, unk_token="[UNK]"
    )


@pytest.fixture(scope="module")
def chatml_tokenizer():
    return tiny_tokenizer(CHATML)


def test_user_text_lists_question_then_each_option_on_its_own_line():
    lines = format_question(QUESTION).splitlines()
    assert QUESTION.question in lines[0]
    assert lines[2:6] == [f"{letter}. {QUESTION.options[letter]}" for letter in "ABCD"]


def test_user_text_asks_for_answer_marker_then_reasoning():
    text = format_question(QUESTION)
    assert "答案：" in text and "理由：" in text
    assert text.index("答案：") < text.index("理由：")
    assert text.endswith(ANSWER_FORMAT_HINT)


@pytest.mark.parametrize("prompt", mcq.list_prompts(), ids=lambda p: p.name)
def test_answer_format_has_no_placeholder_letter_a_model_could_copy(prompt):
    # A 0.5B model copied the old hint's 「答案：X」 literally one answer in five.
    assert not re.search(r"[A-Za-zＡ-Ｚａ-ｚ]", prompt.answer_format)


def test_template_itself_contains_no_extractable_answer():
    # Otherwise a model that merely echoes the prompt would be credited with a letter.
    assert extract_answer(format_question(QUESTION))[0] is None
    assert extract_answer(render_prompt(QUESTION))[0] is None


FEWSHOT = mcq.load_prompt("fewshot")


@pytest.mark.parametrize(
    "text",
    [
        SYSTEM_PROMPT,
        ANSWER_FORMAT_HINT,
        format_question(QUESTION),
        format_question(FEWSHOT.example.question, FEWSHOT),
        FEWSHOT.example.answer,
    ],
    ids=["system", "hint", "user", "fewshot-question", "fewshot-answer"],
)
def test_template_text_is_traditional_chinese(text):
    import opencc

    assert opencc.OpenCC("s2t").convert(text) == text  # nothing left to convert to Traditional
    assert opencc.OpenCC("t2s").convert(text) != text  # and it is not script-neutral either


def test_system_prompt_asks_for_neutrality():
    assert "中立" in SYSTEM_PROMPT and "不同立場" in SYSTEM_PROMPT


def test_messages_are_system_then_user():
    messages = build_messages(QUESTION)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[0]["content"] == SYSTEM_PROMPT
    assert messages[1]["content"] == format_question(QUESTION)


def test_messages_without_system_prompt_have_only_user_turn():
    assert [m["role"] for m in build_messages(QUESTION, system_prompt=None)] == ["user"]


def test_custom_system_prompt_is_used():
    assert build_messages(QUESTION, system_prompt="自訂")[0]["content"] == "自訂"


def test_plain_rendering_contains_system_prompt_options_and_marker():
    text = render_prompt(QUESTION)
    assert text.startswith(SYSTEM_PROMPT)
    assert all(f"{k}. {v}" in text for k, v in QUESTION.options.items())
    assert "答案：" in text


def test_chat_template_rendering_ends_with_generation_prompt(chatml_tokenizer):
    text = render_prompt(QUESTION, chatml_tokenizer)
    assert text.startswith(f"<|im_start|>system\n{SYSTEM_PROMPT}<|im_end|>\n<|im_start|>user\n")
    assert text.endswith("<|im_end|>\n<|im_start|>assistant\n")
    assert "B. 集會自由受憲法保障，但得依法律合理限制" in text


def test_chat_template_rendering_matches_tokenizer_on_built_messages(chatml_tokenizer):
    expected = chatml_tokenizer.apply_chat_template(
        build_messages(QUESTION), tokenize=False, add_generation_prompt=True
    )
    assert render_prompt(QUESTION, chatml_tokenizer) == expected


def test_template_rejecting_system_turn_gets_it_folded_into_user_turn():
    text = render_prompt(QUESTION, tiny_tokenizer(NO_SYSTEM))
    assert text.startswith(f"<turn>user\n{SYSTEM_PROMPT}\n\n問題：")
    assert text.endswith("<turn>model\n")


def test_tokenizer_without_chat_template_falls_back_to_plain_text(caplog):
    with caplog.at_level(logging.WARNING, logger="mcq"):
        text = render_prompt(QUESTION, tiny_tokenizer(None))
    assert text == render_prompt(QUESTION)
    assert "no chat template" in caplog.text


def test_public_names_of_the_contract_are_exported():
    names = {
        "LETTERS",
        "Question",
        "DataError",
        "load_train",
        "load_test",
        "validate_file",
        "SYSTEM_PROMPT",
        "format_question",
        "build_messages",
        "render_prompt",
        "extract_answer",
        "Prompt",
        "load_prompt",
        "fit_question",
    }
    assert names <= set(mcq.__all__)
    assert mcq.LETTERS == ("A", "B", "C", "D")


def test_importing_mcq_pulls_in_no_heavy_library():
    import subprocess
    import sys

    code = (
        "import sys, mcq; heavy = {'torch', 'vllm', 'gradio', 'transformers', 'pandas'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_question_is_frozen():
    with pytest.raises(AttributeError):
        QUESTION.id = "other"


# --------------------------------------------------------------------------- prompt files


def test_default_prompt_is_the_compatibility_constants():
    default = mcq.load_prompt("default")
    assert (default.system, default.answer_format) == (SYSTEM_PROMPT, ANSWER_FORMAT_HINT)
    assert default is mcq.load_prompt(None) and default.example is None
    assert build_messages(QUESTION, "default") == build_messages(QUESTION)


def test_shipped_prompts_include_default_and_a_fewshot_variant():
    assert {"default", "fewshot"} <= {p.name for p in mcq.list_prompts()}


def test_fewshot_prompt_shows_a_worked_exchange_before_the_question():
    messages = build_messages(QUESTION, "fewshot")
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[-1]["content"] == format_question(QUESTION, FEWSHOT)
    letter, _ = extract_answer(messages[2]["content"])
    assert letter in mcq.LETTERS and messages[2]["content"].startswith(f"答案：{letter}\n理由：")


def test_prompt_loads_from_a_path_named_after_its_file(tmp_path):
    path = tmp_path / "terse.yaml"
    path.write_text("system: ''\nanswer_format: 只寫一個字母。\n", encoding="utf-8")
    prompt = mcq.load_prompt(str(path))
    assert (prompt.name, prompt.system, prompt.answer_format) == ("terse", None, "只寫一個字母。")
    assert [m["role"] for m in build_messages(QUESTION, prompt)] == ["user"]
    assert format_question(QUESTION, prompt).endswith("只寫一個字母。")


def test_system_prompt_argument_overrides_the_prompt_files_system_turn():
    assert build_messages(QUESTION, "fewshot", system_prompt="自訂")[0]["content"] == "自訂"


def test_prompt_fingerprint_follows_the_wording(tmp_path):
    path = tmp_path / "default.yaml"
    path.write_text((mcq.PROMPT_DIR / "default.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    assert mcq.load_prompt(str(path)).fingerprint == mcq.DEFAULT_PROMPT.fingerprint
    assert FEWSHOT.fingerprint != mcq.DEFAULT_PROMPT.fingerprint


@pytest.mark.parametrize(
    "text, message",
    [
        ("answer_format: [", "invalid YAML"),
        ("- a list\n", "expected a mapping"),
        ("system: x\n", "'answer_format' must be non-empty text"),
        ("answer_format: x\nhint: y\n", "unknown keys ['hint']"),
        (
            "answer_format: x\nexample: {question: q, options: {A: a, B: b, C: c}, answer: 答案：A}\n",
            "each of A, B, C, D",
        ),
        ("answer_format: x\nexample: {question: q, answer: 答案：A}\n", "exactly question"),
    ],
    ids=["yaml", "not-mapping", "no-hint", "unknown-key", "three-options", "no-options"],
)
def test_bad_prompt_file_is_one_data_error(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(mcq.DataError, match=re.escape(message)):
        mcq.load_prompt(str(path))


def test_unknown_prompt_name_lists_the_shipped_ones():
    with pytest.raises(mcq.DataError, match="unknown prompt 'nope'; use one of default, fewshot"):
        mcq.load_prompt("nope")


def test_missing_prompt_file_is_a_data_error(tmp_path):
    with pytest.raises(mcq.DataError, match="file not found"):
        mcq.load_prompt(str(tmp_path / "missing.yaml"))
