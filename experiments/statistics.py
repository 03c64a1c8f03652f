"""The statistics the experiment reports use: intervals over seeds, paired comparisons, the tuning choice,
steps to a target, and running means of training curves.

Serves every experiment (the Overshoot paper's Table 1, the marginal-value-of-momentum comparisons). Seeds are
the unit of replication: each value passed in is one run's number (e.g. its final test accuracy), and two
methods are paired by seed position. Everything is deterministic: bootstrap resampling draws from
``numpy.random.default_rng(seed)``. scipy.stats is imported where it is used: every training job imports this
module for ``choose`` alone, and scipy.stats would add half a second to its start.
"""

import math
import warnings
from collections.abc import Sequence

import numpy as np

MINUS = "\N{MINUS SIGN}"  # the sign of a difference whose interval lies below 0


def _finite_array(values, name: str = "values") -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds a non-finite value (a diverged run?); decide how it counts before "
                         f"asking for an interval: {array.tolist()}")
    return array


def mean_ci(values: Sequence[float], confidence: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """The mean x̄ = (1/n) Σ xᵢ and a bootstrap confidence interval of the mean at level ``confidence``.

    The interval is scipy.stats.bootstrap's bias-corrected and accelerated (BCa) one over 9 999 resamples of
    the n values with replacement: the percentiles α₁ = Φ(ẑ₀ + (ẑ₀ + z_{α/2}) / (1 − â(ẑ₀ + z_{α/2}))) and α₂
    (same with z_{1−α/2}) of the bootstrap means, where ẑ₀ is the bias correction (the normal quantile of the
    fraction of bootstrap means below x̄) and â the jackknife acceleration. Where BCa is degenerate (n = 2, or a
    resample distribution that makes ẑ₀ or â undefined) the plain percentile interval [q_{α/2}, q_{1−α/2}] of
    the bootstrap means is used. n = 1 gives (x, nan, nan): one seed says nothing about spread; n equal values
    give (x, x, x). Raises ``ValueError`` on no values or a non-finite one.
    """
    from scipy import stats
    array = _finite_array(values)
    mean = float(array.mean())
    if array.size == 1:
        return mean, math.nan, math.nan
    if np.all(array == array[0]):
        return float(array[0]), float(array[0]), float(array[0])  # exactly, not Σx/n's rounding
    low = high = math.nan
    for method in ("BCa", "percentile") if array.size >= 3 else ("percentile",):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # BCa warns on degenerate data; the percentile fallback handles it
            interval = stats.bootstrap((array,), np.mean, confidence_level=confidence, method=method,
                                       rng=np.random.default_rng(seed)).confidence_interval
        low, high = float(interval.low), float(interval.high)
        if math.isfinite(low) and math.isfinite(high):
            break
    return mean, low, high


def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """The mean and Student-t interval x̄ ± t_{(1+c)/2, n−1} · s/√n, s² = Σ(xᵢ − x̄)²/(n − 1).

    The form of the Overshoot paper's Table 1 (mean ± half-width over seeds). n = 1 gives (x, nan, nan); equal
    values (s = 0) give (x, x, x). Raises ``ValueError`` on no values or a non-finite one.
    """
    from scipy import stats
    array = _finite_array(values)
    mean = float(array.mean())
    if array.size == 1:
        return mean, math.nan, math.nan
    standard_error = float(array.std(ddof=1)) / math.sqrt(array.size)
    if standard_error == 0.0:
        return float(array[0]), float(array[0]), float(array[0])
    half_width = float(stats.t.ppf((1 + confidence) / 2, df=array.size - 1)) * standard_error
    return mean, mean - half_width, mean + half_width


def paired_difference(a: Sequence[float], b: Sequence[float], confidence: float = 0.95, seed: int = 0) -> dict:
    """Compare two methods run on the same seeds: dᵢ = aᵢ − bᵢ, paired by position.

    Returns ``mean`` (d̄), ``low`` and ``high`` (``mean_ci`` of the dᵢ), ``t`` and ``p`` (the paired t-test,
    scipy.stats.ttest_rel: t = d̄ / (s_d/√n) on n − 1 degrees of freedom, two-sided; nan when the dᵢ are all
    equal or n = 1), ``n``, and ``sign``: ``"+"`` if the interval lies above 0 (a better where higher is
    better), ``"−"`` (U+2212) if it lies below 0, ``"0"`` if it covers 0 or is undefined (n = 1).
    """
    from scipy import stats
    first, second = _finite_array(a, "a"), _finite_array(b, "b")
    if first.size != second.size:
        raise ValueError(f"paired values need equal lengths, got {first.size} and {second.size}")
    mean, low, high = mean_ci(first - second, confidence=confidence, seed=seed)
    t, p = math.nan, math.nan
    if first.size > 1 and not np.all(first - second == (first - second)[0]):
        test = stats.ttest_rel(first, second)
        t, p = float(test.statistic), float(test.pvalue)
    sign = "+" if low > 0 else MINUS if high < 0 else "0"
    return {"mean": mean, "low": low, "high": high, "t": t, "p": p, "n": int(first.size), "sign": sign}


def choose(runs: list[dict], axes: dict[str, list[float]], higher_is_better: bool) -> tuple[dict, list[str]]:
    """The tuning choice: the grid point with the best median final metric over tuning seeds.

    ``runs`` are RUN dicts (``"point"``: {axis: value}, ``"final"``: the metric at the budget, None if the run
    diverged). Per grid point the score is the median over its seeds of ``final``, a diverged seed counting as
    the worst possible value (−inf where higher is better, +inf otherwise), so a point whose seeds diverged in
    half or more loses to any point that mostly trains. Ties go to the point with fewer diverged seeds, then to
    the smaller coordinates (first axis first). If every point's median is a divergence the least bad by those
    tie-breaks is still returned: the caller sees it from the runs (all medians infinite) and the edge flags.

    Returns ``(chosen_point, edge_axes)``: the chosen coordinates ({axis: value}, in ``axes`` order) and the
    axes with more than one value whose chosen coordinate is the grid's min or max (the optimum may lie
    outside the grid there).
    """
    names = list(axes)
    scores: dict[tuple, list[float]] = {}
    worst = -math.inf if higher_is_better else math.inf
    for run in runs:
        point = run["point"]
        if set(point) != set(names):
            raise ValueError(f"run point {point} does not have the axes {names}")
        for name in names:
            if not any(math.isclose(point[name], value) for value in axes[name]):
                raise ValueError(f"run point {point}: {name}={point[name]} is not on the grid {axes[name]}")
        final = run["final"]
        finite = final is not None and math.isfinite(final)
        scores.setdefault(tuple(point[name] for name in names), []).append(final if finite else worst)
    if not scores:
        raise ValueError("no runs to choose from")

    def rank(item):
        coordinates, finals = item
        median = float(np.median(finals))
        diverged = sum(math.isinf(final) for final in finals)
        return (-median if higher_is_better else median, diverged, coordinates)

    coordinates, _ = min(scores.items(), key=rank)
    chosen = dict(zip(names, coordinates))
    edge = [name for name in names
            if len(axes[name]) > 1 and (math.isclose(chosen[name], min(axes[name]))
                                        or math.isclose(chosen[name], max(axes[name])))]
    return chosen, edge


def steps_to_target(steps: Sequence[int], values: Sequence[float | None], target: float,
                    higher_is_better: bool) -> int | None:
    """The first evaluated step whose value reaches ``target`` (value ≥ target where higher is better, value ≤
    target otherwise); None if no evaluation reaches it. Missing (None) or NaN values never reach it."""
    if len(steps) != len(values):
        raise ValueError(f"{len(steps)} steps but {len(values)} values")
    for step, value in zip(steps, values):
        if value is not None and not math.isnan(value) and (value >= target if higher_is_better else value <= target):
            return int(step)
    return None


def running_mean(values: Sequence[float | None], window: int) -> np.ndarray:
    """The trailing running mean mᵢ = mean(x[max(0, i − w + 1) : i + 1]): the window is clipped at the start.

    A window that holds a non-finite value (None, NaN or ±inf: a diverged loss) gives NaN. Computed from
    cumulative sums, so equal to the direct means to rounding (~1e-15 relative), not bitwise.
    """
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    bad = ~np.isfinite(array)
    sums = np.concatenate([[0.0], np.cumsum(np.where(bad, 0.0, array))])
    bad_counts = np.concatenate([[0], np.cumsum(bad)])
    end = np.arange(1, array.size + 1)
    start = np.maximum(0, end - window)
    means = (sums[end] - sums[start]) / (end - start)
    return np.where(bad_counts[end] - bad_counts[start] > 0, np.nan, means)
