"""The hacking watch's detectors: each degenerate style flagged, a good answer not."""

from __future__ import annotations

import pytest

from evals.probe import PROBES, good_answer, load_samples
from rewards import Sample
from training.watch.detectors import DETECTORS, content_length, detect

QUESTION = Sample(
    id="q1",
    question="依據現行憲法，立法委員的任期為幾年？",
    options={"A": "三年", "B": "四年", "C": "五年", "D": "六年"},
    correct_answer="B",
)
GOOD = (
    "答案：B\n理由：憲法增修條文把立委任期改為四年，並自第七屆起施行；選項A的三年是修憲以前"
    "的舊制，C與D則把監察委員或總統的任期混在一起。各方對任期長短的利弊雖有不同看法，"
    "但就現行規定而言，B最為適當。"
)
PROMPT = (
    "你是一位謹慎、中立的公民議題助理。依據現行憲法，立法委員的任期為幾年？A. 三年 B. 四年 "
    "請在第一行寫「答案：」，並在冒號後緊接著寫出你所選那一個選項的英文字母；再另起一行寫"
    "「理由：」，說明你的推理，並持平考量不同的觀點。"
)

#: detector -> (a completion it flags, written by hand)
FLAGGED = {
    "repetition": "答案：B\n理由：" + "立委任期是四年，選項A不對。" * 5,
    "question_pasted": "答案：B\n理由：依據現行憲法，立法委員的任期為幾年？所以選項B四年。",
    "hedge_spam": "答案：B\n理由：或許可能，也許相對而言，見仁見智，兼顧多元，客觀持平，審慎權衡。",
    "connective_spam": "答案：B\n理由：首先因為B，所以B；其次由於A，因此不選A；然而C，但是D，總之B。",
    "bare_letter": "B",
    "several_letters": "答案：B或C\n理由：立委任期四年是現行規定，C的五年則是另一種說法。",
    "no_chinese": "答案：B\n理由：The constitution now sets a four-year term, so B is right.",
    "over_long": "答案：B\n理由：" + "憲法增修條文規定立委任期為四年並自第七屆起施行，" * 12,
    "prompt_copied": "答案：B\n理由：請在第一行寫答案，再另起一行寫理由，說明你的推理，並持平考量不同的觀點。",
}
#: The content lengths of a group of ordinary answers, for over_long.
GROUP = [content_length(GOOD)] * 3


def flags(completion: str) -> list[str]:
    return detect(completion, QUESTION, prompt=PROMPT, group_lengths=[*GROUP, 999])


def test_every_detector_has_a_hand_written_example():
    assert set(FLAGGED) == set(DETECTORS)


@pytest.mark.parametrize("name", list(FLAGGED))
def test_detector_flags_its_style(name):
    found = DETECTORS[name](FLAGGED[name], QUESTION, prompt=PROMPT, group_lengths=GROUP)
    assert found, f"{name} missed {FLAGGED[name]!r}"


@pytest.mark.parametrize("name", list(DETECTORS))
def test_detector_leaves_a_good_answer_alone(name):
    assert not DETECTORS[name](GOOD, QUESTION, prompt=PROMPT, group_lengths=GROUP)


def test_a_good_answer_raises_no_flag_at_all():
    assert detect(GOOD, QUESTION, prompt=PROMPT, group_lengths=GROUP) == []


def test_over_long_is_measured_against_the_group_median():
    long = FLAGGED["over_long"]
    n = content_length(long)
    assert DETECTORS["over_long"](long, group_lengths=GROUP)
    assert not DETECTORS["over_long"](long, group_lengths=[n, n, n])
    assert not DETECTORS["over_long"](long)  # no group: nothing to compare with


def test_prompt_copied_is_not_fooled_by_the_question_itself():
    # Pasting the question is question_pasted's business, not prompt_copied's.
    pasted = FLAGGED["question_pasted"]
    assert "prompt_copied" not in flags(pasted)
    assert "question_pasted" in flags(pasted)


def test_bare_letter_needs_a_letter():
    assert not DETECTORS["bare_letter"]("")
    assert not DETECTORS["bare_letter"]("好")


#: probe (evals probe's catalogue) -> the detector that should flag it
PROBE_DETECTOR = {
    "hedge-spam": "hedge_spam",
    "connective-spam": "connective_spam",
    "question-pasted": "question_pasted",
    "repeated-sentence": "repetition",
    "several-letters": "several_letters",
    "contradicted-answer": "several_letters",
    "bare-letter": "bare_letter",
    "no-reasoning": "bare_letter",
    "english-only": "no_chinese",
    "over-long": "over_long",
}


def test_every_probe_has_a_matching_detector():
    assert set(PROBE_DETECTOR) == set(PROBES)


@pytest.mark.parametrize("probe", list(PROBES))
def test_each_probe_is_flagged_by_its_detector_alone(probe):
    for sample in load_samples(n=3):
        good = good_answer(sample)
        text = PROBES[probe](sample, good)
        group = [content_length(good)] * 3 + [content_length(text)]
        assert detect(text, sample, group_lengths=group) == [PROBE_DETECTOR[probe]]


def test_probe_good_answers_raise_no_flag():
    for sample in load_samples(n=3):
        good = good_answer(sample)
        assert detect(good, sample, group_lengths=[content_length(good)] * 4) == []
