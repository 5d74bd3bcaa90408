"""The statistics of an A/B test: each variant's rate and 95% interval, its chance of being the
best (checked against a seeded Monte Carlo and the two-variant closed form), and the leader and
winner drawn from them."""

import math

import numpy as np
import pytest
from scipy import special, stats

from textcast.domain.experiments.statistics import Arm, Comparison, compare

LABELS = "ABCDE"


def arms_of(*counts: tuple[int, int]) -> list[Arm]:
    """Variants A, B, ... from (successes, trials) pairs."""
    return [
        Arm(label, trials, successes)
        for label, (successes, trials) in zip(LABELS, counts, strict=False)
    ]


def p_bests(comparison: Comparison) -> list[float]:
    values = [arm.p_best for arm in comparison.arms]
    assert all(value is not None for value in values)
    return [value for value in values if value is not None]


def simulate_p_best(arms: list[Arm], seed: int, draws: int = 200_000) -> list[float]:
    """The share of draws from the posteriors in which each variant's rate is the highest."""
    rng = np.random.default_rng(seed)
    samples = np.stack(
        [rng.beta(1 + arm.successes, 1 + arm.trials - arm.successes, draws) for arm in arms]
    )
    return list(np.bincount(samples.argmax(axis=0), minlength=len(arms)) / draws)


def closed_form_b_beats_a(a: Arm, b: Arm) -> float:
    """Evan Miller's exact P(rate_B > rate_A) for two Beta posteriors, summed in log space."""
    alpha_a, beta_a = 1 + a.successes, 1 + a.trials - a.successes
    alpha_b, beta_b = 1 + b.successes, 1 + b.trials - b.successes
    i = np.arange(alpha_b)
    terms = (
        special.betaln(alpha_a + i, beta_a + beta_b)
        - np.log(beta_b + i)
        - special.betaln(1 + i, beta_b)
        - special.betaln(alpha_a, beta_a)
    )
    return float(np.exp(special.logsumexp(terms)))


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_identical_variants_are_equally_likely_to_be_best_and_none_wins(k: int) -> None:
    result = compare(arms_of(*[(40, 1000)] * k), min_sample=100)
    assert p_bests(result) == pytest.approx([1 / k] * k, abs=1e-9)
    assert result.enough_data
    assert result.leader == "A"
    assert result.winner is None


def test_a_clearly_better_variant_wins() -> None:
    result = compare(arms_of((30, 1000), (60, 1000)), min_sample=100)
    b = result.arms[1]
    assert b.p_best is not None and b.p_best > 0.99
    assert result.leader == "B"
    assert result.winner == "B"


def test_a_variant_ahead_below_the_confidence_leads_without_winning() -> None:
    result = compare(arms_of((30, 1000), (36, 1000)), min_sample=100)
    b = result.arms[1]
    assert b.p_best is not None and 0.7 < b.p_best < 0.95
    assert result.leader == "B"
    assert result.winner is None


def test_a_lower_confidence_lets_the_same_leader_win() -> None:
    counts = ((30, 1000), (36, 1000))
    assert compare(arms_of(*counts), min_sample=100, confidence=0.95).winner is None
    assert compare(arms_of(*counts), min_sample=100, confidence=0.75).winner == "B"


def test_a_tie_for_the_lead_goes_to_the_earlier_variant() -> None:
    result = compare(arms_of((30, 1000), (60, 1000), (60, 1000)), min_sample=100)
    _, b, c = result.arms
    assert b.p_best == pytest.approx(c.p_best, abs=1e-12)
    assert result.leader == "B"
    assert result.winner is None


def test_a_tie_goes_to_the_earlier_variant_whatever_the_rounding() -> None:
    # A and E are the same, but their chances are summed in a different order and come out
    # 5.6e-17 apart, E's the larger.
    result = compare(
        arms_of((70, 1000), (15, 1000), (63, 1000), (57, 1000), (70, 1000)), min_sample=100
    )
    assert result.leader == "A"


def test_below_the_minimum_sample_there_is_no_verdict_but_rates_and_intervals_are_shown() -> None:
    result = compare(arms_of((30, 1000), (9, 90), (0, 0)), min_sample=100)
    assert not result.enough_data
    assert result.leader is None
    assert result.winner is None
    assert [arm.enough_data for arm in result.arms] == [True, False, False]
    assert [arm.p_best for arm in result.arms] == [None, None, None]
    a, b, c = result.arms
    assert a.rate == 0.03 and b.rate == 0.1
    assert a.low is not None and a.high is not None and a.low < 0.03 < a.high
    assert b.low is not None and b.high is not None and b.low < 0.1 < b.high
    assert (c.rate, c.low, c.high) == (None, None, None)


def test_the_minimum_sample_is_reached_at_exactly_that_many_trials() -> None:
    result = compare(arms_of((3, 100), (5, 100)), min_sample=100)
    assert result.enough_data
    assert all(arm.enough_data for arm in result.arms)


def test_the_results_keep_the_order_and_counts_given() -> None:
    arms = [Arm("C", 500, 20), Arm("A", 400, 10), Arm("B", 300, 30)]
    result = compare(arms, min_sample=0)
    assert [(arm.label, arm.trials, arm.successes) for arm in result.arms] == [
        ("C", 500, 20),
        ("A", 400, 10),
        ("B", 300, 30),
    ]
    assert result.leader == "B"


@pytest.mark.parametrize(
    ("successes", "trials"), [(0, 1), (1, 1), (3, 40), (30, 1000), (50_000, 1_000_000)]
)
def test_the_interval_is_the_posteriors_equal_tailed_95_percent_interval(
    successes: int, trials: int
) -> None:
    arm = compare(arms_of((successes, trials), (0, 10)), min_sample=0).arms[0]
    posterior = stats.beta(1 + successes, 1 + trials - successes)
    assert arm.low == pytest.approx(posterior.ppf(0.025), rel=1e-9)
    assert arm.high == pytest.approx(posterior.ppf(0.975), rel=1e-9)


@pytest.mark.parametrize(("successes", "trials"), [(1, 2), (3, 40), (30, 1000), (999, 1000)])
def test_the_interval_holds_the_observed_rate(successes: int, trials: int) -> None:
    # Not at 0% or 100%: the posterior's equal-tailed interval then starts just above 0 (ends
    # just below 1), as the test of no success anywhere shows.
    arm = compare(arms_of((successes, trials), (0, 10)), min_sample=0).arms[0]
    assert arm.low is not None and arm.high is not None and arm.rate is not None
    assert arm.low < arm.rate < arm.high


def test_the_interval_narrows_as_trials_grow() -> None:
    widths = []
    for trials in (100, 1_000, 10_000, 100_000, 1_000_000):
        arm = compare(arms_of((trials // 20, trials), (0, 1)), min_sample=0).arms[0]
        assert arm.low is not None and arm.high is not None
        widths.append(arm.high - arm.low)
    assert widths == sorted(widths, reverse=True)
    assert widths[-1] < widths[0] / 50


@pytest.mark.parametrize(
    "counts",
    [
        ((30, 1000), (36, 1000)),
        ((5, 100), (50, 1000), (500, 10_000)),
        ((0, 0), (1, 2), (10, 30), (0, 1_000_000)),
        ((50_000, 1_000_000), (50_200, 1_000_000), (50_100, 1_000_000), (3, 50), (70, 1000)),
    ],
)
def test_the_chances_of_being_best_sum_to_one(counts: tuple[tuple[int, int], ...]) -> None:
    assert math.fsum(p_bests(compare(arms_of(*counts), min_sample=0))) == pytest.approx(1)


@pytest.mark.parametrize(
    ("counts", "seed"),
    [
        (((30, 1000), (36, 1000)), 1),
        (((30, 1000), (36, 1000), (33, 1000)), 2),
        (((5, 100), (50, 1000), (500, 10_000), (5000, 100_000), (50_000, 1_000_000)), 3),
        (((0, 20), (1, 20), (2, 25), (0, 5), (3, 60)), 4),
        (((50_000, 1_000_000), (50_200, 1_000_000), (50_100, 1_000_000), (50_150, 1_000_000)), 5),
    ],
)
def test_the_chances_of_being_best_agree_with_a_monte_carlo(
    counts: tuple[tuple[int, int], ...], seed: int
) -> None:
    arms = arms_of(*counts)
    computed = p_bests(compare(arms, min_sample=0))
    assert computed == pytest.approx(simulate_p_best(arms, seed), abs=0.01)


@pytest.mark.parametrize(
    "counts",
    [
        ((30, 1000), (60, 1000)),
        ((30, 1000), (36, 1000)),
        ((0, 10), (1, 10)),
        ((1, 2), (7, 9)),
        ((5, 100), (50_000, 1_000_000)),
        ((0, 1_000_000), (1, 1_000_000)),
        ((500, 1000), (499, 1000)),
    ],
)
def test_two_variants_agree_with_the_closed_form(counts: tuple[tuple[int, int], ...]) -> None:
    a, b = arms_of(*counts)
    result = compare([a, b], min_sample=0)
    assert result.arms[1].p_best == pytest.approx(closed_form_b_beats_a(a, b), abs=1e-7)


def test_a_million_trials_each_with_nearly_equal_rates_stays_accurate() -> None:
    a, b = arms = arms_of((50_000, 1_000_000), (50_200, 1_000_000))
    result = compare(arms, min_sample=100)
    computed = p_bests(result)
    assert not any(math.isnan(value) for value in computed)
    assert computed[1] == pytest.approx(closed_form_b_beats_a(a, b), abs=1e-7)
    assert computed == pytest.approx(simulate_p_best(arms, seed=6), abs=0.01)
    assert 0.7 < computed[1] < 0.8
    assert (result.leader, result.winner) == ("B", None)


def test_far_apart_narrow_variants_give_all_the_chance_to_the_better_one() -> None:
    result = compare(arms_of((50_000, 1_000_000), (60_000, 1_000_000), (1, 1000)), min_sample=0)
    assert p_bests(result) == pytest.approx([0, 1, 0], abs=1e-9)
    assert result.winner == "B"


def test_no_success_anywhere_gives_equal_chances_and_intervals_from_zero() -> None:
    result = compare(arms_of((0, 500), (0, 500), (0, 500)), min_sample=100)
    assert p_bests(result) == pytest.approx([1 / 3] * 3, abs=1e-9)
    assert (result.leader, result.winner) == ("A", None)
    for arm in result.arms:
        assert arm.rate == 0
        assert arm.low is not None and arm.high is not None
        assert 0 < arm.low < arm.high < 0.01


def test_fewer_trials_without_success_are_more_likely_to_hide_the_best_rate() -> None:
    result = compare(arms_of((0, 10), (0, 1000)), min_sample=0)
    a, b = p_bests(result)
    assert a > 0.98
    assert a + b == pytest.approx(1)


@pytest.mark.parametrize(
    "arms",
    [
        [Arm("A", 10, 1)],
        [Arm(label, 10, 1) for label in "ABCDEF"],
        [Arm("A", 10, 11), Arm("B", 10, 1)],
        [Arm("A", -1, 0), Arm("B", 10, 1)],
        [Arm("A", 10, -1), Arm("B", 10, 1)],
        [Arm("A", 10.0, 1), Arm("B", 10, 1)],  # type: ignore[arg-type]
        [Arm("A", True, 1), Arm("B", 10, 1)],
        [Arm("A", 10, 1), Arm("A", 10, 2)],
    ],
    ids=[
        "one",
        "six",
        "more-successes",
        "negative-trials",
        "negative-successes",
        "float",
        "bool",
        "same-label",
    ],
)
def test_rejects_what_is_not_an_ab_test(arms: list[Arm]) -> None:
    with pytest.raises(ValueError):
        compare(arms, min_sample=0)


@pytest.mark.parametrize(("min_sample", "confidence"), [(-1, 0.95), (1.5, 0.95), (0, 0), (0, 1.01)])
def test_rejects_a_negative_minimum_or_a_confidence_outside_zero_to_one(
    min_sample: int, confidence: float
) -> None:
    with pytest.raises(ValueError):
        compare(arms_of((1, 10), (2, 10)), min_sample=min_sample, confidence=confidence)
