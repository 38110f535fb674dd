"""The neutrality component: whole words, negation, both scripts, spans, lexicons, score rule."""

from __future__ import annotations

from pathlib import Path

import opencc
import pytest

import mcq
import rewards
from rewards.components import seed
from rewards.neutrality import (
    DEFAULT_LEXICON_DIR,
    HEDGES_FREE,
    LEXICON_FILES,
    NO_TERMS_SCORE,
    load_lexicon,
    neutrality,
    neutrality_score,
)


@pytest.fixture(scope="module")
def lexicon():
    return load_lexicon()


def found(lexicon, text):
    return [(m.term, m.category, m.negated) for m in lexicon.find(text)]


# ---------------------------------------------------------------- whole words vs substrings
@pytest.mark.parametrize(
    ("text", "inside"),
    [
        ("這種可能性很高。", "可能"),  # 可能性 is one word
        ("愛因斯坦的相對論改變了物理學。", "相對"),  # 相對論
        ("負數的絕對值大於零。", "絕對"),  # 絕對值
        ("體操的平衡木項目。", "平衡"),  # 平衡木
        ("這是唯一性的問題。", "唯一"),  # 唯一性
    ],
)
def test_term_inside_a_longer_word_is_not_matched(lexicon, text, inside):
    assert inside in text  # a substring count would see it
    assert found(lexicon, text) == []
    assert neutrality(text) == NO_TERMS_SCORE


def test_substring_counting_in_seed_sees_what_whole_words_do_not():
    text = "理由：這種可能性很高。"
    # seed counts 可能 inside 可能性 (+0.1 over the same text without it); neutrality sees
    # no term in either.
    assert seed(text) == pytest.approx(0.8)
    assert seed(text.replace("可能性", "機率")) == pytest.approx(0.7)
    assert neutrality(text) == neutrality(text.replace("可能性", "機率")) == NO_TERMS_SCORE


def test_standalone_hedge_is_matched(lexicon):
    assert found(lexicon, "這可能是對的。") == [("可能", "neutral", False)]


# ---------------------------------------------------------------- negation
def test_negated_hedge_counts_as_absolute(lexicon):
    matches = lexicon.find("這不可能發生。")
    assert [(m.term, m.negated, m.effect) for m in matches] == [("可能", True, "absolute")]
    assert neutrality("這不可能發生。") < NO_TERMS_SCORE < neutrality("這可能發生。")


@pytest.mark.parametrize(
    ("text", "term", "negator"),
    [
        ("這並非唯一的解釋。", "唯一", "並非"),
        ("這個說法沒有錯誤。", "錯誤", "沒有"),
        ("這個說法並沒有錯誤。", "錯誤", "並沒有"),
        ("結果不一定如此。", "一定", "不"),
        ("這不是絕對的。", "絕對", "不是"),
    ],
)
def test_negated_absolute_counts_as_hedge(lexicon, text, term, negator):
    (match,) = lexicon.find(text)
    assert (match.term, match.category, match.negated, match.effect) == (
        term,
        "absolute",
        True,
        "neutral",
    )
    assert text[match.negator_start : match.start] == negator
    assert neutrality(text) > NO_TERMS_SCORE


def test_negation_is_where_substring_counting_goes_wrong():
    # seed: 唯一 and 錯誤 count as absolute, 可能 as neutral -> no +0.1 bonus, and vice versa.
    careful = "理由：並非唯一，也沒有錯誤。"
    categorical = "理由：這不可能。"
    assert seed(careful) == 0.7 and seed(categorical) == 0.8
    assert neutrality(careful) > NO_TERMS_SCORE > neutrality(categorical)


def test_negator_and_term_cut_as_one_word_are_still_negated(lexicon):
    # jieba keeps 非理性 as one word; 非 heads it, so 理性 is negated, not dropped.
    (match,) = lexicon.find("這是非理性的行為。")
    assert (match.term, match.negated, match.effect) == ("理性", True, "absolute")
    assert match.negator_start == 2


def test_negated_loaded_term_still_counts_as_loaded(lexicon):
    (match,) = lexicon.find("他不是賣國賊。")
    assert (match.category, match.negated, match.effect) == ("loaded", True, "loaded")
    assert neutrality("他不是賣國賊。") < 0.5


def test_negator_belonging_to_another_word_does_not_negate(lexicon):
    # 不同觀點 starts with 不 but is itself a hedge, not "not 同觀點".
    assert found(lexicon, "存在不同觀點。") == [("不同觀點", "neutral", False)]


# ---------------------------------------------------------------- scripts and spans
PAIRS = [
    "這並非唯一的解釋，各方可能有不同觀點，需要權衡。",
    "政府必須絕對服從，反對者都是賣國賊。",
    "這個說法沒有錯誤，但也未必完整；相對而言比較平衡。",
    "這不可能發生，毫無疑問。",
]


@pytest.mark.parametrize("traditional", PAIRS)
def test_same_sentence_scores_the_same_in_traditional_and_simplified(lexicon, traditional):
    simplified = opencc.OpenCC("t2s").convert(traditional)
    assert simplified != traditional
    assert neutrality(simplified) == neutrality(traditional)
    spans = [(m.start, m.end, m.category, m.negated) for m in lexicon.find(traditional)]
    assert spans
    assert spans == [(m.start, m.end, m.category, m.negated) for m in lexicon.find(simplified)]


def test_spans_point_into_the_original_text():
    text = "😀 Note: 這或許不是唯一的答案，各方可能有不同觀點。"
    terms = rewards.score(text).details["neutrality"]["terms"]
    assert [t["term"] for t in terms] == ["或許", "唯一", "各方", "可能", "不同觀點"]
    for term in terms:
        assert text[term["start"] : term["end"]] == term["term"]
        assert term["category"] in ("neutral", "absolute", "loaded")
        assert isinstance(term["negated"], bool)


def test_long_run_without_punctuation_is_still_cut_into_words(lexicon):
    text = "在討論這個複雜的公共政策議題時我們應該看到這種可能性並且承認" * 3 + "各方可能都有道理"
    assert len(text) > 64
    terms = found(lexicon, text)
    assert ("可能", "neutral", False) in terms
    assert sum(t[0] == "可能" for t in terms) == 1  # the three 可能性 are not matched


def test_overlapping_candidates_keep_the_longest_word(lexicon):
    assert found(lexicon, "在一定程度上成立。") == [("一定程度", "neutral", False)]


# ---------------------------------------------------------------- score rule
def test_neutral_text_without_terms_gets_middle_high_score():
    assert neutrality("立法院共有一百一十三席。") == pytest.approx(0.7)


def test_hedges_raise_the_score_with_diminishing_returns():
    one, three = neutrality("或許如此。"), neutrality("或許如此，各方可能需要權衡。")
    assert NO_TERMS_SCORE < one < three <= 1.0


def test_repeating_one_hedge_adds_nothing():
    # Counted twice at most for balance; past the spam allowance the repeats even cost.
    assert neutrality("可能，可能，可能，可能，可能。") <= neutrality("可能，可能。")
    assert neutrality("可能，可能，可能。") == neutrality("可能，可能。")


def test_hedge_spam_without_content_scores_zero():
    spam = "可能、或許、相對、不同觀點、平衡、多元、權衡、持平、客觀、兼顧、審慎、中立、見仁見智。"
    assert neutrality(spam) == 0.0


def test_hedge_spam_scores_below_text_without_hedges():
    glue = "首先這個問題或許可能相對而言存在不同觀點，然而也許各方見仁見智，因此需要權衡兼顧多元。"
    assert neutrality(glue) < NO_TERMS_SCORE


def test_hedges_spread_through_a_long_answer_are_not_spam(lexicon):
    answer = (
        "憲法第11條保障言論自由，但依第23條得以法律限制。選項A主張完全不得限制，"
        "忽略了他人的名譽權；選項C以政府立場決定保障範圍，違背保護少數意見的本意；"
        "選項D排除網路與文字，與大法官解釋不符。限制的界線仍有不同觀點，"
        "在一定程度上需要權衡個人表達與公共利益，也可能因案件而異，宜審慎看待。"
    )
    hedges = [m for m in lexicon.find(answer) if m.effect == "neutral"]
    assert len(hedges) > HEDGES_FREE
    assert neutrality(answer) == neutrality_score(lexicon.find(answer))


def test_loaded_terms_pull_strongly_down():
    balanced = "各方可能有不同觀點，需要權衡。"
    assert neutrality(balanced) > 0.9
    assert neutrality(balanced + "對方是走狗。") < 0.5
    assert neutrality(balanced + "對方是走狗、漢奸。") < 0.25


def test_absolute_claims_lower_the_score():
    assert neutrality("這是唯一的答案，必須如此。") < 0.5


def test_details_count_terms_by_effect():
    details = rewards.score("這並非唯一，不可能，賣國賊").details["neutrality"]
    assert details["counts"] == {"neutral": 1, "absolute": 1, "loaded": 1}


# ---------------------------------------------------------------- lexicon files
@pytest.mark.parametrize("category", list(LEXICON_FILES))
def test_shipped_lexicon_has_header_and_40_traditional_terms(category):
    path = DEFAULT_LEXICON_DIR / LEXICON_FILES[category]
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("#")
    terms = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert len(terms) >= 40
    assert len(set(terms)) == len(terms)
    to_traditional = opencc.OpenCC("s2t")
    assert [t for t in terms if to_traditional.convert(t) != t] == []


def _write_lexicon(folder: Path, **overrides: list[str]) -> Path:
    folder.mkdir()
    for category, name in LEXICON_FILES.items():
        terms = overrides.get(category, [])
        (folder / name).write_text("# test lexicon\n" + "\n".join(terms) + "\n", encoding="utf-8")
    return folder


def test_user_lexicon_from_a_preset_replaces_the_shipped_one(tmp_path):
    _write_lexicon(tmp_path / "lex", neutral=["中庸"], absolute=["鐵律"], negators=["不"])
    preset = tmp_path / "mine.yaml"
    preset.write_text(
        "name: mine\ncomponents:\n  neutrality: 1\nsettings:\n  neutrality:\n    lexicon: lex\n",
        encoding="utf-8",
    )
    text = "這種做法比較中庸，可能吧。"
    terms = rewards.score(text, preset=str(preset)).details["neutrality"]["terms"]
    assert [t["term"] for t in terms] == ["中庸"]  # 可能 is not in this lexicon
    assert rewards.score(text).details["neutrality"]["terms"][-1]["term"] == "可能"


def test_lexicon_mapping_replaces_single_categories(tmp_path):
    loaded = tmp_path / "loaded.txt"
    loaded.write_text("# mine\n冥頑不靈\n", encoding="utf-8")
    lex = load_lexicon({"loaded": str(loaded)})
    assert found(lex, "他冥頑不靈，可能吧。") == [
        ("冥頑不靈", "loaded", False),
        ("可能", "neutral", False),
    ]


def test_term_in_two_categories_is_a_data_error(tmp_path):
    folder = _write_lexicon(tmp_path / "lex", neutral=["可能"], absolute=["可能"])
    with pytest.raises(mcq.DataError, match="both neutral and absolute"):
        load_lexicon(folder)


def test_missing_lexicon_folder_is_a_data_error(tmp_path):
    with pytest.raises(mcq.DataError, match="not a directory"):
        load_lexicon(tmp_path / "nope")
