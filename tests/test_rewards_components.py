"""Built-in components (format, reasoning, correctness), the registry, presets, score, inputs."""

from __future__ import annotations

import csv
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import mcq
import rewards
from rewards.components import correctness, format_reward, reasoning

ROOT = Path(__file__).resolve().parent.parent
GOOD = (
    "答案：B\n理由：首先，憲法增修條文規定立法委員任期為四年；其次，選項A的三年是修憲以前的"
    "舊制，因此不符合現行規定；然而C與D則混淆了總統與立委的任期規定。所以綜合比較之後應該選B。"
)


# ---------------------------------------------------------------- format
def test_format_full_marks_for_answer_first_then_reason():
    assert format_reward("答案：B\n理由：第二項符合憲法增修條文的規定。") == 1.0


def test_format_accepts_ascii_colon_fullwidth_letter_and_bold():
    assert format_reward("**答案：Ｃ**\n**理由：**依照現行法律的規定判斷。") == 1.0
    assert format_reward("答案: D\n理由: 依照現行法律的規定判斷。") == 1.0


def test_format_is_graded_from_answer_first_to_no_letter():
    first = format_reward("答案：B\n理由：第二項符合憲法增修條文的規定。")
    marker_later = format_reward("看完各選項後，我認為答案是B。\n理由：第二項符合憲法的規定。")
    bare = format_reward("B")
    none = format_reward("我不知道。")
    assert first > marker_later > bare > none == 0.0


def test_format_short_reason_section_gets_partial_credit():
    full = format_reward("答案：B\n理由：第二項符合憲法增修條文的規定。")
    assert format_reward("答案：B\n理由：對。") == pytest.approx(full - 0.15)


def test_format_hedged_answer_loses_the_single_answer_part():
    assert format_reward("答案：A或B\n理由：兩者都符合憲法增修條文的規定。") == pytest.approx(0.8)


def test_format_answer_hedged_toward_another_letter_loses_the_single_answer_part():
    _, details = rewards.COMPONENTS["format"].run(
        "答案：B（也可能是A）\n理由：兩者都符合憲法增修條文的規定。", rewards.Sample()
    )
    assert details["answer_rule"] == "ambiguous"
    assert details["single_answer"] is False


def test_format_opening_letter_contradicted_by_conclusion_loses_the_single_answer_part():
    text = "答案：D\n理由：憲法增修條文規定立法委員任期為四年，因此正確答案為B。"
    assert format_reward(text) == pytest.approx(0.8)


def test_format_details_name_each_part():
    _, details = rewards.COMPONENTS["format"].run("答案：B", rewards.Sample())
    assert details == {
        "answer_at_start": True,
        "answer_rule": "marker",
        "reason_section": "missing",
        "single_answer": True,
    }


# ---------------------------------------------------------------- correctness
@pytest.mark.parametrize(
    ("text", "gold", "expected"),
    [
        ("答案：B", "B", 1.0),
        ("答案：B", "Ｂ", 1.0),
        ("答案：b", " b ", 1.0),
        ("答案：A", "B", 0.0),
        ("我不知道", "B", 0.0),
        ("答案：A", None, None),
        ("答案：A", "E", None),
        ("答案：A", float("nan"), None),
    ],
)
def test_correctness_compares_extracted_letter_with_gold(text, gold, expected):
    assert correctness(text, rewards.Sample(correct_answer=gold)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "答案：A、B、C、D",
        "答案：B或C",
        "答案：B（也可能是A）",
        "答案：D\n理由：……因此正確答案為B。",
    ],
)
def test_correctness_of_an_ambiguous_answer_is_zero_not_missing(text):
    assert correctness(text, rewards.Sample(correct_answer="B")) == 0.0


def test_correctness_without_sample_is_not_applicable():
    assert correctness("答案：A") is None


# ---------------------------------------------------------------- reasoning
def test_reasoning_rewards_argued_answer():
    assert reasoning(GOOD) == 1.0


def test_reasoning_keyword_stuffing_scores_near_zero():
    stuffed = "答案：B\n理由：因為所以首先其次因此然而一方面另一方面因為所以首先其次因此然而"
    assert reasoning(stuffed) < 0.1 < reasoning(GOOD)


def test_reasoning_repeated_sentences_are_penalised():
    sentence = "首先，憲法規定立法委員任期為四年，因此選項A不符合現行的規定。"
    once = reasoning("答案：B\n理由：" + sentence + "然而C與D混淆了任期。")
    thrice = reasoning("答案：B\n理由：" + sentence * 3 + "然而C與D混淆了任期。")
    assert thrice < once / 2


def test_reasoning_too_short_and_too_long_both_lose():
    with (ROOT / "assets" / "data" / "sample_train.tsv").open(encoding="utf-8") as fh:
        texts = [row["reasoning"] for row in csv.DictReader(fh, delimiter="\t")]
    long_text = "答案：B\n理由：" + "".join(texts)  # varied text, thousands of characters
    assert len(long_text) > 5000
    assert reasoning("答案：B\n理由：因為A錯。") < reasoning(GOOD)
    assert reasoning(long_text) < 0.5 * reasoning(GOOD)


def test_reasoning_in_english_earns_nothing():
    english = (
        "答案：B\n理由：First, the amended constitution sets a four-year term; option A is "
        "the rule before the amendment, so it no longer applies, while C and D mix up terms."
    )
    assert reasoning(english) == 0.0


def test_reasoning_copied_from_question_and_options_earns_nothing():
    sample = rewards.Sample(
        question="依現行憲法增修條文，立法委員的任期為幾年？",
        options={
            "A": "任期三年，連選得連任一次",
            "B": "任期四年，連選得連任一次",
            "C": "六年",
            "D": "五年",
        },
    )
    pasted = (
        "答案：B\n理由：首先，依現行憲法增修條文，立法委員的任期為幾年？其次，選項A任期三年，"
        "連選得連任一次；因此選項B任期四年，連選得連任一次。"
    )
    _, details = rewards.COMPONENTS["reasoning"].run(pasted, sample)
    assert details["copied_from_question"] > details["substance"]
    assert reasoning(pasted, sample) == 0.0 < reasoning(pasted)


def test_reasoning_quoting_a_few_words_of_an_option_keeps_full_marks():
    sample = rewards.Sample(
        question="依現行憲法增修條文，立法委員的任期為幾年？",
        options={"A": "三年", "B": "四年", "C": "六年", "D": "五年"},
    )
    assert reasoning(GOOD, sample) == reasoning(GOOD) == 1.0


def test_reasoning_of_connectives_alone_earns_nothing():
    glue = "答案：B\n理由：首先因為B，所以B；其次由於A，因此A；然而C，但是C；此外D，不過D；綜上，總之，可見。"
    assert reasoning(glue) == 0.0


def test_reasoning_credits_discussing_other_options_by_letter_or_content():
    plain = "答案：B\n理由：首先，憲法規定立法委員的任期為四年，因此這個選擇符合現行的制度規定。"
    by_letter = plain + "選項A與C都不符合。"
    sample = rewards.Sample(options={"A": "三年一任", "B": "四年", "C": "六年", "D": "五年"})
    by_content = plain + "三年一任是舊制。"
    assert reasoning(by_letter) > reasoning(plain)
    assert reasoning(by_content, sample) > reasoning(by_content)


def test_reasoning_letters_inside_words_are_not_option_analysis():
    _, details = rewards.COMPONENTS["reasoning"].run(
        "答案：B\n理由：ABC公司與BBC的報導不同，Plan B也不行。", rewards.Sample()
    )
    assert details["other_options_discussed"] == []


def test_reasoning_details_list_markers_found():
    _, details = rewards.COMPONENTS["reasoning"].run(GOOD, rewards.Sample())
    assert {"首先", "其次", "因此", "然而", "所以"} <= set(details["markers"])
    assert details["other_options_discussed"] == ["A", "C", "D"]


# ---------------------------------------------------------------- score and total
def test_total_is_weighted_mean_over_applicable_components():
    b = rewards.score(GOOD)  # no gold: correctness not applicable
    assert b.components["correctness"] is None
    weights = rewards.load_preset("default").weights
    applicable = {k: v for k, v in b.components.items() if v is not None}
    expected = sum(weights[k] * v for k, v in applicable.items()) / sum(
        weights[k] for k in applicable
    )
    assert b.total == pytest.approx(expected, abs=1e-6)


def test_score_reports_answer_and_rule():
    b = rewards.score(GOOD, rewards.Sample(correct_answer="B"))
    assert (b.answer, b.answer_rule) == ("B", "marker")
    assert b.components["correctness"] == 1.0
    assert set(b.details) >= {"format", "reasoning", "neutrality", "correctness"}


def test_score_accepts_preset_object_name_and_path():
    preset = rewards.load_preset("seed")
    path = ROOT / "assets" / "rewards" / "seed.yaml"
    totals = {rewards.score("答案：A", preset=p).total for p in (preset, "seed", str(path))}
    assert totals == {0.8}


def test_sample_from_question():
    q = mcq.Question("q1", "問題", dict(zip("ABCD", "甲乙丙丁", strict=True)), "C")
    sample = rewards.Sample.from_question(q)
    assert (sample.id, sample.correct_answer, sample.options["C"]) == ("q1", "C", "丙")


# ---------------------------------------------------------------- inputs that must not break
HOSTILE = {
    "empty": "",
    "1 MB": ("答案：B\n理由：這可能有不同觀點，並非唯一。" * 40_000)[:1_000_000],
    "binary-looking": bytes(range(256)).decode("latin-1") + "\x00\x01\ufffd" * 50,
    "raw bytes": bytes(range(256)) * 4,
    "lone surrogates": "\ud800答案：A\udfff",
    "emoji only": "😀🎉👍🇹🇼" * 50,
    "NaN": float("nan"),
    "None": None,
    "number": 3.5,
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_completion_scores_in_unit_interval(name):
    for preset in ("default", "seed"):
        b = rewards.score(HOSTILE[name], rewards.Sample(correct_answer="B"), preset)
        assert 0.0 <= b.total <= 1.0
        for value in b.components.values():
            assert value is None or 0.0 <= value <= 1.0
        assert not math.isnan(b.total)


# ---------------------------------------------------------------- registry and plugins
def test_component_decorator_registers_and_returns_the_function():
    @rewards.component("test_len", "1.0 under 10 characters.")
    def test_len(completion, sample=None):
        return 1.0 if len(completion) < 10 else 0.0

    try:
        assert test_len("短") == 1.0
        assert rewards.COMPONENTS["test_len"].description == "1.0 under 10 characters."
    finally:
        rewards.COMPONENTS.pop("test_len")


def test_registering_a_taken_name_with_another_function_is_an_error():
    with pytest.raises(ValueError, match="already registered"):
        rewards.component("format", "another")(lambda completion, sample=None: 1.0)


def test_component_name_must_be_an_identifier():
    with pytest.raises(ValueError, match="identifier"):
        rewards.component("bad name", "x")


@pytest.fixture
def plugin_module(tmp_path, monkeypatch):
    (tmp_path / "zl_plugin_mod.py").write_text(
        textwrap.dedent(
            '''
            def brevity(completion, sample=None, *, limit=20):
                """Short completions score 1."""
                return 1.0 if len(completion) <= limit else 0.0

            def broken(completion, sample=None):
                """Returns an invalid score."""
                return 1.5
            '''
        ),
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in ("brevity", "broken"):
        rewards.COMPONENTS.pop(name, None)
    sys.modules.pop("zl_plugin_mod", None)


def test_dotted_path_plugin_in_a_preset_is_loaded_with_its_settings(plugin_module):
    preset = plugin_module / "plug.yaml"
    preset.write_text(
        "name: plug\ncomponents:\n  format: 1\n  zl_plugin_mod:brevity: 1\n"
        "settings:\n  zl_plugin_mod:brevity:\n    limit: 5\n",
        encoding="utf-8",
    )
    loaded = rewards.load_preset(str(preset))
    assert loaded.weights == {"format": 1.0, "brevity": 1.0}
    assert rewards.score("答案：A", preset=loaded).components["brevity"] == 1.0
    assert rewards.score("答案：A\n理由：很長很長", preset=loaded).components["brevity"] == 0.0


def test_plugin_returning_out_of_range_score_raises(plugin_module):
    comp = rewards.resolve_component("zl_plugin_mod:broken")
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        comp.run("x", rewards.Sample())


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("components:\n  nope: 1\n", "unknown reward component 'nope'"),
        ("components:\n  format: -1\n", "must be a number >= 0"),
        ("components:\n  format: 0\n", "every weight is 0"),
        ("components: {}\n", "'components' must map"),
        ("components:\n  format: 1\nsettings:\n  seed: {}\n", "not among its components"),
        ("components:\n  no_such_pkg.mod:func: 1\n", "cannot import"),
        ("components: [format\n", "invalid YAML"),
        ("weights:\n  format: 1\n", "unknown keys"),
    ],
)
def test_invalid_preset_is_one_line_data_error(tmp_path, body, message):
    path = tmp_path / "bad.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(mcq.DataError, match=message) as err:
        rewards.load_preset(str(path))
    assert "\n" not in str(err.value)


def test_unknown_preset_name_lists_the_shipped_ones():
    with pytest.raises(mcq.DataError, match="default, seed"):
        rewards.load_preset("nope")


def test_list_presets_returns_default_and_seed_with_descriptions():
    presets = {p.name: p for p in rewards.list_presets()}
    assert {"default", "seed"} <= set(presets)
    assert all(p.description for p in presets.values())
    assert set(presets["default"].weights) == {"correctness", "format", "reasoning", "neutrality"}


def test_every_builtin_component_is_registered_with_description():
    for name in ("format", "reasoning", "neutrality", "correctness", "seed"):
        assert rewards.COMPONENTS[name].description


def test_rewards_does_not_import_heavy_packages():
    code = (
        "import sys, rewards, rewards.trl, rewards.io, rewards.cli; rewards.score('答案：A');"
        "print(sorted(m for m in ('torch','vllm','gradio','trl','transformers') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
