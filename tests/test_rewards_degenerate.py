"""Under the `default` preset, no degenerate answer comes within 0.1 of a good one.

GRPO optimises whatever gap the reward leaves: each answer below is a way a policy could try
to earn reward without answering well, written at its strongest (correct letter, the
requested 答案/理由 format, connectives and option letters sprinkled in). Each must total at
least GAP below one correct, reasoned, balanced answer to the same question.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import mcq
import rewards

ROOT = Path(__file__).resolve().parent.parent
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
    assert_well_below_good(
        "答案：B\n理由：首先，這個問題可能存在不同觀點，或許相對而言B比較平衡；其次，選項A、C、D"
        "也可能各有利弊，因此需要權衡；然而見仁見智，所以或許應該兼顧多元立場，因為各方看法不一，"
        "不過也許在一定程度上都值得尊重，相對來說需要審慎、客觀、持平地看待。"
    )


def test_connective_spam_scores_well_below_a_good_answer():
    assert_well_below_good(
        "答案：B\n理由：首先因為B，所以B；其次由於A，因此不選A；然而C，但是C；此外D，不過D；"
        "雖然如此，儘管如此，換言之，也就是說，綜上所述，總之，可見，根據以上，相比之下，反之，選B。"
    )


def test_question_and_options_pasted_as_reasoning_score_well_below_a_good_answer():
    a, b, c, d = (OPTIONS[k] for k in "ABCD")
    assert_well_below_good(
        f"答案：B\n理由：首先，{QUESTION}其次，選項A{a}；然而選項C{c}；此外選項D{d}；因此選項B{b}。"
    )


def test_one_sentence_repeated_scores_well_below_a_good_answer():
    sentence = "，憲法保障言論自由，但選項A忽略了可以依法律適度限制，C與D也不對。"
    opening = ("首先", "其次", "此外", "因此", "所以")
    assert_well_below_good("答案：B\n理由：" + "".join(c + sentence for c in opening))


def test_no_reasoning_scores_well_below_a_good_answer():
    assert_well_below_good("答案：B")


def test_bare_letter_scores_well_below_a_good_answer():
    assert_well_below_good("B")


def test_english_only_reasoning_scores_well_below_a_good_answer():
    assert_well_below_good(
        "答案：B\n理由：First, Article 11 of the constitution protects freedom of speech, but "
        "Article 23 lets the law restrict it to protect the rights of others, so B is balanced. "
        "Second, option A says it can never be restricted; option C ties protection to the "
        "government's position; option D leaves out writing and the internet. However, where "
        "the line lies is still debated, so different views deserve weight."
    )


def test_answer_far_longer_than_needed_scores_well_below_a_good_answer():
    # Varied, on-subject padding (sentences of the sample reasoning that name no answer), so
    # that only the length can tell it from the good answer.
    with (ROOT / "assets" / "data" / "sample_train.tsv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    sentences = [
        s + "。"
        for row in rows
        for s in row["reasoning"].split("。")
        if len(s) > 4 and mcq.extract_answer(s)[1] == "none"
    ]
    padding = ""
    for sentence in sentences:
        if len(padding) > 2200:
            break
        padding += sentence
    long_answer = GOOD + "\n補充說明：" + padding
    assert mcq.extract_answer(long_answer) == ("B", "marker")
    assert len(long_answer) > 10 * len(GOOD)
    assert_well_below_good(long_answer)


@pytest.mark.parametrize(
    "opening",
    ["答案：B（也可能是A）", "答案：B或A", "答案：B，但也可能是D"],
)
def test_letter_hedged_toward_another_scores_well_below_a_good_answer(opening):
    assert_well_below_good(GOOD.replace("答案：B", opening, 1))
