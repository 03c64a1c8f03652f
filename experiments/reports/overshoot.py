"""The Overshoot experiment's report (Kopal et al. 2025, arXiv 2501.09556): the paper's "steps saved", its Table 1
form, figures and verdict.md, from the arm result JSONs.

    python -m experiments.reports.overshoot --protocol results/overshoot/protocol.json \\
        --arms results/overshoot/arms/*/*.json --out results/overshoot

Writes into ``--out``: ``tables/steps_saved`` (per workload) and ``tables/steps_saved_average`` (per protocol, beside
the paper's numbers), ``tables/table1`` (one row per workload × method, raw numbers) and ``tables/table1_layout``
(the paper's layout: workloads × methods), each as .csv, .md and .tex; ``figures/loss_<workload>`` and
``figures/steps_saved`` (.pdf and .png); ``verdict.md`` and ``verdict.json`` (``verdict_summary``).

The protocol's ``analysis`` block (config/config.yaml) holds::

    families:                 family -> {reference, baselines, overshoot}: method labels (the arms' "method")
      sgd:  {reference: cm,    baselines: [cm, nag],       overshoot: [sgdo-3, sgdo-5, sgdo-7]}
      adam: {reference: adamw, baselines: [adamw, nadam],  overshoot: [adamo-3, adamo-5, adamo-7]}
    threshold: 0.95                  fraction of the baseline's total loss reduction that defines "reached"
    smoothing_window: 400            the paper's running mean, in steps of the paper's (full-length) run
    claimed_saving_percent: 15       the abstract's "at least 15 % fewer steps"
    paper_steps_saved_percent: {sgdo-3: 23.8, ...}   the paper's task-averaged savings vs the reference
    workloads: {<name>: {paper_task: 2c2d-FM, paper_steps: 46850, protocol: paper | tuned}}

``protocol: paper`` marks a workload run at the paper's fixed settings (the primary evidence), ``tuned`` one whose
lr is tuned per method (the robustness check). Every workload with arms must be listed.

**Steps saved** (spec 1(c), the notebook ``paper_scripts/convergance_speed.ipynb``). Per workload and per pair
(overshoot method m, baseline b of its family), over the evaluation seeds s = 1..n (paired across methods):

* Lₘ(t) = (1/n) Σₛ ℓₘ,ₛ(t), the seed-mean training loss at steps t = 1..T (the arm's evaluation runs'
  ``train_loss``), smoothed by the trailing running mean of window w = max(1, round(W · T / T_paper)) (the
  paper's W = 400-step mean scaled to our run length; the window is clipped at the start);
* the threshold τ = L̃_b(1) − θ · (L̃_b(1) − L̃_b(T)) of the *baseline's* smoothed curve L̃_b (θ = 0.95);
* steps_x = the first t with L̃_x(t) ≤ τ (x = b, m); saved % = 100 · (steps_b − steps_m) / steps_b.

A method whose curve never reaches τ gets steps_m = T and is flagged "not reached": its true steps exceed T, so
the reported saving (≤ 0) is an upper bound on the true one, and it can never count as support for the claim. A
method with a diverged evaluation run (a null in ``train_loss``, a short curve or a ``diverged_step``) is marked
diverged on that workload and left out of the task averages, which say so; so is a pair whose baseline did not
reduce its smoothed loss at all (L̃_b(T) ≥ L̃_b(1), so τ is met at step 1 and there is nothing to save). The 95 %
interval resamples the seed indices with replacement (the same draw for every method of the workload: the seeds
are paired), recomputes both mean curves, τ and the saving, ``RESAMPLES`` times, and takes the percentile
interval; one evaluation seed gives no interval. The task average (per protocol) is the mean of the per-workload
savings; its interval is the percentile interval of the averaged replicates (each workload resampled
independently, from a generator seeded by the workload's name).

**Table 1 form** (spec 1(c)): per workload × method the best-over-evaluations test metric (the runs' ``best``),
mean ± 95 % Student-t interval over evaluation seeds; each overshoot method against the better (by mean) of its
family's baselines, by a paired t-test (scipy ``ttest_rel``, pairing by seed, α = 0.05; no test where the paired
differences are all equal). A method with a diverged evaluation seed gets neither interval nor test, and is marked
so. The paper's Table 1 numbers were not retrieved (spec 1(c)), so none are shown.

The training loss is the base model's, as in the paper's notebook: for SGDO and AdamO, whose gradient is taken at
the overshoot weights θ′, the harness also logs the minibatch loss at the base weights θ (``train_loss`` of the arm
results).
"""

import math
import sys
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn
from scipy import stats

from experiments import atomic, figures, statistics, tables
from experiments.reports import common

RESAMPLES = 2000
CONFIDENCE = 0.95
ALPHA = 0.05  # the paired t-test of Table 1
PAPER_TASKS = 7   # spec 1(c): the paper's Table 1 / steps-saved tasks
PAPER_SEEDS = 10  # spec 1(c): seeds 10, 20, ..., 100
PROTOCOLS = ("paper", "tuned")

# Fixed before any number is computed; verdict() applies exactly this.
DECISION_RULE = (
    "For each overshoot variant v (SGDO γ = 3/5/7, AdamO γ = 3/5/7) take its task-averaged steps saved against "
    "its family's reference baseline (CM for SGDO, AdamW for AdamO) over the paper-protocol workloads, with the "
    "95 % bootstrap interval [low, high] (which needs at least two evaluation seeds). **Supported** if every "
    "variant has low ≥ {claimed:g} % and no paper-protocol workload left out (diverged or missing). "
    "**Contradicted** if some variant has high < {claimed:g} % (that variant demonstrably saves fewer steps than "
    "claimed). **Cannot decide** otherwise. The tuned-lr workloads are judged by the same rule as a robustness "
    "check; they never change the verdict."
)

OK, NOT_REACHED, DIVERGED, BASELINE_DIVERGED = "ok", "not reached", "diverged", "baseline diverged"
NO_REDUCTION = "baseline loss not reduced"  # L̃_b(T) ≥ L̃_b(1): τ ≥ L̃_b(1), no step count to save on


# ---------------------------------------------------------------------------------------------------- inputs

def training_losses(arm: dict) -> tuple[list[int], np.ndarray, list[int]]:
    """(seeds, losses, diverged seeds): the evaluation runs' per-step training losses as an n × T array (rows in
    seed order; NaN where a run diverged) and the seeds whose run diverged."""
    runs = sorted(arm["evaluation"]["runs"], key=lambda run: run["seed"])
    steps = int(arm["steps"])
    losses = np.full((len(runs), steps), np.nan)
    diverged = []
    for row, run in enumerate(runs):
        values = np.array([np.nan if value is None else value for value in run["train_loss"]], dtype=np.float64)
        if (run.get("diverged_step") is not None or values.size != steps or not np.all(np.isfinite(values))):
            diverged.append(run["seed"])
        losses[row, :min(values.size, steps)] = values[:steps]
    return [run["seed"] for run in runs], losses, diverged


def smoothing_window(window: int, steps: int, paper_steps: int) -> int:
    """w = max(1, round(W · T / T_paper)): the paper's running-mean window scaled to our run length."""
    return max(1, round(window * steps / paper_steps))


def resampling_weights(seeds: int, resamples: int, name: str) -> np.ndarray:
    """A resamples × seeds matrix: row r holds c_rs / n, where c_rs counts seed s in the r-th bootstrap draw of n
    seed indices with replacement; W @ curves is then the resampled seed mean. Seeded by ``name`` (CRC-32)."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    draws = rng.integers(0, seeds, size=(resamples, seeds))
    return (draws[:, :, None] == np.arange(seeds)).sum(axis=1) / seeds


# ------------------------------------------------------------------------------------------------- the metric

def first_below(curves: np.ndarray, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(steps, reached): per row, the first step t (1-based) with curve(t) ≤ threshold, T where none is."""
    below = curves <= thresholds[:, None]
    reached = below.any(axis=1)
    return np.where(reached, below.argmax(axis=1) + 1, curves.shape[1]), reached


def steps_saved(baseline: np.ndarray, method: np.ndarray, threshold: float) -> dict:
    """The saving of ``method`` against ``baseline``, both R × T arrays of smoothed seed-mean curves (one row per
    resample). τ = L̃_b(1) − θ (L̃_b(1) − L̃_b(T)) per row; returns per-row ``saved`` (%), ``baseline_steps``,
    ``method_steps``, ``reached`` and the ``threshold`` τ."""
    tau = baseline[:, 0] - threshold * (baseline[:, 0] - baseline[:, -1])
    baseline_steps, _ = first_below(baseline, tau)
    method_steps, reached = first_below(method, tau)
    return {"saved": 100.0 * (baseline_steps - method_steps) / baseline_steps, "baseline_steps": baseline_steps,
            "method_steps": method_steps, "reached": reached, "threshold": tau}


def percentile_interval(replicates: np.ndarray) -> tuple[float, float]:
    low, high = np.percentile(replicates, [50 * (1 - CONFIDENCE), 50 * (1 + CONFIDENCE)])
    return float(low), float(high)


def workload_savings(workload: str, arms: dict, analysis: dict) -> tuple[list[dict], dict]:
    """Every (overshoot method, baseline) saving on one workload, and the smoothed per-seed curves by method
    (for the figures). Each saving carries its bootstrap replicates (``replicates``) for the task averages."""
    setting = analysis["workloads"][workload]
    losses, diverged, seeds, steps, epochs = {}, {}, None, None, None
    for family in analysis["families"].values():
        for method in family["baselines"] + family["overshoot"]:
            if (workload, method) not in arms:
                continue
            arm = arms[(workload, method)]
            method_seeds, losses[method], diverged[method] = training_losses(arm)
            if seeds is not None and (method_seeds != seeds or arm["steps"] != steps):
                raise ValueError(f"{workload}/{method}: seeds {method_seeds} and {arm['steps']} steps differ from "
                                 f"the workload's other methods ({seeds}, {steps} steps): they must be paired")
            seeds, steps, epochs = method_seeds, arm["steps"], arm.get("epochs")
    if seeds is None:
        return [], {}
    window = smoothing_window(analysis["smoothing_window"], steps, setting["paper_steps"])
    smoothed = {method: np.stack([statistics.running_mean(row, window) for row in curves])
                for method, curves in losses.items()}
    weights = resampling_weights(len(seeds), RESAMPLES, workload)
    mean = np.full((1, len(seeds)), 1.0 / len(seeds))
    rows = []
    for family_name, family in analysis["families"].items():
        for method in family["overshoot"]:
            for baseline in family["baselines"]:
                if method not in smoothed or baseline not in smoothed:
                    continue
                row = {"workload": workload, "paper_task": setting["paper_task"], "protocol": setting["protocol"],
                       "family": family_name, "method": method, "baseline": baseline,
                       "reference": baseline == family["reference"], "steps": steps, "epochs": epochs,
                       "seeds": len(seeds), "window": window, "replicates": None}
                if diverged[baseline] or diverged[method]:
                    status = BASELINE_DIVERGED if diverged[baseline] else DIVERGED
                    which = baseline if diverged[baseline] else method
                    seeds_text = ", ".join(map(str, diverged[which]))
                    rows.append({**row, "status": f"{status}: {which}, seed(s) {seeds_text}", "baseline_steps": None,
                                 "method_steps": None, "saved_percent": math.nan, "low": math.nan,
                                 "high": math.nan, "threshold": math.nan})
                    continue
                point = steps_saved(mean @ smoothed[baseline], mean @ smoothed[method], analysis["threshold"])
                if point["baseline_steps"][0] == 1:
                    rows.append({**row, "status": NO_REDUCTION, "baseline_steps": 1, "method_steps": None,
                                 "saved_percent": math.nan, "low": math.nan, "high": math.nan,
                                 "threshold": float(point["threshold"][0])})
                    continue
                replicates = steps_saved(weights @ smoothed[baseline], weights @ smoothed[method],
                                         analysis["threshold"])["saved"]
                if len(seeds) < 2:  # one seed says nothing about spread: no interval, here or in the averages
                    replicates = np.full(RESAMPLES, np.nan)
                low, high = percentile_interval(replicates)
                rows.append({**row, "status": OK if point["reached"][0] else NOT_REACHED,
                             "baseline_steps": int(point["baseline_steps"][0]),
                             "method_steps": int(point["method_steps"][0]), "saved_percent": float(point["saved"][0]),
                             "low": low, "high": high, "threshold": float(point["threshold"][0]),
                             "replicates": replicates})
    return rows, smoothed


def task_averages(rows: list[dict], analysis: dict) -> list[dict]:
    """Per protocol and (method, baseline): the mean over workloads of the savings, with the interval of the
    averaged replicates, the workloads left out and the paper's number (against the reference baseline)."""
    averages = []
    for protocol in PROTOCOLS:
        listed = [name for name, setting in analysis["workloads"].items() if setting["protocol"] == protocol]
        pairs = dict.fromkeys((row["family"], row["method"], row["baseline"], row["reference"]) for row in rows
                              if row["protocol"] == protocol)
        for family, method, baseline, reference in pairs:
            mine = {row["workload"]: row for row in rows
                    if (row["protocol"], row["method"], row["baseline"]) == (protocol, method, baseline)}
            used = [mine[name] for name in listed if name in mine and mine[name]["replicates"] is not None]
            left_out = [f"{name} ({mine[name]['status'] if name in mine else 'no arms'})" for name in listed
                        if name not in mine or mine[name]["replicates"] is None]
            average = {"protocol": protocol, "family": family, "method": method, "baseline": baseline,
                       "reference": reference, "tasks": len(used), "left_out": "; ".join(left_out),
                       "not_reached": sum(row["status"] == NOT_REACHED for row in used),
                       "paper_percent": analysis["paper_steps_saved_percent"].get(method) if reference else None,
                       "scale": scale(used, analysis) if used else "",
                       "saved_percent": math.nan, "low": math.nan, "high": math.nan}
            if used:
                replicates = np.mean([row["replicates"] for row in used], axis=0)
                low, high = percentile_interval(replicates)
                average.update(saved_percent=float(np.mean([row["saved_percent"] for row in used])), low=low,
                               high=high)
            averages.append(average)
    return averages


def scale(rows: list[dict], analysis: dict) -> str:
    """The difference in scale between our runs and the paper's, in words."""

    def span(values, form="{}"):
        values = list(values)
        low, high = (form.format(value) for value in (min(values), max(values)))
        return low if low == high else f"{low}–{high}"

    epochs = [row["epochs"] for row in rows if row["epochs"] is not None]
    paper = [analysis["workloads"][row["workload"]]["paper_steps"] for row in rows]
    return (f"ours: {tasks(len(rows))}, {span(row['steps'] for row in rows)} steps"
            + (f" ({span(epochs, '{:.3g}')} epochs)" if epochs else "")
            + f", {span(row['seeds'] for row in rows)} seeds; paper: {PAPER_TASKS} tasks, {PAPER_SEEDS} seeds, "
              f"full budgets ({span(paper)} steps on these tasks)")


def tasks(count: int) -> str:
    return f"{count} task" + ("" if count == 1 else "s")


# ------------------------------------------------------------------------------------------------ Table 1 form

def table1_rows(arms: dict, analysis: dict) -> list[dict]:
    """Per workload × method: the best-over-evaluations metric, mean and t-interval over seeds; overshoot methods
    with the paired t-test against the better of their family's baselines."""
    rows = []
    for workload, setting in analysis["workloads"].items():
        for family_name, family in analysis["families"].items():
            results = {}
            for method in family["baselines"] + family["overshoot"]:
                if (workload, method) not in arms:
                    continue
                arm = arms[(workload, method)]
                runs = sorted(arm["evaluation"]["runs"], key=lambda run: run["seed"])
                diverged = [run["seed"] for run in runs if run["best"] is None or run.get("diverged_step") is not None]
                best = {run["seed"]: run["best"] for run in runs}
                tuning = arm.get("tuning") or {}
                row = {"workload": workload, "paper_task": setting["paper_task"], "protocol": setting["protocol"],
                       "metric": arm["metric"], "higher_is_better": arm["higher_is_better"], "family": family_name,
                       "method": method, "lr": arm["evaluation"]["setting"].get("lr"),
                       "edge": ", ".join(tuning.get("edge") or []), "seeds": len(runs),
                       "diverged_seeds": len(diverged), "mean": math.nan, "low": math.nan, "high": math.nan,
                       "compared_with": "", "difference": math.nan, "p": math.nan, "significance": "",
                       "paper": "not retrieved"}
                if not diverged:
                    row["mean"], row["low"], row["high"] = statistics.t_interval(list(best.values()))
                results[method] = (row, best, diverged)
                rows.append(row)
            complete = [method for method in family["baselines"] if method in results and not results[method][2]]
            if not complete:
                continue
            sign = 1 if results[complete[0]][0]["higher_is_better"] else -1
            better = max(complete, key=lambda method: sign * results[method][0]["mean"])
            for method in family["overshoot"]:
                if method not in results:
                    continue
                row, best, diverged = results[method]
                row["compared_with"] = better
                if diverged:
                    row["significance"] = "diverged"
                    continue
                reference = results[better][1]
                if sorted(best) != sorted(reference):
                    raise ValueError(f"{workload}: {method} and {better} were run on different seeds")
                ours = np.array([best[seed] for seed in sorted(best)])
                theirs = np.array([reference[seed] for seed in sorted(best)])
                row["difference"] = float(np.mean(ours - theirs))
                testable = len(ours) > 1 and np.ptp(ours - theirs) > 0  # else s_d = 0 and t is undefined
                row["p"] = float(stats.ttest_rel(ours, theirs).pvalue) if testable else math.nan
                significant = math.isfinite(row["p"]) and row["p"] < ALPHA
                row["significance"] = ("n.s." if not significant
                                       else "better" if sign * row["difference"] > 0 else "worse")
    return rows


def interval_text(row: dict) -> str:
    """``0.8714 ± 0.0041``: the mean and the t-interval's half-width; flags where there is none."""
    if row["diverged_seeds"]:
        return f"diverged ({row['diverged_seeds']}/{row['seeds']} seeds)"
    if not math.isfinite(row["low"]):
        return f"{row['mean']:.4g}"
    return f"{row['mean']:.4g} ± {(row['high'] - row['low']) / 2:.2g}"


def table1_layout(rows: list[dict]) -> pd.DataFrame:
    """The paper's layout: one row per workload, one column per method; (+)/(−) mark a significantly better/worse
    overshoot column."""
    marks = {"better": " (+)", "worse": " (−)"}
    cells = {}
    for row in rows:
        line = cells.setdefault(row["workload"], {"workload": row["workload"], "paper task": row["paper_task"],
                                                  "protocol": row["protocol"], "metric": row["metric"]})
        line[row["method"]] = interval_text(row) + marks.get(row["significance"], "")
    return pd.DataFrame(list(cells.values()))


# ------------------------------------------------------------------------------------------------- the verdict

def decide(averages: list[dict], analysis: dict, protocol: str = "paper") -> tuple[str, list[str]]:
    """``DECISION_RULE`` applied to the task averages of one protocol: (verdict, reasons)."""
    claimed = analysis["claimed_saving_percent"]
    variants = [method for family in analysis["families"].values() for method in family["overshoot"]]
    by_method = {row["method"]: row for row in averages if row["protocol"] == protocol and row["reference"]}
    reasons, left_out, contradicted, supported = [], {}, False, True
    for method in variants:
        row = by_method.get(method)
        if row is None or not row["tasks"]:
            reasons.append(f"{method}: no usable {protocol}-protocol workload")
            supported = False
            continue
        if not (math.isfinite(row["low"]) and math.isfinite(row["high"])):
            supported = False
            reasons.append(f"{method}: no interval (a workload with one evaluation seed)")
            continue
        if row["high"] < claimed:
            contradicted = True
            reasons.append(f"{method}: upper bound {row['high']:.1f} % < {claimed:g} %")
        if row["low"] < claimed:
            supported = False
            if row["high"] >= claimed:
                reasons.append(f"{method}: interval [{row['low']:.1f}, {row['high']:.1f}] % covers {claimed:g} %")
        if row["left_out"]:
            supported = False
            left_out.setdefault(row["left_out"], []).append(method)
    reasons += [f"{', '.join(methods)}: left out {text}" for text, methods in left_out.items()]
    if contradicted:
        return "contradicted", reasons
    if supported:
        return "supported", [f"every variant's lower bound ≥ {claimed:g} %"]
    return "cannot decide", reasons


def verdict_summary(averages: list[dict], analysis: dict) -> tuple[dict[str, str], str, dict[str, float]]:
    """verdict.json's claims (``primary``: the paper-protocol verdict, which is the overall one; ``robustness``: the
    tuned-lr check, where verdict.md states one), the overall verdict, and the task-averaged steps saved against the
    reference baseline that verdict.md's tables quote (``steps-saved-percent.<protocol>.<method>``)."""
    claims, numbers = {"primary": decide(averages, analysis, "paper")[0]}, {}
    for protocol in PROTOCOLS:
        rows = [row for row in averages if row["protocol"] == protocol and row["reference"]]
        if rows and protocol == "tuned":
            claims["robustness"] = decide(averages, analysis, protocol)[0]
        for row in rows:
            numbers.update(common.interval_numbers(common.json_name("steps-saved-percent", protocol, row["method"]),
                                                   (row["saved_percent"], row["low"], row["high"])))
    return claims, claims["primary"], numbers


def verdict(averages: list[dict], table1: list[dict], analysis: dict, protocol_sha256: str | None) -> str:
    """verdict.md: the claim, the rule, our numbers, the verdict, the robustness check, the scale, Table 1."""
    claimed = analysis["claimed_saving_percent"]
    paper = analysis["paper_steps_saved_percent"]
    lines = ["# Overshoot: verdict", "",
             "## The claim", "",
             f"Kopal et al. (arXiv 2501.09556) claim that Overshoot takes at least {claimed:g} % fewer steps than "
             "its baseline to reach 95 % of the baseline's training-loss reduction (spec 1(c)). The paper's "
             "task-averaged savings (notebook output, vs CM for SGDO and AdamW for AdamO): "
             + ", ".join(f"{method} {value:g} %" for method, value in paper.items()) + ".", "",
             "## Decision rule (fixed before computing)", "", DECISION_RULE.format(claimed=claimed), "",
             "Savings against the other baselines (NAG, Nadam) and per workload: tables/steps_saved_average and "
             "tables/steps_saved.", ""]
    for protocol in PROTOCOLS:
        rows = [row for row in averages if row["protocol"] == protocol and row["reference"]]
        title = "Our numbers (paper protocol)" if protocol == "paper" else "Robustness check (lr tuned per method)"
        lines += [f"## {title}", ""]
        if not rows:
            lines += [f"No {protocol}-protocol workload has results.", ""]
            continue
        lines += ["| variant | vs | tasks | steps saved % [95 % CI] | paper % | flags |", "|---|---|---|---|---|---|"]
        for row in rows:
            flags = "; ".join(filter(None, [row["left_out"] and f"left out: {row['left_out']}",
                                            row["not_reached"] and f"not reached on {row['not_reached']} task(s)"]))
            lines.append(f"| {row['method']} | {row['baseline']} | {row['tasks']} | "
                         f"{tables.format_ci(row['saved_percent'], row['low'], row['high'], 1)} | "
                         f"{tables.format_cell(row['paper_percent'], '{:g}')} | {flags or '—'} |")
        outcome, reasons = decide(averages, analysis, protocol)
        label = "Verdict" if protocol == "paper" else "Robustness check"
        lines += ["", f"**{label}: {outcome}** — " + "; ".join(reasons) + ".", ""]
        edges = [f"{row['workload']}/{row['method']} ({row['edge']})" for row in table1
                 if row.get("edge") and analysis["workloads"][row["workload"]]["protocol"] == protocol]
        if edges:
            lines += [f"**Edge:** the chosen learning rate lies on the edge of its grid for {len(edges)} arm(s): "
                      + ", ".join(edges) + ". The best setting may lie outside the grid, so these savings compare "
                      "settings that are not each method's optimum; read the result with that caveat.", ""]
    used = [row for row in averages if row["reference"] and row["tasks"]]
    lines += ["## Scale", ""]
    for row in dict((row["protocol"], row) for row in used).values():
        lines.append(f"* {row['protocol']} protocol — {row['scale']}.")
    lines += ["", "Our runs are a few epochs long, so the 95 % point falls early in training; the paper's lies tens "
              "of epochs in. The verdict is about the claim at our budgets: it can decide only where the interval "
              f"clears {claimed:g} % (or stays below it), and a decision here does not settle the full-budget "
              "number. The training loss is the base model's minibatch loss (for SGDO/AdamO measured at the base "
              "weights, not at the overshoot weights the gradient is taken at), as in the paper's notebook.", "",
              "## Table 1 form (best test metric, paired t-test vs the better baseline, α = 0.05)", ""]
    tested = [row for row in table1 if row["compared_with"]]
    for method in dict.fromkeys(row["method"] for row in tested):
        mine = [row for row in tested if row["method"] == method]
        counts = {label: sum(row["significance"] == label for row in mine)
                  for label in ("better", "worse", "n.s.", "diverged")}
        lines.append(f"* {method}: " + ", ".join(f"{label} on {count}" for label, count in counts.items() if count)
                     + f" of {len(mine)} workloads.")
    lines += ["", "The paper's Table 1 numbers were not retrieved (spec 1(c)); no side-by-side comparison is made.", ""]
    if protocol_sha256:
        lines += [f"Protocol SHA-256: `{protocol_sha256}`", ""]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------- the figures

def loss_figure(workload: str, rows: list[dict], smoothed: dict, analysis: dict, stem: Path) -> list[Path]:
    """Smoothed seed-mean training loss per family (one panel each), the min–max band of the smoothed seed
    curves, and the reference baseline's threshold τ with each method's crossing step."""
    families = [family for family in analysis["families"].values()
                if any(method in smoothed for method in family["baselines"] + family["overshoot"])]
    figure, axes = figures.new_figure(ncols=len(families))
    axes = np.atleast_1d(axes)
    setting = analysis["workloads"][workload]
    for axis, family in zip(axes, families):
        colors = dict(zip(family["baselines"] + family["overshoot"], _palette()))
        for method, color in colors.items():
            if method not in smoothed:
                continue
            curves = smoothed[method]
            steps = np.arange(1, curves.shape[1] + 1)
            label = method + (" (diverged)" if np.isnan(curves).any() else "")
            axis.plot(steps, curves.mean(axis=0), color=color, label=label, linewidth=1.2,
                      linestyle="--" if method in family["baselines"] else "-")
            axis.fill_between(steps, curves.min(axis=0), curves.max(axis=0), color=color, alpha=0.15, linewidth=0)
        reference = [row for row in rows if row["baseline"] == family["reference"] and math.isfinite(row["threshold"])]
        if reference:
            axis.axhline(reference[0]["threshold"], color="black", linewidth=0.8, linestyle=":",
                         label=f"{analysis['threshold']:g} of {family['reference']}'s reduction")
            axis.axvline(reference[0]["baseline_steps"], color=colors[family["reference"]], linewidth=0.6,
                         linestyle=":")
            for row in reference:  # where each method's curve first reaches τ (× where it never does)
                if row["method_steps"] is None:  # diverged: no step to mark
                    continue
                axis.plot(row["method_steps"], row["threshold"], marker="o" if row["status"] == OK else "x",
                          markersize=5, markeredgecolor="black", markeredgewidth=0.5, color=colors[row["method"]],
                          zorder=3)
        axis.set(xlabel="step", ylabel="training loss (smoothed)",
                 title=f"{workload} ({setting['paper_task']}, {setting['protocol']})")
        axis.legend(fontsize="x-small")
    return figures.save(figure, stem)


def savings_figure(averages: list[dict], analysis: dict, stem: Path) -> list[Path]:
    """Task-averaged steps saved vs the reference baseline, per protocol with its 95 % interval, beside the
    paper's numbers; the claimed saving as a line."""
    rows = [row for row in averages if row["reference"]]
    variants = list(dict.fromkeys(row["method"] for row in rows))
    figure, axis = figures.new_figure(width=6.0, height=3.0)
    width = 0.27
    x = np.arange(len(variants))
    colors = _palette()
    for offset, protocol in enumerate(PROTOCOLS):
        mine = {row["method"]: row for row in rows if row["protocol"] == protocol}
        values = np.array([mine[method]["saved_percent"] if method in mine else np.nan for method in variants])
        lows = np.array([mine[method]["low"] if method in mine else np.nan for method in variants])
        highs = np.array([mine[method]["high"] if method in mine else np.nan for method in variants])
        axis.bar(x + (offset - 1) * width, values, width, color=colors[offset], label=f"ours, {protocol} protocol",
                 yerr=np.vstack([values - lows, highs - values]), capsize=2, error_kw={"linewidth": 0.8})
    paper = [analysis["paper_steps_saved_percent"].get(method, np.nan) for method in variants]
    axis.bar(x + width, paper, width, color="lightgray", edgecolor="gray", hatch="//", label="paper (no CI)")
    axis.axhline(analysis["claimed_saving_percent"], color="black", linestyle=":", linewidth=0.8,
                 label=f"claim: {analysis['claimed_saving_percent']:g} %")
    axis.axhline(0, color="black", linewidth=0.5)
    partial = {row["method"] for row in rows if row["left_out"]}
    axis.set_xticks(x, [method + ("*" if method in partial else "") for method in variants])
    if partial:
        axis.set_xlabel("* a workload left out of the average (diverged or no results)", fontsize="x-small")
    axis.set(ylabel="steps saved vs reference (%)", title="Task-averaged steps saved, 95 % bootstrap CI")
    axis.legend(fontsize="x-small")
    return figures.save(figure, stem)


def _palette() -> list:
    return seaborn.color_palette("colorblind", 8)


# ------------------------------------------------------------------------------------------------------ main

INTEGER_COLUMNS = ["steps", "seeds", "window", "baseline_steps", "method_steps", "tasks", "not_reached"]


def write_savings(rows: list[dict], averages: list[dict], analysis: dict, folder: Path, sha: str | None) -> list:
    """tables/steps_saved (per workload) and tables/steps_saved_average (per protocol, beside the paper)."""
    method = (f"Seed-mean training loss, trailing running mean of the paper's {analysis['smoothing_window']} steps "
              f"scaled to the run length (column window); threshold: {analysis['threshold']:g} of the baseline's "
              f"loss reduction; 95 % paired bootstrap CI over evaluation seeds ({RESAMPLES} resamples).")
    per_workload = pd.DataFrame(rows, columns=[
        "workload", "paper_task", "protocol", "method", "baseline", "reference", "status", "steps", "seeds",
        "window", "baseline_steps", "method_steps", "saved_percent", "low", "high"])
    average = pd.DataFrame(averages, columns=[
        "protocol", "method", "baseline", "reference", "tasks", "saved_percent", "low", "high", "paper_percent",
        "not_reached", "left_out", "scale"])
    for frame in (per_workload, average):
        for column in set(INTEGER_COLUMNS) & set(frame.columns):
            frame[column] = frame[column].astype("Int64")
    return (tables.write_table(
        per_workload, folder / "steps_saved", protocol_sha256=sha, float_format="{:.1f}",
        caption=(f"Steps saved (%) per workload. {method} 'not reached': the method's curve stays above the "
                 "threshold; steps = run length, so the saving shown (≤ 0) is an upper bound on the true one. "
                 "'diverged': a run's loss became non-finite; 'baseline loss not reduced': the baseline ended no "
                 "lower than it started; both have no saving and are left out of the averages."))
            + tables.write_table(
        average, folder / "steps_saved_average", protocol_sha256=sha, float_format="{:.1f}",
        caption=(f"Steps saved (%), mean over workloads per protocol (paper: fixed settings; tuned: lr tuned per "
                 f"method); CI of the averaged bootstrap replicates. {method} paper_percent: the paper's "
                 "task-averaged saving vs the reference baseline (notebook output, spec 1(c)).")))


def report(protocol: dict, arms: dict, out: Path) -> list[Path]:
    """Write every table, figure, verdict.md and verdict.json into ``out``; return their paths."""
    analysis, sha = protocol["analysis"], protocol.get("protocol_sha256")
    unlisted = sorted({workload for workload, _ in arms} - set(analysis["workloads"]))
    if unlisted:
        raise ValueError(f"analysis.workloads does not list {unlisted}: give each its paper_task, paper_steps and "
                         f"protocol (paper | tuned)")
    rows, written = [], []
    for workload in analysis["workloads"]:
        mine, smoothed = workload_savings(workload, arms, analysis)
        if mine:
            written += loss_figure(workload, mine, smoothed, analysis, out / "figures" / f"loss_{workload}")
        rows += mine
    averages = task_averages(rows, analysis)
    written += write_savings(rows, averages, analysis, out / "tables", sha)
    table1 = table1_rows(arms, analysis)
    written += tables.write_table(
        pd.DataFrame(table1), out / "tables" / "table1", protocol_sha256=sha,
        caption=("Best-over-evaluations test metric, mean and 95 % t-interval over evaluation seeds; overshoot "
                 f"methods vs the better baseline of their family by a paired t-test (α = {ALPHA:g}). Paper Table "
                 "1: not retrieved."))
    written += tables.write_table(
        table1_layout(table1), out / "tables" / "table1_layout", protocol_sha256=sha,
        caption=("Table 1 layout: best test metric, mean ± 95 % t half-width over seeds; (+)/(−): significantly "
                 f"better/worse than the better baseline (paired t-test, α = {ALPHA:g}). Paper Table 1: not "
                 "retrieved."))
    written += savings_figure(averages, analysis, out / "figures" / "steps_saved")
    written.append(atomic.write_text(out / "verdict.md", verdict(averages, table1, analysis, sha)))
    written.append(common.write_verdicts(out, common.experiment_name(arms), *verdict_summary(averages, analysis)))
    return written


def main(argv: list[str] | None = None) -> int:
    return common.main("experiments.reports.overshoot", __doc__.split("\n")[0],
                       lambda protocol, arms, out, _: report(protocol, arms, out), argv)


if __name__ == "__main__":
    sys.exit(main())
