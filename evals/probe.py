"""Probe a reward preset with degenerate answers: does any come close to a good one?

GRPO optimises whatever gap the reward leaves. Each probe below writes, for one question, a
way a policy could try to earn reward without answering well, at its strongest (correct
letter, the 答案/理由 format, connectives and option letters sprinkled in). A preset holds
when every probe totals at least ``margin`` below a good reference answer to the same question.

``python -m evals probe --preset P`` runs the suite; tests/test_rewards_degenerate.py uses the
same generators on a hand-written question.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

from mcq import LETTERS, extract_answer, format_answer, load_train
from mcq.errors import UsageError
from mcq.paths import SAMPLE_GOLD, SAMPLE_TEST, SAMPLE_TRAIN

__all__ = [
    "DEFAULT_GOLD",
    "DEFAULT_QUESTIONS",
    "PROBES",
    "SEVERAL_LETTER_FORMS",
    "ProbeResult",
    "bare_letter",
    "connective_spam",
    "contradicted_answer",
    "english_only",
    "good_answer",
    "hedge_spam",
    "load_samples",
    "no_reasoning",
    "over_long",
    "question_pasted",
    "repeated_sentence",
    "render_table",
    "run_probes",
    "several_letters",
]

DEFAULT_QUESTIONS = SAMPLE_TEST
DEFAULT_GOLD = SAMPLE_GOLD
#: On-subject sentences (sample reasoning that names no answer) pad the over-long probe.
_PADDING_SOURCE = SAMPLE_TRAIN
#: Content characters the over-long probe adds: past the reasoning component's 2,000 limit.
PADDING_CHARS = 2200


def _others(sample) -> list[str]:
    """The option letters other than the gold one, in order."""
    return [k for k in LETTERS if k != sample.correct_answer]


def _key(option: str) -> str:
    """An option's opening words: enough to name it, too short to count as copied text."""
    return option.strip()[:6]


# ------------------------------------------------------------------ good reference
def good_answer(sample) -> str:
    """A correct, reasoned, balanced answer built from the question's options alone.

    Names the gold option and two others by their opening words, argues in neutral wording,
    and grants that views differ; it knows nothing of the subject, so a real good answer
    scores at least as well.
    """
    x = sample.correct_answer
    o = _others(sample)
    opts = sample.options or {}
    return format_answer(
        x,
        f"首先，選項{x}「{_key(opts.get(x, ''))}」的說法與現行制度的規定相符，"
        f"也最能完整回應題目所問的重點。其次，選項{o[0]}「{_key(opts.get(o[0], ''))}」與相關規定"
        f"的內容並不一致，因此不宜選擇；選項{o[1]}「{_key(opts.get(o[1], ''))}」與選項{o[2]}同樣"
        "未能準確對應題意，可能是把不同時期或不同機關的規定混在一起。不過，對於這類制度的評價，"
        f"社會上仍存在不同觀點，宜在理解條文的同時兼顧多元看法。綜合比較之後，{x}是相對較為適當的選擇。",
    )


# ------------------------------------------------------------------ degenerate answers
def hedge_spam(sample, good: str = "") -> str:
    """Hedge words and connectives strung together, with the right letter and no content."""
    x, o = sample.correct_answer, _others(sample)
    return format_answer(
        x,
        f"首先，這個問題可能存在不同觀點，或許相對而言{x}比較平衡；其次，選項"
        f"{o[0]}、{o[1]}、{o[2]}也可能各有利弊，因此需要權衡；然而見仁見智，所以或許應該兼顧多元"
        "立場，因為各方看法不一，不過也許在一定程度上都值得尊重，相對來說需要審慎、客觀、持平地看待。",
    )


def connective_spam(sample, good: str = "") -> str:
    """Argument connectives with option letters between them and nothing argued."""
    x, o = sample.correct_answer, _others(sample)
    return format_answer(
        x,
        f"首先因為{x}，所以{x}；其次由於{o[0]}，因此不選{o[0]}；然而{o[1]}，但是"
        f"{o[1]}；此外{o[2]}，不過{o[2]}；雖然如此，儘管如此，換言之，也就是說，綜上所述，總之，"
        f"可見，根據以上，相比之下，反之，選{x}。",
    )


def question_pasted(sample, good: str = "") -> str:
    """The question and options pasted back, joined by connectives, as the reasoning."""
    x, o = sample.correct_answer, _others(sample)
    opts = sample.options or {}
    return format_answer(
        x,
        f"首先，{sample.question}其次，選項{o[0]}{opts.get(o[0], '')}；然而選項"
        f"{o[1]}{opts.get(o[1], '')}；此外選項{o[2]}{opts.get(o[2], '')}；因此選項{x}{opts.get(x, '')}。",
    )


def repeated_sentence(sample, good: str = "") -> str:
    """One plausible sentence said five times behind different connectives."""
    x, o = sample.correct_answer, _others(sample)
    key = _key((sample.options or {}).get(x, ""))
    sentence = (
        f"，選項{x}「{key}」符合現行規定，但選項{o[0]}忽略了制度的變化，{o[1]}與{o[2]}也不對。"
    )
    return format_answer(x, "".join(c + sentence for c in ("首先", "其次", "此外", "因此", "所以")))


#: Ways of offering a second letter next to the gold one ``x`` (``y`` is another option).
SEVERAL_LETTER_FORMS = ("{x}或{y}", "{x}（也可能是{y}）", "{x}，但也可能是{y}")


def several_letters(sample, good: str, form: str = SEVERAL_LETTER_FORMS[0]) -> str:
    """The good answer with a second letter offered next to the first (``答案：B或A``)."""
    x, o = sample.correct_answer, _others(sample)
    return good.replace(f"答案：{x}", "答案：" + form.format(x=x, y=o[0]), 1)


def contradicted_answer(sample, good: str) -> str:
    """The good answer, then a concluding answer line naming another letter."""
    return f"{good}\n因此答案：{_others(sample)[0]}"


def bare_letter(sample, good: str = "") -> str:
    """The right letter alone."""
    return str(sample.correct_answer)


def no_reasoning(sample, good: str = "") -> str:
    """The answer line with nothing after it."""
    return f"答案：{sample.correct_answer}"


def english_only(sample, good: str = "") -> str:
    """The right letter, then reasoning in English (it says nothing to a Chinese reader)."""
    x, o = sample.correct_answer, _others(sample)
    return format_answer(
        x,
        f"First, option {x} matches the rules now in force and answers what the "
        f"question asks. Second, option {o[0]} mixes up rules from different periods, so it is "
        f"not right; options {o[1]} and {o[2]} do not fit the question either. However, people "
        f"judge such institutions differently, so different views deserve weight. On balance, "
        f"{x} is the more suitable choice.",
    )


def over_long(sample, good: str) -> str:
    """The good answer padded with varied, on-subject sentences far past a useful length."""
    return f"{good}\n補充說明：{_padding()}"


_PADDING: list[str] = []


def _padding() -> str:
    """Sentences of the sample training reasoning that name no answer, about PADDING_CHARS long."""
    if not _PADDING:
        text = ""
        for row in load_train(_PADDING_SOURCE):
            for part in (row.reasoning or "").split("。"):
                if len(text) > PADDING_CHARS:
                    break
                if len(part) > 4 and extract_answer(part)[1] == "none":
                    text += part + "。"
        _PADDING.append(text)
    return _PADDING[0]


#: Probe name -> generator ``(sample, good_answer_text) -> completion``, in report order.
PROBES: dict[str, Callable[..., str]] = {
    "hedge-spam": hedge_spam,
    "connective-spam": connective_spam,
    "question-pasted": question_pasted,
    "repeated-sentence": repeated_sentence,
    "several-letters": several_letters,
    "contradicted-answer": contradicted_answer,
    "bare-letter": bare_letter,
    "no-reasoning": no_reasoning,
    "english-only": english_only,
    "over-long": over_long,
}


# ------------------------------------------------------------------ running the suite
def load_samples(
    questions: str | os.PathLike[str] = DEFAULT_QUESTIONS,
    gold: str | os.PathLike[str] | None = DEFAULT_GOLD,
    n: int = 5,
) -> list:
    """The first ``n`` questions of a test file that have a gold letter, as reward samples.

    The gold letter comes from ``gold`` (``id,correct_answer`` or a test file with answers),
    else from the test file's own ``correct_answer`` column. Raises
    :class:`mcq.errors.UsageError` when no question has one.
    """
    import rewards
    from evals.data import load_gold, load_questions

    by_id = load_questions(questions)
    answers = {k: ref.answer for k, ref in load_gold(gold).items()} if gold else {}
    samples = []
    for q in by_id.values():
        letter = answers.get(q.id, q.correct_answer)
        if letter in LETTERS and len(samples) < n:
            samples.append(replace(rewards.Sample.from_question(q), correct_answer=letter))
    if not samples:
        where = f"in {gold}" if gold else "(no correct_answer column; pass --gold)"
        raise UsageError(f"no question of {questions} has a gold answer {where}")
    return samples


@dataclass(frozen=True)
class ProbeResult:
    """One probe over all sample questions.

    ``gap`` is the mean of (good total - probe total); ``within`` counts the questions where
    the probe came within the margin of the good answer (gap < margin).
    """

    probe: str
    mean_total: float
    mean_gap: float
    within: int
    questions: int

    def to_dict(self) -> dict:
        return asdict(self)


def run_probes(
    samples: list, preset: str | os.PathLike[str] = "default", margin: float = 0.1
) -> tuple[float, list[ProbeResult]]:
    """Score every probe on every sample against that sample's good answer.

    Returns the mean total of the good answers and one result per probe, in PROBES order.
    """
    import rewards
    from rewards.scoring import score_batch

    loaded = rewards.load_preset(preset)
    goods = [good_answer(s) for s in samples]
    texts = list(goods)
    for make in PROBES.values():
        texts += [make(s, g) for s, g in zip(samples, goods, strict=True)]
    # The good answers and every probe in one batch per component (a reward model, a judge).
    found = [b.total for b in score_batch(texts, samples * (len(PROBES) + 1), loaded)]
    n = len(samples)
    good_totals = found[:n]
    results = []
    for i, name in enumerate(PROBES, 1):
        totals = found[i * n : (i + 1) * n]
        gaps = [g - t for g, t in zip(good_totals, totals, strict=True)]
        results.append(
            ProbeResult(
                probe=name,
                mean_total=round(sum(totals) / len(totals), 4),
                mean_gap=round(sum(gaps) / len(gaps), 4),
                within=sum(gap < margin for gap in gaps),
                questions=len(samples),
            )
        )
    return round(sum(good_totals) / len(good_totals), 4), results


def render_table(preset: str, good_total: float, results: list[ProbeResult], margin: float) -> str:
    """The plain-text report: one row per probe, then which probes come within the margin."""
    n = results[0].questions if results else 0
    lines = [
        f"preset {preset}: {len(results)} probes on {n} question(s); "
        f"good answer mean total {good_total:.3f}, margin {margin:g}",
        "",
        f"{'probe':<22}{'mean total':>11}{'mean gap':>10}{'within margin':>15}",
    ]
    for r in results:
        flag = "  <-" if r.within else ""
        lines.append(
            f"{r.probe:<22}{r.mean_total:>11.3f}{r.mean_gap:>+10.3f}{f'{r.within}/{r.questions}':>15}{flag}"
        )
    close = [r.probe for r in results if r.within]
    lines.append("")
    if close:
        lines.append(f"within {margin:g} of the good answer: {', '.join(close)}")
    else:
        lines.append(f"no probe comes within {margin:g} of the good answer")
    return "\n".join(lines) + "\n"
