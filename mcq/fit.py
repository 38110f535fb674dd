"""Fit a question into a token budget: shorten it in the middle, visibly, never drop it.

A real exam stem with a long passage can be longer than a model's context. Generation then
fails for the whole batch (vLLM) or runs past the model's positions (transformers).
:func:`fit_question` shortens such a question instead: it cuts the middle of the stem and
puts :data:`CUT_MARK` where the text was, keeping the four options whole; only when the stem
alone cannot make room are the options shortened too, each to the same length at most.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from mcq.records import LETTERS, Question

__all__ = ["CUT_MARK", "PromptTooLong", "cut_middle", "fit_question"]

#: What stands where text was cut out ("omitted in the middle").
CUT_MARK = "……（中略）……"


class PromptTooLong(ValueError):
    """Even with the stem and the options cut to the mark, the prompt exceeds the budget.

    Attributes:
        needed: Tokens of the shortest prompt possible (system turn, hint and marks).
        budget: The tokens allowed.
    """

    def __init__(self, needed: int, budget: int):
        super().__init__(
            f"the prompt needs at least {needed} tokens even with the question cut, "
            f"but only {budget} fit"
        )
        self.needed, self.budget = needed, budget


def cut_middle(text: str, keep: int) -> str:
    """``text`` with its middle replaced by :data:`CUT_MARK`, ``keep`` characters kept.

    The first half of what is kept comes from the start, the rest from the end. Text of at
    most ``keep`` characters is returned unchanged.

    Example:
        >>> cut_middle("一二三四五六七八九十", 4)
        '一二……（中略）……九十'
        >>> cut_middle("一二三", 5)
        '一二三'
    """
    if keep >= len(text):
        return text
    keep = max(keep, 0)
    head = (keep + 1) // 2
    return text[:head] + CUT_MARK + text[len(text) - (keep - head) :]


def fit_question(
    question: Question, count_tokens: Callable[[Question], int], budget: int
) -> tuple[Question, bool]:
    """Return ``question`` shortened until ``count_tokens`` of it is at most ``budget``.

    Args:
        question: The question to fit.
        count_tokens: Tokens of the whole prompt made from a question (system turn, options,
            hint and all), e.g. the model's tokenizer over the rendered chat prompt.
        budget: The most tokens the prompt may take (context minus the new tokens).

    Returns:
        The fitted question and whether it was cut. A question that fits comes back as it is.
        Otherwise the stem loses as little of its middle as it must (marked with
        :data:`CUT_MARK`); when the stem reduced to the mark is not enough, every option longer
        than a common cap is cut in its middle too, the cap as high as fits, and the stem then
        gets back what room is left. Binary searches, so ``count_tokens`` runs O(log n) times.

    Raises:
        PromptTooLong: even the stem and options cut to the mark do not fit.

    Example:
        >>> q = Question(id="1", question="公" * 100, options=dict(zip("ABCD", "甲乙丙丁")))
        >>> count = lambda x: len(x.question) + sum(len(o) for o in x.options.values())
        >>> fitted, cut = fit_question(q, count, 50)
        >>> cut, count(fitted), fitted.options == q.options
        (True, 50, True)
        >>> [len(part) for part in fitted.question.split(CUT_MARK)]  # 38 kept + the 8-char mark
        [19, 19]
        >>> fit_question(q, count, 500) == (q, False)
        True
    """
    if count_tokens(question) <= budget:
        return question, False
    fitted = _fit_stem(question, count_tokens, budget)
    if fitted is not None:
        return fitted, True

    # The stem alone cannot make room: cap the options, the cap as high as fits.
    bare = replace(question, question=CUT_MARK)
    longest = max(len(question.options.get(x, "")) for x in LETTERS)

    def capped(cut: int) -> Question:
        cap = longest - cut
        options = {x: cut_middle(text, cap) for x, text in question.options.items()}
        return replace(bare, options=options)

    cut = _smallest(lambda n: count_tokens(capped(n)) <= budget, 1, longest)
    if cut is None:
        raise PromptTooLong(count_tokens(capped(longest)), budget)
    with_options = replace(question, options=capped(cut).options)
    return _fit_stem(with_options, count_tokens, budget) or capped(cut), True


def _fit_stem(
    question: Question, count_tokens: Callable[[Question], int], budget: int
) -> Question | None:
    """``question`` with the least of its stem's middle cut that fits, or None if none does."""
    stem = question.question

    def cut(n: int) -> Question:
        return replace(question, question=cut_middle(stem, len(stem) - n))

    best = _smallest(lambda n: count_tokens(cut(n)) <= budget, 1, len(stem))
    return None if best is None else cut(best)


def _smallest(fits: Callable[[int], bool], low: int, high: int) -> int | None:
    """The smallest ``n`` in ``[low, high]`` with ``fits(n)``, taking ``fits`` as monotone.

    None when ``fits(high)`` is false. What it returns was always checked to fit.
    """
    if high < low or not fits(high):
        return None
    while low < high:
        middle = (low + high) // 2
        if fits(middle):
            high = middle
        else:
            low = middle + 1
    return high
