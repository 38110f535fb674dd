"""Specification of mcq's prompt template and its rendering through a real chat template."""

from __future__ import annotations

import doctest
import logging

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
    assert "答案：X" in text and "理由：" in text
    assert text.index("答案：") < text.index("理由：")
    assert text.endswith(ANSWER_FORMAT_HINT)


def test_template_itself_contains_no_extractable_answer():
    # Otherwise a model that merely echoes the prompt would be credited with a letter.
    assert extract_answer(format_question(QUESTION)) == (None, "none")
    assert extract_answer(render_prompt(QUESTION)) == (None, "none")


@pytest.mark.parametrize(
    "text",
    [SYSTEM_PROMPT, ANSWER_FORMAT_HINT, format_question(QUESTION)],
    ids=["system", "hint", "user"],
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


@pytest.mark.parametrize("module", ["mcq.extract", "mcq.loaders", "mcq.prompt"])
def test_docstring_examples_run(module):
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


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
