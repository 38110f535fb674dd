"""evals.stats: the numbers behind every report, checked against values worked out by hand."""

import math

import pytest

from evals.stats import (
    auc_ci,
    bootstrap_mean_ci,
    chi2_sf,
    describe,
    letter_skew,
    mcnemar,
    paired_bootstrap_ci,
    tie_share,
    wilson_interval,
)


def test_wilson_interval_matches_the_textbook_value_for_8_of_10():
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4)
    assert high == pytest.approx(0.9433, abs=1e-4)


def test_wilson_interval_at_zero_successes_starts_at_zero_and_is_not_degenerate():
    low, high = wilson_interval(0, 10)
    assert low == 0.0
    assert high == pytest.approx(0.2775, abs=1e-4)


def test_wilson_interval_contains_the_observed_share():
    for successes, n in [(1, 3), (17, 44), (44, 44), (500, 1000)]:
        low, high = wilson_interval(successes, n)
        assert 0.0 <= low <= successes / n <= high <= 1.0


def test_wilson_interval_rejects_more_successes_than_trials():
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


def test_mcnemar_small_discordant_counts_use_the_exact_binomial_test():
    # 6 vs 4 discordant: p = 2 * P(X <= 4 | n=10, 1/2) = 2 * 386 / 1024.
    a = [True] * 6 + [False] * 4 + [True] * 5
    b = [False] * 6 + [True] * 4 + [True] * 5
    result = mcnemar(a, b)
    assert (result.a_only, result.b_only, result.method) == (6, 4, "exact")
    assert result.p_value == pytest.approx(2 * 386 / 1024)


def test_mcnemar_one_sided_discordance_of_five_gives_p_one_sixteenth():
    result = mcnemar([False] * 5, [True] * 5)
    assert result.p_value == pytest.approx(2 / 32)


def test_mcnemar_many_discordant_pairs_use_chi_square_with_continuity_correction():
    a = [True] * 30 + [False] * 10
    b = [False] * 30 + [True] * 10
    result = mcnemar(a, b)
    assert result.method == "chi2-cc"
    assert result.statistic == pytest.approx((20 - 1) ** 2 / 40)
    assert result.p_value == pytest.approx(0.002663, abs=1e-5)


def test_mcnemar_without_discordant_pairs_is_p_one():
    assert mcnemar([True, False], [True, False]).p_value == 1.0


@pytest.mark.parametrize(
    ("x", "df"), [(3.841459, 1), (5.991465, 2), (7.814728, 3), (9.487729, 4), (11.070498, 5)]
)
def test_chi2_sf_gives_five_percent_at_the_tabulated_critical_values(x, df):
    assert chi2_sf(x, df) == pytest.approx(0.05, abs=1e-6)


def test_paired_bootstrap_is_reproducible_with_a_fixed_seed():
    a = [0.1, 0.5, 0.3, 0.9, 0.4, 0.2, 0.7]
    b = [0.2, 0.4, 0.6, 0.8, 0.9, 0.1, 0.7]
    assert paired_bootstrap_ci(a, b, seed=7) == paired_bootstrap_ci(a, b, seed=7)
    assert paired_bootstrap_ci(a, b, seed=7) != paired_bootstrap_ci(a, b, seed=8)


def test_paired_bootstrap_interval_brackets_the_mean_difference():
    a = [0.1, 0.5, 0.3, 0.9, 0.4, 0.2, 0.7, 0.3]
    b = [0.3, 0.4, 0.6, 0.8, 0.9, 0.4, 0.7, 0.6]
    delta, low, high = paired_bootstrap_ci(a, b)
    assert delta == pytest.approx(sum(b) / 8 - sum(a) / 8)
    assert low < delta < high


def test_paired_bootstrap_of_a_constant_shift_has_zero_width():
    delta, low, high = paired_bootstrap_ci([0.1, 0.4, 0.9], [0.3, 0.6, 1.1])
    assert (delta, low, high) == pytest.approx((0.2, 0.2, 0.2))


def test_paired_bootstrap_is_paired_so_a_shared_question_effect_cancels():
    # Big spread between questions, tiny consistent gain: a paired interval excludes 0.
    a = [0.0, 0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.6, 0.4, 0.5]
    b = [x + 0.01 for x in a]
    _, low, _ = paired_bootstrap_ci(a, b)
    _, unpaired_low, _ = bootstrap_mean_ci(b)
    assert low > 0
    assert unpaired_low < sum(a) / len(a)


def test_describe_leaves_not_applicable_scores_out():
    d = describe([0.0, 1.0, None, 0.5, float("nan")])
    assert (d.n, d.missing) == (3, 2)
    assert d.mean == pytest.approx(0.5)
    assert d.sd == pytest.approx(0.5)
    assert (d.min, d.q1, d.median, d.q3, d.max) == (0.0, 0.25, 0.5, 0.75, 1.0)


def test_describe_of_nothing_is_nan():
    assert math.isnan(describe([None]).mean)


def test_letter_skew_flags_a_model_that_always_answers_c():
    skew = letter_skew(["C"] * 20, ["A", "B", "C", "D"] * 5)
    assert skew.skewed
    assert skew.top_letter == "C"
    assert "C is 100%" in skew.reason


def test_letter_skew_accepts_answers_that_follow_gold():
    gold = ["A", "B", "C", "D", "B", "A", "D", "C"] * 3
    skew = letter_skew(gold, gold)
    assert not skew.skewed
    assert skew.p_value > 0.5


def test_letter_skew_without_gold_compares_with_a_uniform_spread():
    skew = letter_skew(["A"] * 10 + ["B"] * 10 + ["C"] * 10 + ["D"] * 10)
    assert skew.expected == {"A": 0.25, "B": 0.25, "C": 0.25, "D": 0.25}
    assert skew.chi2 == pytest.approx(0.0)


def test_auc_counts_a_tie_as_half_a_correct_ranking():
    # Pairs (1, .5) (1, 0) (.5, .5) (.5, 0): three right, one tie -> 3.5 / 4.
    auc, _, _ = auc_ci([1.0, 0.5], [0.5, 0.0])
    assert auc == pytest.approx(0.875)


def test_auc_of_reversed_scores_is_zero_and_of_constant_scores_one_half():
    assert auc_ci([0.1, 0.2], [0.8, 0.9])[0] == 0.0
    assert auc_ci([0.5, 0.5], [0.5, 0.5])[0] == 0.5


def test_auc_interval_is_reproducible_and_brackets_the_estimate():
    pos = [0.9, 0.7, 0.8, 0.4, 0.6, 0.75, 0.3]
    neg = [0.2, 0.5, 0.35, 0.65, 0.1, 0.45]
    auc, low, high = auc_ci(pos, neg, seed=3)
    assert (auc, low, high) == auc_ci(pos, neg, seed=3)
    assert 0.0 <= low < auc < high <= 1.0


def test_auc_without_one_class_is_nan():
    assert all(math.isnan(x) for x in auc_ci([0.3, 0.4], []))


def test_tie_share_counts_equal_positive_negative_pairs():
    # 6 pairs; (0.5, 0.5) occurs twice.
    assert tie_share([0.5, 0.5, 1.0], [0.5, 0.0]) == pytest.approx(2 / 6)
