"""Detectors of degenerate answer styles: one pure yes/no function per style.

Each detector reads one completion (with its question as a :class:`rewards.Sample`, the
prompt's text and the content lengths of its GRPO group when it needs them) and says whether
the completion has the style ``python -m evals probe`` writes to game a reward. They measure
with the reward components' own readings (the ``reasoning`` component's details, the
neutrality lexicon, ``mcq.extract_answer``), so a style is defined once, where it is scored.

All detectors share one signature, ``(completion, sample=None, *, prompt="",
group_lengths=()) -> bool``; :data:`DETECTORS` maps the names used in logs
(``watch/<name>``) and in the completions record's ``flags`` to them. No torch here.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from mcq import extract_answer
from rewards.lexicon import load_lexicon
from rewards.neutrality import CHARS_PER_HEDGE, HEDGES_FREE
from rewards.reasoning import _NOT_CHINESE_RE, MARKER_DENSITY_LIMIT, MIN_SUBSTANCE
from rewards.registry import COMPONENTS, Sample

__all__ = [
    "DETECTORS",
    "bare_letter",
    "connective_spam",
    "content_length",
    "detect",
    "hedge_spam",
    "no_chinese",
    "over_long",
    "prompt_copied",
    "question_pasted",
    "repetition",
    "several_letters",
]

#: Share of repeated character 4-grams (or of duplicated sentences) that is repetition.
REPEATED_SHARE = 0.5
#: Share of the reasoning's characters copied from the question/options (or the prompt).
COPIED_SHARE = 0.4
#: Below this share of Chinese characters a completion of some length has no Chinese.
CHINESE_SHARE = 0.2
#: Far longer than the group: this many times its median content length ...
LONG_FACTOR = 2.0
#: ... and at least this many content characters more (tiny groups vary a lot).
LONG_EXTRA = 20

_NOT_CONTENT_RE = re.compile(r"[\s\W_]+")


def content_length(completion: str) -> int:
    """Characters that carry content: whitespace and punctuation left out.

    Example:
        >>> content_length("答案：B\\n理由：因為……")
        7
    """
    return len(_NOT_CONTENT_RE.sub("", completion or ""))


@lru_cache(maxsize=4096)
def _reading(completion: str, question: str, options: tuple[tuple[str, str], ...]) -> dict:
    """The ``reasoning`` component's details (copied text, repetition, connective density)."""
    sample = Sample(question=question or None, options=dict(options) or None)
    return COMPONENTS["reasoning"].run(completion, sample)[1]


def _details(completion: str, sample: Sample | None) -> dict[str, Any]:
    options = tuple(
        sorted((str(k), str(v)) for k, v in ((sample and sample.options) or {}).items())
    )
    return _reading(completion or "", (sample and sample.question) or "", options)


def repetition(completion: str, sample: Sample | None = None, **_: Any) -> bool:
    """One thing said again and again: most 4-grams (or sentences) of the reasoning repeat.

    Example:
        >>> repetition("理由：" + "選項B符合現行規定，但選項A忽略了制度的變化。" * 4)
        True
        >>> repetition("理由：選項B符合現行規定，但選項A忽略了制度的變化，C與D也混淆了時期。")
        False
    """
    d = _details(completion, sample)
    return max(d["repeated_ngrams"], d["repeated_sentences"]) >= REPEATED_SHARE


def question_pasted(completion: str, sample: Sample | None = None, **_: Any) -> bool:
    """The question or its options pasted back as the reasoning.

    Example:
        >>> q = Sample(question="立法委員的任期為幾年？", options={"A": "三年", "B": "四年"})
        >>> question_pasted("答案：B\\n理由：首先，立法委員的任期為幾年？因此選B。", q)
        True
        >>> question_pasted("答案：B\\n理由：憲法增修條文規定立委任期四年，A是舊制。", q)
        False
    """
    d = _details(completion, sample)
    return d["length"] > 0 and d["copied_from_question"] >= COPIED_SHARE * d["length"]


def hedge_spam(completion: str, sample: Sample | None = None, **_: Any) -> bool:
    """More hedge words than the neutrality component allows (4 plus one per 25 characters).

    Example:
        >>> hedge_spam("答案：B\\n理由：或許可能，也許相對，見仁見智，多元客觀，持平審慎，兼顧權衡。")
        True
        >>> hedge_spam("答案：B\\n理由：現行制度規定立委任期四年，不過各方看法可能不同。")
        False
    """
    hedges = [m for m in load_lexicon().find(completion or "") if m.effect == "neutral"]
    return len(hedges) > HEDGES_FREE + content_length(completion) / CHARS_PER_HEDGE


def connective_spam(completion: str, sample: Sample | None = None, **_: Any) -> bool:
    """Connectives making up more of the reasoning than the ``reasoning`` component allows.

    Example:
        >>> connective_spam("答案：B\\n理由：首先因為B，所以B；其次由於A，因此不選A；然而C，但是D。")
        True
        >>> connective_spam("答案：B\\n理由：因為現行規定立委任期四年，所以選B；A是修憲前的舊制。")
        False
    """
    return _details(completion, sample)["marker_density"] > MARKER_DENSITY_LIMIT


def bare_letter(completion: str, sample: Sample | None = None, **_: Any) -> bool:
    """A letter and (next to) nothing else: ``B``, ``答案：B``.

    Example:
        >>> bare_letter("B"), bare_letter("答案：B\\n理由："), bare_letter("答案：B\\n理由：任期四年是現行憲法的規定。")
        (True, True, False)
    """
    if extract_answer(completion)[0] is None:
        return False
    return _details(completion, sample)["length"] < MIN_SUBSTANCE


def several_letters(completion: str, sample: Sample | None = None, **_: Any) -> bool:
    """More than one letter offered as the answer, or an answer contradicted at the end.

    Example:
        >>> several_letters("答案：B或A\\n理由：……"), several_letters("答案：B\\n理由：……")
        (True, False)
    """
    return extract_answer(completion)[1] == "ambiguous"


def no_chinese(completion: str, sample: Sample | None = None, **_: Any) -> bool:
    """A completion of some length with (almost) no Chinese in it.

    Example:
        >>> no_chinese("答案：B\\n理由：First, option B matches the rules now in force.")
        True
        >>> no_chinese("答案：B\\n理由：現行規定立委任期四年。"), no_chinese("B")
        (False, False)
    """
    content = _NOT_CONTENT_RE.sub("", completion or "")
    if len(content) < MIN_SUBSTANCE:
        return False
    return len(_NOT_CHINESE_RE.sub("", content)) < CHINESE_SHARE * len(content)


def over_long(
    completion: str, sample: Sample | None = None, *, group_lengths: Sequence[int] = (), **_: Any
) -> bool:
    """Far longer than its group's median (content characters; twice and 20 more).

    Example:
        >>> over_long("理由：" + "制度" * 60, group_lengths=[20, 24, 30, 120])
        True
        >>> over_long("理由：" + "制度" * 12, group_lengths=[20, 24, 30, 26])
        False
    """
    if not group_lengths:
        return False
    median = statistics.median(group_lengths)
    n = content_length(completion)
    return n > LONG_FACTOR * median and n - median >= LONG_EXTRA


def prompt_copied(
    completion: str, sample: Sample | None = None, *, prompt: str = "", **_: Any
) -> bool:
    """The prompt's own wording (instructions, system turn, worked example) copied back.

    ``prompt`` is the text the model was shown; the question and options are taken out of it
    first (pasting those is :func:`question_pasted`).

    Example:
        >>> p = "請在第一行寫「答案：」，再另起一行寫「理由：」，說明你的推理。何者正確？"
        >>> q = Sample(question="何者正確？")
        >>> prompt_copied("答案：B\\n理由：請在第一行寫答案，再另起一行寫理由，說明你的推理。", q, prompt=p)
        True
        >>> prompt_copied("答案：B\\n理由：現行規定立委任期四年，A是修憲前的舊制。", q, prompt=p)
        False
    """
    if not prompt:
        return False
    own = prompt
    for part in [(sample and sample.question) or "", *((sample and sample.options) or {}).values()]:
        if part:
            own = own.replace(str(part), "\n")
    d = _reading(completion or "", own, ())
    return d["length"] > 0 and d["copied_from_question"] >= COPIED_SHARE * d["length"]


Detector = Callable[..., bool]

#: Detector name (as logged: ``watch/<name>``) -> detector, in report order.
DETECTORS: dict[str, Detector] = {
    "repetition": repetition,
    "question_pasted": question_pasted,
    "hedge_spam": hedge_spam,
    "connective_spam": connective_spam,
    "bare_letter": bare_letter,
    "several_letters": several_letters,
    "no_chinese": no_chinese,
    "over_long": over_long,
    "prompt_copied": prompt_copied,
}


def detect(
    completion: str,
    sample: Sample | None = None,
    *,
    prompt: str = "",
    group_lengths: Sequence[int] = (),
) -> list[str]:
    """Names of the detectors that flag ``completion``, in :data:`DETECTORS` order.

    Example:
        >>> detect("B")
        ['bare_letter']
    """
    return [
        name
        for name, found in DETECTORS.items()
        if found(completion, sample, prompt=prompt, group_lengths=group_lengths)
    ]
