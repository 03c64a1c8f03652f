"""Report of AdaMomentum (Wang, Kang, Qin, Wang, Xu, Zhang & Fu, arXiv 2106.11514, 2021; later titled "Rethinking
Adam: A Twofold Exponential Moving Average Approach"): AdaMomentum against Adam, AdamW and SGD with momentum, each
with its lr tuned, on a vision and a language workload.

    python -m experiments.reports.adamomentum --protocol results/adamomentum/protocol.json \\
        --arms results/adamomentum/arms/*/*.json --out results/adamomentum

writes into ``--out``: ``tables/comparison_<workload>`` (one per workload), ``tables/stability`` and
``tables/seeds`` (.csv, .md, .tex); ``figures/lr_sweep``, ``figures/test_metric`` and ``figures/generalisation_gap``
(.pdf, .png); ``verdict.md`` and ``verdict.json`` (``verdict_summary``).

The protocol's ``analysis`` block (the keys this report reads)::

    method: adamomentum            the label of AdaMomentum's arms
    baselines: [adam, adamw, sgdm] the labels it is compared with
    sgd_baseline: sgdm             the baseline of "comparable to SGD"
    equivalence_margin: 0.01       δ, in units of the test metric
    lr_tolerance: 0.01             the stability range: within this fraction (relative) of the best tuning score
    workloads: {<name>: {domain: vision | language}}   every workload with arms

Statistics are over the evaluation seeds, methods paired by seed number (``experiments.statistics``): the mean and
95 % BCa bootstrap interval of each method's final test metric (the arm's watched metric), the paired difference
d = AdaMomentum − baseline with its interval and paired t-test p. A diverged evaluation run (final null) is left out
of its method's mean and of every pair it belongs to; the tables count them.

Decision rules, fixed here before any number was seen (δ = ``equivalence_margin``, [lo, hi] the interval of d):

* vision, "comparable to SGD" — on each vision workload, d = AdaMomentum − ``sgd_baseline``: supports if the band
  holds the interval (−δ ≤ lo and hi ≤ δ); contradicts if the interval lies outside the band (lo > δ or hi < −δ);
  otherwise cannot decide. To the letter of "comparable", AdaMomentum ahead of SGDM by more than δ contradicts it
  as much as behind; the verdict line says which side.
* language, "state of the art" — on each language workload, per baseline b the advantage a_b (d where higher is
  better, −d otherwise) with interval [alo, ahi]: contradicts if ahi < 0 (b is ahead) or −δ ≤ alo and ahi ≤ δ
  (no difference that matters: not ahead of b); else supports if alo > 0; otherwise cannot decide. The workload
  supports if every baseline supports, contradicts if any contradicts, else cannot decide.
* too few seeds — a comparison resting on fewer than ``common.MIN_SEEDS`` = 3 paired seeds cannot decide, whatever
  its interval (with two, a bootstrap interval is only their range; with one there is none).
* per domain (overall) — supports if every workload of the domain supports, contradicts if any contradicts, else
  cannot decide; no workload of a domain with results: cannot decide.

Findings, not verdicts (the paper's title claims better generalisation; no rule was fixed for it):

* generalisation gap, per evaluation seed from the final evaluation: gap = train − test of the test metric on the
  split ``train`` (the first ``train_eval_size`` training examples) and ``test`` (train accuracy − test accuracy;
  test − train where lower is better), and the loss gap = test loss − train loss; positive means the model fits its
  training examples better than unseen ones. Its mean and interval per method and the paired difference against
  each baseline.
* stability, from the tuning runs: how many lr grid points diverged (a point diverged if any tuning seed did), and
  the width of the lr range whose score (the median final metric over tuning seeds, a diverged seed counting as the
  worst value) lies within ``lr_tolerance`` × |best| of the best: the contiguous run of grid points around the best
  point, in decades log₁₀(lr_max / lr_min) and as the ratio lr_max / lr_min (``leaderboard.lr_range``). A range
  reaching the end of the grid is a lower bound.
"""

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import ticker

from experiments import atomic, figures, tables
from experiments.reports import common
from experiments.reports.common import chosen_lr, difference_line, equivalence_verdict, lr_range, lr_sweep, method_styles, width_text
from experiments.reports.common import (  # noqa: F401 (CONTRADICTS, SUPPORTS: the verdict words, for the tests)
    CONTRADICTS, MIN_SEEDS, SUPPORTS, UNDECIDED, advantage_verdict, ci, edge_note, edge_paragraph, enough, finals, gain,
    is_finite, mean_interval, overall_verdict, paired,
)

DOMAINS = ("vision", "language")
SEED_NOTE = "dots: evaluation seeds; bars: mean and 95 % bootstrap interval"

# What the paper claims and reports, as far as ../shared/specs/algorithms.md §3 has it.
PAPER = {
    "claim": "From the abstract: Adam with the raw gradient in the second-moment average replaced by its "
             "momentumized version (in third-party code v ← β₂v + (1−β₂)m² + ε, ε inside the average), which gives "
             "vision results comparable to SGD and state-of-the-art results in language processing; the arXiv v1 "
             "title adds better optimization and generalization. Here SGD is SGD with momentum, as vision models "
             "are trained, and \"state of the art\" can only mean ahead of the baselines run here.",
    "tasks": "A third-party reproduction says the paper has CIFAR-10/100 with ResNet-34 and DenseNet-121; VGG-16, "
             "ImageNet ResNet-18, an LSTM on Penn Treebank, a Transformer on IWSLT'14 and GANs are recalled but "
             "unconfirmed.",
    "setting": "CIFAR-10/100 with ResNet-34 and DenseNet-121 for vision; LSTM and Transformer language tasks",
    "numbers": "Not retrieved: no table number of the paper is in the spec, so no paper number is compared here. "
               "How the paper handled weight decay and ε for each task is unconfirmed too.",
}


# ----------------------------------------------------------------------------------------------------------------
# Reading arms

def first_arm(arms: dict, workload: str) -> dict:
    """Any arm of ``workload``: what every method shares there (task, budget, metric)."""
    return next(arm for (name, _), arm in arms.items() if name == workload)


def split_metric(arm: dict, split: str) -> str:
    """The arm's watched metric on another split: "test/accuracy" -> "train/accuracy"."""
    return f"{split}/{arm['metric'].split('/', 1)[-1]}"


def gaps(arm: dict) -> dict[str, dict[int, float | None]]:
    """Per evaluation seed the generalisation gap of the watched metric (train − test where higher is better, test −
    train otherwise) and of the loss (test − train); None where the run diverged or a split is missing."""
    sign = 1.0 if arm["higher_is_better"] else -1.0
    train_metric, test_metric = split_metric(arm, "train"), split_metric(arm, "test")
    result = {"metric": {}, "loss": {}}
    for run in arm["evaluation"]["runs"]:
        values = (run.get("final_metrics") or {}) if run["final"] is not None else {}
        pairs = {"metric": (values.get(train_metric), values.get(test_metric), sign),
                 "loss": (values.get("train/loss"), values.get("test/loss"), -1.0)}
        for name, (train, test, direction) in pairs.items():
            result[name][run["seed"]] = direction * (train - test) if is_finite(train) and is_finite(test) else None
    return result


# ----------------------------------------------------------------------------------------------------------------
# Statistics and decision rules

def settings(protocol: dict) -> dict:
    analysis = protocol["analysis"]
    return {"method": analysis["method"], "baselines": list(analysis["baselines"]),
            "sgd": analysis["sgd_baseline"], "margin": float(analysis["equivalence_margin"]),
            "tolerance": float(analysis["lr_tolerance"]), "workloads": analysis["workloads"]}


def workload_names(protocol: dict, arms: dict) -> list[str]:
    """The workloads with arms, in the protocol's order; each must have a domain in ``analysis.workloads``."""
    listed = settings(protocol)["workloads"]
    present = {workload for workload, _ in arms}
    unlisted = sorted(present - set(listed))
    if unlisted:
        raise ValueError(f"analysis.workloads does not list {unlisted}: give each its domain ({', '.join(DOMAINS)})")
    for name, entry in listed.items():
        if entry.get("domain") not in DOMAINS:
            raise ValueError(f"analysis.workloads.{name}.domain={entry.get('domain')!r}; allowed: {', '.join(DOMAINS)}")
    order = [workload["name"] for workload in protocol["workloads"]]
    return [name for name in order if name in present] + sorted(present - set(order))


def comparison(arms: dict, name: str, method: str, baseline: str) -> dict | None:
    """The paired difference method − baseline of the test metric and of the metric's generalisation gap on one
    workload; None without both arms."""
    if (name, method) not in arms or (name, baseline) not in arms:
        return None
    first, second = arms[name, method], arms[name, baseline]
    return {"difference": paired(finals(first), finals(second)),
            "gap": paired(gaps(first)["metric"], gaps(second)["metric"])}


def decide(protocol: dict, arms: dict) -> dict:
    """Per workload the comparisons with every baseline and the verdict of its domain's rule; per domain the
    overall verdict."""
    chosen = settings(protocol)
    method, margin = chosen["method"], chosen["margin"]
    rows = []
    for name in workload_names(protocol, arms):
        domain = chosen["workloads"][name]["domain"]
        compared = {baseline: comparison(arms, name, method, baseline) for baseline in chosen["baselines"]}
        first = first_arm(arms, name)
        higher = first["higher_is_better"]
        verdicts = {}
        for baseline in [chosen["sgd"]] if domain == "vision" else chosen["baselines"]:
            entry = compared.get(baseline)
            if entry is None or not enough(entry["difference"]["n"]):
                verdicts[baseline] = UNDECIDED
            elif domain == "vision":
                verdicts[baseline] = equivalence_verdict(entry["difference"]["low"], entry["difference"]["high"],
                                                         margin)
            else:
                verdicts[baseline] = advantage_verdict(*gain(entry["difference"], higher), margin)
        rows.append({"workload": name, "domain": domain, "metric": first["metric"], "higher_is_better": higher,
                     "compared": compared, "verdicts": verdicts, "verdict": overall_verdict(list(verdicts.values()))})
    domains = {domain: overall_verdict([row["verdict"] for row in rows if row["domain"] == domain])
               for domain in DOMAINS}
    return {"rows": rows, "domains": domains, "settings": chosen}


def stability_rows(protocol: dict, arms: dict) -> list[dict]:
    chosen = settings(protocol)
    rows = []
    for name in workload_names(protocol, arms):
        for method in [chosen["method"], *chosen["baselines"]]:
            if (name, method) in arms:
                rows.append({"workload": name, "method": method, "chosen lr": chosen_lr(arms[name, method]),
                             "edge": edge_note(arms[name, method]),
                             **lr_range(arms[name, method], chosen["tolerance"])})
    return rows


# ----------------------------------------------------------------------------------------------------------------
# Tables

def comparison_frame(decided: dict, arms: dict, name: str) -> pd.DataFrame:
    """One workload: per method the test metric, the difference from AdaMomentum, both gaps, the chosen lr."""
    chosen = decided["settings"]
    method = chosen["method"]
    row = next(row for row in decided["rows"] if row["workload"] == name)
    records = []
    for label in [method, *chosen["baselines"]]:
        if (name, label) not in arms:
            continue
        arm = arms[name, label]
        values, gap = finals(arm), gaps(arm)
        entry = row["compared"].get(label) or {}
        difference = entry.get("difference")
        records.append({
            "method": label, arm["metric"]: ci(mean_interval(values.values())),
            "seeds": len(values), "diverged": sum(not is_finite(value) for value in values.values()),
            f"{method} − method": ci(difference) if difference else "",
            "p (paired t)": difference["p"] if difference else math.nan,
            "sign": difference["sign"] if difference else "",
            "gap (train − test)": ci(mean_interval(gap["metric"].values())),
            f"gap: {method} − method": ci(entry["gap"]) if entry else "",
            "loss gap (test − train)": ci(mean_interval(gap["loss"].values())),
            "lr": chosen_lr(arm), "edge": edge_note(arm),
            "verdict": row["verdicts"].get(label, "")})
    return pd.DataFrame(records)


def seed_frame(arms: dict, names: list[str], methods: list[str]) -> pd.DataFrame:
    """Every evaluation run's numbers, for re-analysis."""
    records = []
    for name in names:
        for method in methods:
            if (name, method) not in arms:
                continue
            arm = arms[name, method]
            gap = gaps(arm)
            for run in arm["evaluation"]["runs"]:
                values = run.get("final_metrics") or {}
                records.append({"workload": name, "method": method, "seed": run["seed"], "lr": chosen_lr(arm),
                                arm["metric"]: run["final"], split_metric(arm, "train"): values.get(
                                    split_metric(arm, "train")), "test/loss": values.get("test/loss"),
                                "train/loss": values.get("train/loss"), "gap": gap["metric"][run["seed"]],
                                "loss gap": gap["loss"][run["seed"]], "diverged_step": run["diverged_step"]})
    return pd.DataFrame(records)


# ----------------------------------------------------------------------------------------------------------------
# Figures

def sweep_figure(arms: dict, names: list[str], methods: list[str], stem: Path) -> list[Path]:
    """Final metric against lr from the tuning runs, one panel per workload and one line per method: the median over
    tuning seeds (a point where a seed diverged is left out of the line and marked × on the axis), ★ the chosen lr."""
    styles = method_styles(methods)
    figure, axes = figures.new_figure(ncols=len(names), width=4.2 * len(names), height=3.0)
    axes = np.atleast_1d(axes)
    for panel, name in zip(axes, names):
        for method in methods:
            if (name, method) not in arms:
                continue
            arm, style = arms[name, method], styles[method]
            _, sweep = lr_sweep(arm)
            lr = chosen_lr(arm)
            if not sweep:
                kept = common.finite(finals(arm).values())
                panel.plot([lr], [np.median(kept) if kept else math.nan], "*", color=style["color"], markersize=10,
                           label=f"{method} (one point)")
                continue
            lrs = [point["lr"] for point in sweep]
            medians = [point["score"] if not point["diverged"] else math.nan for point in sweep]
            panel.plot(lrs, medians, marker="o", markersize=3, label=method, **style)
            best = min(sweep, key=lambda point: abs(math.log(point["lr"] / lr)))
            panel.plot([lr], [best["score"] if not best["diverged"] else math.nan], "*", color=style["color"],
                       markersize=11, markeredgecolor="black", markeredgewidth=0.5)
            diverged = [point["lr"] for point in sweep if point["diverged"]]
            if diverged:
                panel.plot(diverged, [0.0] * len(diverged), "x", color=style["color"], clip_on=False, markersize=6,
                           transform=panel.get_xaxis_transform())
        panel.set_xscale("log")
        panel.xaxis.set_minor_formatter(ticker.NullFormatter())  # factor-2 grids: minor labels would overlap
        panel.set_xlabel("learning rate")
        panel.set_title(name)
        metric = first_arm(arms, name)["metric"]
        panel.set_ylabel(f"final {metric} (tuning seeds)")
    axes[-1].legend(title="★ chosen, × diverged", fontsize="x-small", title_fontsize="x-small")
    return figures.save(figure, stem)


def interval_panel(panel, methods: list[str], values: dict[str, dict], styles: dict) -> None:
    """Per method its seeds' values (dots) and their mean with the 95 % interval (error bar)."""
    for position, method in enumerate(methods):
        kept = common.finite(values.get(method, {}).values())
        if not kept:
            continue
        mean, low, high = mean_interval(kept)
        panel.plot([position + 0.15] * len(kept), kept, ".", color=styles[method]["color"], alpha=0.5)
        error = np.nan_to_num([[mean - low], [high - mean]])
        panel.errorbar([position], [mean], yerr=error, fmt="o", color=styles[method]["color"], capsize=3,
                       markersize=5)
    panel.set_xticks(range(len(methods)), methods)
    panel.set_xlim(-0.5, len(methods) - 0.5)


def metric_figure(arms: dict, decided: dict, names: list[str], methods: list[str], stem: Path) -> list[Path]:
    """The final test metric per method (seeds, mean and 95 % interval), one panel per workload; the band of
    ±δ around the SGD baseline's mean."""
    styles = method_styles(methods)
    chosen = decided["settings"]
    figure, axes = figures.new_figure(ncols=len(names), width=3.6 * len(names), height=3.0)
    axes = np.atleast_1d(axes)
    for panel, name in zip(axes, names):
        interval_panel(panel, methods, {method: finals(arms[name, method]) for method in methods
                                        if (name, method) in arms}, styles)
        reference = common.finite(finals(arms[name, chosen["sgd"]]).values()) if (name, chosen["sgd"]) in arms else []
        if reference:
            centre = float(np.mean(reference))
            panel.axhspan(centre - chosen["margin"], centre + chosen["margin"], color="grey", alpha=0.15, linewidth=0,
                          label=f"{chosen['sgd']} mean ± δ")
            panel.legend(fontsize="x-small")
        domain = chosen["workloads"][name]["domain"]
        panel.set_title(f"{name} ({domain})")
        metric = first_arm(arms, name)["metric"]
        panel.set_ylabel(f"final {metric}")
    figure.supxlabel(SEED_NOTE, fontsize="x-small")
    return figures.save(figure, stem)


def gap_figure(arms: dict, names: list[str], methods: list[str], stem: Path) -> list[Path]:
    """Top: the metric's generalisation gap (train − test), bottom: the loss gap (test − train), per method and
    workload: seeds, mean and 95 % interval."""
    styles = method_styles(methods)
    figure, axes = figures.new_figure(ncols=len(names), nrows=2, width=3.6 * len(names), height=5.2)
    axes = np.array(axes).reshape(2, len(names))
    for column, name in enumerate(names):
        present = {method: gaps(arms[name, method]) for method in methods if (name, method) in arms}
        for row, (key, label) in enumerate((("metric", "gap: train − test"), ("loss", "loss gap: test − train"))):
            panel = axes[row, column]
            interval_panel(panel, methods, {method: values[key] for method, values in present.items()}, styles)
            panel.axhline(0.0, color="grey", linewidth=0.8)
            metric = first_arm(arms, name)["metric"].split("/")[-1]
            panel.set_ylabel(f"{label} ({metric})" if key == "metric" else label)
        axes[0, column].set_title(name)
    figure.supxlabel(SEED_NOTE, fontsize="x-small")
    return figures.save(figure, stem)


# ----------------------------------------------------------------------------------------------------------------
# The verdict

def verdict_lines(decided: dict) -> list[str]:
    chosen = decided["settings"]
    method, margin = chosen["method"], chosen["margin"]
    lines = []
    for row in decided["rows"]:
        for baseline, verdict in row["verdicts"].items():
            entry = row["compared"].get(baseline)
            if entry is None:
                lines.append(f"- `{row['workload']}` ({row['domain']}): no arm for {method} or {baseline}: "
                             f"**{verdict}**")
                continue
            difference = entry["difference"]
            side = ""
            if not enough(difference["n"]):
                side = f" (fewer than {MIN_SEEDS} paired seeds)"
            elif difference["low"] > margin or difference["high"] < -margin:
                better = (difference["low"] > 0) == row["higher_is_better"]
                side = f" ({method} {'ahead' if better else 'behind'} by more than δ)"
            line = difference_line(entry, (method, baseline), row["metric"])
            lines.append(f"- `{row['workload']}` ({row['domain']}): {line}{side}: **{verdict}**")
        if row["domain"] == "language" and len(row["verdicts"]) > 1:
            lines.append(f"- `{row['workload']}` ahead of every baseline: **{row['verdict']}**")
    for domain in DOMAINS:
        if not any(row["domain"] == domain for row in decided["rows"]):
            lines.append(f"- {domain}: no workload with results: **{UNDECIDED}**")
    lines.append("")
    lines.append(f"**Vision (comparable to {chosen['sgd']}): {decided['domains']['vision']}.** "
                 f"**Language (state of the art): {decided['domains']['language']}.**")
    return lines


def verdict_summary(decided: dict) -> tuple[dict[str, str], str, dict[str, float]]:
    """verdict.json's claims (one per domain), overall verdict and the paired differences the Verdict section quotes
    (``difference.<workload>.<baseline>``: AdaMomentum − baseline, in the metric's units). verdict.md states no
    overall verdict; the overall here combines the two domains by the rule each domain combines its workloads by."""
    numbers = {}
    for row in decided["rows"]:
        for baseline in row["verdicts"]:
            entry = row["compared"].get(baseline)
            if entry is not None:
                numbers.update(common.interval_numbers(common.json_name("difference", row["workload"], baseline),
                                                       entry["difference"]))
    claims = {common.json_name(domain): decided["domains"][domain] for domain in DOMAINS}
    return claims, overall_verdict(list(claims.values())), numbers


def finding_lines(decided: dict, stability: list[dict], arms: dict) -> list[str]:
    """Per workload one line of stability and one of generalisation gaps (numbers in the tables above)."""
    chosen = decided["settings"]
    method = chosen["method"]
    lines = []
    for row in decided["rows"]:
        name = row["workload"]
        mine = [entry for entry in stability if entry["workload"] == name]
        lines.append(f"- `{name}` stability: lr grid points diverged in tuning: " + ", ".join(
            f"{entry['method']} {entry['diverged points']}/{entry['points']}" for entry in mine)
            + f"; lr range within {chosen['tolerance'] * 100:g} % of the best: " + ", ".join(
            f"{entry['method']} {width_text(entry)}" for entry in mine) + ".")
        present = [label for label in [method, *chosen["baselines"]] if (name, label) in arms]
        lines.append(f"- `{name}` generalisation gap (train − test): " + ", ".join(
            f"{label} {ci(mean_interval(gaps(arms[name, label])['metric'].values()))}" for label in present)
            + f"; {method} − baseline: " + (", ".join(
                f"{baseline} {ci(entry['gap'])}" for baseline, entry in row["compared"].items() if entry is not None)
                or "no pair") + ".")
    return lines


def scale_text(protocol: dict, arms: dict, names: list[str]) -> str:
    lines = []
    for name in names:
        arm = first_arm(arms, name)
        epochs = "" if arm.get("epochs") is None else f", {arm['epochs']:.3g} epochs"
        lines.append(f"- `{name}` ({settings(protocol)['workloads'][name]['domain']}): task `{arm['task']}` "
                     f"{arm.get('task_options') or {}}, batch {arm['batch_size']}, {arm['steps']} steps{epochs}")
    seeds = protocol.get("seeds", {})
    lines.append(f"- seeds: {len(seeds.get('tuning', []))} tuning, {len(seeds.get('evaluation', []))} evaluation")
    lines.append(f"\nThis is a small proxy, not the paper's setting ({PAPER['setting']}): it can show whether the "
                 "claimed pattern appears on these tasks at this budget, not whether the paper's numbers reproduce; "
                 "a few-shot sentiment classifier is neither language modelling nor translation. The `full` profile "
                 "(config/full.yaml: larger tasks at full length) is meant to decide.")
    return "\n".join(lines)


def verdict_document(protocol: dict, decided: dict, stability: list[dict], arms: dict, names: list[str],
                     numbers: str) -> str:
    chosen = decided["settings"]
    margin, method = chosen["margin"], chosen["method"]
    rule = (f"δ = {margin:g} (test metric); d = {method} − baseline per evaluation seed, [lo, hi] its 95 % bootstrap "
            "interval.\n\n"
            f"- vision (comparable to SGD; d against {chosen['sgd']}): supports if −δ ≤ lo and hi ≤ δ; contradicts "
            "if lo > δ or hi < −δ (either side); otherwise cannot decide.\n"
            f"- language (state of the art; per baseline of {', '.join(chosen['baselines'])} the advantage a of "
            f"{method}, interval [alo, ahi]): contradicts if ahi < 0 or −δ ≤ alo and ahi ≤ δ; else supports if "
            "alo > 0; otherwise cannot decide. The workload supports if every baseline does, contradicts if any "
            "does.\n"
            f"- fewer than {MIN_SEEDS} paired seeds: cannot decide, whatever the interval.\n"
            "- per domain: supports if every workload supports, contradicts if any contradicts, else cannot decide.")
    return "\n".join([
        "# AdaMomentum: verdict", "",
        "## What the paper claims", "", PAPER["claim"], "", PAPER["tasks"], "",
        "## Decision rule (fixed in code before any numbers)", "", rule, "",
        "## Our numbers", "", numbers, "",
        "## Verdict", "", *verdict_lines(decided), "",
        *edge_paragraph({f"{workload}/{label}": edge_note(arm) for (workload, label), arm in arms.items()},
                        "chosen lr"), "",
        "## Findings (no verdict: stability and generalisation gap)", "", *finding_lines(decided, stability, arms), "",
        "## Scale", "", scale_text(protocol, arms, names), "",
        "## The paper's numbers", "", PAPER["numbers"], "",
        f"Protocol SHA-256: `{protocol.get('protocol_sha256')}`", ""])


# ----------------------------------------------------------------------------------------------------------------
# The report

def report(protocol: dict, arms: dict, out: Path) -> list[Path]:
    """Write every table, figure, verdict.md and verdict.json into ``out``; return their paths."""
    decided = decide(protocol, arms)
    chosen = decided["settings"]
    names = [row["workload"] for row in decided["rows"]]
    methods = [chosen["method"], *chosen["baselines"]]
    sha = protocol.get("protocol_sha256")
    written, numbers = [], []
    for name in names:
        frame = comparison_frame(decided, arms, name)
        caption = (f"{name}: final test metric over evaluation seeds, mean [95 % BCa bootstrap CI]; the paired "
                   f"difference {chosen['method']} − method by seed with its t-test p and sign; the generalisation "
                   "gap (train − test of the metric, on the first training examples) and the loss gap (test − "
                   "train), with the paired difference of the gap; the chosen lr and its edge flag; the verdict of "
                   f"the {chosen['workloads'][name]['domain']} rule (δ = {chosen['margin']:g}).")
        written += tables.write_table(frame, out / "tables" / f"comparison_{name}", protocol_sha256=sha,
                                      caption=caption)
        numbers.append(tables.markdown(frame, caption=caption))
    stability = stability_rows(protocol, arms)
    stability_caption = (
        "Stability in tuning: grid points (and runs) that diverged; the contiguous lr range [low, high] around the "
        f"best grid point whose median final metric is within {chosen['tolerance'] * 100:g} % (relative) of the "
        "best, its width in decades and as the ratio high/low; 'lower bound': the range reaches the grid's end "
        "(edge).")
    written += tables.write_table(pd.DataFrame(stability), out / "tables" / "stability", protocol_sha256=sha,
                                  caption=stability_caption)
    numbers.append(tables.markdown(pd.DataFrame(stability)[[
        "workload", "method", "points", "diverged points", "best lr", "low", "high", "decades", "lower bound",
        "note"]], caption=stability_caption))
    written += tables.write_table(seed_frame(arms, names, methods), out / "tables" / "seeds", protocol_sha256=sha,
                                  caption="Every evaluation run.")
    written += sweep_figure(arms, names, methods, out / "figures" / "lr_sweep")
    written += metric_figure(arms, decided, names, methods, out / "figures" / "test_metric")
    written += gap_figure(arms, names, methods, out / "figures" / "generalisation_gap")
    written.append(atomic.write_text(out / "verdict.md", verdict_document(
        protocol, decided, stability, arms, names, "\n".join(numbers))))
    written.append(common.write_verdicts(out, common.experiment_name(arms), *verdict_summary(decided)))
    return written


def main(argv: list[str] | None = None) -> int:
    return common.main("experiments.reports.adamomentum", __doc__.split("\n")[0],
                       lambda protocol, arms, out, _: report(protocol, arms, out), argv)


if __name__ == "__main__":
    sys.exit(main())
