"""Specification of mcq.fit_question: shorten a question to a token budget, visibly, never drop it."""

from __future__ import annotations

import math

import pytest

import mcq
from mcq import CUT_MARK, PromptTooLong, Question, cut_middle, fit_question

STEM = "".join(f"第{i}段說明地方議會審議預算的程序與監督機制。" for i in range(40))
OPTIONS = {
    "A": "議會可以任意增加預算",
    "B": "議會得依法刪減預算",
    "C": "預算不需要經過審議",
    "D": "行政機關可自行追加預算",
}
LONG = Question(id="long", question=STEM, options=OPTIONS)
SKELETON = 30  # what the toy prompt costs besides the question: system turn, hint, labels


def chars(q: Question) -> int:
    """A toy tokenizer: one token a character, plus a fixed cost for the rest of the prompt."""
    return SKELETON + len(q.question) + sum(len(o) for o in q.options.values())


def test_a_question_that_fits_comes_back_unchanged():
    assert fit_question(LONG, chars, chars(LONG)) == (LONG, False)


def test_an_over_long_stem_is_cut_in_the_middle_with_a_visible_mark():
    fitted, cut = fit_question(LONG, chars, 200)
    head, tail = fitted.question.split(CUT_MARK)
    assert cut and chars(fitted) <= 200
    assert STEM.startswith(head) and STEM.endswith(tail) and abs(len(head) - len(tail)) <= 1


def test_the_options_stay_whole_when_cutting_the_stem_is_enough():
    fitted, _ = fit_question(LONG, chars, 200)
    assert fitted.options == OPTIONS and fitted.id == LONG.id


def test_the_stem_loses_no_more_than_it_must():
    fitted, _ = fit_question(LONG, chars, 200)
    assert chars(fitted) == 200  # the toy count is exact: one more character would not fit


def test_options_are_capped_evenly_when_the_stem_alone_cannot_make_room():
    long_options = {"A": "甲" * 300, "B": "乙" * 20, "C": "丙" * 250, "D": "丁" * 280}
    q = Question(id="q", question=STEM, options=long_options)
    fitted, cut = fit_question(q, chars, 400)
    assert cut and chars(fitted) <= 400
    assert fitted.options["B"] == long_options["B"]  # short enough to stay whole
    shortened = [fitted.options[x] for x in "ACD"]
    assert all(CUT_MARK in o for o in shortened)
    assert len({len(o) for o in shortened}) == 1  # one cap for every long option


def test_a_stem_gets_back_the_room_the_option_cap_leaves():
    long_options = {x: x * 300 for x in "ABCD"}
    q = Question(id="q", question="問" * 100, options=long_options)
    fitted, _ = fit_question(q, chars, 400)
    assert len(fitted.question) > len(CUT_MARK) and chars(fitted) <= 400


def test_a_budget_below_the_bare_prompt_raises_prompt_too_long():
    with pytest.raises(PromptTooLong) as info:
        fit_question(LONG, chars, SKELETON + 10)
    assert info.value.budget == SKELETON + 10
    assert info.value.needed == SKELETON + 5 * len(CUT_MARK)


def test_the_counter_runs_a_logarithmic_number_of_times():
    calls = []

    def counting(q: Question) -> int:
        calls.append(q)
        return chars(q)

    fit_question(LONG, counting, 200)
    assert len(calls) <= 2 + math.ceil(math.log2(len(STEM))) + 1


def test_cut_middle_keeps_short_text_and_marks_the_cut():
    assert cut_middle("一二三四", 4) == "一二三四"
    assert cut_middle("一二三四五", 0) == CUT_MARK


def test_with_the_demo_tokenizer_the_rendered_prompt_fits_and_keeps_the_hint(demo_base):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(demo_base)

    def tokens(q: Question) -> int:
        return len(
            tokenizer(mcq.render_prompt(q, tokenizer), add_special_tokens=False)["input_ids"]
        )

    budget = tokens(LONG) // 2
    fitted, cut = fit_question(LONG, tokens, budget)
    text = mcq.render_prompt(fitted, tokenizer)
    assert cut and tokens(fitted) <= budget
    assert mcq.ANSWER_FORMAT_HINT in text and all(f"{x}. {OPTIONS[x]}" in text for x in OPTIONS)
