"""The leaderboard's report (what none of the papers did): every optimizer of the registry on every small workload,
one budget in gradient evaluations per workload, each method's lr tuned on its own grid. Findings, not verdicts.

    python -m experiments.reports.leaderboard --protocol results/leaderboard/protocol.json \\
        --arms results/leaderboard/jobs/*.json --out results/leaderboard

An arms file holds one arm result or (grouped jobs, ``jobs: per-method``) the list of one method's arms on every workload.
Writes into ``--out``: ``tables/ranking`` (per workload and method), ``tables/mean_rank``, ``tables/significance``,
``tables/performance_ratios``, ``tables/performance_profile``, ``tables/targets`` and ``tables/lr_sensitivity``
(.csv, .md, .tex); ``figures/performance_profiles``, ``figures/mean_rank`` and ``figures/lr_sensitivity`` (.pdf,
.png); ``verdict.md`` and ``verdict.json`` (``verdict_summary``: no claims, overall ``common.NO_VERDICT``).

The protocol's ``analysis`` block (the keys this report reads, with the defaults used where a key is absent)::

    tolerance: 0.01                      lr sensitivity: the lr range within this relative distance of the best
    performance_profile_max_ratio: 4     R: the profiles are drawn, and their areas taken, over τ ∈ [1, R]
    target_fraction: 0.9                 θ of the target rule of the steps-to-target profile (below)

This is no paper's claim, so nothing here supports or contradicts anything: the report states findings. Every rule
below is fixed here, before any number was seen. Methods are paired by evaluation seed number; the protocol's
methods and workloads keep their order. A workload counts in the mean rank and the profiles only where every method
has an arm (the others are listed as left out).

**Final metric and rank.** Per workload and method: the mean final metric (the arm's watched metric, e.g.
test/accuracy; diabetes-mlp: test/loss, an MSE, lower is better) over the evaluation seeds with a 95 % BCa bootstrap
interval (``common.mean_interval``) of the finite values. Rank: a method with a diverged evaluation seed ranks below
every method with fewer diverged seeds (a divergence is worse than any number), then by the mean of its finite
finals; one that diverged on every seed ranks last; ties share the average rank. The mean rank of a method is the
mean of its ranks over the workloads; its 95 % interval is the percentile interval of ``RESAMPLES`` bootstrap
replicates, each resampling the evaluation seeds with replacement within every workload independently (one draw
for all methods of a workload: the seeds pair them) and recomputing every rank; no interval where a workload has
fewer than ``common.MIN_SEEDS`` = 3 evaluation seeds.

**Significance.** A beats B on a workload if the 95 % interval of the paired difference A − B (by seed, over the
seeds where both are finite; ``statistics.paired_difference``) lies wholly on A's better side and rests on at least
``common.MIN_SEEDS`` = 3 pairs (with two, a bootstrap interval is only their range), or if B diverged on every
evaluation seed and A did not. The best method's lead is its comparison with the second; a method is never
beaten if no method beats it on any workload.

**Performance profiles** (Dolan & Moré 2002). Per workload w and method m a cost c_{w,m}, the ratio r_{w,m} =
c_{w,m} / min_m c_{w,m} (where the least cost is 0: r = 1 for a cost of 0 and ∞ otherwise), and ρ_m(τ) = the
fraction of workloads with r_{w,m} ≤ τ. The area A_m = (1/|W|) Σ_w max(0, ln R − ln r_{w,m}) / ln R is the mean of
ρ_m over log τ ∈ [1, R]: 1 for a method best everywhere, 0 for one never within R of the best.

* (a) fixed budget: c = 1 − mean accuracy (the error; every higher-is-better metric here is an accuracy) or the
  mean loss; ∞ (r = ∞) for a method with a diverged evaluation seed.
* (b) gradient evaluations to a target: the target of workload w is v₀ + θ (v* − v₀), with v₀ the metric at step 0
  (the mean over every method's evaluation runs: the same initial weights per seed) and v* the best method's final
  seed-mean metric (over the methods that never diverged), θ = ``target_fraction``: the convergence test of Moré &
  Wild's data profiles (2009). It is reachable by construction (the best method reaches it by its last evaluation),
  it does not move when weak methods are added (a median over methods would, and would put half of them out of
  reach by construction), and it is unchanged by shifting or scaling the metric; θ = 0.9 asks for nine tenths of the
  best improvement, a strict target that is not the last evaluation itself. The rule is fixed before the runs; its
  value comes from them. c = the first evaluated step at which the seed-mean curve (defined only at steps where every
  seed has a finite value) reaches the target (``statistics.steps_to_target``) × the method's gradient evaluations
  per step; ∞ if it never does. A workload where no method improves on v₀ has no target and is left out of (b).

**Learning-rate sensitivity** (from the tuning runs). Per grid point the score of ``statistics.choose``: the median
over tuning seeds of the final metric, a diverged seed counting as the worst value. Around the best point (ties: the
one with fewer diverged seeds, then the smaller lr) the contiguous run of grid points whose score is within
``tolerance`` × |best| of the best (not below it where higher is better, not above it otherwise); its width is
log₁₀(lr_max / lr_min) of that run in decades (0: only the best point). A run reaching the end of the grid gives
a lower bound (the range may continue beyond the grid). None without a search (one grid point) or where every
point diverged. The width is quantised by the grid (a factor-2 grid: steps of log₁₀ 2 ≈ 0.30 decades).
"""

import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn
from matplotlib import ticker

from experiments import atomic, figures, statistics, tables
from experiments.reports import common
from experiments.reports.common import NO_SEARCH, chosen_lr, lr_range, method_styles, width_text
from experiments.reports.common import MIN_SEEDS, ci, edge_note, enough, finals, is_finite, paired

TOLERANCE = 0.01      # defaults of the analysis keys
MAX_RATIO = 4.0
TARGET_FRACTION = 0.9
RESAMPLES = 2000      # bootstrap replicates of the mean rank
PROFILE_OFFSET = 0.004  # vertical offset between methods' profile lines, so that equal profiles stay visible


# ----------------------------------------------------------------------------------------------------------------
# Learning-rate sensitivity (also the AdaMomentum report's; a candidate for common.py)

# ----------------------------------------------------------------------------------------------------------------
# Ranks

def workload_order(protocol: dict, arms: dict) -> tuple[list[str], list[str], list[str]]:
    """(workloads with an arm, methods with an arm, complete workloads: those where every method has one), each in
    the protocol's order. An arm of a method or workload the protocol does not list is an error."""
    methods = [method for method in protocol["methods"] if any(key[1] == method for key in arms)]
    names = [workload["name"] for workload in protocol["workloads"] if any(key[0] == workload["name"] for key in arms)]
    unknown = sorted({f"{workload}/{method}" for workload, method in arms
                      if workload not in names or method not in methods})
    if unknown:
        raise ValueError(f"arms of a workload or method the protocol does not list: {', '.join(unknown)}")
    complete = [name for name in names if all((name, method) in arms for method in methods)]
    return names, methods, complete


def seed_matrix(arms: dict, workload: str, methods: list[str]) -> tuple[list[int], np.ndarray]:
    """The evaluation seeds (every method's, sorted) and the finals as a seeds × methods array, NaN where a run
    diverged (or is missing)."""
    by_method = [finals(arms[workload, method]) for method in methods]
    seeds = sorted(set().union(*by_method))
    matrix = np.array([[values.get(seed) for values in by_method] for seed in seeds], dtype=float)  # None -> NaN
    return seeds, np.where(np.isfinite(matrix), matrix, np.nan)


def ranks(values: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """Ranks (1 = best, ties averaged) of the methods, from finals shaped (..., seeds, methods) with NaN for a
    diverged run: fewer diverged seeds first, then the better mean of the finite finals."""
    diverged = np.isnan(values).sum(axis=-2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a method diverged on every seed: its mean is NaN, its score +inf
        mean = np.nanmean(values, axis=-2)
    score = np.where(np.isnan(mean), np.inf, -mean if higher_is_better else mean)
    same = diverged[..., None, :] == diverged[..., :, None]
    ahead = (diverged[..., None, :] < diverged[..., :, None]) | (same & (score[..., None, :] < score[..., :, None]))
    tied = same & (score[..., None, :] == score[..., :, None])
    return 1.0 + ahead.sum(axis=-1) + (tied.sum(axis=-1) - 1) / 2.0


def mean_rank(matrices: dict[str, np.ndarray], directions: dict[str, bool], count: int) -> dict:
    """The mean rank over workloads per method, with the seed-bootstrap percentile interval: {mean, low, high}
    arrays over the methods (NaN intervals where a workload has fewer than ``MIN_SEEDS`` seeds; NaN means
    without workloads)."""
    if not matrices:
        nan = np.full(count, np.nan)
        return {"mean": nan, "low": nan, "high": nan}
    mean = np.mean([ranks(matrix, directions[name]) for name, matrix in matrices.items()], axis=0)
    if not enough(min(matrix.shape[0] for matrix in matrices.values())):
        return {"mean": mean, "low": np.full(count, np.nan), "high": np.full(count, np.nan)}
    rng = np.random.default_rng(common.SEED)
    replicates = np.zeros((RESAMPLES, count))
    for name, matrix in matrices.items():
        draws = rng.integers(0, matrix.shape[0], size=(RESAMPLES, matrix.shape[0]))
        replicates += ranks(matrix[draws], directions[name])
    replicates /= len(matrices)
    low, high = np.percentile(replicates, [50 * (1 - common.CONFIDENCE), 50 * (1 + common.CONFIDENCE)], axis=0)
    return {"mean": mean, "low": low, "high": high}


def beats(first: dict, second: dict, higher_is_better: bool) -> tuple[bool, dict]:
    """Whether ``first`` significantly beats ``second`` (seed -> final), and their paired difference."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy's t-test on nearly equal pairs: p is still given
        difference = paired(first, second)
    if not any(is_finite(value) for value in second.values()):
        return any(is_finite(value) for value in first.values()), difference
    return enough(difference["n"]) and difference["sign"] == ("+" if higher_is_better else statistics.MINUS), \
        difference


# ----------------------------------------------------------------------------------------------------------------
# Performance profiles

def ratios(costs: dict[str, float]) -> dict[str, float]:
    """r = c / min c per method (∞ stays ∞; with a least cost of 0, r = 1 for a cost of 0 and ∞ otherwise)."""
    known = [cost for cost in costs.values() if math.isfinite(cost)]
    if not known:
        return dict.fromkeys(costs, math.inf)
    least = min(known)
    return {method: 1.0 if cost == least else (cost / least if least > 0 and math.isfinite(cost) else math.inf)
            for method, cost in costs.items()}


def profile(ratios_by_workload: dict[str, dict[str, float]], method: str, taus) -> np.ndarray:
    """ρ_m(τ): the fraction of workloads with r ≤ τ, at each τ."""
    values = np.array([ratios_by_workload[name][method] for name in ratios_by_workload])
    return np.array([np.mean(values <= tau) for tau in np.atleast_1d(taus)]) if values.size else np.full(
        np.size(taus), np.nan)


def profile_area(ratios_by_workload: dict[str, dict[str, float]], method: str, max_ratio: float) -> float:
    """A_m = (1/|W|) Σ_w max(0, ln R − ln r_{w,m}) / ln R: ρ_m's mean over log τ ∈ [1, R]."""
    values = [ratios_by_workload[name][method] for name in ratios_by_workload]
    if not values:
        return math.nan
    return float(np.mean([max(0.0, math.log(max_ratio) - math.log(value)) / math.log(max_ratio)
                          if math.isfinite(value) else 0.0 for value in values]))


def fixed_budget_cost(arm: dict) -> float:
    """1 − mean accuracy, or the mean loss; ∞ with a diverged evaluation seed."""
    values = list(finals(arm).values())
    if not values or not all(is_finite(value) for value in values):
        return math.inf
    mean = float(np.mean(values))
    return 1.0 - mean if arm["higher_is_better"] else mean


def mean_curve(arm: dict) -> tuple[np.ndarray, np.ndarray]:
    """The evaluated steps and the seed-mean metric there: NaN where a seed has no finite value (it diverged)."""
    runs = arm["evaluation"]["runs"]
    steps = sorted(set().union(*(run["curve"]["step"] for run in runs)))
    values = np.full((len(runs), len(steps)), np.nan)
    for row, run in enumerate(runs):
        for step, value in zip(run["curve"]["step"], run["curve"]["value"]):
            values[row, steps.index(step)] = value if is_finite(value) else np.nan
    return np.array(steps), values.mean(axis=0)


def target(arms: dict, workload: str, methods: list[str], fraction: float) -> dict:
    """The workload's target v₀ + θ (v* − v₀): {initial, best, best method, target, note}."""
    curves = {method: mean_curve(arms[workload, method]) for method in methods}
    higher = arms[workload, methods[0]]["higher_is_better"]
    initial = [values[0] for steps, values in curves.values() if len(steps) and steps[0] == 0 and np.isfinite(
        values[0])]
    final = {method: values[-1] for method, (_, values) in curves.items() if len(values) and np.isfinite(values[-1])}
    row = {"workload": workload, "initial": float(np.mean(initial)) if initial else math.nan, "best": math.nan,
           "best method": "", "target": math.nan, "note": ""}
    if not initial or not final:
        return {**row, "note": "no step-0 evaluation" if not initial else "every method diverged"}
    best_method = (max if higher else min)(final, key=final.get)
    row.update({"best": float(final[best_method]), "best method": best_method})
    if (row["best"] - row["initial"]) * (1 if higher else -1) <= 0:
        return {**row, "note": "no method improved on the initial metric"}
    return {**row, "target": row["initial"] + fraction * (row["best"] - row["initial"])}


def evaluations_to_target(arm: dict, value: float) -> float:
    """Gradient evaluations at the first evaluation of the seed-mean curve that reaches ``value``; ∞ if none."""
    steps, values = mean_curve(arm)
    step = statistics.steps_to_target(list(steps), list(values), value, arm["higher_is_better"])
    return math.inf if step is None else float(step * arm["gradient_evaluations_per_step"])


# ----------------------------------------------------------------------------------------------------------------
# The analysis

def analyse(protocol: dict, arms: dict) -> dict:
    """Everything the tables, figures and verdict show."""
    analysis = protocol.get("analysis") or {}
    tolerance = float(analysis.get("tolerance", TOLERANCE))
    max_ratio = float(analysis.get("performance_profile_max_ratio", MAX_RATIO))
    fraction = float(analysis.get("target_fraction", TARGET_FRACTION))
    if max_ratio <= 1:
        raise ValueError(f"analysis.performance_profile_max_ratio={max_ratio:g}; allowed: a number above 1")
    names, methods, complete = workload_order(protocol, arms)
    ranking, significance, matrices, directions, best = [], [], {}, {}, {}
    beaten = {method: {} for method in methods}  # method -> {workload: the methods that beat it there}
    for name in names:
        present = [method for method in methods if (name, method) in arms]
        higher = directions[name] = arms[name, present[0]]["higher_is_better"]
        _, matrix = seed_matrix(arms, name, present)
        if name in complete:
            matrices[name] = matrix
        order = ranks(matrix, higher)
        for method, rank in zip(present, order):
            arm = arms[name, method]
            values = finals(arm)
            interval = common.mean_interval(values.values())
            ranking.append({"workload": name, "method": method, "metric": arm["metric"],
                            "mean [95 % CI]": ci(interval), "mean": interval[0], "low": interval[1],
                            "high": interval[2], "seeds": len(values),
                            "diverged": sum(not is_finite(value) for value in values.values()), "rank": float(rank),
                            "lr": chosen_lr(arm), "edge": edge_note(arm)})
        for method in present:
            for other in present:
                if other != method:
                    won, _ = beats(finals(arms[name, other]), finals(arms[name, method]), higher)
                    if won:
                        beaten[method].setdefault(name, []).append(other)
        leaders = sorted(zip(order, range(len(present))))
        if len(leaders) > 1:
            first, second = present[leaders[0][1]], present[leaders[1][1]]
            won, difference = beats(finals(arms[name, first]), finals(arms[name, second]), higher)
            best[name] = {"method": first, "second": second, "significant": won, "difference": difference,
                          "tied": leaders[0][0] == leaders[1][0]}
            significance.append({"workload": name, "best": first, "second": second,
                                 "best − second [95 % CI]": ci(difference), "p (paired t)": difference["p"],
                                 "seeds": difference["n"], "significant": won})
    ranked = mean_rank(matrices, directions, len(methods))
    ratios_fixed, ratios_target, targets, performance = {}, {}, [], []
    for name in complete:
        ratios_fixed[name] = ratios({method: fixed_budget_cost(arms[name, method]) for method in methods})
        goal = target(arms, name, methods, fraction)
        targets.append(goal)
        evaluations = {method: evaluations_to_target(arms[name, method], goal["target"])
                       if math.isfinite(goal["target"]) else math.nan for method in methods}
        if math.isfinite(goal["target"]):
            ratios_target[name] = ratios(evaluations)
        for method in methods:
            arm = arms[name, method]
            performance.append({"workload": name, "method": method, "cost (fixed budget)": fixed_budget_cost(arm),
                                "r (fixed budget)": ratios_fixed[name][method], "target": goal["target"],
                                "gradient evaluations to target": evaluations[method],
                                "r (to target)": ratios_target.get(name, {}).get(method, math.nan)})
    summary = []
    for index, method in enumerate(methods):
        summary.append({"method": method, "mean rank": ranked["mean"][index], "low": ranked["low"][index],
                        "high": ranked["high"][index],
                        **{f"rank {name}": next(row["rank"] for row in ranking
                                                if (row["workload"], row["method"]) == (name, method))
                           for name in complete},
                        "beaten on": len(beaten[method])})
        for key, by_workload in (("fixed budget", ratios_fixed), ("to target", ratios_target)):
            summary[-1].update({f"ρ(1) {key}": profile(by_workload, method, 1.0)[0],
                                f"ρ(2) {key}": profile(by_workload, method, 2.0)[0],
                                f"ρ({max_ratio:g}) {key}": profile(by_workload, method, max_ratio)[0],
                                f"area {key}": profile_area(by_workload, method, max_ratio)})
    sensitivity = [{"workload": name, "method": method, **lr_range(arms[name, method], tolerance)}
                   for name in names for method in methods if (name, method) in arms]
    return {"names": names, "methods": methods, "complete": complete, "ranking": ranking,
            "summary": summary, "significance": significance, "best": best, "beaten": beaten,
            "ratios_fixed": ratios_fixed, "ratios_target": ratios_target, "targets": targets,
            "performance": performance, "sensitivity": sensitivity, "tolerance": tolerance, "max_ratio": max_ratio,
            "fraction": fraction}


# ----------------------------------------------------------------------------------------------------------------
# Figures

def profile_figure(result: dict, stem: Path) -> list[Path]:
    """Both performance profiles side by side, τ on a log axis; the legend outside, methods by area."""
    methods, max_ratio = result["methods"], result["max_ratio"]
    styles = method_styles(methods)
    figure, axes = figures.new_figure(ncols=2, width=8.0, height=3.2)
    panels = ((axes[0], result["ratios_fixed"], "fixed budget: final error / loss"),
              (axes[1], result["ratios_target"], "gradient evaluations to target"))
    order = sorted(range(len(methods)), key=lambda index: -np.nan_to_num(
        result["summary"][index]["area fixed budget"], nan=-1.0))
    for axis, by_workload, title in panels:
        known = sorted({value for row in by_workload.values() for value in row.values()
                        if math.isfinite(value) and value <= max_ratio} | {1.0, max_ratio})
        for position, index in enumerate(order):
            method = methods[index]
            offset = (position - (len(methods) - 1) / 2) * PROFILE_OFFSET
            axis.step(known, profile(by_workload, method, known) + offset, where="post", linewidth=1.2,
                      label=method, **styles[method])
        axis.set_xscale("log", base=2)
        axis.set_xlim(1.0, max_ratio)
        axis.set_xticks([tau for tau in (1, 1.5, 2, 3, 4, 6, 8, 16, 32, 64) if tau <= max_ratio])
        axis.xaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
        axis.xaxis.set_minor_formatter(ticker.NullFormatter())
        axis.set_ylim(-0.05, 1.05)
        axis.set_xlabel("τ (ratio to the best method)")
        axis.set_title(f"{title} ({len(by_workload)} workloads)")
    axes[0].set_ylabel("ρ(τ): fraction of workloads with r ≤ τ")
    figure.legend(*axes[0].get_legend_handles_labels(), loc="outside right center", fontsize="x-small",
                  title="method (by area of (a))", title_fontsize="x-small")
    figure.supxlabel(f"lines offset vertically by ≤ {PROFILE_OFFSET * (len(methods) - 1) / 2:.2g} so equal "
                     "profiles stay visible", fontsize="x-small")
    return figures.save(figure, stem)


def mean_rank_figure(result: dict, stem: Path) -> list[Path]:
    """Mean rank with its 95 % interval per method (best at the top), and the per-workload ranks as points."""
    rows = sorted(result["summary"], key=lambda row: np.nan_to_num(row["mean rank"], nan=np.inf))
    figure, axis = figures.new_figure(width=6.0, height=0.9 + 0.22 * len(rows))
    y = np.arange(len(rows))
    means = np.array([row["mean rank"] for row in rows], dtype=float)
    errors = np.nan_to_num(np.abs(np.array([[row["low"], row["high"]] for row in rows], dtype=float).T - means))
    axis.errorbar(means, y, xerr=errors, fmt="o", color="black", capsize=3, markersize=4, label="mean rank, 95 % CI")
    markers = "sD^v<>"
    for index, name in enumerate(result["complete"]):
        axis.plot([row[f"rank {name}"] for row in rows], y + 0.15 * (index + 1) / len(result["complete"]),
                  markers[index % len(markers)], markersize=3, alpha=0.7, label=name, linestyle="none")
    axis.set_yticks(y, [row["method"] for row in rows])
    axis.invert_yaxis()
    axis.set_xlim(0.5, len(result["methods"]) + 0.5)
    axis.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    axis.set_xlabel(f"rank (1 = best of {len(result['methods'])})")
    figure.legend(*axis.get_legend_handles_labels(), loc="outside right upper", fontsize="x-small")
    return figures.save(figure, stem)


def sensitivity_figure(result: dict, stem: Path) -> list[Path]:
    """Heatmap of the lr range width (decades) per method × workload; "≥" marks a range reaching the grid's end."""
    methods, names = result["methods"], result["names"]
    rows = {(row["workload"], row["method"]): row for row in result["sensitivity"]}
    values = np.full((len(methods), len(names)), np.nan)
    labels = np.full((len(methods), len(names)), "", dtype=object)
    for i, method in enumerate(methods):
        for j, name in enumerate(names):
            row = rows.get((name, method))
            if row is None:
                labels[i, j] = "no arm"
            elif row["note"]:
                labels[i, j] = "one point" if row["note"] == NO_SEARCH else "diverged"
            else:
                values[i, j] = row["decades"]
                labels[i, j] = f"{'≥' if row['lower bound'] else ''}{row['decades']:.2f}"
    figure, axis = figures.new_figure(width=1.8 + 1.1 * len(names), height=1.8 + 0.3 * len(methods))
    frame = pd.DataFrame(values, index=methods, columns=names)
    spans = max([row["grid decades"] for row in result["sensitivity"] if math.isfinite(row["grid decades"])]
                + [1.0])  # the widest grid: the scale's top
    seaborn.heatmap(frame, ax=axis, annot=labels, fmt="", cmap="viridis", mask=np.isnan(values),
                    cbar_kws={"label": f"decades within {result['tolerance'] * 100:g} % of best"},
                    annot_kws={"fontsize": 7}, linewidths=0.5, linecolor="white", vmin=0.0, vmax=spans)
    axis.grid(False)
    axis.set_facecolor("whitesmoke")
    for i, j in zip(*np.nonzero(np.isnan(values))):  # the masked cells: say why they are empty
        axis.text(j + 0.5, i + 0.5, labels[i, j], ha="center", va="center", fontsize=6, color="grey")
    axis.tick_params(axis="y", rotation=0)
    axis.set_xlabel("workload")
    axis.set_ylabel("method")
    axis.set_title("lr sensitivity (≥: range reaches the grid's end)", fontsize="small")
    return figures.save(figure, stem)


# ----------------------------------------------------------------------------------------------------------------
# Verdict

def findings(result: dict) -> list[str]:
    lines = []
    for name in result["names"]:
        best = result["best"].get(name)
        if best is None:
            continue
        difference = best["difference"]
        state = ("significantly" if best["significant"] else "not significantly") + " ahead of"
        tie = " (tied in rank)" if best["tied"] else ""
        lines.append(f"- `{name}`: best **{best['method']}**{tie}, {state} {best['second']} (difference "
                     f"{ci(difference)}, p = {difference['p']:.3g}, n = {difference['n']}).")
    never = [method for method in result["methods"] if not result["beaten"][method]]
    lines.append(f"- Never significantly beaten on any workload: {', '.join(never) if never else 'none'}.")
    for key, title in (("fixed budget", "fixed budget"), ("to target", "gradient evaluations to target")):
        rows = [row for row in result["summary"] if math.isfinite(row[f"ρ(1) {key}"])]
        if not rows:
            lines.append(f"- Profile ({title}): no workload has every method (or, for the target, a target).")
            continue
        top = max(row[f"ρ(1) {key}"] for row in rows)
        winners = [row["method"] for row in rows if row[f"ρ(1) {key}"] == top]
        areas = sorted(rows, key=lambda row: -row[f"area {key}"])[:3]
        lines.append(f"- Profile ({title}): best on the most workloads (ρ(1) = {top:.2g}): {', '.join(winners)}; "
                     "largest area over τ ∈ [1, " f"{result['max_ratio']:g}]: " + ", ".join(
                         f"{row['method']} {row[f'area {key}']:.2f}" for row in areas) + ".")
    widths = [row for row in result["sensitivity"] if not row["note"]]
    if widths:
        narrow = min(widths, key=lambda row: row["decades"])
        wide = max(widths, key=lambda row: row["decades"])
        extremes = (f"only {narrow['method']} on {narrow['workload']} was searched ({width_text(narrow)})"
                    if len(widths) == 1 else f"narrowest {narrow['method']} on {narrow['workload']} "
                    f"({width_text(narrow)}), widest {wide['method']} on {wide['workload']} ({width_text(wide)})")
        lines.append(f"- lr sensitivity (range within {result['tolerance'] * 100:g} % of the best): {extremes}.")
    return lines


def verdict_summary(result: dict) -> tuple[dict[str, str], str, dict[str, float]]:
    """verdict.json: no claims and ``common.NO_VERDICT`` (findings, not verdicts), and the numbers the findings and the
    mean-rank table quote: per workload the best method's paired difference to the second
    (``best-minus-second.<workload>``), per method its mean rank with its interval (``mean-rank.<method>``) and its
    profile areas (``profile-area.fixed-budget.<method>``, ``profile-area.to-target.<method>``)."""
    numbers = {}
    for name in result["names"]:
        best = result["best"].get(name)
        if best is not None:
            numbers.update(common.interval_numbers(common.json_name("best-minus-second", name), best["difference"]))
    for row in result["summary"]:
        numbers.update(common.interval_numbers(common.json_name("mean-rank", row["method"]),
                                               (row["mean rank"], row["low"], row["high"])))
        for key in ("fixed budget", "to target"):
            numbers[common.json_name("profile-area", key, row["method"])] = row[f"area {key}"]
    return {}, common.NO_VERDICT, numbers


def caveats(result: dict, protocol: dict) -> list[str]:
    seeds = protocol.get("seeds", {})
    edges = [f"{row['workload']}/{row['method']}" for row in result["ranking"] if row["edge"]]
    diverged = [f"{row['workload']}/{row['method']} ({row['diverged']}/{row['seeds']})" for row in result["ranking"]
                if row["diverged"]]
    unsearched = sum(row["note"] == NO_SEARCH for row in result["sensitivity"])
    lines = ["- Small tasks at small budgets: the ranking says which methods do well here, not at scale.",
             f"- {len(seeds.get('tuning', []))} tuning seed(s) choose each lr and {len(seeds.get('evaluation', []))} "
             "evaluation seed(s) measure it: intervals are wide, and a lr chosen on one seed may be a lucky one"
             + (f"; with fewer than {MIN_SEEDS} evaluation seeds nothing is significant and the mean rank has no "
                "interval." if not enough(len(seeds.get("evaluation", []))) else "."),
             f"- Chosen lr on a grid edge for {len(edges)} of {len(result['ranking'])} arms"
             + (f": {', '.join(edges)}. There the method's optimum may lie outside its grid, so its rank may "
                "understate what the method can do." if edges else ".")]
    if unsearched:
        lines.append(f"- {unsearched} arm(s) ran a single grid point (no search): no lr sensitivity for them.")
    if diverged:
        lines.append(f"- Diverged evaluation runs: {', '.join(diverged)}.")
    left_out = [name for name in result["names"] if name not in result["complete"]]
    if left_out:
        lines.append(f"- Left out of the mean rank and the profiles (a method has no arm): {', '.join(left_out)}.")
    no_target = [f"{row['workload']} ({row['note']})" for row in result["targets"] if row["note"]]
    if no_target:
        lines.append(f"- No target, left out of profile (b): {', '.join(no_target)}.")
    return lines


def scale_lines(result: dict, arms: dict) -> list[str]:
    lines = []
    for name in result["names"]:
        arm = next(arms[name, method] for method in result["methods"] if (name, method) in arms)
        budget = arm["steps"] * arm["gradient_evaluations_per_step"]
        unit = "gradient evaluations" if arm.get("budget_unit") == "gradient-evaluations" else "steps × e"
        lines.append(f"- `{name}`: task `{arm['task']}` {arm.get('task_options') or {}}, batch {arm['batch_size']}, "
                     f"{budget} {unit}, metric {arm['metric']} ({'higher' if arm['higher_is_better'] else 'lower'} "
                     "is better)")
    lines.append("\nThe `full` profile adds the large tasks; these small ones cannot say how the methods rank there.")
    return lines


def verdict(result: dict, arms: dict, protocol: dict, numbers: str) -> str:
    text = ["# Leaderboard: findings", "",
            "## What this is", "",
            "Not a claim of any paper: every method of the registry, each with its lr tuned on its own grid, on every "
            "small workload at one budget in gradient evaluations (SAM-type and Step-Tuned SGD steps count twice). "
            "So no verdict is given here, only findings.", "",
            "## Rules (fixed in code before any number)", "",
            "See the module docstring of `experiments/reports/leaderboard.py`: rank (a diverged evaluation seed "
            "ranks below any number), mean rank with a seed-bootstrap interval, significance by the paired 95 % "
            "interval, Dolan–Moré profiles of the fixed-budget error/loss and of the gradient evaluations to the "
            f"target v₀ + {result['fraction']:g} (v* − v₀) (v₀: the step-0 metric, v*: the best method's final "
            f"seed mean), lr sensitivity as the contiguous lr range within {result['tolerance'] * 100:g} % of the "
            "best.", "",
            "## Findings", "", *findings(result), "",
            "## Numbers", "", numbers, "",
            "## Caveats", "", *caveats(result, protocol), "",
            "## Scale", "", *scale_lines(result, arms), "",
            f"Protocol SHA-256: `{protocol.get('protocol_sha256')}`", ""]
    return "\n".join(text)


# ----------------------------------------------------------------------------------------------------------------
# The report

def report(protocol: dict, arms: dict, out: Path) -> list[Path]:
    """Write every table, figure, verdict.md and verdict.json into ``out``; return their paths."""
    result = analyse(protocol, arms)
    sha = protocol.get("protocol_sha256")
    folder = out / "tables"
    ranking = pd.DataFrame(sorted(result["ranking"], key=lambda row: (result["names"].index(row["workload"]),
                                                                     row["rank"])))
    written = tables.write_table(ranking, folder / "ranking", protocol_sha256=sha, caption=(
        "Per workload and method: the final metric over evaluation seeds, mean [95 % BCa bootstrap CI] of the "
        "finite runs, the diverged runs, the rank (a diverged seed ranks below any number; ties averaged), the "
        "chosen lr and its edge flag (the optimum may lie outside the grid)."))
    summary = pd.DataFrame(result["summary"]).sort_values("mean rank", kind="stable")
    profiles = [column for column in summary.columns if column.startswith(("ρ(", "area "))]
    ranks_frame = summary.drop(columns=profiles)
    ranks_frame.insert(1, "mean rank [95 % CI]", [ci((row["mean rank"], row["low"], row["high"]), 2)
                                                  for row in ranks_frame.to_dict("records")])
    ranks_caption = (f"Mean rank over the {len(result['complete'])} workloads with every method, 95 % percentile "
                     f"interval of {RESAMPLES} bootstrap replicates resampling evaluation seeds within each workload; "
                     "per-workload ranks; 'beaten on': workloads where some method is significantly better (paired "
                     "95 % CI).")
    written += tables.write_table(ranks_frame, folder / "mean_rank", protocol_sha256=sha, caption=ranks_caption)
    profile_frame = summary[["method", *profiles]].sort_values("area fixed budget", ascending=False, kind="stable")
    profile_caption = (f"Performance profiles: ρ(τ) at τ = 1, 2 and R = {result['max_ratio']:g}, and the area (the "
                       "mean of ρ over log τ ∈ [1, R]), (a) on the fixed-budget error/loss over "
                       f"{len(result['ratios_fixed'])} workloads, (b) on gradient evaluations to target over "
                       f"{len(result['ratios_target'])}.")
    written += tables.write_table(profile_frame, folder / "performance_profile", protocol_sha256=sha,
                                  caption=profile_caption)
    written += tables.write_table(pd.DataFrame(result["significance"], columns=[
        "workload", "best", "second", "best − second [95 % CI]", "p (paired t)", "seeds", "significant"]),
        folder / "significance", protocol_sha256=sha, caption=(
            "The best method per workload against the second: paired difference by seed (best − second, in the "
            "metric's units), 95 % BCa interval, paired t-test p; significant if the interval lies on the best's "
            "better side."))
    written += tables.write_table(pd.DataFrame(result["performance"]), folder / "performance_ratios",
                                  protocol_sha256=sha, caption=(
        "Performance-profile inputs: cost at the fixed budget (1 − accuracy, or the loss; ∞: a diverged evaluation "
        "seed) and its ratio to the workload's best; gradient evaluations at which the seed-mean curve first "
        "reaches the target, and its ratio (∞: never)."))
    written += tables.write_table(pd.DataFrame(result["targets"], columns=[
        "workload", "initial", "best", "best method", "target", "note"]), folder / "targets", protocol_sha256=sha,
        caption=(f"Targets: initial (step-0) metric v₀, the best final seed mean v*, target = v₀ + "
                 f"{result['fraction']:g} (v* − v₀)."))
    written += tables.write_table(pd.DataFrame(result["sensitivity"]), folder / "lr_sensitivity", protocol_sha256=sha,
                                  caption=(
        f"lr sensitivity from the tuning runs: grid points and diverged ones, the contiguous lr range [low, high] "
        f"around the best point whose median final metric is within {result['tolerance'] * 100:g} % (relative) of the "
        "best, its width in decades and as a ratio; 'lower bound': the range reaches the grid's end (edge)."))
    written += profile_figure(result, out / "figures" / "performance_profiles")
    written += mean_rank_figure(result, out / "figures" / "mean_rank")
    written += sensitivity_figure(result, out / "figures" / "lr_sensitivity")
    numbers = (tables.markdown(ranks_frame.drop(columns=["mean rank", "low", "high"]), caption=ranks_caption) + "\n"
               + tables.markdown(profile_frame, caption=profile_caption))
    written.append(atomic.write_text(out / "verdict.md", verdict(result, arms, protocol, numbers)))
    written.append(common.write_verdicts(out, common.experiment_name(arms), *verdict_summary(result)))
    return written


def main(argv: list[str] | None = None) -> int:
    return common.main("experiments.reports.leaderboard", __doc__.split("\n")[0],
                       lambda protocol, arms, out, _: report(protocol, arms, out), argv)


if __name__ == "__main__":
    sys.exit(main())
