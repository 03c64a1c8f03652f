"""Tests of experiments.statistics: intervals cover what they claim (and a too-narrow one is caught), paired
comparisons find a shift and no shift, the tuning choice follows the median and punishes divergence."""

import math

import numpy as np
import pytest

from experiments import statistics


def coverage(interval, samples: int = 400, size: int = 10, true_mean: float = 3.0) -> float:
    """Fraction of ``samples`` normal samples (σ = 2) of ``size`` whose interval covers the true mean."""
    rng = np.random.default_rng(1)
    hits = 0
    for sample in range(samples):
        _, low, high = interval(rng.normal(true_mean, 2.0, size), sample)
        hits += low <= true_mean <= high
    return hits / samples


def test_intervals_cover_the_true_mean_and_a_too_narrow_one_does_not():
    # The BCa bootstrap of a mean undercovers a little at n = 10 (about 0.90 for nominal 0.95: it estimates
    # the spread with 1/n and normal, not t, quantiles); the exact t interval covers 0.95.
    assert coverage(lambda x, seed: statistics.mean_ci(x, seed=seed)) >= 0.87
    assert coverage(lambda x, seed: statistics.t_interval(x)) >= 0.92
    # Negative controls: an interval at level 0.8, and one with the standard error s/n instead of s/√n.
    assert coverage(lambda x, seed: statistics.mean_ci(x, confidence=0.8, seed=seed)) < 0.87

    def standard_error_over_n(x, seed):
        mean, low, high = statistics.t_interval(x)
        return mean, mean - (mean - low) / math.sqrt(len(x)), mean + (high - mean) / math.sqrt(len(x))

    assert coverage(standard_error_over_n) < 0.87


def test_t_interval_is_the_student_form():
    values = np.array([1.0, 2.0, 4.0, 7.0])
    mean, low, high = statistics.t_interval(values)
    half_width = 3.182446305284263 * values.std(ddof=1) / 2  # t_{0.975, 3}; √4 = 2
    assert mean == pytest.approx(3.5) and (low, high) == pytest.approx((3.5 - half_width, 3.5 + half_width))


def test_interval_edge_cases():
    assert statistics.mean_ci([0.5])[0] == 0.5 and all(math.isnan(v) for v in statistics.mean_ci([0.5])[1:])
    assert statistics.mean_ci([0.7, 0.7, 0.7]) == (0.7, 0.7, 0.7)
    assert statistics.t_interval([0.7, 0.7]) == (0.7, 0.7, 0.7)
    mean, low, high = statistics.mean_ci([1.0, 2.0])  # n = 2: percentile fallback, still finite
    assert low <= mean <= high and math.isfinite(low) and math.isfinite(high)
    assert statistics.mean_ci([1.0, 2.0, 5.0], seed=3) == statistics.mean_ci([1.0, 2.0, 5.0], seed=3)
    for bad in ([], [1.0, math.nan]):
        with pytest.raises(ValueError):
            statistics.mean_ci(bad)


def test_paired_difference_finds_a_shift_and_no_shift():
    baseline = np.random.default_rng(0).normal(0.8, 0.05, 8)
    assert statistics.paired_difference(baseline, baseline)["sign"] == "0"  # identical: CI is [0, 0]
    noise = np.random.default_rng(1).normal(0.0, 0.002, 8)
    better = statistics.paired_difference(baseline + 0.01 + noise, baseline)
    assert better["sign"] == "+" and better["low"] > 0 and better["p"] < 0.01 and better["n"] == 8
    assert better["mean"] == pytest.approx(0.01 + noise.mean())
    assert statistics.paired_difference(baseline, baseline + 0.01 + noise)["sign"] == "\N{MINUS SIGN}"
    # Pairing matters: the same shift hidden in seed-to-seed spread is not significant unpaired...
    unpaired = statistics.paired_difference(baseline + 0.01 + noise, np.roll(baseline, 3))
    assert unpaired["sign"] == "0"
    with pytest.raises(ValueError):
        statistics.paired_difference([1.0, 2.0], [1.0])


def tuning_runs(finals: dict[float, list[float | None]]) -> list[dict]:
    return [{"point": {"lr": lr}, "seed": seed, "final": final}
            for lr, values in finals.items() for seed, final in enumerate(values)]


AXES = {"lr": [0.01, 0.1, 1.0]}


def test_choose_takes_the_best_median_and_flags_the_edge():
    runs = tuning_runs({0.01: [0.5, 0.6, 0.55], 0.1: [0.8, 0.1, 0.79], 1.0: [0.7, 0.75, 0.72]})
    assert statistics.choose(runs, AXES, higher_is_better=True) == ({"lr": 0.1}, [])  # median, not mean
    assert statistics.choose(runs, AXES, higher_is_better=False) == ({"lr": 0.01}, ["lr"])
    edge = tuning_runs({0.01: [0.5, 0.5], 0.1: [0.6, 0.6], 1.0: [0.9, 0.9]})
    assert statistics.choose(edge, AXES, higher_is_better=True) == ({"lr": 1.0}, ["lr"])
    assert statistics.choose(tuning_runs({0.1: [0.3]}), {"lr": [0.1]}, True) == ({"lr": 0.1}, [])  # 1 value: no edge


def test_choose_a_diverged_seed_counts_as_the_worst():
    runs = tuning_runs({0.01: [0.5, 0.5, 0.5], 0.1: [0.9, None, None], 1.0: [None, None, None]})
    assert statistics.choose(runs, AXES, higher_is_better=True)[0] == {"lr": 0.01}
    losses = tuning_runs({0.01: [2.0, 2.0, 2.0], 0.1: [0.1, math.nan, None], 1.0: [None] * 3})
    assert statistics.choose(losses, AXES, higher_is_better=False)[0] == {"lr": 0.01}
    # One diverged seed of three does not move the median: the point still wins.
    runs = tuning_runs({0.01: [0.5, 0.5, 0.5], 0.1: [0.9, 0.9, None], 1.0: [0.1, 0.1, 0.1]})
    assert statistics.choose(runs, AXES, higher_is_better=True)[0] == {"lr": 0.1}
    # All diverged: the least bad (fewest diverged seeds) is still returned.
    runs = tuning_runs({0.01: [None, None, None], 0.1: [None, 0.4, None], 1.0: [None] * 3})
    assert statistics.choose(runs, AXES, higher_is_better=True) == ({"lr": 0.1}, [])


def test_choose_breaks_ties_towards_smaller_coordinates_and_checks_the_grid():
    axes = {"effective_lr": [0.1, 0.3], "one_minus_momentum": [0.01, 0.1]}
    runs = [{"point": {"effective_lr": lr, "one_minus_momentum": m}, "seed": 0, "final": 0.5}
            for lr in (0.3, 0.1) for m in (0.1, 0.01)]
    assert statistics.choose(runs, axes, True) == ({"effective_lr": 0.1, "one_minus_momentum": 0.01},
                                                   ["effective_lr", "one_minus_momentum"])
    with pytest.raises(ValueError):
        statistics.choose([{"point": {"lr": 0.2}, "seed": 0, "final": 0.5}], AXES, True)


def test_steps_to_target():
    steps, values = [0, 50, 100, 150], [0.1, 0.7, None, 0.9]
    assert statistics.steps_to_target(steps, values, 0.7, higher_is_better=True) == 50
    assert statistics.steps_to_target(steps, values, 0.8, higher_is_better=True) == 150
    assert statistics.steps_to_target(steps, values, 0.95, higher_is_better=True) is None
    assert statistics.steps_to_target(steps, [2.0, 1.0, 0.5, 0.2], 0.5, higher_is_better=False) == 100
    assert statistics.steps_to_target(steps, [2.0, 1.0, 0.5, 0.2], 0.5, higher_is_better=True) == 0


def test_running_mean_is_the_clipped_trailing_mean():
    values = np.random.default_rng(0).normal(size=40)
    expected = [values[max(0, i - 4):i + 1].mean() for i in range(40)]
    np.testing.assert_allclose(statistics.running_mean(values, 5), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(statistics.running_mean(values, 1), values, rtol=0, atol=1e-12)
    smoothed = statistics.running_mean([1.0, None, 3.0, 4.0, 5.0], 2)  # a non-finite loss poisons its windows only
    np.testing.assert_allclose(smoothed, [1.0, np.nan, np.nan, 3.5, 4.5])
    with pytest.raises(ValueError):
        statistics.running_mean(values, 0)
