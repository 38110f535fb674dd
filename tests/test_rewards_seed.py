"""The ``seed`` component reproduces the competition formula exactly (hand-computed cases).

Formula: start 0.5; +0.3 if "答案：" or "Answer:" occurs; +0.2 if "理由：", "因為" or "根據"
occurs; +0.1 if more of 可能/相對/不同觀點/平衡 occur than of 絕對/必須/唯一/錯誤 (each word
counted once, as a substring); then at least 0.7 if extract_answer finds a letter; at most 1.0.
"""

from __future__ import annotations

import pytest

import rewards
from rewards.components import seed

CASES = [
    # text, expected, how it is computed
    ("", 0.5, "nothing: base only"),
    ("我不確定。", 0.5, "no marker, no letter"),
    ("答案：B", 0.8, "0.5 + 0.3 answer marker; letter floor 0.7 does not bind"),
    ("答案：B\n理由：依照條文。", 1.0, "0.5 + 0.3 + 0.2"),
    ("答案：A\n理由：可能如此。", 1.0, "0.5 + 0.3 + 0.2 + 0.1 = 1.1, capped at 1.0"),
    ("B", 0.7, "bare letter: 0.5 raised to the 0.7 floor"),
    ("因為這可能不一樣", 0.8, "0.5 + 0.2 因為 + 0.1 (可能 1 > 0)"),
    ("根據憲法", 0.7, "0.5 + 0.2 根據, no letter"),
    ("可能必須", 0.5, "1 neutral word vs 1 absolute word: not more"),
    ("可能可能可能必須", 0.5, "each word counted once: still 1 vs 1"),
    ("相對平衡的不同觀點，絕對", 0.6, "3 neutral words vs 1 absolute: +0.1"),
    ("這不可能", 0.6, "substring semantics: 不可能 contains 可能"),
    ("答案:B", 0.7, "ASCII colon is not the 答案： marker, but the letter floor applies"),
    ("Answer: C 根據", 1.0, "0.5 + 0.3 Answer: + 0.2 根據"),
    ("answer: c", 0.7, "lowercase 'answer:' is not the marker; extract_answer still finds C"),
    ("因为可能", 0.6, "Simplified 因为 is not 因為; 可能 still gives +0.1"),
    ("理由：唯一錯誤", 0.7, "0.5 + 0.2; 0 neutral vs 2 absolute"),
    ("Answer: the ABC公司", 0.8, "marker +0.3; no letter (ABC is a word)"),
]


@pytest.mark.parametrize(("text", "expected", "why"), CASES, ids=[c[2] for c in CASES])
def test_seed_matches_hand_computed_value(text, expected, why):
    assert seed(text) == pytest.approx(expected), why


def test_seed_ignores_the_sample():
    text = "答案：B\n理由：可能"
    assert seed(text, rewards.Sample(correct_answer="A")) == seed(text) == 1.0


def test_seed_preset_total_equals_the_seed_formula():
    breakdown = rewards.score("答案：B", preset="seed")
    assert breakdown.components == {"seed": 0.8}
    assert breakdown.total == pytest.approx(0.8)


def test_seed_details_show_what_counted():
    _, details = rewards.COMPONENTS["seed"].run("答案：A 可能 絕對 唯一", rewards.Sample())
    assert details["answer_marker"] is True
    assert details["reason_marker"] is False
    assert (details["neutral_words"], details["absolute_words"]) == (1, 2)
