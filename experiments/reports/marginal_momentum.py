"""Report of "On the Marginal Value of Momentum for Small Learning Rate SGD" (Wang, Malladi, Wang, Lyu & Li, ICLR
2024): SGD against SGDM (β = 0.9) at a matched effective learning rate η = lr/(1−β) (SGD's lr is η), in three parts.

    python -m experiments.reports.marginal_momentum {vision|finetune|svag} \\
        --protocol results/marginal-momentum/<part>/protocol.json --arms <arm JSONs> \\
        --out results/marginal-momentum/<part>

writes ``tables/`` (CSV, Markdown, booktabs LaTeX), ``figures/`` (PDF, PNG), ``verdict.md`` and ``verdict.json``
(``comparison_summary``, ``svag_summary``) into ``--out``.

The protocol's ``analysis`` block (the keys this report reads):

    vision:    baseline: sgdm              the method label with momentum
               compared: sgd               the method label without
               equivalence_margin: 0.01    δ, in units of the test metric
               workloads: {<name>: {regime: small | medium | large}, ...}   every workload of the protocol
    finetune:  baseline, compared, equivalence_margin   as for vision; every workload is one task
    svag:      baseline, compared          as for vision
               tuned_workload: svag-1      the ℓ = 1 workload whose baseline arm holds the η search that every
                                           other arm reuses (its edge flag is theirs)

Statistics are over the evaluation seeds, methods paired by seed number (``experiments.statistics``): a 95 % bootstrap
interval of each mean, of the paired difference d = compared − baseline and the paired t-test's p. A diverged
evaluation run (final null) is left out of its method's mean and of every pair it belongs to; the tables count them.

Decision rules, fixed here before any number was seen (δ = ``equivalence_margin``, [lo, hi] the interval of d):

* vision, small and medium batch, and finetune per task — the paper: SGD ≈ SGDM.
  supports if δ's band holds the interval (−δ ≤ lo, hi ≤ δ); contradicts if the interval lies outside it (lo > δ or
  hi < −δ); otherwise cannot decide.
* vision, large batch — the paper: SGDM ahead. With a = the baseline's advantage (−d where higher is better, d
  otherwise) and its interval [alo, ahi]: contradicts if −δ ≤ alo and ahi ≤ δ (no difference that matters) or ahi < 0
  (SGD ahead); else supports if alo > 0; otherwise cannot decide.
* overall (vision, finetune) — supports if every workload supports, contradicts if any contradicts, else cannot decide.
* svag, for the test metric and for the final training loss — the paper (Fig. 2): the SGD−SGDM gap shrinks as ℓ
  grows. With gₗ = the mean over seeds of dₗ and R = |g₁| − |g_L| (L the largest ℓ), its 95 % bootstrap interval
  over seeds (seeds resampled jointly at ℓ = 1 and L): cannot decide if the ℓ = 1 gap is not established (its
  interval covers 0); else supports if R's interval lies above 0, contradicts if it lies below 0, otherwise cannot
  decide.

The final training loss is the mean per-step training loss over the last ``TAIL`` of the steps (one minibatch's loss
is too noisy to compare; under SVAG the window covers the same time ηk at every ℓ).
"""

import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import ticker
from scipy import stats

from experiments import atomic, figures, statistics, tables
from experiments.reports import common
from experiments.reports.common import equivalence_verdict, difference_line
from experiments.reports.common import (
    CONTRADICTS, SUPPORTS, TAIL, UNDECIDED, advantage_verdict, ci, edge_note, finals, finite, is_finite,
    mean_interval as summary, overall_verdict, paired, tail_train_loss, train_losses, workload_names,
)

PARTS = ("vision", "finetune", "svag")
CONFIDENCE, SEED = common.CONFIDENCE, common.SEED
SMOOTHING = 50  # training-loss curves are running means over 1/SMOOTHING of the run
REGIMES = ("small", "medium", "large")
COLOURS = {"compared": "tab:blue", "baseline": "tab:orange"}
STYLES = {"compared": "o--", "baseline": "s-"}  # dashed over solid: equal curves stay visible

# What the paper claims and reports, as far as ../shared/specs/algorithms.md §2 has it; "tasks" are the paper's own.
PAPER = {
    "vision": {
        "claim": "Training ResNet-50 on ImageNet from scratch, SGD and SGDM (β = 0.9) at matched effective learning "
                 "rate reach the same test accuracy at small and medium batch sizes; momentum helps only at large "
                 "batch, where the best learning rate is large (curvature- rather than noise-dominated regime).",
        "numbers": "Not retrieved: the paper's batch sizes, epochs and accuracies are not in the spec (a recollection "
                   "of batch 1024 vs 8192 is unconfirmed), so no paper number is compared here. The full profile's "
                   "ImageNet batch sizes are the lead's choice.",
        "tasks": ("imagenet-resnet50",),
    },
    "finetune": {
        "claim": "Fine-tuning RoBERTa-large in the few-shot setting (LM-BFF / MeZO) on SST-2, SST-5, SNLI, TREC and "
                 "MNLI, momentum gives little benefit: SGD matches SGDM.",
        "numbers": "Not retrieved: the k-shot size, the SGD lr grid and the accuracies are not in the spec, so no "
                   "paper number is compared here.",
        "tasks": ("sst2-roberta", "sst5-roberta", "snli-roberta", "trec-roberta", "mnli-roberta"),
    },
    "svag": {
        "claim": "CIFAR-10 ResNet-32 with SVAG (Fig. 2): at ℓ = 1 SGDM tests better than SGD, but the trajectories "
                 "(test accuracy, training loss) of SGD and SGDM converge as the SVAG factor ℓ grows.",
        "numbers": "From the figure's caption: batch 512, lr ×0.1 at epochs 80 and 120, SGDM's lr grid-searched with "
                   "best η = 0.2, β = 0.9, the same lr for SGD and SGDM at every ℓ. Not retrieved: the ℓ values, "
                   "the epoch count and the accuracies, so no paper accuracy is compared here.",
        "tasks": ("cifar10-resnet32",),
    },
}


# ----------------------------------------------------------------------------------------------------------------
# Reading arms

def effective_lr(setting: dict, svag: int = 1) -> float:
    """η = lr·ℓ/(1−β) of an optimizer setting: undoes the protocol's SVAG 1/ℓ scale and the (1−β) of SGDM."""
    return setting["lr"] * svag / (1.0 - (setting.get("momentum") or 0.0))


# ----------------------------------------------------------------------------------------------------------------
# Statistics and decision rules

def gap_reduction(first: dict, last: dict) -> dict:
    """R = |mean d₁| − |mean d_L| over the seeds where all four runs are finite (d = compared − baseline, dicts
    seed -> d), with a 95 % bootstrap interval resampling seeds jointly (BCa; percentile where BCa is degenerate)."""
    seeds = sorted(seed for seed in set(first) & set(last) if is_finite(first[seed]) and is_finite(last[seed]))
    one = np.array([first[seed] for seed in seeds])
    many = np.array([last[seed] for seed in seeds])
    if len(seeds) == 0:
        return {"mean": math.nan, "low": math.nan, "high": math.nan, "n": 0}
    mean = float(abs(one.mean()) - abs(many.mean()))
    if len(seeds) == 1:
        return {"mean": mean, "low": math.nan, "high": math.nan, "n": 1}
    if np.all(one == one[0]) and np.all(many == many[0]):
        return {"mean": mean, "low": mean, "high": mean, "n": len(seeds)}

    def reduction(a, b, axis=-1):
        return np.abs(a.mean(axis=axis)) - np.abs(b.mean(axis=axis))

    low = high = math.nan
    for method in ("BCa", "percentile") if len(seeds) >= 3 else ("percentile",):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            interval = stats.bootstrap((one, many), reduction, paired=True, vectorized=True,
                                       confidence_level=CONFIDENCE, method=method,
                                       rng=np.random.default_rng(SEED)).confidence_interval
        low, high = float(interval.low), float(interval.high)
        if math.isfinite(low) and math.isfinite(high):
            break
    return {"mean": mean, "low": low, "high": high, "n": len(seeds)}


def shrink_verdict(gap_one: dict, reduction: dict) -> str:
    """The gap shrinks: cannot decide without an ℓ = 1 gap, supports if R > 0, contradicts if R < 0 (intervals)."""
    if not (gap_one["low"] > 0 or gap_one["high"] < 0):
        return UNDECIDED
    if reduction["low"] > 0:
        return SUPPORTS
    if reduction["high"] < 0:
        return CONTRADICTS
    return UNDECIDED


def steps_to_target(arm: dict, target: float) -> dict:
    """Per seed the first evaluated step reaching ``target``: the median over the seeds that reach it (and in
    gradient evaluations) and how many of them do."""
    runs = arm["evaluation"]["runs"]
    steps = [statistics.steps_to_target(run["curve"]["step"], run["curve"]["value"], target, arm["higher_is_better"])
             for run in runs]
    reached = [step for step in steps if step is not None]
    median = float(np.median(reached)) if reached else math.nan
    return {"steps": median, "gradient_evaluations": median * arm["gradient_evaluations_per_step"],
            "reached": f"{len(reached)}/{len(runs)}"}


# ----------------------------------------------------------------------------------------------------------------
# Shared pieces of the parts

def labels(analysis: dict) -> tuple[str, str]:
    return analysis["compared"], analysis["baseline"]


def metric_name(arms: dict) -> str:
    return next(iter(arms.values()))["metric"]


def method_columns(label: str, arm: dict, eta_arm: dict | None = None) -> dict:
    """The η and edge columns of a method on a workload (``eta_arm``: the arm whose search chose the point)."""
    return {f"η {label}": effective_lr(arm["evaluation"]["setting"], arm.get("svag", 1)),
            f"edge {label}": edge_note(eta_arm or arm)}


def seed_table(arms: dict, names: list[str], methods: tuple[str, str], eta_arms: dict | None = None) -> pd.DataFrame:
    """Every evaluation run's numbers, for re-analysis."""
    rows = []
    for name in names:
        for method in methods:
            arm = arms[name, method]
            columns = method_columns(method, arm, (eta_arms or {}).get(name))
            for run in arm["evaluation"]["runs"]:
                rows.append({"workload": name, "method": method, "seed": run["seed"], "svag": arm.get("svag", 1),
                             "η": columns[f"η {method}"], "edge": columns[f"edge {method}"],
                             arm["metric"]: run["final"], "diverged_step": run["diverged_step"],
                             "final train loss (tail mean)": tail_train_loss(run)})
    return pd.DataFrame(rows)


def scale_text(part: str, arms: dict, names: list[str], methods: tuple[str, str], protocol: dict) -> str:
    """What was run, and whether it is the paper's setting."""
    lines = []
    for name in names:
        arm = arms[name, methods[1]]
        epochs = "" if arm.get("epochs") is None else f", {arm['epochs']:.3g} epochs"
        lines.append(f"- `{name}`: task `{arm['task']}` {arm.get('task_options') or {}}, batch {arm['batch_size']}, "
                     f"{arm['steps']} steps{epochs}, SVAG ℓ = {arm.get('svag', 1)}")
    seeds = protocol["seeds"]
    lines.append(f"- seeds: {len(seeds['tuning'])} tuning, {len(seeds['evaluation'])} evaluation")
    tasks_run = {arms[name, methods[1]]["task"] for name in names}
    if tasks_run <= set(PAPER[part]["tasks"]):
        lines.append("\nThese are the paper's tasks, so this scale can decide the claim (up to budget and seeds; "
                     "the paper's own numbers were not retrieved to check our setting against).")
    else:
        lines.append(f"\nThis is a small proxy, not the paper's setting ({', '.join(PAPER[part]['tasks'])}): it can "
                     "decide whether the claimed mechanism shows on these tasks at this budget, not whether the "
                     "paper's numbers reproduce. The `full` profile is meant to run the paper's tasks.")
    return "\n".join(lines)


def resolution_text(rows: list[dict], margin: float) -> str:
    """Whether the seeds resolve δ: an interval of d wider than the band [−δ, δ] can never show equivalence."""
    widths = [row["difference"]["high"] - row["difference"]["low"] for row in rows]
    widest = max(widths, default=math.nan)
    if not math.isfinite(widest):
        return "\n\nSome interval of the difference is undefined (too few seeds): those comparisons cannot decide."
    if widest > 2 * margin:
        return (f"\n\nThe widest interval of the difference is {widest:.4g}, wider than the band 2δ = {2 * margin:g}: "
                "with these seeds equivalence cannot be shown there, whatever the means; more evaluation seeds "
                "would be needed.")
    return (f"\n\nEvery interval of the difference (widest {widest:.4g}) is narrower than the band 2δ = "
            f"{2 * margin:g}, so these seeds can resolve the margin.")


def verdict_document(part: str, protocol: dict, rule: str, numbers: str, verdicts: str, scale: str) -> str:
    return (f"# On the marginal value of momentum: {part}\n\n"
            f"## What the paper claims\n\n{PAPER[part]['claim']}\n\n"
            f"## Decision rule (fixed in code before any numbers)\n\n{rule}\n\n"
            f"## Our numbers\n\n{numbers}\n\n"
            f"## Verdict\n\n{verdicts}\n\n"
            f"## Scale\n\n{scale}\n\n"
            f"## The paper's numbers\n\n{PAPER[part]['numbers']}\n\n"
            f"Protocol SHA-256: `{protocol.get('protocol_sha256')}`\n")


def sweep_figure(arms: dict, names: list[str], methods: tuple[str, str], titles: dict, stem: Path) -> list[Path]:
    """Test metric against η from the tuning runs, one panel per workload: per method the median over tuning seeds
    (band: their range), × where a seed diverged, ★ at the chosen η."""
    figure, axes = figures.new_figure(ncols=len(names))
    axes = np.atleast_1d(axes)
    for panel, name in zip(axes, names):
        for role, method in zip(("compared", "baseline"), methods):
            arm = arms[name, method]
            colour = COLOURS[role]
            if not arm.get("tuning"):
                point = effective_lr(arm["evaluation"]["setting"], arm.get("svag", 1))
                panel.plot([point], [np.median(finite(finals(arm).values()) or [math.nan])], "*", color=colour,
                           markersize=10, label=f"{method} (single point)")
                continue
            by_eta: dict[float, list] = {}
            for run in arm["tuning"]["runs"]:
                by_eta.setdefault(effective_lr(run["setting"], arm.get("svag", 1)), []).append(run["final"])
            etas = sorted(by_eta)
            complete = [np.array(by_eta[eta], dtype=float) if len(finite(by_eta[eta])) == len(by_eta[eta])
                        else np.full(1, math.nan) for eta in etas]  # a point where a seed diverged has no median
            panel.plot(etas, [np.median(values) for values in complete], STYLES[role], color=colour, label=method,
                       markersize=3, zorder=3 if role == "compared" else 2)
            panel.fill_between(etas, [values.min() for values in complete], [values.max() for values in complete],
                               color=colour, alpha=0.2, linewidth=0)
            chosen = effective_lr(arm["tuning"]["chosen"], arm.get("svag", 1))
            chosen_values = finite(by_eta.get(min(etas, key=lambda eta: abs(eta - chosen)), []))
            panel.plot([chosen], [np.median(chosen_values) if chosen_values else math.nan], "*", color=colour,
                       markersize=11, markeredgecolor="black", markeredgewidth=0.5)
            diverged = [eta for eta in etas if len(finite(by_eta[eta])) < len(by_eta[eta])]
            if diverged:
                panel.plot(diverged, [0.0] * len(diverged), "x", color=colour, transform=panel.get_xaxis_transform(),
                           clip_on=False, markersize=6)
        panel.set_xscale("log")
        panel.xaxis.set_minor_formatter(ticker.NullFormatter())  # factor-2 grids: minor labels would overlap
        panel.set_xlabel("effective lr η")
        panel.set_title(titles[name])
    axes[0].set_ylabel(f"{metric_name(arms)} (tuning seeds)")
    axes[0].legend(title="★ chosen, × diverged", fontsize="small", title_fontsize="small")
    return figures.save(figure, stem)


# ----------------------------------------------------------------------------------------------------------------
# The parts

def comparison_rows(arms: dict, names: list[str], methods: tuple[str, str]) -> list[dict]:
    """Per workload: both methods' means, the paired difference and the steps to the baseline's median final."""
    compared, baseline = methods
    rows = []
    for name in names:
        first, second = arms[name, compared], arms[name, baseline]
        difference = paired(finals(first), finals(second))
        kept = finite(finals(second).values())
        target = float(np.median(kept)) if kept else math.nan
        rows.append({"workload": name, "first": first, "second": second, "difference": difference,
                     "target": target,
                     "steps": {method: steps_to_target(arms[name, method], target) if kept else None
                               for method in methods}})
    return rows


def accuracy_frame(rows: list[dict], methods: tuple[str, str], metric: str, extra: dict) -> pd.DataFrame:
    compared, baseline = methods
    records = []
    for row in rows:
        difference = row["difference"]
        records.append({
            "workload": row["workload"], **extra.get(row["workload"], {}),
            **method_columns(compared, row["first"]), **method_columns(baseline, row["second"]),
            f"{compared} {metric}": ci(summary(finals(row["first"]).values())),
            f"{baseline} {metric}": ci(summary(finals(row["second"]).values())),
            f"{compared}−{baseline}": ci(difference), "p (paired t)": difference["p"], "sign": difference["sign"],
            "seeds": difference["n"], "diverged": difference["diverged"], "verdict": row["verdict"]})
    return pd.DataFrame(records)


def steps_frame(rows: list[dict], methods: tuple[str, str], metric: str) -> pd.DataFrame:
    records = []
    for row in rows:
        record = {"workload": row["workload"], f"target {metric}": row["target"]}
        for method, arm in zip(methods, (row["first"], row["second"])):
            reached = row["steps"][method] or {"steps": math.nan, "gradient_evaluations": math.nan, "reached": "0/0"}
            record.update({**method_columns(method, arm), f"{method} steps": reached["steps"],
                           f"{method} gradient evaluations": reached["gradient_evaluations"],
                           f"{method} reached": reached["reached"]})
        records.append(record)
    return pd.DataFrame(records)


def decide_vision(protocol: dict, arms: dict) -> tuple[list[dict], str]:
    """Per batch size the comparison and its verdict (equivalence at small and medium batch, SGDM's advantage at
    large batch), and the overall verdict."""
    analysis = protocol["analysis"]
    methods = labels(analysis)
    margin = float(analysis["equivalence_margin"])
    names = workload_names(protocol, arms, methods)
    rows = comparison_rows(arms, names, methods)
    for row in rows:
        row["regime"] = regime = analysis["workloads"][row["workload"]]["regime"]
        if regime not in REGIMES:
            raise ValueError(f"analysis.workloads.{row['workload']}.regime={regime!r}; allowed: {', '.join(REGIMES)}")
        difference = row["difference"]
        if regime == "large":
            flip = -1 if row["second"]["higher_is_better"] else 1
            low, high = sorted((flip * difference["low"], flip * difference["high"]))
            row["verdict"] = advantage_verdict(low, high, margin)
        else:
            row["verdict"] = equivalence_verdict(difference["low"], difference["high"], margin)
    return rows, overall_verdict([row["verdict"] for row in rows])


def comparison_summary(rows: list[dict], overall: str) -> tuple[dict[str, str], str, dict[str, float]]:
    """verdict.json of vision and finetune: a claim per workload (its verdict), the overall verdict, and per workload
    the paired difference d = compared − baseline the Verdict section quotes (``difference.<workload>``)."""
    claims, numbers = {}, {}
    for row in rows:
        claims[common.json_name(row["workload"])] = row["verdict"]
        numbers.update(common.interval_numbers(common.json_name("difference", row["workload"]), row["difference"]))
    return claims, overall, numbers


def vision_report(protocol: dict, arms: dict, out: Path) -> list[Path]:
    analysis = protocol["analysis"]
    methods = labels(analysis)
    margin = float(analysis["equivalence_margin"])
    names = workload_names(protocol, arms, methods)
    metric = metric_name(arms)
    rows, overall = decide_vision(protocol, arms)
    regimes = {row["workload"]: row["regime"] for row in rows}
    extra = {name: {"regime": regimes[name], "batch size": arms[name, methods[1]]["batch_size"],
                    "epochs": arms[name, methods[1]].get("epochs")} for name in names}
    sha = protocol.get("protocol_sha256")
    accuracy = accuracy_frame(rows, methods, metric, extra)
    written = tables.write_table(accuracy, out / "tables" / "vision_accuracy", protocol_sha256=sha, caption=(
        f"Final test {metric} over evaluation seeds (mean [95 % bootstrap CI]) of {methods[0]} and {methods[1]} at "
        f"their own tuned effective lr η = lr/(1−β), per batch size; the paired difference by seed, its paired "
        f"t-test p and sign; the verdict under margin δ = {margin:g}. An edge note: the chosen η is on the grid's "
        "edge."))
    steps = steps_frame(rows, methods, metric)
    steps_caption = (f"Steps and gradient evaluations to the target (the {methods[1]} median final {metric} over "
                     "evaluation seeds): the median over the seeds that reach it, and how many do.")
    written += tables.write_table(steps, out / "tables" / "vision_steps_to_target", protocol_sha256=sha,
                                  caption=steps_caption)
    written += tables.write_table(seed_table(arms, names, methods), out / "tables" / "vision_seeds",
                                  protocol_sha256=sha, caption="Every evaluation run.")
    titles = {name: f"batch {arms[name, methods[1]]['batch_size']} ({regimes[name]})" for name in names}
    written += sweep_figure(arms, names, methods, titles, out / "figures" / "vision_sweep")
    rule = (f"δ = {margin:g} ({metric}); d = {methods[0]} − {methods[1]} per evaluation seed, [lo, hi] its 95 % "
            "bootstrap interval.\n\n"
            "- small and medium batch (SGD ≈ SGDM): supports if −δ ≤ lo and hi ≤ δ; contradicts if lo > δ or "
            "hi < −δ; otherwise cannot decide.\n"
            f"- large batch (SGDM ahead; a = {methods[1]}'s advantage, interval [alo, ahi]): contradicts if "
            "−δ ≤ alo and ahi ≤ δ, or ahi < 0; else supports if alo > 0; otherwise cannot decide.\n"
            "- overall: supports if every batch size supports, contradicts if any contradicts, else cannot decide.")
    verdicts = "\n".join(
        f"- `{row['workload']}` ({regimes[row['workload']]} batch, η {methods[0]} = "
        f"{effective_lr(row['first']['evaluation']['setting']):.4g}, η {methods[1]} = "
        f"{effective_lr(row['second']['evaluation']['setting']):.4g}): {difference_line(row, methods, metric)}: "
        f"**{row['verdict']}**" for row in rows)
    verdicts += f"\n\n**Overall: {overall}.**"
    scale = scale_text("vision", arms, names, methods, protocol)
    scale += resolution_text(rows, margin)
    written.append(atomic.write_text(out / "verdict.md", verdict_document(
        "vision", protocol, rule, accuracy_markdown(accuracy, metric) + "\n" + tables.markdown(
            steps, caption=steps_caption), verdicts, scale)))
    written.append(common.write_verdicts(out, common.experiment_name(arms), *comparison_summary(rows, overall)))
    return written


def accuracy_markdown(frame: pd.DataFrame, metric: str) -> str:
    return tables.markdown(frame, caption=f"Final test {metric}, mean [95 % bootstrap CI] over evaluation seeds.")


def decide_finetune(protocol: dict, arms: dict) -> tuple[list[dict], str]:
    """Per task the comparison and its equivalence verdict, and the overall verdict."""
    analysis = protocol["analysis"]
    methods = labels(analysis)
    margin = float(analysis["equivalence_margin"])
    rows = comparison_rows(arms, workload_names(protocol, arms, methods), methods)
    for row in rows:
        row["verdict"] = equivalence_verdict(row["difference"]["low"], row["difference"]["high"], margin)
    return rows, overall_verdict([row["verdict"] for row in rows])


def finetune_report(protocol: dict, arms: dict, out: Path) -> list[Path]:
    analysis = protocol["analysis"]
    methods = labels(analysis)
    margin = float(analysis["equivalence_margin"])
    names = workload_names(protocol, arms, methods)
    metric = metric_name(arms)
    rows, overall = decide_finetune(protocol, arms)
    extra = {name: {"task": arms[name, methods[1]]["task"]} for name in names}
    sha = protocol.get("protocol_sha256")
    accuracy = accuracy_frame(rows, methods, metric, extra)
    written = tables.write_table(accuracy, out / "tables" / "finetune_accuracy", protocol_sha256=sha, caption=(
        f"Final test {metric} over evaluation seeds (mean [95 % bootstrap CI]) of {methods[0]} and {methods[1]} at "
        f"their own tuned effective lr η, per task; the paired difference by seed, its t-test p and sign; the "
        f"verdict under margin δ = {margin:g}. Overall: {overall}."))
    written += tables.write_table(seed_table(arms, names, methods), out / "tables" / "finetune_seeds",
                                  protocol_sha256=sha, caption="Every evaluation run.")
    written += sweep_figure(arms, names, methods, {name: name for name in names}, out / "figures" / "finetune_sweep")
    rule = (f"δ = {margin:g} ({metric}); d = {methods[0]} − {methods[1]} per evaluation seed, [lo, hi] its 95 % "
            "bootstrap interval. Per task (little benefit from momentum, i.e. SGD ≈ SGDM): supports if −δ ≤ lo "
            "and hi ≤ δ; contradicts if lo > δ or hi < −δ; otherwise cannot decide. Overall: supports if every "
            "task supports, contradicts if any contradicts, else cannot decide.")
    verdicts = "\n".join(f"- `{row['workload']}`: {difference_line(row, methods, metric)}: **{row['verdict']}**"
                         for row in rows)
    verdicts += f"\n\n**Overall: {overall}.**"
    scale = scale_text("finetune", arms, names, methods, protocol)
    scale += resolution_text(rows, margin)
    written.append(atomic.write_text(out / "verdict.md", verdict_document(
        "finetune", protocol, rule, accuracy_markdown(accuracy, metric), verdicts, scale)))
    written.append(common.write_verdicts(out, common.experiment_name(arms), *comparison_summary(rows, overall)))
    return written


def decide_svag(protocol: dict, arms: dict) -> dict:
    """Per quantity (the test metric, the final training loss) and ℓ: both methods' means, the paired gap and its
    values by seed; per quantity the gap reduction from the smallest to the largest ℓ and its verdict."""
    analysis = protocol["analysis"]
    compared, baseline = labels(analysis)
    names = sorted(workload_names(protocol, arms, (compared, baseline)), key=lambda name: arms[name, baseline]["svag"])
    tuned = arms[analysis["tuned_workload"], baseline]
    if not tuned.get("tuning"):
        raise ValueError(f"analysis.tuned_workload={analysis['tuned_workload']!r}: its {baseline} arm has no tuning")
    ells = [arms[name, baseline]["svag"] for name in names]
    quantities = {metric_name(arms): finals, "train loss": train_losses}
    gaps = {quantity: {} for quantity in quantities}
    for name, ell in zip(names, ells):
        for quantity, values in quantities.items():
            first, second = values(arms[name, compared]), values(arms[name, baseline])
            gaps[quantity][ell] = {"difference": paired(first, second),
                                   "by_seed": {seed: first[seed] - second[seed] for seed in first
                                               if is_finite(first[seed]) and is_finite(second.get(seed))},
                                   "compared": summary(first.values()), "baseline": summary(second.values())}
    decisions = {}
    for quantity in quantities:
        reduction = gap_reduction(gaps[quantity][ells[0]]["by_seed"], gaps[quantity][ells[-1]]["by_seed"])
        decisions[quantity] = {"reduction": reduction,
                               "verdict": shrink_verdict(gaps[quantity][ells[0]]["difference"], reduction)}
    return {"names": names, "ells": ells, "tuned": tuned, "gaps": gaps, "decisions": decisions}


def svag_summary(decided: dict) -> tuple[dict[str, str], str, dict[str, float]]:
    """verdict.json of svag: a claim per quantity (``test-accuracy``, ``train-loss``: its verdict), the overall
    verdict, and per quantity the numbers the Verdict section quotes: the gap at the smallest and the largest ℓ
    (``gap.<quantity>.ell-<ℓ>``, compared − baseline) and its reduction (``gap-reduction.<quantity>``). verdict.md
    states no overall verdict; the overall here combines the quantities by the rule vision and finetune combine
    their workloads by."""
    ells, gaps = decided["ells"], decided["gaps"]
    claims, numbers = {}, {}
    for quantity, decision in decided["decisions"].items():
        claims[common.json_name(quantity)] = decision["verdict"]
        for ell in dict.fromkeys((ells[0], ells[-1])):
            numbers.update(common.interval_numbers(common.json_name("gap", quantity, f"ell-{ell}"),
                                                   gaps[quantity][ell]["difference"]))
        numbers.update(common.interval_numbers(common.json_name("gap-reduction", quantity), decision["reduction"]))
    return claims, overall_verdict(list(claims.values())), numbers


def svag_report(protocol: dict, arms: dict, out: Path) -> list[Path]:
    methods = labels(protocol["analysis"])
    compared, baseline = methods
    decided = decide_svag(protocol, arms)
    names, ells, tuned, gaps = decided["names"], decided["ells"], decided["tuned"], decided["gaps"]
    metric = metric_name(arms)
    records = []
    for name, ell in zip(names, ells):
        record = {"ℓ": ell, "workload": name, "steps": arms[name, baseline]["steps"],
                  **method_columns(compared, arms[name, compared], tuned),
                  **method_columns(baseline, arms[name, baseline], tuned)}
        for quantity in gaps:
            gap = gaps[quantity][ell]
            record.update({f"{compared} {quantity}": ci(gap["compared"]), f"{baseline} {quantity}": ci(gap["baseline"]),
                           f"gap {quantity} ({compared}−{baseline})": ci(gap["difference"]),
                           f"p {quantity}": gap["difference"]["p"],
                           f"diverged {quantity}": gap["difference"]["diverged"]})
        records.append(record)
    sha = protocol.get("protocol_sha256")
    frame = pd.DataFrame(records)
    written = tables.write_table(frame, out / "tables" / "svag_by_ell", protocol_sha256=sha, caption=(
        f"SVAG factor ℓ: final test {metric} and final training loss (mean over the last {TAIL:.0%} of steps) over "
        f"evaluation seeds, mean [95 % bootstrap CI], of {compared} and {baseline} at the η chosen for {baseline} "
        f"at ℓ = {ells[0]} (lr/ℓ, ℓ× steps), and the paired gap {compared}−{baseline} with its t-test p."))
    first_ell, last_ell = ells[0], ells[-1]
    shrink_rows, verdict_lines = [], []
    for quantity, decision in decided["decisions"].items():
        gap_one, gap_last = gaps[quantity][first_ell]["difference"], gaps[quantity][last_ell]["difference"]
        reduction, verdict = decision["reduction"], decision["verdict"]
        shrink_rows.append({"quantity": quantity, f"gap ℓ={first_ell}": ci(gap_one), f"gap ℓ={last_ell}": ci(gap_last),
                            f"|gap ℓ={first_ell}| − |gap ℓ={last_ell}|": ci(reduction), "seeds": reduction["n"],
                            **method_columns(baseline, tuned), "verdict": verdict})
        verdict_lines.append(f"- {quantity}: gap ({compared}−{baseline}) at ℓ = {first_ell} {ci(gap_one)}, at ℓ = "
                             f"{last_ell} {ci(gap_last)}; reduction |g{first_ell}| − |g{last_ell}| = {ci(reduction)} "
                             f"(n = {reduction['n']}): **{verdict}**")
    shrink = pd.DataFrame(shrink_rows)
    written += tables.write_table(shrink, out / "tables" / "svag_gap_shrinkage", protocol_sha256=sha, caption=(
        f"Does the {compared}−{baseline} gap shrink from ℓ = {first_ell} to ℓ = {last_ell}? The reduction "
        f"|g{first_ell}| − |g{last_ell}| of the mean gap's magnitude with a 95 % bootstrap CI over seeds, and the "
        "verdict."))
    written += tables.write_table(seed_table(arms, names, methods, {name: tuned for name in names}),
                                  out / "tables" / "svag_seeds", protocol_sha256=sha, caption="Every evaluation run.")
    written += svag_figure(gaps, ells, methods, metric, out / "figures" / "svag_by_ell")
    written += loss_curve_figure(arms, names, ells, methods, out / "figures" / "svag_train_loss_curves")
    rule = (f"Per seed dₗ = {compared} − {baseline} at SVAG factor ℓ, gₗ its mean over seeds, L = the largest ℓ "
            f"(here {last_ell}), R = |g{first_ell}| − |gL| with a 95 % bootstrap interval over seeds (resampled "
            f"jointly at ℓ = {first_ell} and L). For the test {metric} and for the final training loss separately: "
            f"cannot decide if the interval of the ℓ = {first_ell} gap covers 0 (no gap to shrink); else supports if "
            "R's interval lies above 0, contradicts if it lies below 0 (the gap grows), otherwise cannot decide.")
    edge = edge_note(tuned)
    verdicts = (f"η = {effective_lr(tuned['tuning']['chosen'], tuned.get('svag', 1)):.4g} chosen for {baseline} at "
                f"ℓ = {first_ell}{' (' + edge + ': the optimum may lie outside the grid)' if edge else ''}, used by "
                "every arm.\n\n" + "\n".join(verdict_lines))
    scale = scale_text("svag", arms, names, methods, protocol)
    numbers = (tables.markdown(frame, caption="Per ℓ, mean [95 % bootstrap CI] over evaluation seeds.") + "\n"
               + tables.markdown(shrink, caption="Gap shrinkage."))
    written.append(atomic.write_text(out / "verdict.md", verdict_document("svag", protocol, rule, numbers, verdicts,
                                                                          scale)))
    written.append(common.write_verdicts(out, common.experiment_name(arms), *svag_summary(decided)))
    return written


def svag_figure(gaps: dict, ells: list[int], methods: tuple[str, str], metric: str, stem: Path) -> list[Path]:
    """Top: each quantity against ℓ for both methods; bottom: the gap against ℓ; 95 % intervals as error bars."""
    figure, axes = figures.new_figure(ncols=2, nrows=2)
    for column, quantity in enumerate(gaps):
        for role, method in zip(("compared", "baseline"), methods):
            means = np.array([gaps[quantity][ell][role] for ell in ells])
            axes[0, column].errorbar(ells, means[:, 0], yerr=np.abs(means[:, 1:].T - means[:, 0]), fmt=STYLES[role],
                                     color=COLOURS[role], label=method, capsize=3, markersize=4)
        difference = np.array([[gaps[quantity][ell]["difference"][key] for key in ("mean", "low", "high")]
                               for ell in ells])
        axes[1, column].errorbar(ells, difference[:, 0], yerr=np.abs(difference[:, 1:].T - difference[:, 0]),
                                 fmt="o-", color="black", capsize=3, markersize=4)
        axes[1, column].axhline(0.0, color="grey", linewidth=0.8)
        axes[0, column].set_ylabel(f"test {metric}" if quantity == metric else "final train loss")
        axes[1, column].set_ylabel(f"gap {methods[0]}−{methods[1]}")
        for row in range(2):
            axes[row, column].set_xscale("log", base=2)
            axes[row, column].set_xticks(ells, [str(ell) for ell in ells])
            axes[row, column].minorticks_off()
        axes[1, column].set_xlabel("SVAG factor ℓ")
    axes[0, 0].legend(fontsize="small")
    return figures.save(figure, stem)


def loss_curve_figure(arms: dict, names: list[str], ells: list[int], methods: tuple[str, str],
                      stem: Path) -> list[Path]:
    """Training loss (running mean) against time = step/ℓ at the smallest and the largest ℓ: the median over
    evaluation seeds, band = their range."""
    shown = [(name, ell) for name, ell in zip(names, ells) if ell in (ells[0], ells[-1])]
    figure, axes = figures.new_figure(ncols=len(shown))
    axes = np.atleast_1d(axes)
    for panel, (name, ell) in zip(axes, shown):
        for role, method in zip(("compared", "baseline"), methods):
            curves = [run["train_loss"] for run in arms[name, method]["evaluation"]["runs"] if run["train_loss"]]
            length = min(len(curve) for curve in curves)
            window = max(1, length // SMOOTHING)
            smoothed = np.array([statistics.running_mean(curve[:length], window) for curve in curves])
            time = np.arange(1, length + 1) / ell
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # an all-NaN column (every seed diverged there) stays NaN
                panel.plot(time, np.nanmedian(smoothed, axis=0), STYLES[role][1:], color=COLOURS[role], label=method,
                           linewidth=1)
                panel.fill_between(time, np.nanmin(smoothed, axis=0), np.nanmax(smoothed, axis=0),
                                   color=COLOURS[role], alpha=0.2, linewidth=0)
        panel.set_title(f"ℓ = {ell}")
        panel.set_xlabel("time = step / ℓ")
        panel.set_yscale("log")
        panel.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        panel.yaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
        panel.yaxis.set_minor_formatter(ticker.NullFormatter())
    axes[0].set_ylabel("train loss (running mean)")
    axes[0].legend(fontsize="small")
    for panel in axes[1:]:
        panel.sharey(axes[0])
    return figures.save(figure, stem)


REPORTS = {"vision": vision_report, "finetune": finetune_report, "svag": svag_report}


def main(argv: list[str] | None = None) -> int:
    return common.main("experiments.reports.marginal_momentum",
                       "Tables, figures and verdict.md of the marginal value of momentum (Wang et al. 2024), from its "
                       "arms' results.", lambda protocol, arms, out, arguments: REPORTS[arguments.part](
                           protocol, arms, out), argv,
                       extra=lambda parser: parser.add_argument("part", choices=PARTS, help="which experiment"))


if __name__ == "__main__":
    sys.exit(main())
