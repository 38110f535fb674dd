"""Specification of mcq.extract_answer: which letter a completion answers, and by which rule."""

from __future__ import annotations

import time

import pytest

from mcq import LETTERS, extract_answer
from mcq.extract import RULES

REASONING = (
    "理由：此題涉及言論自由與公共秩序之間的平衡。選項A的說法過於絕對，忽略了比例原則；"
    "選項C只呈現單一立場；選項D與現行法律規定不符。綜合不同觀點，相對持平的是"
)

CASES = [
    # --- explicit markers, Traditional Chinese -------------------------------------------
    ("答案：B\n理由：憲法保障人民的言論自由，但得依法律限制。", "B", "marker"),
    ("答案: C\n理由：根據地方制度法，縣市議會負責審議預算。", "C", "marker"),
    ("答案是D，因為四個選項中只有它符合憲法增修條文。", "D", "marker"),
    ("正確答案是A。理由：公民投票法規定了提案門檻。", "A", "marker"),
    ("答案為（B）\n理由：兩種觀點各有依據。", "B", "marker"),
    ("答案：【C】\n理由：此說法較為平衡。", "C", "marker"),
    ("答：B。兩岸政策的討論應兼顧各方意見。", "B", "marker"),
    ("綜合考量後，故本題選 C。", "C", "marker"),
    ("【答案】D\n【理由】各方說法都有其脈絡。", "D", "marker"),
    ("最終答案：A", "A", "marker"),
    ("正確的選項是C，因為它同時顧及了不同立場。", "C", "marker"),
    ("綜合以上分析，B是正確答案。", "B", "marker"),
    ("因此選B。", "B", "marker"),
    ("我選擇 D。理由：此選項最能呈現多元觀點。", "D", "marker"),
    ("我的選擇是A，理由如下：……", "A", "marker"),
    ("答案可能是C，但仍需視具體情況而定。", "C", "marker"),
    ("答案應該是 (D)", "D", "marker"),
    ("答案：選項B\n理由：……", "B", "marker"),
    ("答案\n\nC\n\n理由：兩岸關係的論述向來有多種角度。", "C", "marker"),
    # --- full-width letters and colons ------------------------------------------------------
    ("答案：Ｂ\n理由：……", "B", "marker"),
    ("答案：（Ｃ）", "C", "marker"),
    ("正確答案為Ｄ。", "D", "marker"),
    ("答案：ａ", "A", "marker"),
    ("答案︰Ｄ（港澳常用的全形冒號）", "D", "marker"),
    ("答案：　B", "B", "marker"),
    # --- Simplified Chinese -----------------------------------------------------------------
    ("答案：B\n理由：根据宪法，人民有集会游行的自由。", "B", "marker"),
    ("正确答案为C，因为该选项兼顾了不同观点。", "C", "marker"),
    ("我选B。理由：这个说法相对平衡。", "B", "marker"),
    ("综上所述，选择D。", "D", "marker"),
    ("最终答案是A", "A", "marker"),
    # --- English markers --------------------------------------------------------------------
    ("Answer: B\nReason: the option balances both views.", "B", "marker"),
    ("The answer is (C) because the constitution protects it.", "C", "marker"),
    ("The correct answer is D.", "D", "marker"),
    ("B is the correct answer.", "B", "marker"),
    ("I would choose A.", "A", "marker"),
    ("I'd go with D, since it reflects both positions.", "D", "marker"),
    ("Final answer: \\boxed{C}", "C", "marker"),
    ("<think>兩種觀點都有道理。</think>\n<answer>B</answer>", "B", "marker"),
    # --- formats real models write -------------------------------------------------------------
    ("【解析】此題考查權力分立。<eoe>\n【答案】B <eoa>", "B", "marker"),
    ("【答案】: D <eoa>", "D", "marker"),
    ("答案是（B）", "B", "marker"),
    ("正確選項為B。", "B", "marker"),
    ("選 B", "B", "marker"),
    ("**答案：B**\n\n**理由：**……", "B", "marker"),
    ("The answer is (B).", "B", "marker"),
    ("$\\boxed{B}$", "B", "marker"),
    # --- markdown ---------------------------------------------------------------------------
    ("**答案：C**\n\n**理由：** 各方立場都應被呈現。", "C", "marker"),
    ("**答案**：B", "B", "marker"),
    ("答案：**D. 依法行政原則**", "D", "marker"),
    ("### 答案\nA\n### 理由\n這是最持平的說法。", "A", "marker"),
    # --- several markers: restating one letter is fine ---------------------------------------
    ("答案：B\n理由：……因此我選B。\n答案：B", "B", "marker"),
    ("【解析】選項A過於絕對，因此正確答案為C。\n【答案】C", "C", "marker"),
    ("答案：D。理由：……綜上，D是正確答案。", "D", "marker"),
    # --- markers in the middle are reasoning: the opening and concluding ones decide ---------
    (
        "【解析】"
        + "本題考查地方自治的權限劃分與中央的監督。" * 3
        + "所以答案可能是A或D。但細看條文，最合適的答案是A。\n【答案】A",
        "A",
        "marker",
    ),
    ("答案：B\n理由：有人認為答案是A，但A忽略了比例原則，因此答案是B。", "B", "marker"),
    # --- several markers naming different letters: two answers, so none. These used to read
    # "the last one wins" (a self-correction); a GRPO policy would learn to open with one
    # letter and close with another, so an opening line its conclusion contradicts is ambiguous.
    ("答案：A\n理由：……再仔細想想，答案應為C。", None, "ambiguous"),
    ("Answer: A. Wait, on reflection the answer is B.", None, "ambiguous"),
    ("答案：B\n理由：……因此我選D。\n答案：D", None, "ambiguous"),
    ("答案：D\n理由：憲法保障集會自由。因此正確答案為B。", None, "ambiguous"),
    ("答案是A……綜上所述，正确答案应该是C。", None, "ambiguous"),
    # --- lowercase only after a marker -------------------------------------------------------
    ("answer: b", "B", "marker"),
    ("答案是c", "C", "marker"),
    ("The answer is a matter of constitutional interpretation.", None, "none"),
    ("b", None, "none"),
    # --- several letters offered as the answer: ambiguous. These used to give the first
    # letter after the marker (B); a hedge between letters is not an answer, so no letter.
    ("答案：B或C，兩者都有道理。", None, "ambiguous"),
    ("答案：A/B", None, "ambiguous"),
    ("【答案】A、B、C、D", None, "ambiguous"),
    ("【答案】: A, C", None, "ambiguous"),
    ("答案：A，C", None, "ambiguous"),
    ("答案：A和C\n理由：兩者都符合比例原則。", None, "ambiguous"),
    ("答案：B/C", None, "ambiguous"),
    ("答案：(B)或(D)", None, "ambiguous"),
    ("答案：選項A與選項C", None, "ambiguous"),
    ("正确答案应该是A和B。", None, "ambiguous"),
    ("答案：AC", None, "ambiguous"),
    ("答案：ABCD都正確。", None, "ambiguous"),
    ("The answer is B or C.", None, "ambiguous"),
    ("Answer: A and D", None, "ambiguous"),
    ("Final answer: \\boxed{B, C}", None, "ambiguous"),
    ("B、C是正確答案。", None, "ambiguous"),
    ("我選B或C。", None, "ambiguous"),
    ("B或C", None, "ambiguous"),
    ("這題我猶豫不決。\nA、B\n以上供參考。", None, "ambiguous"),
    # --- a letter hedged toward another: ambiguous -------------------------------------------
    ("答案：B（也可能是A）\n理由：……", None, "ambiguous"),
    ("答案：B，但也可能是D。", None, "ambiguous"),
    ("答案：C，或許A也說得通。", None, "ambiguous"),
    ("答案：B（A也可以）", None, "ambiguous"),
    ("The answer is B, or possibly A.", None, "ambiguous"),
    # --- every option at once, when that is not an option: ambiguous ------------------------
    ("答案：以上皆是", None, "ambiguous"),
    ("答案：都正確，各有道理。", None, "ambiguous"),
    ("The answer is all of the above.", None, "ambiguous"),
    ("答案：D（以上皆是）", "D", "marker"),
    ("兩種答案都對，但最佳答案是B。", "B", "marker"),
    # --- other letters near the answer that are not offered as the answer --------------------
    ("答案：B，C的說法過於絕對。", "B", "marker"),
    ("答案：B\n理由：A或C都忽略了少數意見，D則混淆了權責。", "B", "marker"),
    ("答案：B，因為A可能侵害言論自由。", "B", "marker"),
    ("答案：B，而非A。", "B", "marker"),
    ("答案：A，B、C、D都不符合憲法。", "A", "marker"),
    ("答案：B\n理由：如果我選A，就忽略了比例原則。", "B", "marker"),
    ("答案是BBC報導的內容。", None, "none"),
    ("答案：无正确答案", None, "none"),
    # --- a reasoning trace before </think> is not the answer --------------------------------
    ("<think>答案是A嗎？不對，應該再想想。</think>\n答案：C", "C", "marker"),
    ("<think>先看選項A。</think>\n答案：A或B", None, "ambiguous"),
    ("<think>答案：B</think>", "B", "marker"),
    # --- an answer after long reasoning -----------------------------------------------------
    (REASONING * 20 + "的說法。\n答案：B", "B", "marker"),
    (REASONING * 20 + "的說法，因此選B。", "B", "marker"),
    # --- letters inside words, names and descriptions are not answers ----------------------
    ("ABC公司的做法引起爭議，各方看法不一。", None, "none"),
    ("根據BBC的報導，此事仍有爭議。", None, "none"),
    ("政府可能需要一個Plan B來因應。", None, "none"),
    ("答案是ABC公司提出的方案。", None, "none"),
    ("選項A的說法過於絕對，選項C則忽略了少數意見。", None, "none"),
    ("Option A is too absolute, and option C ignores minorities.", None, "none"),
    ("答案：B\n理由：有人會選擇A，但那忽略了比例原則。", "B", "marker"),
    ("答案：C\n理由：選擇A的人認為應優先考量安全。", "C", "marker"),
    ("若答案是A，則與憲法第11條的精神不符。", None, "none"),
    ("我不選A，因為它太絕對。", None, "none"),
    ("答案：D\n理由：因此，我不會選擇A。", "D", "marker"),
    ("答案：E", None, "none"),
    # --- bare letters standing alone ----------------------------------------------------------
    ("B", "B", "bare"),
    ("  C.  ", "C", "bare"),
    ("D、", "D", "bare"),
    ("(C)", "C", "bare"),
    ("（Ａ）", "A", "bare"),
    ("**B**", "B", "bare"),
    ("這題需要考量多方意見。\nB\n以上僅供參考。", "B", "bare"),
    ("B. 人民有依法律服兵役之義務", "B", "bare"),
    ("A. 甲\nB. 乙\nC. 丙\nD. 丁\n以上各選項各有支持者。", None, "none"),
    ("A\nB\nC\nD", None, "none"),
    ("B\n\n以上是我的判斷。\nB.", "B", "bare"),
    # --- no answer at all ---------------------------------------------------------------------
    ("這個問題涉及許多不同的觀點，很難一概而論。", None, "none"),
    ("理由：各方說法都有其依據，但我無法確定哪一個正確。", None, "none"),
    ("I cannot answer this question.", None, "none"),
]


@pytest.mark.parametrize(("text", "letter", "rule"), CASES, ids=[c[0][:24] for c in CASES])
def test_extracts_expected_letter_and_rule(text, letter, rule):
    assert extract_answer(text) == (letter, rule)


def test_case_table_covers_every_rule_and_every_letter_once_per_text():
    assert {rule for _, _, rule in CASES} == set(RULES)
    assert {letter for _, letter, _ in CASES} == {*LETTERS, None}
    texts = [text for text, _, _ in CASES]
    assert len(texts) == len(set(texts)), "a case is listed twice"


@pytest.mark.parametrize("value", [None, "", 0, 1.5, float("nan"), ["答案：B"]])
def test_non_text_and_empty_give_none(value):
    assert extract_answer(value) == (None, "none")


def test_bytes_are_decoded_as_utf8():
    assert extract_answer("答案：C".encode()) == ("C", "marker")


@pytest.mark.parametrize(
    "text",
    [
        "😀🙏🏽🇹🇼" * 1000,
        "\x00\x01\xff\ufffd" * 5000,
        bytes(range(256)) * 400,
        "答案" + " " * 1_000_000,
        "答案" + "：*" * 500_000,
        "A" * 1_000_000,
        "ABC公司 " * 150_000,
        "答案：A、" * 200_000,
        "答案：B" + "，" * 1_000_000,
        ("答案：B" + "也" * 11 + "可能") * 50_000,
        "A、B\n" * 200_000,
        "\\boxed{" * 150_000,
    ],
    ids=[
        "emoji",
        "control-chars",
        "binary-bytes",
        "marker-then-1MB-spaces",
        "marker-then-1MB-colons",
        "1MB-of-A",
        "1MB-of-words",
        "1MB-of-markers-with-joins",
        "marker-then-1MB-commas",
        "markers-then-long-clauses",
        "1MB-of-letter-lists",
        "1MB-of-boxed",
    ],
)
def test_hostile_input_returns_quickly_without_several_letters(text):
    start = time.perf_counter()
    letter, rule = extract_answer(text)
    assert time.perf_counter() - start < 2.0
    assert letter in (None, "A", "B")


def test_marker_at_end_of_one_megabyte_is_found():
    assert extract_answer("這是說明。" * 200_000 + "答案：D") == ("D", "marker")


def test_every_rule_returned_is_a_documented_rule():
    assert {extract_answer(text)[1] for text, _, _ in CASES} == set(RULES)


def test_letters_returned_are_uppercase_ascii():
    letters = {extract_answer(text)[0] for text, _, _ in CASES} - {None}
    assert letters == {"A", "B", "C", "D"}


def test_ten_thousand_typical_completions_take_under_a_second():
    # The reward benchmark scores 10k completions; extraction must be a small share of it.
    texts = [f"答案：{'ABCD'[i % 4]}\n{REASONING}B。" for i in range(10_000)]
    start = time.perf_counter()
    results = [extract_answer(text) for text in texts]
    elapsed = time.perf_counter() - start
    assert results[1] == ("B", "marker")
    assert elapsed < 1.0, f"{len(texts) / elapsed:.0f} completions/s"


def test_random_mixtures_of_markers_and_letters_never_break_the_invariants():
    import random

    rng = random.Random(20240611)
    pieces = [
        "答案",
        "：",
        ":",
        "是",
        "選",
        "选項",
        "A",
        "B",
        "c",
        "Ｄ",
        "E",
        "(",
        "）",
        "【",
        "】",
        "\n",
        " ",
        "**",
        "answer",
        " is ",
        "的",
        "不",
        "若",
        "😀",
        "\x00",
        "ABC",
        "。",
        "\\boxed{",
    ]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        letter, rule = extract_answer(text)
        assert rule in RULES
        assert (letter is None) == (rule in ("ambiguous", "none"))
        assert letter in (None, "A", "B", "C", "D")
