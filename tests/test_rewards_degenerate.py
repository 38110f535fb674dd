"""Under the `default` preset, no degenerate answer comes within 0.1 of a good one.

GRPO optimises whatever gap the reward leaves: each answer below is a way a policy could try
to earn reward without answering well, written at its strongest (correct letter, the
requested 答案/理由 format, connectives and option letters sprinkled in). Each must total at
least GAP below one correct, reasoned, balanced answer to the same question. The degenerate
answers come from the generators of ``python -m evals probe`` (evals/probe.py), applied here
to a hand-written question and a good answer that knows the subject.
"""

from __future__ import annotations

import pytest

import mcq
import rewards
from evals import probe

GAP = 0.1

QUESTION = "關於我國憲法對言論自由的保障，下列敘述何者最為適當？"
OPTIONS = {
    "A": "言論自由是絕對的權利，任何情況下都不得以法律加以限制",
    "B": "言論自由受憲法保障，但為維護他人權利或公共利益，得以法律適度限制",
    "C": "只有與政府立場一致的言論，才受到憲法的保障",
    "D": "言論自由只保障口頭表達，不包括文字出版與網路上的言論",
}
SAMPLE = rewards.Sample(id="civic-1", question=QUESTION, options=OPTIONS, correct_answer="B")
REASON = (
    "首先，憲法第11條保障人民的言論自由，但依第23條，為防止妨礙他人自由或維持社會秩序，"
    "可以用法律適度限制，因此B的說法較為持平。其次，選項A主張完全不得限制，忽略了比例原則與"
    "他人的名譽權；選項C以是否符合政府立場決定保障與否，違背言論自由保護少數意見的本意；"
    "選項D把文字與網路排除在外，也與大法官解釋的範圍不符。不過，限制的界線應該畫在哪裡，"
    "社會上仍有不同觀點，需要在個人表達與公共利益之間權衡。"
)
GOOD = "答案：B\n理由：" + REASON


def total(text: str) -> float:
    return rewards.score(text, SAMPLE, "default").total


def assert_well_below_good(text: str) -> None:
    good, bad = total(GOOD), total(text)
    assert good - bad >= GAP, f"good {good:.3f} vs degenerate {bad:.3f}"


def test_good_answer_scores_high():
    b = rewards.score(GOOD, SAMPLE, "default")
    assert b.components["correctness"] == 1.0
    assert b.total > 0.8


def test_hedge_word_spam_scores_well_below_a_good_answer():
    assert_well_below_good(probe.hedge_spam(SAMPLE, GOOD))


def test_connective_spam_scores_well_below_a_good_answer():
    assert_well_below_good(probe.connective_spam(SAMPLE, GOOD))


def test_question_and_options_pasted_as_reasoning_score_well_below_a_good_answer():
    assert_well_below_good(probe.question_pasted(SAMPLE, GOOD))


def test_one_sentence_repeated_scores_well_below_a_good_answer():
    assert_well_below_good(probe.repeated_sentence(SAMPLE, GOOD))


def test_no_reasoning_scores_well_below_a_good_answer():
    assert_well_below_good(probe.no_reasoning(SAMPLE, GOOD))


def test_bare_letter_scores_well_below_a_good_answer():
    assert_well_below_good(probe.bare_letter(SAMPLE, GOOD))


def test_english_only_reasoning_scores_well_below_a_good_answer():
    assert_well_below_good(probe.english_only(SAMPLE, GOOD))


def test_answer_far_longer_than_needed_scores_well_below_a_good_answer():
    # Varied, on-subject padding that names no answer, so only the length tells it apart.
    long_answer = probe.over_long(SAMPLE, GOOD)
    assert mcq.extract_answer(long_answer) == ("B", "marker")
    assert len(long_answer) > 10 * len(GOOD)
    assert_well_below_good(long_answer)


def test_opening_answer_contradicted_by_a_concluding_one_scores_well_below_a_good_answer():
    assert_well_below_good(probe.contradicted_answer(SAMPLE, GOOD))


@pytest.mark.parametrize("form", probe.SEVERAL_LETTER_FORMS)
def test_letter_hedged_toward_another_scores_well_below_a_good_answer(form):
    assert_well_below_good(probe.several_letters(SAMPLE, GOOD, form))
