"""Report of Step-Tuned SGD (Castera, Bolte, Févotte & Pauwels, Neural Processing Letters 2022, arXiv 2103.03570):
Step-Tuned SGD against SGD, RMSprop and Adam at an equal budget of gradient evaluations, and the paper's two
observations, a "sudden drop of the loss" and "better test accuracy at medium training stages".

    python -m experiments.reports.step_tuned_sgd --protocol results/step-tuned-sgd/protocol.json \\
        --arms results/step-tuned-sgd/arms/*/*.json --out results/step-tuned-sgd

writes into ``--out``: ``tables/step_tuned_sgd_final``, ``tables/step_tuned_sgd_drop``, ``tables/step_tuned_sgd_stages``
and ``tables/step_tuned_sgd_seeds`` (CSV, Markdown, booktabs LaTeX, each with the protocol's SHA-256);
``figures/step_tuned_sgd_curves_<workload>`` (PDF, PNG) per workload; ``verdict.md`` and ``verdict.json``
(``verdict_summary``).

The protocol's ``analysis`` block (the keys this report reads; defaults after the colon):

    method: step-tuned-sgd         the method label whose observations are tested
    baselines: [sgd, rmsprop, adam]
    stages: [0.25, 0.5, 0.75]      fractions of the budget at which test accuracy is compared
    medium_stage: 0.5              the stage the "medium stages" observation is judged at (added to stages if absent)
    drop_window: 0.05              the sudden drop's window, as a fraction of the budget in gradient evaluations
    smoothing: 0.05                the training loss's running mean, as a fraction of each run's steps
    equivalence_margin: 0.005      δ: an accuracy lead smaller than δ (test-metric units) does not count
    drop_margin: 0.1               δ_drop: a larger fall smaller than δ_drop (in ln of the loss) does not count

Every method has the same budget B of gradient evaluations (``budget_unit: gradient-evaluations``): a run of an arm
with e gradient evaluations per step (2 for Step-Tuned SGD, which evaluates each minibatch twice) takes B/e steps;
step k of it has spent k·e gradient evaluations, and its curve's evaluation at step k is placed at k·e. The training
loss is the per-step minibatch loss (null where not finite). Statistics are over the evaluation seeds, methods paired
by seed number: a 95 % BCa bootstrap interval of each mean (``experiments.statistics.mean_ci``) and of each paired
difference, with the paired t-test's p. A diverged run (final null, a non-finite loss or evaluation where a quantity
needs it) is left out of that quantity's mean and of every pair it belongs to; the tables count them. A chosen lr on
its grid's edge is flagged in the tables and the verdict; it does not change a verdict.

The observations, defined here before any run (the paper's own definitions and numbers were not retrieved, spec 4(d)):

* **sudden drop of the loss.** Per run, ℓ̃ = the trailing running mean of the per-step training loss over
  w = max(1, round(smoothing · steps)) steps, and from the first step with a full window on, the largest fall
  D = max ln ℓ̃ᵢ − ln ℓ̃ⱼ over steps i < j at most W = drop_window · B gradient evaluations apart (j − i ≤
  max(1, ⌊W/e⌋) steps), and where it ends (j·e). D is the largest factor, in ln, by which the smoothed loss falls
  within any window of W; the figure's curves are the same ℓ̃. Per baseline b, d = D(method) − D(b) per seed, [lo, hi]
  its interval: contradicts if hi < 0 or −δ_drop ≤ lo and hi ≤ δ_drop; else supports if lo > 0; else cannot decide.
  The observation supports if every baseline supports, contradicts if any contradicts, otherwise cannot decide.
* **better test accuracy at medium stages.** At each stage s the test metric of a run is its last evaluation at or
  before s·B gradient evaluations (no interpolation; the tables give the gradient evaluations actually used). Per
  baseline b, a = method − b at the medium stage (negated where lower is better), [lo, hi] its interval: contradicts
  if hi < 0 or −δ ≤ lo and hi ≤ δ; else supports if lo > 0; else cannot decide; over baselines as for the drop. The
  other stages are reported with the same rule, and do not enter the verdict.
* **too few seeds.** A comparison resting on fewer than ``MIN_SEEDS`` = 3 paired seeds cannot decide, whatever its
  interval: the bootstrap interval of two values is their range.
* **overall** (per observation over workloads, then over both observations): supports if every one supports,
  contradicts if any contradicts, otherwise cannot decide.

The final test metric and the final training loss (the mean over the last ``TAIL`` of the steps) are reported with
their paired differences and not judged: the paper notes that SGD, given more epochs, reaches the same error.
"""

import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn
from matplotlib import ticker
from scipy import stats

from experiments import atomic, figures, statistics, tables
from experiments.reports import common
from experiments.reports.common import (
    MIN_SEEDS, TAIL, UNDECIDED, advantage_verdict, ci, edge_note, edge_paragraph, enough, finals, gain,
    is_finite, mean_interval, overall_verdict, paired, tail_train_loss, train_losses, workload_names,
)

DEFAULTS = {"method": "step-tuned-sgd", "baselines": ["sgd", "rmsprop", "adam"], "stages": [0.25, 0.5, 0.75],
            "medium_stage": 0.5, "drop_window": 0.05, "smoothing": 0.05, "equivalence_margin": 0.005,
            "drop_margin": 0.1}
OBSERVATIONS = ("sudden drop", "medium-stage accuracy")
PLOTTED_POINTS = 2000  # curves longer than this are thinned for the figures (they are smoothed already)
CLAIM = ("Step-Tuned SGD, a stochastic Barzilai–Borwein step size (two gradient evaluations on each minibatch), "
         "trains deep residual networks with a \"sudden drop of the loss\" and \"better test accuracy at medium "
         "training stages\" than SGD, RMSprop and Adam (the abstract and footnotes; footnote 3: with more epochs SGD "
         "reaches the same small error thanks to its decay).")
PAPER_NUMBERS = ("Not retrieved (spec 4(d)): the paper's datasets, network depths, budgets and numbers are not in the "
                 "spec (deep residual networks on CIFAR-10/100 are likely but unconfirmed), and it appears to have "
                 "figures only. Both observations are therefore defined here, before the runs, and no paper number "
                 "is compared.")


# ----------------------------------------------------------------------------------------------------------------
# Reading arms

def settings(protocol: dict) -> dict:
    """The analysis block with this report's defaults filled in; ``stages`` sorted, with the medium stage."""
    analysis = {**DEFAULTS, **protocol["analysis"]}
    analysis["stages"] = sorted({float(stage) for stage in analysis["stages"]} | {float(analysis["medium_stage"])})
    return analysis


def budget(arms: dict, name: str, methods: list[str]) -> int:
    """B: the workload's budget in gradient evaluations (the largest steps × e of its arms)."""
    return max(arms[name, method]["steps"] * arms[name, method]["gradient_evaluations_per_step"]
               for method in methods)


def smoothing_window(analysis: dict, steps: int) -> int:
    return max(1, round(float(analysis["smoothing"]) * steps))


def drop_lag(analysis: dict, total: int, per_step: int) -> int:
    """The most steps a fall may span: ⌊W/e⌋ with W = drop_window · B gradient evaluations, at least one step."""
    return max(1, math.floor(float(analysis["drop_window"]) * total / per_step))


def loss_matrix(arm: dict) -> np.ndarray:
    """The evaluation runs' per-step training losses, seeds × steps in seed order; NaN where a run has none."""
    runs = sorted(arm["evaluation"]["runs"], key=lambda run: run["seed"])
    losses = np.full((len(runs), int(arm["steps"])), np.nan)
    for row, run in enumerate(runs):
        values = np.array([np.nan if value is None else value for value in run.get("train_loss") or []], dtype=float)
        losses[row, :min(values.size, losses.shape[1])] = values[:losses.shape[1]]
    return losses


def smoothed_losses(arm: dict, analysis: dict) -> np.ndarray:
    window = smoothing_window(analysis, int(arm["steps"]))
    return np.array([statistics.running_mean(row, window) for row in loss_matrix(arm)]).reshape(-1, int(arm["steps"]))


def largest_fall(smoothed: np.ndarray, lag: int, start: int) -> tuple[float, int] | None:
    """(D, j): the largest ln ℓ̃ᵢ − ln ℓ̃ⱼ over start ≤ i < j ≤ i + lag (0-based) and the 1-based step j where it
    ends; None if a value from ``start`` on is not finite or not positive, or fewer than two remain."""
    values = smoothed[start:]
    if values.size < 2 or not np.all(np.isfinite(values)) or np.any(values <= 0):
        return None
    logs = np.log(values)
    best, end = -math.inf, 0
    for k in range(1, min(lag, values.size - 1) + 1):
        falls = logs[:-k] - logs[k:]
        position = int(np.argmax(falls))
        if falls[position] > best:
            best, end = float(falls[position]), start + position + k + 1
    return best, end


def drops(arm: dict, analysis: dict, total: int) -> dict[int, tuple[float, int] | None]:
    """Seed -> (D, the gradient evaluations where the fall ends), None where the run has no D (diverged)."""
    per_step = arm["gradient_evaluations_per_step"]
    lag = drop_lag(analysis, total, per_step)
    start = smoothing_window(analysis, int(arm["steps"])) - 1  # the first step whose running mean has a full window
    seeds = sorted(run["seed"] for run in arm["evaluation"]["runs"])
    diverged = {run["seed"] for run in arm["evaluation"]["runs"] if run.get("diverged_step") is not None}
    result = {}
    for seed, row in zip(seeds, smoothed_losses(arm, analysis)):
        fall = None if seed in diverged else largest_fall(row, lag, start)
        result[seed] = None if fall is None else (fall[0], fall[1] * per_step)
    return result


def stage_values(arm: dict, target: float) -> dict[int, tuple[float | None, float | None]]:
    """Seed -> (the test metric of the last evaluation at or before ``target`` gradient evaluations, those gradient
    evaluations); (None, None) where there is none, (None, g) where that evaluation is not finite."""
    per_step = arm["gradient_evaluations_per_step"]
    values = {}
    for run in arm["evaluation"]["runs"]:
        points = [(step * per_step, value) for step, value in zip(run["curve"]["step"], run["curve"]["value"])
                  if step * per_step <= target * (1 + 1e-9)]
        if not points:
            values[run["seed"]] = (None, None)
            continue
        spent, value = max(points, key=lambda point: point[0])
        values[run["seed"]] = (value if is_finite(value) else None, spent)
    return values


# ----------------------------------------------------------------------------------------------------------------
# Decision rules

def lead_verdict(difference: dict, margin: float, higher_is_better: bool = True) -> str:
    """The method ahead of one baseline: ``advantage_verdict`` on the lead's interval (the difference's, negated where
    lower is better), cannot decide with fewer than ``MIN_SEEDS`` pairs."""
    return advantage_verdict(*gain(difference, higher_is_better), margin) if enough(difference["n"]) else UNDECIDED


def decide(protocol: dict, arms: dict) -> dict:
    """Per workload every number the verdicts rest on: the budget, the final numbers and their paired differences,
    the largest falls, the stage values; per workload, observation and baseline the verdicts, and overall."""
    analysis = settings(protocol)
    method, baselines = analysis["method"], list(analysis["baselines"])
    methods = [method, *baselines]
    names = workload_names(protocol, arms, methods)
    margin, drop_margin = float(analysis["equivalence_margin"]), float(analysis["drop_margin"])
    workloads = {}
    for name in names:
        total = budget(arms, name, methods)
        higher = arms[name, method]["higher_is_better"]
        falls = {label: drops(arms[name, label], analysis, total) for label in methods}
        fall_values = {label: {seed: None if fall is None else fall[0] for seed, fall in falls[label].items()}
                       for label in methods}
        stages = {stage: {label: stage_values(arms[name, label], stage * total) for label in methods}
                  for stage in analysis["stages"]}
        stage_differences = {stage: {baseline: paired({seed: value for seed, (value, _) in values[method].items()},
                                                      {seed: value for seed, (value, _) in values[baseline].items()})
                                     for baseline in baselines} for stage, values in stages.items()}
        drop_differences = {baseline: paired(fall_values[method], fall_values[baseline]) for baseline in baselines}
        drop_verdicts = {baseline: lead_verdict(drop_differences[baseline], drop_margin) for baseline in baselines}
        stage_verdicts = {stage: {baseline: lead_verdict(difference, margin, higher)
                                  for baseline, difference in by_baseline.items()}
                          for stage, by_baseline in stage_differences.items()}
        workloads[name] = {
            "budget": total, "falls": falls, "fall_values": fall_values, "stages": stages,
            "final": {label: mean_interval(finals(arms[name, label]).values()) for label in methods},
            "final_loss": {label: mean_interval(train_losses(arms[name, label]).values()) for label in methods},
            "final_differences": {baseline: paired(finals(arms[name, method]), finals(arms[name, baseline]))
                                  for baseline in baselines},
            "loss_differences": {baseline: paired(train_losses(arms[name, method]), train_losses(arms[name, baseline]))
                                 for baseline in baselines},
            "drop_differences": drop_differences, "drop_verdicts": drop_verdicts,
            "stage_differences": stage_differences, "stage_verdicts": stage_verdicts,
            "verdicts": {"sudden drop": overall_verdict(list(drop_verdicts.values())),
                         "medium-stage accuracy": overall_verdict(
                             list(stage_verdicts[float(analysis["medium_stage"])].values()))}}
    verdicts = {observation: overall_verdict([workloads[name]["verdicts"][observation] for name in names])
                for observation in OBSERVATIONS}
    verdicts["overall"] = overall_verdict([verdicts[observation] for observation in OBSERVATIONS])
    return {"analysis": analysis, "method": method, "baselines": baselines, "methods": methods, "names": names,
            "workloads": workloads, "verdicts": verdicts}


# ----------------------------------------------------------------------------------------------------------------
# Tables

def arm_rows(arms: dict, decided: dict):
    """(workload, its decided numbers, method, arm) for every workload × method, in the tables' order."""
    for name in decided["names"]:
        for label in decided["methods"]:
            yield name, decided["workloads"][name], label, arms[name, label]


def difference_columns(difference: dict | None, label: str) -> dict:
    if difference is None:
        return {label: "", f"p {label}": math.nan}
    return {label: ci(difference), f"p {label}": difference["p"]}


def final_frame(arms: dict, decided: dict) -> pd.DataFrame:
    method = decided["method"]
    records = []
    for name, workload, label, arm in arm_rows(arms, decided):
        metric = arm["metric"]
        records.append({
            "workload": name, "method": label, "lr": arm["evaluation"]["setting"].get("lr"),
            "edge": edge_note(arm), "steps": arm["steps"], "e": arm["gradient_evaluations_per_step"],
            "gradient evaluations": arm["steps"] * arm["gradient_evaluations_per_step"],
            f"final {metric}": ci(workload["final"][label]),
            "final train loss": ci(workload["final_loss"][label]),
            "seeds": len(arm["evaluation"]["runs"]),
            "diverged": sum(value is None for value in finals(arm).values()),
            **difference_columns(workload["final_differences"].get(label), f"{method} − this ({metric})"),
            **difference_columns(workload["loss_differences"].get(label), f"{method} − this (train loss)")})
    return pd.DataFrame(records)


def drop_frame(arms: dict, decided: dict) -> pd.DataFrame:
    analysis, method = decided["analysis"], decided["method"]
    records = []
    for name, workload, label, arm in arm_rows(arms, decided):
        falls = [fall for fall in workload["falls"][label].values() if fall is not None]
        difference = workload["drop_differences"].get(label)
        records.append({
            "workload": name, "method": label,
            "smoothing (steps)": smoothing_window(analysis, int(arm["steps"])),
            "window (steps)": drop_lag(analysis, workload["budget"], arm["gradient_evaluations_per_step"]),
            "largest fall D (ln)": ci(mean_interval(fall for fall, _ in falls)),
            "ends at (median gradient evaluations)": float(np.median([end for _, end in falls])) if falls
            else math.nan,
            "seeds": len(falls), "left out": len(workload["falls"][label]) - len(falls),
            **difference_columns(difference, f"D {method} − D this"),
            "verdict": workload["drop_verdicts"].get(label, "")})
    return pd.DataFrame(records)


def stages_frame(arms: dict, decided: dict) -> pd.DataFrame:
    analysis, method = decided["analysis"], decided["method"]
    medium = float(analysis["medium_stage"])
    records = []
    for name in decided["names"]:
        workload = decided["workloads"][name]
        metric = arms[name, method]["metric"]
        for stage in analysis["stages"]:
            values = workload["stages"][stage]

            def used(label):
                spent = sorted({spent for _, spent in values[label].values() if spent is not None})
                return ", ".join(f"{value:g}" for value in spent) or tables.MISSING

            def summary(label):
                return ci(mean_interval(value for value, _ in values[label].values()))

            for baseline in decided["baselines"]:
                difference = workload["stage_differences"][stage][baseline]
                verdict = workload["stage_verdicts"][stage][baseline]
                records.append({
                    "workload": name, "stage": stage, "target (gradient evaluations)": stage * workload["budget"],
                    f"{method} at": used(method), "baseline": baseline, "baseline at": used(baseline),
                    f"{method} {metric}": summary(method), f"baseline {metric}": summary(baseline),
                    **difference_columns(difference, f"{method} − baseline"),
                    "pairs": difference["n"], "left out": difference["diverged"],
                    "verdict": verdict if stage == medium else f"({verdict}; not judged)"})
    return pd.DataFrame(records)


def seed_frame(arms: dict, decided: dict) -> pd.DataFrame:
    """Every evaluation run's numbers, for re-analysis."""
    analysis = decided["analysis"]
    records = []
    for name, workload, label, arm in arm_rows(arms, decided):
        for run in sorted(arm["evaluation"]["runs"], key=lambda run: run["seed"]):
            fall = workload["falls"][label][run["seed"]]
            records.append({
                "workload": name, "method": label, "seed": run["seed"], "lr": run["setting"].get("lr"),
                arm["metric"]: run["final"], "diverged_step": run["diverged_step"],
                "final train loss (tail mean)": tail_train_loss(run),
                "largest fall D": None if fall is None else fall[0],
                "fall ends (gradient evaluations)": None if fall is None else fall[1],
                **{f"{arm['metric']} at {stage:g}": workload["stages"][stage][label][run["seed"]][0]
                   for stage in analysis["stages"]}})
    return pd.DataFrame(records)


# ----------------------------------------------------------------------------------------------------------------
# Figures

def pointwise_band(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column the mean over the finite rows and its 95 % Student-t interval (NaN with fewer than two)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # all-NaN columns (every seed diverged there) stay NaN
        count = np.sum(np.isfinite(rows), axis=0)
        mean = np.nanmean(rows, axis=0)
        spread = np.nanstd(rows, axis=0, ddof=1) / np.sqrt(count)
        half = stats.t.ppf(0.5 + common.CONFIDENCE / 2, np.maximum(count - 1, 1)) * spread
    half = np.where(count >= 2, half, np.nan)
    return mean, mean - half, mean + half


def thinned(length: int) -> np.ndarray:
    return np.arange(0, length, max(1, math.ceil(length / PLOTTED_POINTS)))


def curve_matrix(arm: dict) -> tuple[np.ndarray, np.ndarray]:
    """(gradient evaluations, seeds × evaluations): the runs' test curves on the union of their evaluation steps."""
    runs = arm["evaluation"]["runs"]
    steps = sorted({step for run in runs for step in run["curve"]["step"]})
    index = {step: position for position, step in enumerate(steps)}
    values = np.full((len(runs), len(steps)), np.nan)
    for row, run in enumerate(runs):
        for step, value in zip(run["curve"]["step"], run["curve"]["value"]):
            values[row, index[step]] = value if is_finite(value) else np.nan
    return np.array(steps, dtype=float) * arm["gradient_evaluations_per_step"], values


def curves_figure(arms: dict, decided: dict, name: str, stem: Path) -> list[Path]:
    """Left: the smoothed training loss (log scale) against gradient evaluations, mean over seeds with a pointwise
    95 % t-band, ▼ where the median largest fall ends; right: the test metric, likewise, dotted lines at the stages."""
    analysis, methods = decided["analysis"], decided["methods"]
    workload = decided["workloads"][name]
    palette = dict(zip(methods, seaborn.color_palette("colorblind", len(methods))))
    figure, (loss_panel, metric_panel) = figures.new_figure(ncols=2, width=8.0, height=3.0)
    for label in methods:
        arm = arms[name, label]
        per_step = arm["gradient_evaluations_per_step"]
        smoothed = smoothed_losses(arm, analysis)
        mean, low, high = pointwise_band(smoothed)
        shown = thinned(mean.size)
        spent = (np.arange(1, mean.size + 1) * per_step)[shown]
        diverged = sum(value is None for value in finals(arm).values())
        tag = f"{label}{f' ({diverged} diverged)' if diverged else ''}"
        loss_panel.plot(spent, mean[shown], color=palette[label], label=tag, linewidth=1.2,
                        linestyle="-" if label == decided["method"] else "--")
        loss_panel.fill_between(spent, np.where(low > 0, low, np.nan)[shown], high[shown], color=palette[label],
                                alpha=0.2, linewidth=0)
        ends = [end for _, end in filter(None, workload["falls"][label].values())]
        if ends and np.isfinite(mean).any():
            end = float(np.median(ends))
            step = min(mean.size, max(1, round(end / per_step))) - 1
            loss_panel.plot([end], [mean[step]], "v", color=palette[label], markeredgecolor="black",
                            markeredgewidth=0.5, markersize=7)
        spent, values = curve_matrix(arm)
        mean, low, high = pointwise_band(values)
        metric_panel.plot(spent, mean, "o-" if label == decided["method"] else "s--", color=palette[label],
                          label=tag, linewidth=1.2, markersize=3)
        metric_panel.fill_between(spent, low, high, color=palette[label], alpha=0.2, linewidth=0)
    for stage in analysis["stages"]:
        metric_panel.axvline(stage * workload["budget"], color="gray", linestyle=":", linewidth=0.8)
    loss_panel.set_yscale("log")
    loss_panel.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    loss_panel.yaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    loss_panel.yaxis.set_minor_formatter(ticker.NullFormatter())
    loss_panel.set(xlabel="gradient evaluations", ylabel="training loss (running mean)",
                   title=f"{name}: training loss, ▼ largest fall ends")
    metric_panel.set(xlabel="gradient evaluations", ylabel=arms[name, decided["method"]]["metric"],
                     title=f"{name}: test metric, ⋮ stages")
    loss_panel.legend(fontsize="x-small")
    metric_panel.legend(fontsize="x-small")
    return figures.save(figure, stem)


# ----------------------------------------------------------------------------------------------------------------
# verdict.md

def rule_text(analysis: dict, method: str) -> str:
    return (
        f"Per workload, over evaluation seeds paired by seed number; B = the budget in gradient evaluations; "
        f"δ = {float(analysis['equivalence_margin']):g} (test-metric units), δ_drop = "
        f"{float(analysis['drop_margin']):g} (ln of the loss). Per baseline b, with [lo, hi] the 95 % bootstrap "
        "interval of the method's lead: contradicts if hi < 0 or −margin ≤ lo and hi ≤ margin; else supports if "
        f"lo > 0; otherwise cannot decide; fewer than {MIN_SEEDS} pairs cannot decide. An observation supports "
        "if every baseline supports, contradicts if any contradicts, otherwise cannot decide.\n\n"
        f"- **sudden drop**: per run, the largest fall D of ln ℓ̃ (ℓ̃ the running mean over "
        f"{float(analysis['smoothing']):g} of the run's steps), from the first full window on, over pairs of steps at "
        f"most {float(analysis['drop_window']):g}·B gradient evaluations apart; the lead is D({method}) − D(b), "
        "margin δ_drop.\n"
        f"- **medium-stage accuracy**: the test metric at the last evaluation at or before "
        f"{float(analysis['medium_stage']):g}·B gradient evaluations; the lead is {method} − b, margin δ. The other "
        f"stages ({', '.join(f'{stage:g}' for stage in analysis['stages'])}) are reported, not judged.\n"
        "- **overall**, per observation over workloads and then over both: supports if every one supports, "
        "contradicts if any contradicts, otherwise cannot decide.")


def difference_text(difference: dict) -> str:
    left_out = f", {difference['diverged']} left out" if difference["diverged"] else ""
    return f"{ci(difference)} (p = {difference['p']:.3g}, n = {difference['n']}{left_out})"


def verdict_lines(decided: dict) -> list[str]:
    analysis, method = decided["analysis"], decided["method"]
    medium = float(analysis["medium_stage"])
    lines = []
    for name in decided["names"]:
        workload = decided["workloads"][name]
        drop = "; ".join(f"vs {baseline}: {difference_text(workload['drop_differences'][baseline])} "
                         f"{workload['drop_verdicts'][baseline]}" for baseline in decided["baselines"])
        lines.append(f"- `{name}` sudden drop, D({method}) − D(b): {drop}: "
                     f"**{workload['verdicts']['sudden drop']}**")
        stage = "; ".join(f"vs {baseline}: {difference_text(workload['stage_differences'][medium][baseline])} "
                          f"{workload['stage_verdicts'][medium][baseline]}" for baseline in decided["baselines"])
        lines.append(f"- `{name}` test metric at {medium:g}·B, {method} − b: {stage}: "
                     f"**{workload['verdicts']['medium-stage accuracy']}**")
    lines.append("")
    lines += [f"- **{observation}** (all workloads): **{decided['verdicts'][observation]}**"
              for observation in OBSERVATIONS]
    lines.append(f"\n**Overall: {decided['verdicts']['overall']}.**")
    return lines


def edge_lines(arms: dict, decided: dict) -> list[str]:
    return edge_paragraph({f"{name}/{label}": edge_note(arms[name, label]) for name, _, label, _ in arm_rows(
        arms, decided)}, "chosen learning rate")


def scale_lines(protocol: dict, arms: dict, decided: dict) -> list[str]:
    lines = []
    for name in decided["names"]:
        arm = arms[name, decided["method"]]
        epochs = [arms[name, label].get("epochs") for label in decided["methods"]]
        epochs_text = "" if None in epochs else f", {max(epochs):.3g} epochs"
        lines.append(f"- `{name}`: task `{arm['task']}` {arm.get('task_options') or {}}, batch {arm['batch_size']}, "
                     f"{decided['workloads'][name]['budget']} gradient evaluations{epochs_text} ("
                     + ", ".join(f"{label} {arms[name, label]['steps']} steps" for label in decided["methods"]) + ")")
    seeds = protocol["seeds"]
    lines.append(f"- seeds: {len(seeds['tuning'])} tuning, {len(seeds['evaluation'])} evaluation")
    lines.append("\nThe paper trained deep residual networks (on CIFAR, likely but unconfirmed) for far longer; this "
                 "is a small proxy at a short budget. It can decide whether the two observations, as defined here, "
                 "show on these tasks at this budget, not whether the paper's figures reproduce; the `full` profile "
                 "is meant to run larger residual networks on CIFAR. The observations' definitions are ours: the "
                 "paper's were not retrieved.")
    return lines


def verdict_document(protocol: dict, arms: dict, decided: dict, numbers: str) -> str:
    return "\n".join([
        "# Step-Tuned SGD: verdict", "",
        "## What the paper claims", "", CLAIM, "",
        "## Decision rule (fixed in code before any numbers)", "", rule_text(decided["analysis"], decided["method"]),
        "", "## Our numbers", "", numbers, "",
        "## Verdict", "", *verdict_lines(decided), "", *edge_lines(arms, decided), "",
        "## Scale", "", *scale_lines(protocol, arms, decided), "",
        "## The paper's numbers", "", PAPER_NUMBERS, "",
        f"Protocol SHA-256: `{protocol.get('protocol_sha256')}`", ""])


def verdict_summary(decided: dict) -> tuple[dict[str, str], str, dict[str, float]]:
    """verdict.json's claims (the two observations), overall verdict and the paired differences the Verdict section
    quotes, per workload and baseline: ``sudden-drop.<workload>.<baseline>`` (D(method) − D(baseline)) and
    ``medium-stage-accuracy.<workload>.<baseline>`` (the method's test metric at the medium stage minus the
    baseline's)."""
    medium = float(decided["analysis"]["medium_stage"])
    numbers = {}
    for name in decided["names"]:
        workload = decided["workloads"][name]
        for baseline in decided["baselines"]:
            numbers.update(common.interval_numbers(common.json_name("sudden-drop", name, baseline),
                                                   workload["drop_differences"][baseline]))
            numbers.update(common.interval_numbers(common.json_name("medium-stage-accuracy", name, baseline),
                                                   workload["stage_differences"][medium][baseline]))
    claims = {common.json_name(observation): decided["verdicts"][observation] for observation in OBSERVATIONS}
    return claims, decided["verdicts"]["overall"], numbers


# ----------------------------------------------------------------------------------------------------------------
# The report

def report(protocol: dict, arms: dict, out: Path) -> list[Path]:
    """Write every table, figure, verdict.md and verdict.json into ``out``; return their paths."""
    decided = decide(protocol, arms)
    analysis, method = decided["analysis"], decided["method"]
    sha = protocol.get("protocol_sha256")
    final = final_frame(arms, decided)
    written = tables.write_table(final, out / "tables" / "step_tuned_sgd_final", protocol_sha256=sha, caption=(
        f"At the end of the budget: the test metric and the training loss (mean over the last {TAIL:.0%} of the "
        f"steps), mean [95 % bootstrap CI] over evaluation seeds; {method} − each baseline paired by seed with the "
        "t-test p (reported, not judged); the chosen lr (edge: on its grid's edge); steps × e = gradient "
        "evaluations."))
    drop = drop_frame(arms, decided)
    written += tables.write_table(drop, out / "tables" / "step_tuned_sgd_drop", protocol_sha256=sha, caption=(
        f"Sudden drop: per run the largest fall D of the log running-mean training loss (window: smoothing steps) "
        f"within {float(analysis['drop_window']):g} of the budget (window steps), mean [95 % CI] over seeds and "
        f"where it ends; D({method}) − D(baseline) paired by seed and the verdict (margin "
        f"{float(analysis['drop_margin']):g})."))
    stages = stages_frame(arms, decided)
    written += tables.write_table(stages, out / "tables" / "step_tuned_sgd_stages", protocol_sha256=sha, caption=(
        "Test metric at fractions of the budget: the last evaluation at or before the target (the gradient "
        f"evaluations actually used in the 'at' columns), mean [95 % CI]; {method} − baseline paired by seed; "
        f"judged at stage {float(analysis['medium_stage']):g} only (margin "
        f"{float(analysis['equivalence_margin']):g})."))
    written += tables.write_table(seed_frame(arms, decided), out / "tables" / "step_tuned_sgd_seeds",
                                  protocol_sha256=sha, caption="Every evaluation run.")
    for name in decided["names"]:
        written += curves_figure(arms, decided, name, out / "figures" / f"step_tuned_sgd_curves_{name}")
    numbers = "\n".join([tables.markdown(final, caption="Final numbers (reported, not judged)."),
                         tables.markdown(drop, caption="Sudden drop."),
                         tables.markdown(stages, caption="Test metric at the stages.")])
    written.append(atomic.write_text(out / "verdict.md", verdict_document(protocol, arms, decided, numbers)))
    written.append(common.write_verdicts(out, common.experiment_name(arms), *verdict_summary(decided)))
    return written


def main(argv: list[str] | None = None) -> int:
    return common.main("experiments.reports.step_tuned_sgd",
                       "Tables, figures and verdict.md of Step-Tuned SGD (Castera et al. 2022), from its arms' "
                       "results.", lambda protocol, arms, out, _: report(protocol, arms, out), argv)


if __name__ == "__main__":
    sys.exit(main())
