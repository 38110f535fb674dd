"""Find the answer letter in a model's free-text completion.

One function, one precedence, used by rewards, inference, evals and the app alike. The
patterns are compiled once at import; a typical 300-character completion takes microseconds.
"""

from __future__ import annotations

import re

__all__ = ["RULES", "extract_answer"]

#: Every rule name ``extract_answer`` can return, most trusted first.
RULES: tuple[str, ...] = ("marker", "bare", "none")

# Letters A-D in ASCII or full width. Lowercase only counts right after a marker.
_UPPER = "A-DＡ-Ｄ"
_ANY_CASE = "A-Da-dＡ-Ｄａ-ｄ"
_WORD = "A-Za-zＡ-Ｚａ-ｚ0-9０-９_"
_TO_ASCII = str.maketrans("ＡＢＣＤａｂｃｄ", "ABCDABCD")

# Separators between a marker and its letter: colons, markdown, closing brackets ("【答案】B"),
# tags ("<answer>B"). Every repeat is bounded so that hostile input stays linear.
_SEP = r"[\s*_:：︰∶=＝>\-–—\]】」』)）]{0,8}"
_OPEN = r"(?:[(\[（［【「『〔《<]|\\boxed\{|\\text\{)?"
_OPTION_WORD = r"(?:(?:選項|选项|(?i:option|choice))[\s:：︰]{0,3})?"
_QUALIFIER = r"(?:正確|正确|最終|最终|最佳|標準|标准|參考|参考|合理|恰當|恰当|最合適|最合适)"

# 答案 / 正確答案 / 正確的選項 / 答：...; not in a hypothesis ("若答案是A", "如果正確答案為B").
_ZH_ANSWER = (
    rf"(?<![若果如設设])(?:{_QUALIFIER}的?(?:答案|選項|选项|選擇|选择)"
    r"|(?<![確确終终佳準准考理當当適适])答案|答(?=\s{0,2}[:：︰]))"
)
_ZH_VERB = (
    r"(?:應該|应该|應當|应当|應|应|很可能|最可能|可能|當然|当然|顯然|显然|無疑|无疑|就|才|乃|"
    r"選擇|选择|選|选|是|為|为)"
)
# 選/选 only chooses for the speaker or a conclusion ("我選B", "因此選B", "。選B"), not for
# others ("有人會選擇A") or a hypothesis ("若選A"); 選項/选项 merely names an option.
_ZH_CHOOSE = (
    r"(?:^|(?<=[\s，,。.:：；;！!？?、(（「『【*我故應应宜則则請请仍改題题])|(?<=因此|所以|最終|最终"
    r"|還是|还是|我會|我会|我要|應該|应该|建議|建议|因而|總結|总结|我的|綜上|综上)|(?<=我認為|我认为))"
    r"(?:選擇|选择|選|选)(?![項项])(?:是|為|为)?"
)
_EN_ANSWER = (
    r"(?i:\b(?:(?:the|my)\s+)?(?:(?:correct|final|best|right)\s+)?answer"
    r"|\b(?:correct|final|best|right)\s+(?:option|choice))"
    r"(?i:\s+(?:is|would\s+be|should\s+be|will\s+be|=))?"
)
_EN_CHOOSE = r"(?i:\bI(?:\s+would|\s+will|['’]d|['’]ll)?\s+(?:choose|pick|select|go\s+with)\b)"

_MARKER_THEN_LETTER = (
    rf"(?:{_ZH_ANSWER}{_SEP}(?:{_ZH_VERB}{_SEP}){{0,2}}|{_EN_ANSWER}{_SEP}|{_ZH_CHOOSE}{_SEP}"
    rf"|{_EN_CHOOSE}{_SEP}|(?=\\boxed))"
    rf"{_OPTION_WORD}{_OPEN}\s{{0,2}}(?P<letter>[{_ANY_CASE}])(?![{_WORD}])"
    # "answer is a matter of ..." is the English article; "選擇A的人" describes a side.
    r"(?!(?<=a)\s+[A-Za-z])(?!\s{0,2}[的者之])"
)
# "C是正確答案", "選項C為正确选项", "(B) is the correct answer".
_LETTER_THEN_MARKER = (
    rf"(?<![{_WORD}])(?P<post>[{_UPPER}])(?![{_WORD}])[)）]?\s{{0,2}}"
    rf"(?:(?:選項|选项|項|项)\s{{0,2}})?(?:才是|就是|是|為|为)(?:最|唯一的?)?"
    rf"(?:{_QUALIFIER}的?(?:答案|選項|选项|選擇|选择)|答案)"
    r"|(?<![A-Za-z])(?P<post_en>[A-D])\)?\s+is\s+(?:the\s+)?(?i:correct|right|best|final)\s+"
    r"(?i:answer|option|choice)"
)
# Every marker starts with one of these characters; testing it first makes the scan ~20x faster.
_MARKER_START = r"(?=[答正最標标參参合恰選选\\A-Za-zＡ-Ｄ])"
_MARKER_RE = re.compile(f"{_MARKER_START}(?:{_MARKER_THEN_LETTER}|{_LETTER_THEN_MARKER})")

# A line holding nothing but a letter: "B", "B.", "B、", "(C)", "**D**", "【A】。".
_BARE_LINE_RE = re.compile(
    rf"^[ \t*_#>]{{0,8}}[(\[（［【「]?[ \t]{{0,2}}(?P<letter>[{_UPPER}])[ \t]{{0,2}}"
    r"[)\]）］】」]?[ \t*_]{0,4}[.。、:：,，!！)）]?[ \t*_]{0,4}$",
    re.MULTILINE,
)
# A line opening with an option label: "B. 言論自由..." is an answer, four of them an echo.
_LABEL_LINE_RE = re.compile(
    rf"^[ \t*_#>]{{0,8}}(?:[(（][ \t]?([{_UPPER}])[ \t]?[)）]|([{_UPPER}])[ \t]{{0,2}}[.．、:：)）])",
    re.MULTILINE,
)


def extract_answer(text: object) -> tuple[str | None, str]:
    """Return ``(letter, rule)`` for the answer a completion gives, or ``(None, "none")``.

    Precedence (the first rule that yields a letter wins):

    1. ``"marker"`` -- an explicit answer marker next to a letter: ``答案：B``, ``答案: B``,
       ``答案是B``, ``【答案】B``, ``答案：【B】``, ``**答案：C**``, ``正確答案為（Ｂ）``,
       ``正确的选项是B``, ``C是正確答案``, ``答：B``, ``我選B``/``故本題選B``, ``Answer: B``,
       ``The answer is (B)``, ``B is the correct answer``, ``I choose B``, ``\\boxed{B}``,
       ``<answer>B</answer>``. Traditional and Simplified markers, full-width letters and
       colons all count. With several markers the LAST one wins (a model that corrects
       itself means the later letter). After a marker a lowercase letter counts
       (``answer: b``), except the English article (``the answer is a matter of ...``).
       ``答案：B或C`` is ambiguous; the FIRST letter after the marker is taken (B), since the
       format asks for one letter first (the format reward can still penalise hedging).
    2. ``"bare"`` -- no marker, but an uppercase letter standing alone: lines that are only
       the letter (``B``, ``B.``, ``B、``, ``(C)``, ``**D**``), provided they all name the same
       letter; or else the one line that opens with an option label (``B. 言論自由…``) when
       the text is not an echoed option list.
    3. ``"none"`` -- nothing above; also for ``None``, non-text and empty input.

    Not answers: a letter inside a word or name (``ABC公司``, ``BBC``, ``Plan B``, ``B2``);
    naming an option (``選項A的說法``, ``Option A is too absolute``); someone else's or a
    hypothetical choice (``有人會選擇A``, ``選擇A的人``, ``不選A``, ``若答案是A``).

    Args:
        text: A completion. ``bytes`` are decoded as UTF-8; other non-strings give ``"none"``.

    Returns:
        The uppercase ASCII letter (or ``None``) and the rule name, one of ``RULES``.

    Example:
        >>> extract_answer("答案：Ｂ\\n理由：……")
        ('B', 'marker')
        >>> extract_answer("C")
        ('C', 'bare')
        >>> extract_answer("ABC公司的做法")
        (None, 'none')
    """
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", errors="replace")
    if not isinstance(text, str) or not text:
        return None, "none"

    match = None
    for match in _MARKER_RE.finditer(text):  # noqa: B007 - the last match is the one we want
        pass
    if match is not None:
        letter = match["letter"] or match["post"] or match["post_en"]
        return letter.translate(_TO_ASCII).upper(), "marker"

    bare = {m["letter"].translate(_TO_ASCII) for m in _BARE_LINE_RE.finditer(text)}
    if len(bare) == 1:
        return bare.pop(), "bare"
    if bare:  # lines "A", "B", ... name several letters: an echo or a list, not an answer
        return None, "none"

    labels = _LABEL_LINE_RE.findall(text)
    if len(labels) == 1:
        return (labels[0][0] or labels[0][1]).translate(_TO_ASCII), "bare"
    return None, "none"
