"""Find the answer letter in a model's free-text completion.

One function, one precedence, used by rewards, inference, evals and the app alike. An
answer is one letter or none: several letters offered as the answer are ``ambiguous``. The
patterns are compiled once at import; a typical 300-character completion takes microseconds.
"""

from __future__ import annotations

import re

from mcq.records import TO_ASCII_LETTERS

__all__ = ["RULES", "extract_answer"]

#: Every rule name ``extract_answer`` can return, most trusted first. ``ambiguous`` and
#: ``none`` come without a letter.
RULES: tuple[str, ...] = ("marker", "bare", "ambiguous", "none")

# Letters A-D in ASCII or full width. Lowercase only counts right after a marker.
_UPPER = "A-DＡ-Ｄ"
_ANY_CASE = "A-Da-dＡ-Ｄａ-ｄ"
_WORD = "A-Za-zＡ-Ｚａ-ｚ0-9０-９_"

# Separators between a marker and its letter: colons, markdown, closing brackets ("【答案】B"),
# tags ("<answer>B"). Every repeat is bounded so that hostile input stays linear.
_SEP = r"[\s*_:：︰∶=＝>\-–—\]】」』)）]{0,8}"
_OPEN = r"(?:[(\[（［【「『〔《<]|\\boxed\{|\\text\{)?"
_CLOSE = r"[)\]）］】」』〕》}]?"
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
# others ("有人會選擇A") or a hypothesis ("若選A", "如果我選A"); 選項/选项 merely names an option.
_ZH_CHOOSE = (
    r"(?:^|(?<=[\s，,。.:：；;！!？?、(（「『【*我故應应宜則则請请仍改題题])|(?<=因此|所以|最終|最终"
    r"|還是|还是|我會|我会|我要|應該|应该|建議|建议|因而|總結|总结|我的|綜上|综上)|(?<=我認為|我认为))"
    r"(?<!若我)(?<!如果我)(?<!假如我)(?<!假設我)(?<!假设我)(?<!要是我)"
    r"(?:選擇|选择|選|选)(?![項项])(?:是|為|为)?"
)
_EN_ANSWER = (
    r"(?i:\b(?:(?:the|my)\s+)?(?:(?:correct|final|best|right)\s+)?answer"
    r"|\b(?:correct|final|best|right)\s+(?:option|choice))"
    r"(?i:\s+(?:is|would\s+be|should\s+be|will\s+be|=))?"
)
_EN_CHOOSE = r"(?i:\bI(?:\s+would|\s+will|['’]d|['’]ll)?\s+(?:choose|pick|select|go\s+with)\b)"

_MARKER_PREFIX = (
    rf"(?:{_ZH_ANSWER}{_SEP}(?:{_ZH_VERB}{_SEP}){{0,2}}|{_EN_ANSWER}{_SEP}|{_ZH_CHOOSE}{_SEP}"
    rf"|{_EN_CHOOSE}{_SEP}|(?=\\boxed))"
)

# What may join two letters in a list: "A、B", "A, C", "A和C", "B或C", "B/C", "B or C".
_JOIN = r"(?:[、/／&＆+＋]|或者|或是|或|和|與|与|以及|及|跟|還是|还是|\s(?i:or|and)\s)"
_NEXT_LETTER = rf"{_OPEN}\s{{0,2}}(?:(?:選項|选项)\s{{0,2}})?[{_UPPER}]{_CLOSE}(?![{_WORD}])"
# After the marker's letter: more letters joined to it, not described ("答案：B、C的說法…")
# nor rejected ("答案：A，B、C、D都不對"). A list opened by a comma must end where a list
# ends ("答案：A, C。"), so that "答案：B，C則過於絕對" is not one. Atomic groups: no retries.
_ONE_JOIN = rf"\s{{0,2}}(?:{_JOIN}|[,，;；])\s{{0,2}}{_NEXT_LETTER}"
_NOT_REJECTED = (
    r"(?!\s{0,2}(?:[的之者]|(?:選項|选项|項|项)\s{0,2}[的之]))"
    r"(?!\s{0,2}(?:都|皆|均|也|亦|則|则|兩者|两者|二者)?\s{0,2}(?:不|非|錯|错|無|无|沒|没|未))"
)
_LIST_AFTER = (
    rf"{_CLOSE}(?:(?>\s{{0,2}}{_JOIN}\s{{0,2}}{_NEXT_LETTER}(?:{_ONE_JOIN}){{0,2}}){_NOT_REJECTED}"
    rf"|(?>\s{{0,2}}[,，;；]\s{{0,2}}{_NEXT_LETTER}(?:{_ONE_JOIN}){{0,2}}){_NOT_REJECTED}"
    r"(?=\s{0,2}(?:$|[、,，。．.;；!！?？)）\]】」}*<\n]|都|皆|均|兩|两|三|四|也|或|和|選項|选项)))"
)
# After the marker's letter, in the same clause: a hedge toward another letter ("B（也可能是A）",
# "B, or possibly A", "B，不過A也說得通").
_HEDGE_WORD = (
    r"(?:也可能|也有可能|亦可能|也許|也许|或許|或许|可能|也可以|亦可|或者|或是|抑或|不排除"
    r"|(?i:or\s+(?:possibly|maybe|perhaps)|maybe|possibly|perhaps))"
)
_HEDGE_AFTER = (
    rf"[^\n。！？!?；;]{{0,12}}?(?:(?=[也亦或可抑不oOmMpP]){_HEDGE_WORD}\s{{0,2}}"
    rf"(?:是|選|选|為|为|選擇|选择)?\s{{0,2}}{_NEXT_LETTER}(?!\s{{0,2}}[的之者])"
    rf"|(?=[(\[（［【「『〔《<\\{_UPPER}]){_NEXT_LETTER}\s{{0,2}}(?:也|亦)(?:可能|有可能|可以|對|对|正確|正确|行|說得通|说得通|成立|不錯|不错))"
)
# "答案：ABCD都正確", "答案：AC": letters run together (checked to be ascending in Python, so
# "BBC" is not one), then no further word ("ABC公司" is a name).
_LETTER_RUN = (
    rf"(?P<run>[{_UPPER}]{{2,4}})(?![{_WORD}])"
    r"(?=\s|$|[^\u4e00-\u9fff]|都|皆|均|全|兩|两|三|四|選項|选项|項|项|正確|正确)"
)
# "答案：以上皆是", "The answer is all of the above": every option at once, no letter. It must
# follow a colon or a verb ("兩種答案都對" is not an answer), checked in Python.
_ALL_PHRASE = (
    r"(?:以上皆是|以上都是|以上皆對|以上都對|以上都对|以上皆正確|以上都正確|以上都正确|以上選項|以上选项|"
    r"以上均|以上全|全部|都正確|都正确|都對|都对|皆正確|皆正确|皆是|均正確|均正确|均是|全選|全选|"
    r"(?i:all\s+of\s+(?:the\s+)?(?:above|them)|all\s+(?:four\s+)?(?:options|choices)))"
)
_MARKER_THEN_LETTER = (
    rf"{_MARKER_PREFIX}(?:(?=[以全都皆均aA])(?P<all>{_ALL_PHRASE})|{_OPTION_WORD}{_OPEN}\s{{0,2}}"
    rf"(?:{_LETTER_RUN}|(?P<letter>[{_ANY_CASE}])(?![{_WORD}])"
    # "answer is a matter of ..." is the English article; "選擇A的人" describes a side.
    r"(?!(?<=a)\s+[A-Za-z])(?!\s{0,2}[的者之])))"
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
_GROUPS = ("letter", "post", "post_en", "run", "all")
# Only the opening and concluding markers are read this closely.
_SEVERAL_AFTER_RE = re.compile(f"{_LIST_AFTER}|{_HEDGE_AFTER}")

# Before a "C是正確答案" letter: another letter joined to it ("B、C是正確答案").
_LIST_BEFORE_RE = re.compile(rf"(?<![{_WORD}])[{_UPPER}]{_CLOSE}\s{{0,2}}{_JOIN}\s{{0,2}}[(（]?$")
_THINK_END = "</think>"

# A line holding nothing but a letter: "B", "B.", "B、", "(C)", "**D**", "【A】。".
_BARE_LINE_RE = re.compile(
    rf"^[ \t*_#>]{{0,8}}[(\[（［【「]?[ \t]{{0,2}}(?P<letter>[{_UPPER}])[ \t]{{0,2}}"
    r"[)\]）］】」]?[ \t*_]{0,4}[.。、:：,，!！)）]?[ \t*_]{0,4}$",
    re.MULTILINE,
)
# A line holding nothing but joined letters: "B或C", "A、B", "(A)/(C)".
_BARE_LIST_RE = re.compile(
    rf"^[ \t*_#>]{{0,8}}{_OPEN}[ \t]{{0,2}}[{_UPPER}]{_CLOSE}"
    rf"(?:[ \t]{{0,2}}(?:{_JOIN}|[,，])[ \t]{{0,2}}{_OPEN}[ \t]{{0,2}}[{_UPPER}]{_CLOSE}){{1,3}}"
    r"[ \t*_]{0,4}[.。!！]?[ \t*_]{0,4}$",
    re.MULTILINE,
)
# A line opening with an option label: "B. 言論自由..." is an answer, four of them an echo.
_LABEL_LINE_RE = re.compile(
    rf"^[ \t*_#>]{{0,8}}(?:[(（][ \t]?([{_UPPER}])[ \t]?[)）]|([{_UPPER}])[ \t]{{0,2}}[.．、:：)）])",
    re.MULTILINE,
)


_SEVERAL = "several"
_ALL_AFTER = frozenset(" \t\n*:：︰】]是為为選选")
# What may stand before an opening marker: markup and a few words ("我的", "經過分析，").
_OPENING_SLACK = 8
_NOT_CONTENT = re.compile(r"[\s*_#>【】\[\]]+")


def _marker_answer(text: str, match: re.Match[str]) -> str:
    """The letter one marker gives, or ``_SEVERAL`` when it offers more than one."""
    letter, post, post_en, run, every = match.group(*_GROUPS)
    if every is not None or run is not None:
        return _SEVERAL
    if letter is not None and _SEVERAL_AFTER_RE.match(text, match.end()):
        return _SEVERAL
    if post is not None and _LIST_BEFORE_RE.search(text, max(0, match.start() - 12), match.start()):
        return _SEVERAL
    return (letter or post or post_en).translate(TO_ASCII_LETTERS).upper()


def _opens_text(text: str, start: int) -> bool:
    """True when the marker at ``start`` opens the completion (the answer line comes first)."""
    return start <= 64 and len(_NOT_CONTENT.sub("", text[:start])) <= _OPENING_SLACK


def extract_answer(text: object) -> tuple[str | None, str]:
    """Return ``(letter, rule)`` for the one answer a completion gives, else ``(None, rule)``.

    Precedence (the first rule that applies decides):

    1. ``"marker"`` -- explicit answer markers next to a letter: ``答案：B``, ``答案: B``,
       ``答案是B``, ``答案是（B）``, ``【答案】B``, ``答案：【B】``, ``**答案：C**``,
       ``正確答案為（Ｂ）``, ``正確選項為B``, ``C是正確答案``, ``答：B``, ``選 B``, ``我選B``,
       ``故本題選B``, ``Answer: B``, ``The answer is (B)``, ``B is the correct answer``,
       ``I choose B``, ``\\boxed{B}``, ``<answer>B</answer>``. Traditional and Simplified
       markers, full-width letters and colons all count. After a marker a lowercase letter
       counts (``answer: b``), except the English article (``the answer is a matter of ...``).
       The concluding (last) marker gives the answer; when the completion opens with a
       marker too, the two must agree. Markers in between are reasoning ("答案可能是A或D
       ……最合適的答案是A") and do not count; restating the letter is fine.
    2. ``"ambiguous"`` (no letter) -- the opening or concluding marker offers more than one
       option: a list (``【答案】A、B、C、D``, ``答案：A, C``, ``答案：A和C``, ``答案：B/C``,
       ``答案：B或C``, ``答案：AC``), a hedge toward another letter (``答案：B（也可能是A）``),
       every option at once (``答案：以上皆是``, ``答案：都正確``; when that is itself an
       option, the model names its letter); or the two disagree (an opening ``答案：D`` and a
       concluding ``因此正確答案為B``). Also, without markers, a line holding only joined
       letters (``B或C``).
    3. ``"bare"`` -- no marker, but an uppercase letter standing alone: lines that are only
       the letter (``B``, ``B.``, ``B、``, ``(C)``, ``**D**``), provided they all name the same
       letter; or else the one line that opens with an option label (``B. 言論自由…``) when
       the text is not an echoed option list.
    4. ``"none"`` -- nothing above; also for ``None``, non-text and empty input.

    A reasoning trace before ``</think>`` is not the answer: when text follows the last
    ``</think>``, only that text is read (unless it gives no letter at all).

    Not answers: a letter inside a word or name (``ABC公司``, ``BBC``, ``Plan B``, ``B2``);
    naming an option (``選項A的說法``, ``Option A is too absolute``); someone else's or a
    hypothetical choice (``有人會選擇A``, ``選擇A的人``, ``不選A``, ``若答案是A``,
    ``如果我選A``); lines ``A`` ``B`` ``C`` ``D`` or ``A. …`` ``B. …`` echoing the options.

    Args:
        text: A completion. ``bytes`` are decoded as UTF-8; other non-strings give ``"none"``.

    Returns:
        The uppercase ASCII letter (or ``None``) and the rule name, one of ``RULES``.

    Example:
        >>> extract_answer("答案：Ｂ\\n理由：……")
        ('B', 'marker')
        >>> extract_answer("【解析】……因此正確答案為B。\\n【答案】B")
        ('B', 'marker')
        >>> extract_answer("【答案】A、B、C、D")
        (None, 'ambiguous')
        >>> extract_answer("答案：B（也可能是A）")
        (None, 'ambiguous')
        >>> extract_answer("答案：D\\n理由：……因此正確答案為B。")
        (None, 'ambiguous')
        >>> extract_answer("C")
        ('C', 'bare')
        >>> extract_answer("ABC公司的做法")
        (None, 'none')
    """
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", errors="replace")
    if not isinstance(text, str) or not text:
        return None, "none"
    think_end = text.rfind(_THINK_END)
    if think_end >= 0:
        after = text[think_end + len(_THINK_END) :]
        if after.strip():
            found = _extract(after)
            if found[1] != "none":
                return found
    return _extract(text)


def _extract(text: str) -> tuple[str | None, str]:
    opening = concluding = None
    for match in _MARKER_RE.finditer(text):
        run, every = match.group("run", "all")
        if run is not None and "".join(sorted(set(run))) != run:
            continue  # "BBC" after a marker: a name, not letters
        if every is not None and text[match.start("all") - 1] not in _ALL_AFTER:
            continue  # "兩種答案都對": talk about answers, not an answer
        if opening is None:
            opening = match
        concluding = match
    if concluding is not None:
        answer = _marker_answer(text, concluding)
        if (
            opening is not concluding
            and _opens_text(text, opening.start())
            and _marker_answer(text, opening) != answer
        ):
            return None, "ambiguous"
        return (answer, "marker") if answer != _SEVERAL else (None, "ambiguous")

    bare = {m["letter"].translate(TO_ASCII_LETTERS) for m in _BARE_LINE_RE.finditer(text)}
    if len(bare) == 1:
        return bare.pop(), "bare"
    if bare:  # lines "A", "B", ... name several letters: an echo or a list, not an answer
        return None, "none"
    if _BARE_LIST_RE.search(text):
        return None, "ambiguous"

    labels = _LABEL_LINE_RE.findall(text)
    if len(labels) == 1:
        return (labels[0][0] or labels[0][1]).translate(TO_ASCII_LETTERS), "bare"
    return None, "none"
