"""Statistics for reports, from :mod:`scipy.stats` and :mod:`sklearn.metrics`.

Each function names the library routine it calls and the formula behind it, so a report's
numbers can be checked by hand; ``tests/test_evals_stats.py`` pins them to textbook values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mcq.tables import missing

__all__ = [
    "Describe",
    "LetterSkew",
    "McNemar",
    "auc_ci",
    "bootstrap_mean_ci",
    "chi2_sf",
    "describe",
    "letter_skew",
    "mcnemar",
    "paired_bootstrap_ci",
    "tie_share",
    "wilson_interval",
]

#: Two-sided 95% normal quantile.
Z95 = 1.959963984540054
#: Below this many discordant pairs McNemar's test uses the exact binomial distribution.
EXACT_MCNEMAR_BELOW = 25


@dataclass(frozen=True)
class Describe:
    """Summary of one score column (``None`` values are left out and counted in ``missing``)."""

    n: int
    missing: int
    mean: float
    sd: float
    min: float
    q1: float
    median: float
    q3: float
    max: float


def describe(values: Sequence[float | None]) -> Describe:
    """Mean, sample standard deviation (ddof=1) and quartiles of the applicable values.

    Example:
        >>> d = describe([0.0, 0.5, 1.0, None])
        >>> (d.n, d.missing, d.mean, d.median)
        (3, 1, 0.5, 0.5)
    """
    present = np.array([v for v in values if not missing(v)], dtype=float)
    absent = len(values) - len(present)
    if len(present) == 0:
        nan = float("nan")
        return Describe(0, absent, nan, nan, nan, nan, nan, nan, nan)
    q1, median, q3 = np.quantile(present, [0.25, 0.5, 0.75])
    sd = float(np.std(present, ddof=1)) if len(present) > 1 else 0.0
    return Describe(
        n=len(present),
        missing=absent,
        mean=float(present.mean()),
        sd=sd,
        min=float(present.min()),
        q1=float(q1),
        median=float(median),
        q3=float(q3),
        max=float(present.max()),
    )


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (95% by default).

    ``scipy.stats.binomtest(...).proportion_ci(method="wilson")``:
    ``(p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)`` with ``p = successes/n``;
    unlike the normal interval it stays inside [0, 1] and is sensible at 0 or n successes.

    Example:
        >>> lo, hi = wilson_interval(8, 10)
        >>> round(lo, 4), round(hi, 4)
        (0.4902, 0.9433)
    """
    from scipy.stats import binomtest, norm

    if n <= 0:
        return (float("nan"), float("nan"))
    if not 0 <= successes <= n:
        raise ValueError(f"successes={successes} outside 0..{n}")
    level = 2 * float(norm.cdf(z)) - 1
    ci = binomtest(successes, n).proportion_ci(confidence_level=level, method="wilson")
    return (max(0.0, float(ci.low)), min(1.0, float(ci.high)))


@dataclass(frozen=True)
class McNemar:
    """McNemar's test on paired right/wrong outcomes.

    ``a_only``: A right and B wrong; ``b_only``: A wrong and B right (the discordant pairs).
    ``method`` is ``"exact"`` (two-sided binomial, p = 1/2) or ``"chi2-cc"`` (chi-square with
    continuity correction, 1 degree of freedom); ``statistic`` is None for the exact test.
    """

    a_only: int
    b_only: int
    p_value: float
    method: str
    statistic: float | None


def mcnemar(a_correct: Sequence[bool], b_correct: Sequence[bool]) -> McNemar:
    """McNemar's test for two systems answering the same questions.

    With fewer than :data:`EXACT_MCNEMAR_BELOW` discordant pairs the p-value is the exact
    two-sided binomial test (``scipy.stats.binomtest``, p = 1/2), that is ``min(1, 2·Σ_{k≤min(b,c)} C(n,k) / 2ⁿ)``; otherwise the
    chi-square statistic ``(|b−c|−1)² / (b+c)`` with one degree of freedom.

    Example:
        >>> r = mcnemar([True] * 6 + [False] * 4, [False] * 6 + [True] * 4)
        >>> (r.a_only, r.b_only, r.method, round(r.p_value, 4))
        (6, 4, 'exact', 0.7539)
    """
    if len(a_correct) != len(b_correct):
        raise ValueError("a_correct and b_correct must have the same length")
    b = sum(1 for x, y in zip(a_correct, b_correct, strict=True) if x and not y)
    c = sum(1 for x, y in zip(a_correct, b_correct, strict=True) if y and not x)
    n = b + c
    if n == 0:
        return McNemar(b, c, 1.0, "exact", None)
    if n < EXACT_MCNEMAR_BELOW:
        from scipy.stats import binomtest

        return McNemar(b, c, float(binomtest(b, n, 0.5).pvalue), "exact", None)
    statistic = (abs(b - c) - 1) ** 2 / n
    return McNemar(b, c, chi2_sf(statistic, 1), "chi2-cc", statistic)


def chi2_sf(x: float, df: int) -> float:
    """Survival function P(X > x) of the chi-square distribution (``scipy.stats.chi2.sf``).

    Example:
        >>> round(chi2_sf(3.841458820694124, 1), 6)
        0.05
    """
    from scipy.stats import chi2

    if df < 1:
        raise ValueError("df must be a positive integer")
    if x <= 0:
        return 1.0
    return float(chi2.sf(x, df))


def paired_bootstrap_ci(
    a: Sequence[float],
    b: Sequence[float],
    *,
    resamples: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """Mean of the paired differences ``b - a`` and its percentile bootstrap interval.

    The same resampled question indices are used for both systems (paired), ``resamples``
    times, with ``numpy.random.default_rng(seed)`` so the interval is reproducible.

    Returns:
        ``(mean_difference, low, high)``; NaNs when there are no pairs.

    Example:
        >>> d, lo, hi = paired_bootstrap_ci([0.1, 0.2, 0.3, 0.4], [0.2, 0.3, 0.4, 0.5])
        >>> round(d, 6), round(lo, 6), round(hi, 6)
        (0.1, 0.1, 0.1)
    """
    diffs = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    return bootstrap_mean_ci(diffs, resamples=resamples, seed=seed, level=level)


def bootstrap_mean_ci(
    values: Sequence[float] | np.ndarray,
    *,
    resamples: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """Mean of ``values`` and its percentile bootstrap interval (``scipy.stats.bootstrap``).

    ``numpy.random.default_rng(seed)`` drives the resampling, so the interval is
    reproducible; one value gives a zero-width interval, none gives NaNs.

    Example:
        >>> mean, low, high = bootstrap_mean_ci([1, 1, 0, 1, 0, 1, 1, 1])
        >>> mean, low < mean < high
        (0.75, True)
    """
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        nan = float("nan")
        return (nan, nan, nan)
    mean = float(arr.mean())
    if arr.size == 1 or np.all(arr == arr[0]):
        return (mean, mean, mean)  # nothing to resample: scipy would warn of degenerate data
    from scipy.stats import bootstrap

    ci = bootstrap(
        (arr,),
        np.mean,
        n_resamples=resamples,
        confidence_level=level,
        method="percentile",
        batch=_batch(arr.size),
        random_state=np.random.default_rng(seed),
    ).confidence_interval
    return (mean, float(ci.low), float(ci.high))


def auc_ci(
    positives: Sequence[float] | np.ndarray,
    negatives: Sequence[float] | np.ndarray,
    *,
    resamples: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """ROC AUC of scores that should rank ``positives`` above ``negatives``, with a 95% interval.

    The AUC is ``sklearn.metrics.roc_auc_score`` (a tie counts half: the Mann-Whitney
    ``U / (n_pos · n_neg)``). The interval is a percentile bootstrap that resamples the
    positives and the negatives separately (stratified, so every resample has both classes),
    ``scipy.stats.bootstrap`` with the same statistic counted over the distinct scores. NaNs without both classes; a
    zero-width interval when a class has one score.

    Example:
        >>> auc, low, high = auc_ci([0.9, 0.8, 0.5, 0.7], [0.1, 0.5, 0.3])
        >>> round(auc, 4), low <= auc <= high
        (0.9583, True)
    """
    from sklearn.metrics import roc_auc_score

    pos, neg = np.asarray(positives, dtype=float), np.asarray(negatives, dtype=float)
    if pos.size == 0 or neg.size == 0:
        nan = float("nan")
        return (nan, nan, nan)
    labels = np.r_[np.ones(pos.size), np.zeros(neg.size)]
    auc = float(roc_auc_score(labels, np.r_[pos, neg]))
    if pos.size < 2 or neg.size < 2 or (np.all(pos == pos[0]) and np.all(neg == neg[0])):
        return (auc, auc, auc)
    from scipy.stats import bootstrap

    # Resample codes of the distinct scores: counting per code gives the AUC in O(n), no sort.
    values, codes = np.unique(np.r_[pos, neg], return_inverse=True)
    size = values.size

    def statistic(p: np.ndarray, n: np.ndarray) -> float:
        cp = np.bincount(p.astype(np.intp), minlength=size)
        cn = np.bincount(n.astype(np.intp), minlength=size)
        below = np.cumsum(cn) - cn  # negatives scoring strictly lower
        return float((cp * (below + 0.5 * cn)).sum() / (p.size * n.size))

    ci = bootstrap(
        (codes[: pos.size], codes[pos.size :]),
        statistic,
        paired=False,
        vectorized=False,
        batch=_batch(pos.size + neg.size),
        n_resamples=resamples,
        confidence_level=level,
        method="percentile",
        random_state=np.random.default_rng(seed),
    ).confidence_interval
    return (auc, float(ci.low), float(ci.high))


def tie_share(
    positives: Sequence[float] | np.ndarray, negatives: Sequence[float] | np.ndarray
) -> float:
    """Share of (positive, negative) pairs whose scores are equal (NaN without both classes).

    Example:
        >>> tie_share([0.5, 0.5, 1.0], [0.5, 0.0])
        0.3333333333333333
    """
    pos, neg = np.asarray(positives, dtype=float), np.asarray(negatives, dtype=float)
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    pos_values, pos_counts = np.unique(pos, return_counts=True)
    neg_values, neg_counts = np.unique(neg, return_counts=True)
    _, in_pos, in_neg = np.intersect1d(pos_values, neg_values, return_indices=True)
    return float((pos_counts[in_pos] * neg_counts[in_neg]).sum() / (pos.size * neg.size))


@dataclass(frozen=True)
class LetterSkew:
    """How far a model's answer letters stray from the reference distribution.

    ``expected`` are the reference shares (gold letters, or uniform without gold);
    ``skewed`` is true when one letter takes more than ``max_share_limit`` of the answers
    or the chi-square goodness-of-fit p-value is below ``alpha``.
    """

    counts: dict[str, int]
    expected: dict[str, float]
    top_letter: str | None
    top_share: float
    chi2: float
    p_value: float
    skewed: bool
    reason: str


def letter_skew(
    answers: Sequence[str | None],
    reference: Sequence[str | None] | None = None,
    *,
    letters: Sequence[str] = ("A", "B", "C", "D"),
    max_share_limit: float = 0.5,
    alpha: float = 0.01,
) -> LetterSkew:
    """Compare answer letters with the gold letters (or a uniform spread without gold).

    Reference shares are smoothed with ½ per letter so a letter that gold never uses still
    has a finite expected count. Answers that are not letters are left out.

    Example:
        >>> s = letter_skew(["C"] * 9 + ["A"], ["A", "B", "C", "D"] * 5)
        >>> s.top_letter, s.top_share, s.skewed
        ('C', 0.9, True)
    """
    counts = {letter: sum(1 for x in answers if x == letter) for letter in letters}
    n = sum(counts.values())
    ref = [x for x in (reference or []) if x in counts]
    if ref:
        expected = {
            letter: (sum(1 for x in ref if x == letter) + 0.5) / (len(ref) + 0.5 * len(letters))
            for letter in letters
        }
    else:
        expected = {letter: 1 / len(letters) for letter in letters}
    if n == 0:
        return LetterSkew(counts, expected, None, 0.0, float("nan"), float("nan"), False, "")
    chi2 = sum((counts[k] - n * expected[k]) ** 2 / (n * expected[k]) for k in letters)
    p_value = chi2_sf(chi2, len(letters) - 1)
    top_letter = max(letters, key=lambda k: counts[k])
    top_share = counts[top_letter] / n
    reasons = []
    if top_share > max_share_limit:
        reasons.append(f"{top_letter} is {top_share:.0%} of answers")
    if p_value < alpha:
        reasons.append(f"chi-square p = {p_value:.2g}")
    return LetterSkew(
        counts, expected, top_letter, top_share, chi2, p_value, bool(reasons), "; ".join(reasons)
    )


def _batch(n: int) -> int:
    """Resamples drawn at once: about 10 million values, so 100k rows stay within ~80 MB."""
    return max(1, 10_000_000 // max(1, n))
