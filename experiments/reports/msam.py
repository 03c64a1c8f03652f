"""Report of Momentum-SAM (Becker, Altrock & Risse 2024, arXiv 2401.12033): SGD with momentum (the baseline), NAG,
SAM and MSAM on each workload, their test accuracy, the top of the Hessian spectrum at the final weights, and the
speed of a training step, against the paper's Table 1 and Table A.1 (CIFAR-100 WideResNet-16-4).

    python -m experiments.reports.msam --protocol results/msam/protocol.json --arms results/msam/arms/*/*.json \\
        --out results/msam [--speed results/msam/speed.json]

writes into ``--out``: ``tables/msam_accuracy``, ``tables/msam_hessian``, ``tables/msam_flatness``,
``tables/msam_speed`` and ``tables/msam_seeds`` (CSV, Markdown, booktabs LaTeX, each with the protocol's SHA-256);
``figures/msam_accuracy``, ``figures/msam_spectrum``, ``figures/msam_rho_sweep`` and ``figures/msam_speed`` (PDF,
PNG); ``verdict.md`` and ``verdict.json`` (``verdict_summary``).

The protocol's ``analysis`` block (the keys this report reads; defaults after the colon where there is one):

    baseline: sgdm                 the method label of SGD with momentum, against which gains are measured
    claimed: msam                  the method whose claim is tested
    reference: sam                 the method whose flatness "SAM-like" refers to
    flat: [sam, msam]              the sharpness-aware methods, whose ρ sweeps are drawn
    equivalence_margin: 0.005      δ: an accuracy gain smaller than δ (test-metric units) does not count as a gain
    flatness_factor: 1.5           F: "SAM-like" allows MSAM's top eigenvalue up to F times SAM's
    speed_threshold: 0.9           S: "at SGD's cost" needs a speed (baseline s/step ÷ method s/step) of at least S
    paper: {scale, test_accuracy_percent: {label: %}, speed: {label: x}, hessian_top5: {label: [5 values]}}

Every method of the protocol must have an arm on every workload. SAM and MSAM search ρ on top of the baseline's
chosen learning rate, NAG takes that learning rate as it is (the workload's ``search.<method>.reuse``): their lr is
flagged at the grid's edge when the baseline's is.

Statistics are over the evaluation seeds, methods paired by seed number: a 95 % BCa bootstrap interval of each mean
(``experiments.statistics.mean_ci``) and of the paired difference, with the paired t-test's p. A diverged evaluation
run (final null) is left out of its method's mean and of every pair it belongs to; a run without Hessian eigenvalues
(``hessian`` null or absent, or a top eigenvalue ≤ 0, whose logarithm is undefined) is left out of the spectrum and of
the eigenvalue ratios; the tables count both. A chosen point on its grid's edge is flagged in the tables and the
verdict; it does not change a verdict.

Decision rules, fixed here before any number was seen. The claim, "MSAM reaches SAM-like flatness and accuracy gains
over SGD at SGD's cost", is split into three sub-claims, judged per workload and combined over workloads (supports
if every workload supports, contradicts if any contradicts, otherwise cannot decide):

* **accuracy gain.** a = MSAM − baseline final test metric per seed (negated where lower is better), [lo, hi] its
  95 % interval: contradicts if −δ ≤ lo and hi ≤ δ (no gain that matters) or hi < 0 (MSAM worse); else supports if
  lo > 0; otherwise cannot decide. MSAM − SAM is reported beside it and not judged.
* **flatness.** λ₁ = the top Hessian eigenvalue of the training loss at the final base weights. q_b = the geometric
  mean over seeds of λ₁(MSAM)/λ₁(baseline), q_s = that of λ₁(MSAM)/λ₁(SAM), each with the 95 % interval of the mean
  log-ratio, exponentiated. Supports if q_b's interval lies below 1 (MSAM flatter than the baseline) and q_s's upper
  end is at most F (SAM-like: MSAM's λ₁ at most F times SAM's; flatter than SAM qualifies); contradicts if q_b's
  interval lies at or above 1 (MSAM no flatter than the baseline) or q_s's lies above F (MSAM clearly sharper than
  SAM-like); otherwise cannot decide (this includes a workload without Hessian eigenvalues or with one seed).
* **cost** (on ``analysis.speed.workload``, from ``--speed``). MSAM's speed interval [lo, hi]: supports if lo ≥ S,
  contradicts if hi < S, otherwise cannot decide (and cannot decide without a speed measurement). SAM's speed is
  reported beside it.
* **overall.** supports if all three sub-claims support, contradicts if any contradicts, otherwise cannot decide.
* **too few seeds.** A sub-claim resting on fewer than ``MIN_SEEDS`` = 3 paired seeds (speed: repeats) cannot decide,
  whatever its interval: the bootstrap interval of two values is their range, far narrower than 95 %.

The paper's numbers are CIFAR-100 WideResNet-16-4 at 200 epochs; a proxy task can test the mechanism at its budget,
not those numbers: only the full profile's CIFAR-100 WideResNets can decide them.
"""

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn
from matplotlib import ticker
from matplotlib.patches import Patch

from experiments import atomic, figures, tables
from experiments.reports import common
from experiments.reports.common import (
    CONTRADICTS, MIN_SEEDS, SUPPORTS, UNDECIDED, advantage_verdict, ci, edge_note, edge_paragraph, enough,
    finals, finite, gain, is_finite, mean_interval, overall_verdict, paired, workload_names,
)

DEFAULTS = {"baseline": "sgdm", "claimed": "msam", "reference": "sam", "flat": ["sam", "msam"],
            "equivalence_margin": 0.005, "flatness_factor": 1.5, "speed_threshold": 0.9}
RANKS = 5  # the paper's Table A.1 reports the top 5 eigenvalues
PAPER_TASK = "cifar100-wrn16-4"  # the paper's Table 1 / A.1 column our numbers are set beside
SUB_CLAIMS = ("accuracy gain", "flatness", "cost")
CLAIM = ("Momentum-SAM perturbs the weights along the negative momentum, w − ρ v/‖v‖, instead of SAM's gradient "
         "ascent, so it needs no second gradient: it reaches SAM-like flatness and accuracy gains over SGD at SGD's "
         "cost (Table 1, CIFAR-100 WRN-16-4: SGD 76.90 %, SAM 79.25 %, MSAM 79.11 %; speed SGD 1, SAM 0.52, MSAM "
         "0.99; Table A.1, top Hessian eigenvalue SGD 15.19, SAM 5.18, MSAM 4.15).")


# ----------------------------------------------------------------------------------------------------------------
# Reading arms

def settings(protocol: dict) -> dict:
    """The analysis block with this report's defaults filled in."""
    return {**DEFAULTS, **protocol["analysis"]}


def method_labels(protocol: dict) -> list[str]:
    return list(protocol["methods"])


def workload_section(protocol: dict, name: str) -> dict:
    return next(workload for workload in protocol["workloads"] if workload["name"] == name)


def reused_arm(protocol: dict, arms: dict, workload: str, method: str) -> dict | None:
    """The arm whose chosen point ``method`` takes on ``workload`` (its ``search.<method>.reuse``), if any."""
    reuse = (workload_section(protocol, workload).get("search") or {}).get(method, {}).get("reuse")
    return None if reuse is None else arms.get((reuse["workload"], reuse["method"]))


def point_columns(protocol: dict, arms: dict, workload: str, method: str) -> dict:
    """The lr and ρ an arm was evaluated at, and its edge note: its own axes', and those of the arm it reuses."""
    arm = arms[workload, method]
    setting = arm["evaluation"]["setting"]
    notes = [edge_note(arm)]
    reused = reused_arm(protocol, arms, workload, method)
    if reused is not None and edge_note(reused):
        notes.append(f"{edge_note(reused)}, from {reused['method']}")
    return {"lr": setting.get("lr"), "ρ": setting.get("rho"), "edge": "; ".join(filter(None, notes))}


def top_eigenvalues(arm: dict) -> dict[int, list[float] | None]:
    """Seed -> the run's eigenvalues (descending), None where it has none (diverged, or no Hessian asked)."""
    spectra = {}
    for run in arm["evaluation"]["runs"]:
        hessian = run.get("hessian")
        values = None if not hessian else [float(value) for value in hessian.get("eigenvalues") or []]
        spectra[run["seed"]] = values if values and all(math.isfinite(value) for value in values) else None
    return spectra


def top_eigenvalue(arm: dict) -> dict[int, float | None]:
    return {seed: None if values is None else values[0] for seed, values in top_eigenvalues(arm).items()}


def load_speed(path: str | None) -> dict | None:
    return None if path is None else json.loads(Path(path).read_text())


def percent(metric: str, value: float) -> float:
    """A metric value in the paper's units: accuracies (fractions here) in %."""
    return 100.0 * value if "accuracy" in metric else value


# ----------------------------------------------------------------------------------------------------------------
# Statistics and decision rules

def eigenvalue_ratio(first: dict, second: dict) -> dict:
    """The geometric mean over seeds of first/second (dicts seed -> λ₁) and the 95 % interval of the mean log-ratio,
    exponentiated, over the seeds where both are finite and positive; ``left_out``: the other shared seeds."""
    seeds = sorted(set(first) & set(second))
    kept = [seed for seed in seeds if is_finite(first[seed]) and is_finite(second[seed])
            and first[seed] > 0 and second[seed] > 0]
    mean, low, high = mean_interval([math.log(first[seed] / second[seed]) for seed in kept])
    return {"mean": math.exp(mean), "low": math.exp(low), "high": math.exp(high), "n": len(kept),
            "left_out": len(seeds) - len(kept)}


def flatness_verdict(versus_baseline: dict, versus_reference: dict, factor: float) -> str:
    """Supports if q_b's interval < 1 and q_s's upper end ≤ F; contradicts if q_b's ≥ 1 or q_s's > F (intervals)."""
    if versus_baseline["high"] < 1 and versus_reference["high"] <= factor:
        return SUPPORTS
    if versus_baseline["low"] >= 1 or versus_reference["low"] > factor:
        return CONTRADICTS
    return UNDECIDED


def cost_verdict(entry: dict | None, threshold: float) -> str:
    """Supports if the speed interval's lower end ≥ S, contradicts if its upper end < S, else cannot decide (also
    without a measurement, or with fewer than ``MIN_SEEDS`` repeats)."""
    if entry is None or not enough(len(entry["seconds_per_step"])):
        return UNDECIDED
    low, high = entry["speed_interval"]
    if low >= threshold:
        return SUPPORTS
    return CONTRADICTS if high < threshold else UNDECIDED


def decide(protocol: dict, arms: dict, speed: dict | None) -> dict:
    """Every number the verdict rests on, and the verdicts: per workload the accuracy summaries and paired
    differences, the spectra and λ₁ ratios; the speed entries; per sub-claim and overall the verdict."""
    analysis = settings(protocol)
    methods = method_labels(protocol)
    baseline, claimed, reference = analysis["baseline"], analysis["claimed"], analysis["reference"]
    missing = [label for label in (baseline, claimed, reference) if label not in methods]
    if missing:
        raise ValueError(f"analysis names {', '.join(missing)}, not a method of the protocol ({', '.join(methods)})")
    names = workload_names(protocol, arms, methods)
    margin, factor = float(analysis["equivalence_margin"]), float(analysis["flatness_factor"])
    workloads = {}
    for name in names:
        base = arms[name, baseline]
        differences = {method: paired(finals(arms[name, method]), finals(base)) for method in methods
                       if method != baseline}
        low, high = gain(differences[claimed], base["higher_is_better"])
        lambdas = {method: top_eigenvalue(arms[name, method]) for method in methods}
        ratios = {"claimed/baseline": eigenvalue_ratio(lambdas[claimed], lambdas[baseline]),
                  "reference/baseline": eigenvalue_ratio(lambdas[reference], lambdas[baseline]),
                  "claimed/reference": eigenvalue_ratio(lambdas[claimed], lambdas[reference])}
        workloads[name] = {
            "accuracy": {method: mean_interval(finals(arms[name, method]).values()) for method in methods},
            "differences": differences,
            "versus_reference": paired(finals(arms[name, claimed]), finals(arms[name, reference])),
            "spectra": {method: top_eigenvalues(arms[name, method]) for method in methods},
            "ratios": ratios,
            "verdicts": {
                "accuracy gain": advantage_verdict(low, high, margin) if enough(differences[claimed]["n"])
                else UNDECIDED,
                "flatness": flatness_verdict(ratios["claimed/baseline"], ratios["claimed/reference"], factor)
                if enough(min(ratios["claimed/baseline"]["n"], ratios["claimed/reference"]["n"])) else UNDECIDED}}
    entries = (speed or {}).get("methods", {})
    cost = cost_verdict(entries.get(claimed), float(analysis["speed_threshold"]))
    verdicts = {claim: overall_verdict([workloads[name]["verdicts"][claim] for name in names])
                for claim in SUB_CLAIMS[:2]}
    verdicts["cost"] = cost
    verdicts["overall"] = overall_verdict([verdicts[claim] for claim in SUB_CLAIMS])
    return {"analysis": analysis, "methods": methods, "names": names, "workloads": workloads, "speed": speed,
            "verdicts": verdicts}


# ----------------------------------------------------------------------------------------------------------------
# Tables

def accuracy_frame(protocol: dict, arms: dict, decided: dict) -> pd.DataFrame:
    analysis, methods = decided["analysis"], decided["methods"]
    paper = analysis.get("paper") or {}
    paper_accuracy, paper_speed = paper.get("test_accuracy_percent") or {}, paper.get("speed") or {}
    entries = (decided["speed"] or {}).get("methods", {})
    baseline = analysis["baseline"]
    records = []
    for name in decided["names"]:
        workload = decided["workloads"][name]
        metric = arms[name, baseline]["metric"]
        for method in methods:
            mean, low, high = workload["accuracy"][method]
            difference = workload["differences"].get(method)
            entry = entries.get(method)
            paper_gain = (paper_accuracy[method] - paper_accuracy[baseline]
                          if method in paper_accuracy and baseline in paper_accuracy else math.nan)
            records.append({
                "workload": name, "method": method, **point_columns(protocol, arms, name, method),
                metric: ci((mean, low, high)),
                f"− {baseline}": "" if difference is None else ci(difference),
                "p (paired t)": math.nan if difference is None else difference["p"],
                "seeds": len(finite(finals(arms[name, method]).values())),
                "diverged": sum(value is None for value in finals(arms[name, method]).values()),
                "ours (%)": percent(metric, mean),
                f"gain over {baseline} (pp)": math.nan if difference is None else percent(metric, difference["mean"]),
                "paper (%)": paper_accuracy.get(method, math.nan), "paper gain (pp)": paper_gain,
                "speed": speed_text(entry),
                "paper speed": paper_speed.get(method, math.nan)})
    return pd.DataFrame(records)


def speed_text(entry: dict | None) -> str:
    return tables.MISSING if entry is None else tables.format_ci(entry["speed"], *entry["speed_interval"], 2)


def ranks_shown(decided: dict) -> int:
    lengths = [len(values) for workload in decided["workloads"].values() for spectra in workload["spectra"].values()
               for values in spectra.values() if values]
    return min(RANKS, max(lengths, default=RANKS))


def hessian_frame(decided: dict) -> pd.DataFrame:
    """Per workload × method our top eigenvalues (mean [95 % CI] over seeds, per rank), then the paper's rows."""
    ranks = ranks_shown(decided)
    paper = (decided["analysis"].get("paper") or {}).get("hessian_top5") or {}
    records = []
    for name in decided["names"]:
        for method in decided["methods"]:
            spectra = decided["workloads"][name]["spectra"][method]
            record = {"workload": name, "method": method, "source": "ours",
                      "seeds": sum(values is not None for values in spectra.values()),
                      "without Hessian": sum(values is None for values in spectra.values())}
            for rank in range(ranks):
                record[f"λ{rank + 1}"] = ci(mean_interval(values[rank] for values in spectra.values()
                                                          if values and len(values) > rank), 3)
            records.append(record)
    for method, values in paper.items():
        records.append({"workload": PAPER_TASK, "method": method, "source": "paper (Table A.1)", "seeds": None,
                        "without Hessian": None,
                        **{f"λ{rank + 1}": f"{values[rank]:.2f}" for rank in range(min(ranks, len(values)))}})
    frame = pd.DataFrame(records)
    for column in ("seeds", "without Hessian"):
        frame[column] = frame[column].astype("Int64")
    return frame


def flatness_frame(decided: dict) -> pd.DataFrame:
    analysis = decided["analysis"]
    labels = {"claimed/baseline": (analysis["claimed"], analysis["baseline"]),
              "reference/baseline": (analysis["reference"], analysis["baseline"]),
              "claimed/reference": (analysis["claimed"], analysis["reference"])}
    paper = (analysis.get("paper") or {}).get("hessian_top5") or {}
    records = []
    for name in decided["names"]:
        workload = decided["workloads"][name]
        for key, (first, second) in labels.items():
            ratio = workload["ratios"][key]
            records.append({"workload": name, "ratio": f"λ1 {first} / λ1 {second}", "ours": ci(ratio, 3),
                            "seeds": ratio["n"], "left out": ratio["left_out"],
                            "paper": paper[first][0] / paper[second][0] if first in paper and second in paper
                            else math.nan,
                            "verdict": workload["verdicts"]["flatness"] if key != "reference/baseline" else ""})
    return pd.DataFrame(records)


def speed_frame(decided: dict) -> pd.DataFrame:
    paper = (decided["analysis"].get("paper") or {}).get("speed") or {}
    entries = (decided["speed"] or {}).get("methods", {})
    records = []
    for method in decided["methods"]:
        entry = entries.get(method)
        seconds = entry["seconds_per_step"] if entry else []
        records.append({"method": method, "median s/step": float(np.median(seconds)) if seconds else math.nan,
                        "repeats": len(seconds),
                        "speed": math.nan if entry is None else entry["speed"],
                        "low": math.nan if entry is None else entry["speed_interval"][0],
                        "high": math.nan if entry is None else entry["speed_interval"][1],
                        "paper speed": paper.get(method, math.nan)})
    return pd.DataFrame(records)


def seed_frame(arms: dict, decided: dict) -> pd.DataFrame:
    """Every evaluation run's numbers, for re-analysis."""
    ranks = ranks_shown(decided)
    records = []
    for name in decided["names"]:
        for method in decided["methods"]:
            arm = arms[name, method]
            spectra = top_eigenvalues(arm)
            for run in arm["evaluation"]["runs"]:
                values = spectra[run["seed"]] or []
                records.append({"workload": name, "method": method, "seed": run["seed"],
                                "lr": run["setting"].get("lr"), "ρ": run["setting"].get("rho"),
                                arm["metric"]: run["final"], "diverged_step": run["diverged_step"],
                                "final_train_loss": run.get("final_train_loss"),
                                **{f"λ{rank + 1}": values[rank] if rank < len(values) else None
                                   for rank in range(ranks)}})
    return pd.DataFrame(records)


# ----------------------------------------------------------------------------------------------------------------
# Figures

def colours(methods: list[str]) -> dict:
    return dict(zip(methods, seaborn.color_palette("colorblind", len(methods))))


def errors(mean: float, low: float, high: float) -> list[list[float]]:
    """Error-bar lengths below and above the mean (NaN where the interval is undefined: matplotlib draws none)."""
    return [[mean - low], [high - mean]]


def legend_handles() -> list[Patch]:
    """Ours (bars in the method's colour) and the paper's (hatched grey), for the bar charts' legends."""
    return [Patch(facecolor="dimgray", label="ours (95 % CI)"),
            Patch(facecolor="lightgray", edgecolor="gray", hatch="//", label=f"paper ({PAPER_TASK})")]


def accuracy_figure(arms: dict, decided: dict, stem: Path) -> list[Path]:
    """Per workload: left, every method's final test metric (mean, 95 % CI, the seeds as dots); right, the gain over
    the baseline in percentage points, ours (95 % CI) beside the paper's."""
    analysis, methods, names = decided["analysis"], decided["methods"], decided["names"]
    baseline = analysis["baseline"]
    paper = (analysis.get("paper") or {}).get("test_accuracy_percent") or {}
    figure, axes = figures.new_figure(ncols=2, nrows=len(names))
    axes = np.atleast_2d(axes)
    palette = colours(methods)
    for row, name in enumerate(names):
        metric = arms[name, baseline]["metric"]
        workload = decided["workloads"][name]
        left, right = axes[row]
        for position, method in enumerate(methods):
            mean, low, high = workload["accuracy"][method]
            left.errorbar([position], [mean], yerr=errors(mean, low, high), fmt="o", color=palette[method],
                          capsize=4, markersize=6)
            seeds = finite(finals(arms[name, method]).values())
            left.plot(position + np.linspace(-0.15, 0.15, len(seeds)) if len(seeds) > 1 else [position] * len(seeds),
                      seeds, ".", color=palette[method], alpha=0.5)
        diverged = {method: sum(value is None for value in finals(arms[name, method]).values()) for method in methods}
        left.set_xticks(range(len(methods)), [method + (f"\n{diverged[method]} diverged" if diverged[method] else "")
                                              for method in methods])
        left.set_xlabel("method")
        left.set_ylabel(f"final {metric}")
        left.set_title(f"{name}: mean, 95 % CI, seeds")
        compared = [method for method in methods if method != baseline]
        width = 0.38
        for position, method in enumerate(compared):
            difference = workload["differences"][method]
            mean, low, high = (percent(metric, difference[key]) for key in ("mean", "low", "high"))
            right.bar(position - width / 2, mean, width, color=palette[method], yerr=errors(mean, low, high),
                      capsize=3)
            if method in paper and baseline in paper:
                right.bar(position + width / 2, paper[method] - paper[baseline], width, color="lightgray",
                          edgecolor="gray", hatch="//")
        right.axhline(0.0, color="black", linewidth=0.6)
        right.set_xticks(range(len(compared)), compared)
        right.set_xlabel("method")
        right.set_ylabel(f"gain over {baseline} (pp)" if "accuracy" in metric else f"difference to {baseline}")
        right.set_title(f"{name}: gain over {baseline}")
        right.legend(handles=legend_handles(), fontsize="x-small")
    return figures.save(figure, stem)


def spectrum_figure(decided: dict, stem: Path) -> list[Path]:
    """The top eigenvalues by rank, one line per method: ours (mean, 95 % CI over seeds) per workload, and the paper's
    Table A.1."""
    analysis, methods, names = decided["analysis"], decided["methods"], decided["names"]
    paper = (analysis.get("paper") or {}).get("hessian_top5") or {}
    figure, axes = figures.new_figure(ncols=len(names) + 1)
    axes = np.atleast_1d(axes)
    palette = colours(methods)
    for panel, name in zip(axes, names):
        drawn = False
        for offset, method in enumerate(methods):
            spectra = [values for values in decided["workloads"][name]["spectra"][method].values() if values]
            if not spectra:
                continue
            ranks = range(min(RANKS, max(len(values) for values in spectra)))
            summaries = [mean_interval(values[rank] for values in spectra if len(values) > rank) for rank in ranks]
            means = np.array([summary[0] for summary in summaries])
            bars = np.array([np.ravel(errors(*summary)) for summary in summaries]).T
            panel.errorbar(np.array(ranks) + 1 + 0.06 * (offset - 1.5), means, yerr=bars, fmt="o-",
                           color=palette[method], label=method, capsize=3, markersize=4)
            drawn = True
        if not drawn:
            panel.text(0.5, 0.5, "no Hessian eigenvalues\n(hessian null or absent)", ha="center", va="center",
                       transform=panel.transAxes)
        else:
            panel.legend(fontsize="x-small")
        panel.set_title(f"ours: {name}")
    for method, values in paper.items():
        axes[-1].plot(np.arange(1, len(values) + 1), values, "s--", color=palette.get(method, "gray"), label=method,
                      markersize=4)
    axes[-1].set_title(f"paper: {PAPER_TASK} (Table A.1)")
    if paper:
        axes[-1].legend(fontsize="x-small")
    for panel in axes:
        panel.set_xlabel("eigenvalue rank")
        panel.set_xlim(0.5, RANKS + 0.5)
        panel.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    axes[0].set_ylabel("Hessian eigenvalue")
    return figures.save(figure, stem)


def rho_sweep_figure(arms: dict, decided: dict, stem: Path) -> list[Path]:
    """Per workload the final metric of the tuning runs against ρ for each sharpness-aware method: the median over
    tuning seeds (band: their range), ★ the chosen ρ, × a ρ where a seed diverged; dotted, the baseline's tuning
    median at its chosen point (the ρ → 0 limit)."""
    analysis, names = decided["analysis"], decided["names"]
    flat = [method for method in analysis["flat"] if method in decided["methods"]]
    palette = colours(decided["methods"])
    figure, axes = figures.new_figure(ncols=len(names), width=figures.COLUMN_WIDTH * len(names) + 1.6)
    axes = np.atleast_1d(axes)
    for panel, name in zip(axes, names):
        for method in flat:
            tuning = arms[name, method].get("tuning")
            if not tuning:
                continue
            by_rho: dict[float, list] = {}
            for run in tuning["runs"]:
                by_rho.setdefault(run["point"]["rho"], []).append(run["final"])
            rhos = sorted(by_rho)
            medians = [np.median(finite(by_rho[rho])) if finite(by_rho[rho]) else math.nan for rho in rhos]
            panel.plot(rhos, medians, "o-", color=palette[method], label=method, markersize=3)
            panel.fill_between(rhos, [min(finite(by_rho[rho]), default=math.nan) for rho in rhos],
                               [max(finite(by_rho[rho]), default=math.nan) for rho in rhos], color=palette[method],
                               alpha=0.2, linewidth=0)
            chosen = tuning["chosen_point"]["rho"]
            panel.plot([chosen], [medians[rhos.index(min(rhos, key=lambda rho: abs(rho - chosen)))]], "*",
                       color=palette[method], markersize=12, markeredgecolor="black", markeredgewidth=0.5)
            diverged = [rho for rho in rhos if len(finite(by_rho[rho])) < len(by_rho[rho])]
            if diverged:
                panel.plot(diverged, [0.0] * len(diverged), "x", color=palette[method],
                           transform=panel.get_xaxis_transform(), clip_on=False, markersize=6)
        base = arms[name, analysis["baseline"]]
        if base.get("tuning"):
            chosen = base["tuning"]["chosen_point"]
            values = finite(run["final"] for run in base["tuning"]["runs"] if run["point"] == chosen)
            if values:
                panel.axhline(float(np.median(values)), color=palette[analysis["baseline"]], linestyle=":",
                              linewidth=1, label=f"{analysis['baseline']} (ρ = 0)")
        panel.set_xscale("log")
        panel.xaxis.set_minor_formatter(ticker.NullFormatter())
        panel.set_xlabel("ρ")
        panel.set_title(name)
    axes[-1].legend(title="★ chosen, × diverged", fontsize="x-small", title_fontsize="x-small", loc="upper left",
                    bbox_to_anchor=(1.02, 1.0))
    axes[0].set_ylabel(f"final {arms[names[0], analysis['baseline']]['metric']} (tuning seeds)")
    return figures.save(figure, stem)


def speed_figure(decided: dict, stem: Path) -> list[Path]:
    """Speed per method (baseline s/step ÷ method s/step), ours with its 95 % interval beside the paper's; the
    threshold S as a line."""
    frame = speed_frame(decided)
    analysis = decided["analysis"]
    figure, axis = figures.new_figure(width=5.8, height=2.8)
    x = np.arange(len(frame))
    width = 0.38
    speed = frame["speed"].to_numpy(dtype=float)
    bars = np.vstack([speed - frame["low"].to_numpy(dtype=float), frame["high"].to_numpy(dtype=float) - speed])
    axis.bar(x - width / 2, speed, width, color=list(colours(decided["methods"]).values()), yerr=bars, capsize=3)
    axis.bar(x + width / 2, frame["paper speed"].to_numpy(dtype=float), width, color="lightgray", edgecolor="gray",
             hatch="//")
    threshold = axis.axhline(float(analysis["speed_threshold"]), color="black", linestyle=":", linewidth=0.8,
                             label=f"threshold S = {float(analysis['speed_threshold']):g}")
    axis.set_xticks(x, frame["method"])
    axis.set_xlabel("method")
    axis.set_ylabel(f"speed ({analysis['baseline']} s/step ÷ method's)")
    axis.set_title("Speed of a training step" + (" (ours: not measured)" if decided["speed"] is None else ""))
    axis.legend(handles=[*legend_handles(), threshold], fontsize="x-small", loc="upper left",
                bbox_to_anchor=(1.02, 1.0))
    return figures.save(figure, stem)


# ----------------------------------------------------------------------------------------------------------------
# verdict.md

def rule_text(analysis: dict) -> str:
    margin, factor, threshold = (float(analysis[key]) for key in
                                 ("equivalence_margin", "flatness_factor", "speed_threshold"))
    claimed, baseline, reference = analysis["claimed"], analysis["baseline"], analysis["reference"]
    return (
        f"Per workload, over evaluation seeds paired by seed number; δ = {margin:g} (test-metric units), "
        f"F = {factor:g}, S = {threshold:g}.\n\n"
        f"- **accuracy gain**: a = {claimed} − {baseline} final test metric per seed, [lo, hi] its 95 % bootstrap "
        f"interval. Contradicts if −δ ≤ lo and hi ≤ δ (no gain that matters) or hi < 0; else supports if lo > 0; "
        f"otherwise cannot decide.\n"
        f"- **flatness**: λ1 = the top Hessian eigenvalue at the final base weights; q_b = geometric mean of "
        f"λ1({claimed})/λ1({baseline}), q_s = of λ1({claimed})/λ1({reference}), 95 % intervals of the mean "
        f"log-ratio, exponentiated. Supports if q_b's interval < 1 and q_s's upper end ≤ F (SAM-like: at most F "
        f"times {reference}'s λ1); contradicts if q_b's interval ≥ 1 or q_s's > F; otherwise cannot decide.\n"
        f"- **cost**: {claimed}'s speed interval [lo, hi] (speed = {baseline} s/step ÷ {claimed} s/step): supports "
        f"if lo ≥ S, contradicts if hi < S, otherwise cannot decide.\n"
        f"- fewer than {MIN_SEEDS} paired seeds (speed: repeats): cannot decide, whatever the interval.\n"
        "- accuracy gain and flatness over workloads, and **overall** over the three: supports if every one "
        "supports, contradicts if any contradicts, otherwise cannot decide.")


def verdict_lines(arms: dict, decided: dict) -> list[str]:
    analysis = decided["analysis"]
    claimed, baseline, reference = analysis["claimed"], analysis["baseline"], analysis["reference"]
    lines = []
    for name in decided["names"]:
        workload = decided["workloads"][name]
        metric = arms[name, baseline]["metric"]
        difference, versus = workload["differences"][claimed], workload["versus_reference"]
        left_out = f", {difference['diverged']} seed(s) left out: diverged" if difference["diverged"] else ""
        lines.append(f"- `{name}` accuracy gain: {claimed} − {baseline} {metric} = {ci(difference)} (p = "
                     f"{difference['p']:.3g}, n = {difference['n']}{left_out}); beside it, not judged: {claimed} − "
                     f"{reference} = {ci(versus)}: **{workload['verdicts']['accuracy gain']}**")
        ratios = workload["ratios"]
        lines.append(f"- `{name}` flatness: q_b = λ1 {claimed}/{baseline} = {ci(ratios['claimed/baseline'], 3)} "
                     f"(n = {ratios['claimed/baseline']['n']}), q_s = λ1 {claimed}/{reference} = "
                     f"{ci(ratios['claimed/reference'], 3)} (n = {ratios['claimed/reference']['n']}); for "
                     f"comparison λ1 {reference}/{baseline} = {ci(ratios['reference/baseline'], 3)}: "
                     f"**{workload['verdicts']['flatness']}**")
    entries = (decided["speed"] or {}).get("methods", {})
    if claimed in entries:
        entry = entries[claimed]
        sam = entries.get(reference)
        sam_text = "" if sam is None else f"; {reference}: {speed_text(sam)}"
        lines.append(f"- cost: speed of {claimed} = {speed_text(entry)}{sam_text}: **{decided['verdicts']['cost']}**")
    else:
        lines.append(f"- cost: no speed measurement of {claimed} (no --speed, or the method is missing from it): "
                     f"**{decided['verdicts']['cost']}**")
    lines.append("")
    speed_workload = (analysis.get("speed") or {}).get("workload", "the speed workload")
    lines += [f"- **{claim}** (all workloads): **{decided['verdicts'][claim]}**" for claim in SUB_CLAIMS[:2]]
    lines.append(f"- **cost** (`{speed_workload}`): **{decided['verdicts']['cost']}**")
    lines.append(f"\n**Overall: {decided['verdicts']['overall']}.**")
    return lines


def edge_lines(protocol: dict, arms: dict, decided: dict) -> list[str]:
    return edge_paragraph({f"{name}/{method}": point_columns(protocol, arms, name, method)["edge"]
                           for name in decided["names"] for method in decided["methods"]})


def scale_lines(protocol: dict, arms: dict, decided: dict) -> list[str]:
    analysis = decided["analysis"]
    baseline = analysis["baseline"]
    paper = analysis.get("paper") or {}
    lines = []
    for name in decided["names"]:
        arm = arms[name, baseline]
        epochs = "" if arm.get("epochs") is None else f", {arm['epochs']:.3g} epochs"
        hessian = workload_section(protocol, name).get("hessian")
        lines.append(f"- `{name}`: task `{arm['task']}` {arm.get('task_options') or {}}, batch {arm['batch_size']}, "
                     f"{arm['steps']} steps{epochs}"
                     + (f"; Hessian over {hessian.get('examples')} training examples" if hessian else "; no Hessian"))
    seeds = protocol["seeds"]
    lines.append(f"- seeds: {len(seeds['tuning'])} tuning, {len(seeds['evaluation'])} evaluation")
    speed = decided["speed"]
    if speed is not None:
        lines.append(f"- speed: task `{speed['task']}`, batch {speed['batch_size']}, {speed['repeats']} repeats of "
                     f"{speed['steps']} timed steps after {speed['warmup']} warm-up steps, {speed['threads']} "
                     f"thread(s) on {speed.get('device', 'the machine')}")
    lines.append(f"- the paper: {paper.get('scale', 'CIFAR-100 WideResNet-16-4, 200 epochs, batch 256')}")
    tasks_run = {arms[name, baseline]["task"] for name in decided["names"]}
    if tasks_run == {PAPER_TASK}:
        lines.append("\nThese are the paper's network and data, so this scale can decide the paper's numbers (up to "
                     "budget and seeds).")
    else:
        lines.append(f"\nThis is a small proxy, not the paper's setting ({PAPER_TASK}): it can decide whether the "
                     "claimed mechanism shows on these tasks at this budget, not whether the paper's numbers "
                     "reproduce; the paper's numbers are set beside ours for orientation only. The full profile "
                     "(CIFAR-100 WideResNets) is what can decide them.")
    if speed is not None and speed.get("device") == "cpu":
        lines.append("\nThe speed was measured on a CPU, where the time of a step follows its arithmetic; the paper's "
                     "was on GPUs, where small kernels and memory traffic weigh more.")
    return lines


def labelled(values: dict | None) -> str:
    return ", ".join(f"{label} {value:.2f}" for label, value in (values or {}).items())


def verdict_document(protocol: dict, arms: dict, decided: dict, numbers: str) -> str:
    paper = decided["analysis"].get("paper") or {}
    spectra = paper.get("hessian_top5") or {}
    paper_lines = [
        "- test accuracy (%, Table 1): " + labelled(paper.get("test_accuracy_percent")),
        "- speed (Table 1): " + labelled(paper.get("speed")),
        "- top-5 Hessian eigenvalues (Table A.1): " + "; ".join(
            f"{label} " + ", ".join(f"{value:.2f}" for value in values) for label, values in spectra.items()),
        "- the paper's uncertainties are 68 % t-intervals; ours are 95 % bootstrap intervals."]
    return "\n".join([
        "# Momentum-SAM: verdict", "",
        "## What the paper claims", "", CLAIM, "",
        "## Decision rule (fixed in code before any numbers)", "", rule_text(decided["analysis"]), "",
        "## Our numbers", "", numbers, "",
        "## Verdict", "", *verdict_lines(arms, decided), "", *edge_lines(protocol, arms, decided), "",
        "## Scale", "", *scale_lines(protocol, arms, decided), "",
        "## The paper's numbers", "", f"From the analysis block (spec 5(c), {PAPER_TASK}):", *paper_lines, "",
        f"Protocol SHA-256: `{protocol.get('protocol_sha256')}`", ""])


def verdict_summary(decided: dict) -> tuple[dict[str, str], str, dict[str, float]]:
    """verdict.json's claims (the three sub-claims), overall verdict and the numbers the Verdict section quotes: per
    workload the claimed method's paired difference to the baseline and to the reference
    (``accuracy-gain.<workload>.<versus>``, claimed − versus in the metric's units), the λ1 ratios q_b and q_s
    (``lambda1-ratio.<workload>.<versus>``, claimed/versus), and the speeds (``speed.<method>``)."""
    analysis, verdicts = decided["analysis"], decided["verdicts"]
    claimed, baseline, reference = analysis["claimed"], analysis["baseline"], analysis["reference"]
    numbers = {}
    for name in decided["names"]:
        workload = decided["workloads"][name]
        differences = {baseline: workload["differences"][claimed], reference: workload["versus_reference"]}
        for versus, difference in differences.items():
            numbers.update(common.interval_numbers(common.json_name("accuracy-gain", name, versus), difference))
        for versus, ratio in ((baseline, "claimed/baseline"), (reference, "claimed/reference")):
            numbers.update(common.interval_numbers(common.json_name("lambda1-ratio", name, versus),
                                                   workload["ratios"][ratio]))
    entries = (decided["speed"] or {}).get("methods", {})
    for method in (claimed, reference):
        if method in entries:
            numbers.update(common.interval_numbers(common.json_name("speed", method),
                                                   (entries[method]["speed"], *entries[method]["speed_interval"])))
    claims = {common.json_name(claim): verdicts[claim] for claim in SUB_CLAIMS}
    return claims, verdicts["overall"], numbers


# ----------------------------------------------------------------------------------------------------------------
# The report

def report(protocol: dict, arms: dict, out: Path, speed: dict | None = None) -> list[Path]:
    """Write every table, figure, verdict.md and verdict.json into ``out``; return their paths."""
    decided = decide(protocol, arms, speed)
    analysis = decided["analysis"]
    sha = protocol.get("protocol_sha256")
    paper_scale = (analysis.get("paper") or {}).get("scale", PAPER_TASK)
    accuracy = accuracy_frame(protocol, arms, decided)
    written = tables.write_table(accuracy, out / "tables" / "msam_accuracy", protocol_sha256=sha, caption=(
        f"Final test metric over evaluation seeds, mean [95 % bootstrap CI], and the paired difference to "
        f"{analysis['baseline']} by seed with its t-test p; the lr and ρ evaluated (edge: a chosen value on its "
        f"grid's edge, with the arm whose search chose it); our speed [95 % CI] beside the paper's. Ours (%) and "
        f"the gain (pp) beside the paper's Table 1, which is at a different scale: {paper_scale}."))
    hessian = hessian_frame(decided)
    written += tables.write_table(hessian, out / "tables" / "msam_hessian", protocol_sha256=sha, caption=(
        "Top Hessian eigenvalues of the training loss at the final base weights, per rank: ours, mean [95 % "
        f"bootstrap CI] over the evaluation seeds that have them; the paper's Table A.1 ({PAPER_TASK}) below."))
    flatness = flatness_frame(decided)
    factor = float(analysis["flatness_factor"])
    written += tables.write_table(flatness, out / "tables" / "msam_flatness", protocol_sha256=sha, caption=(
        "Ratios of the top eigenvalue λ1, paired by seed: geometric mean [95 % CI of the mean log-ratio, "
        f"exponentiated], beside the paper's ratio; the flatness verdict (F = {factor:g})."))
    written += tables.write_table(speed_frame(decided), out / "tables" / "msam_speed", protocol_sha256=sha, caption=(
        f"Speed of a training step: {analysis['baseline']}'s median seconds per step divided by the method's, with "
        "its 95 % bootstrap interval over repeats (experiments.speed), beside the paper's; — without a measurement."))
    written += tables.write_table(seed_frame(arms, decided), out / "tables" / "msam_seeds", protocol_sha256=sha,
                                  caption="Every evaluation run.")
    written += accuracy_figure(arms, decided, out / "figures" / "msam_accuracy")
    written += spectrum_figure(decided, out / "figures" / "msam_spectrum")
    written += rho_sweep_figure(arms, decided, out / "figures" / "msam_rho_sweep")
    written += speed_figure(decided, out / "figures" / "msam_speed")
    numbers = "\n".join([
        tables.markdown(accuracy, caption="Final test metric, mean [95 % bootstrap CI] over evaluation seeds."),
        tables.markdown(hessian, caption="Top Hessian eigenvalues, ours beside the paper's Table A.1."),
        tables.markdown(flatness, caption="Top-eigenvalue ratios, paired by seed.")])
    written.append(atomic.write_text(out / "verdict.md", verdict_document(protocol, arms, decided, numbers)))
    written.append(common.write_verdicts(out, common.experiment_name(arms), *verdict_summary(decided)))
    return written


def main(argv: list[str] | None = None) -> int:
    return common.main(
        "experiments.reports.msam",
        "Tables, figures and verdict.md of Momentum-SAM (Becker et al. 2024), from its arms' results and the speed "
        "measurement.",
        lambda protocol, arms, out, arguments: report(protocol, arms, out, load_speed(arguments.speed)), argv,
        extra=lambda parser: parser.add_argument("--speed", help="the speed JSON of experiments.speed"))


if __name__ == "__main__":
    sys.exit(main())
