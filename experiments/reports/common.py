"""What every report shares: reading the arms and the protocol, the command line, the per-arm values most
tables start from (final metrics by seed, the edge note of a tuned arm, means with bootstrap intervals), and
verdict.json, the machine-readable twin of every report's verdict.md."""

import argparse
import json
import math
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import seaborn

from experiments import atomic, statistics, tables
from experiments.axes import LEARNING_RATE_AXES

CONFIDENCE = 0.95
SEED = 0  # of every bootstrap
NO_SEARCH, ALL_DIVERGED = "no search (one grid point)", "every grid point diverged"  # lr-range notes
LINE_STYLES = ("-", "--", ":", "-.")  # with the palette, tells 15 methods apart
MIN_SEEDS = 3  # fewer paired seeds (or speed repeats) cannot decide: a bootstrap interval of two values is their range


def load_arms(paths) -> dict[tuple[str, str], dict]:
    """The arm results by (workload, method); a file holds one arm, or a list of them (one job per method); a pair
    given twice is an error."""
    arms = {}
    for path in paths:
        content = json.loads(Path(path).read_text())
        for arm in content if isinstance(content, list) else [content]:
            key = (arm["workload"], arm["method"])
            if key in arms:
                raise ValueError(f"two results for workload {key[0]}, method {key[1]}: {path}")
            arms[key] = arm
    return arms


def main(module: str, description: str, report: Callable, argv: list[str] | None = None,
         extra: Callable[[argparse.ArgumentParser], None] | None = None) -> int:
    """``python -m <module> --protocol P --arms A... --out DIR [extra]``: calls ``report(protocol, arms, out,
    arguments)`` and prints the paths it returns. ``extra`` adds the report's own arguments."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    parser.add_argument("--protocol", required=True, help="the experiment's protocol section as JSON")
    parser.add_argument("--arms", nargs="+", required=True, help="arm result JSONs")
    parser.add_argument("--out", required=True, help="folder for tables/, figures/ and verdict.md")
    if extra is not None:
        extra(parser)
    arguments = parser.parse_args(argv)
    protocol = json.loads(Path(arguments.protocol).read_text())
    for path in report(protocol, load_arms(arguments.arms), Path(arguments.out), arguments):
        print(path)
    return 0


def is_finite(value) -> bool:
    return value is not None and math.isfinite(value)


def finite(values) -> list[float]:
    return [value for value in values if is_finite(value)]


def mean_interval(values) -> tuple[float, float, float]:
    """Mean and 95 % BCa bootstrap interval of the finite values; NaNs when there are none."""
    kept = finite(values)
    return statistics.mean_ci(kept, CONFIDENCE, SEED) if kept else (math.nan, math.nan, math.nan)


def finals(arm: dict) -> dict[int, float | None]:
    """Seed -> the evaluation run's final metric (None: diverged)."""
    return {run["seed"]: run["final"] for run in arm["evaluation"]["runs"]}


def edge_note(arm: dict) -> str:
    """"" unless the arm's chosen point lies on its grid's edge: then e.g. "effective_lr at grid max"."""
    tuning = arm.get("tuning")
    if not tuning or not tuning["edge"]:
        return ""
    notes = []
    for axis in tuning["edge"]:
        value, grid = tuning["chosen_point"][axis], tuning["axes"][axis]
        notes.append(f"{axis} at grid {'max' if math.isclose(value, max(grid)) else 'min'}")
    return "; ".join(notes)


# ---------------------------------------------------------------- verdicts and pairs shared by the reports

TAIL = 0.1  # the share of the last steps whose training loss is averaged into the final training loss
SUPPORTS, CONTRADICTS, UNDECIDED = "supports", "contradicts", "cannot decide"
NO_VERDICT = "findings only"  # verdict.json's overall for a report that states findings, not verdicts (leaderboard)


def tail_train_loss(run: dict) -> float | None:
    """The mean training loss over the last ``TAIL`` of the steps; None if the run diverged or a loss there is not
    finite."""
    losses = run.get("train_loss") or []
    if run.get("diverged_step") is not None or not losses:
        return None
    window = losses[-max(1, math.ceil(TAIL * len(losses))):]
    if any(loss is None or not math.isfinite(loss) for loss in window):
        return None
    return float(np.mean(window))


def train_losses(arm: dict) -> dict[int, float | None]:
    return {run["seed"]: tail_train_loss(run) for run in arm["evaluation"]["runs"]}


def paired(compared: dict, baseline: dict) -> dict:
    """``statistics.paired_difference`` of compared − baseline over the seeds where both are finite, plus
    ``diverged``: the seeds left out."""
    seeds = sorted(set(compared) & set(baseline))
    kept = [seed for seed in seeds if is_finite(compared[seed]) and is_finite(baseline[seed])]
    if not kept:
        result = {"mean": math.nan, "low": math.nan, "high": math.nan, "t": math.nan, "p": math.nan, "n": 0,
                  "sign": "0"}
    else:
        result = statistics.paired_difference([compared[seed] for seed in kept], [baseline[seed] for seed in kept],
                                              CONFIDENCE, SEED)
    return {**result, "diverged": len(seeds) - len(kept)}


def advantage_verdict(low: float, high: float, margin: float) -> str:
    """A method ahead, given the interval [low, high] of its advantage: contradicts if within [−δ, δ] or below 0,
    supports if above 0, else cannot decide."""
    if (-margin <= low and high <= margin) or high < 0:
        return CONTRADICTS
    if low > 0:
        return SUPPORTS
    return UNDECIDED


def overall_verdict(verdicts: list[str]) -> str:
    if verdicts and all(verdict == SUPPORTS for verdict in verdicts):
        return SUPPORTS
    return CONTRADICTS if CONTRADICTS in verdicts else UNDECIDED


def ci(values: tuple | dict, digits: int = 4) -> str:
    if isinstance(values, dict):
        values = values["mean"], values["low"], values["high"]
    return tables.format_ci(*values, digits=digits)


def workload_names(protocol: dict, arms: dict, methods: tuple[str, str]) -> list[str]:
    """The protocol's workloads that ran, in its order (one without any arm was skipped for missing system data);
    each of them must have an arm for every one of ``methods``."""
    names = [workload["name"] for workload in protocol["workloads"]
             if any(workload["name"] == name for name, _ in arms)]
    missing = [f"{name}/{method}" for name in names for method in methods if (name, method) not in arms]
    if missing:
        raise ValueError(f"no arm result for {', '.join(missing)}")
    return names


def enough(count: int) -> bool:
    """Whether ``count`` paired seeds (or speed repeats) can decide: with two, a bootstrap interval is their range."""
    return count >= MIN_SEEDS


def gain(difference: dict, higher_is_better: bool) -> tuple[float, float]:
    """The interval of the advantage over the baseline: the difference's, negated where lower is better."""
    if higher_is_better:
        return difference["low"], difference["high"]
    return -difference["high"], -difference["low"]


def edge_paragraph(notes: dict[str, str], what: str = "chosen point") -> list[str]:
    """verdict.md's edge flags: ``notes`` maps "workload/method" to its edge note ("" off the edge)."""
    edges = [f"`{arm}` ({note})" for arm, note in notes.items() if note]
    if not edges:
        return [f"No {what} lies on the edge of its grid."]
    return [f"**Edge:** the {what} lies on the edge of its grid for " + ", ".join(edges) + ": the best setting may "
            "lie outside the grid, so these comparisons may not be at each method's optimum. The verdicts do not "
            "change for it; read them with that caveat."]


def equivalence_verdict(low: float, high: float, margin: float) -> str:
    """SGD ≈ SGDM: supports if [low, high] ⊂ [−δ, δ], contradicts if it lies outside, else cannot decide."""
    if -margin <= low and high <= margin:
        return SUPPORTS
    if low > margin or high < -margin:
        return CONTRADICTS
    return UNDECIDED


def difference_line(row: dict, methods: tuple[str, str], metric: str) -> str:
    compared, baseline = methods
    difference = row["difference"]
    return (f"{compared}−{baseline} {metric} = {ci(difference)} (p = {difference['p']:.3g}, n = {difference['n']}"
            f"{', ' + str(difference['diverged']) + ' seed(s) left out: diverged' if difference['diverged'] else ''})")


def lr_sweep(arm: dict) -> tuple[str | None, list[dict]]:
    """The learning-rate axis of a tuned arm and, per value in increasing order, {lr, finals (None: diverged),
    score, diverged}: score = the median over tuning seeds of the final metric, a diverged seed counting as the
    worst value (``statistics.choose``), at the chosen point's other coordinates. (None, []) without a search."""
    tuning = arm.get("tuning")
    axis = next((name for name in LEARNING_RATE_AXES if len((tuning or {}).get("axes", {}).get(name, [])) > 1), None)
    if axis is None:
        return None, []
    chosen = tuning["chosen_point"]
    worst = -math.inf if arm["higher_is_better"] else math.inf
    by_lr: dict[float, list] = {}
    for run in tuning["runs"]:
        point = run["point"]
        if all(math.isclose(point[name], chosen[name]) for name in point if name != axis and name in chosen):
            by_lr.setdefault(point[axis], []).append(run["final"] if is_finite(run["final"]) else None)
    return axis, [{"lr": lr, "finals": values, "diverged": sum(value is None for value in values),
                   "score": float(np.median([worst if value is None else value for value in values]))}
                  for lr, values in sorted(by_lr.items())]


def lr_range(arm: dict, tolerance: float) -> dict:
    """The contiguous lr range around the best grid point whose score is within ``tolerance`` (relative) of the
    best: {axis, points, diverged points, tuning runs, diverged runs, best lr, low, high, decades, ratio (high/low),
    edge ("min", "max", "min, max" or ""), lower bound, note, grid decades (the widest a range can be)}; NaNs and a
    note without a search or where every point diverged."""
    axis, sweep = lr_sweep(arm)
    row = {"axis": axis, "points": len(sweep), "diverged points": sum(point["diverged"] > 0 for point in sweep),
           "tuning runs": sum(len(point["finals"]) for point in sweep),
           "diverged runs": sum(point["diverged"] for point in sweep), "best lr": math.nan, "low": math.nan,
           "high": math.nan, "decades": math.nan, "ratio": math.nan, "edge": "", "lower bound": False, "note": "",
           "grid decades": math.nan}
    if not sweep:
        return {**row, "points": 1, "note": NO_SEARCH}
    grid = arm["tuning"]["axes"][axis]
    row["grid decades"] = math.log10(max(grid) / min(grid))
    scores = [point["score"] for point in sweep]
    if not any(math.isfinite(score) for score in scores):
        return {**row, "note": ALL_DIVERGED}
    sign = 1.0 if arm["higher_is_better"] else -1.0
    best_index = min(range(len(sweep)), key=lambda index: (-sign * scores[index], sweep[index]["diverged"], index))
    best = scores[best_index]
    slack = tolerance * abs(best)

    def within(score: float) -> bool:
        return math.isfinite(score) and sign * (score - best) >= -slack

    low = high = best_index
    while low > 0 and within(scores[low - 1]):
        low -= 1
    while high < len(sweep) - 1 and within(scores[high + 1]):
        high += 1
    low_lr, high_lr = sweep[low]["lr"], sweep[high]["lr"]
    edge = [name for name, value, end in (("min", low_lr, min(grid)), ("max", high_lr, max(grid)))
            if math.isclose(value, end)]
    return {**row, "best lr": sweep[best_index]["lr"], "low": low_lr, "high": high_lr,
            "decades": math.log10(high_lr / low_lr), "ratio": high_lr / low_lr, "edge": ", ".join(edge),
            "lower bound": bool(edge)}


def width_text(row: dict) -> str:
    """"0.602 decades" / "≥ 0.602 decades (grid max)" / the note."""
    if row["note"]:
        return row["note"]
    return f"{'≥ ' if row['lower bound'] else ''}{row['decades']:.3g} decades" + (
        f" (grid {row['edge']})" if row["edge"] else "")


def chosen_lr(arm: dict) -> float:
    return arm["evaluation"]["setting"].get("lr", math.nan)


def method_styles(methods: list[str]) -> dict[str, dict]:
    """A colour and a line style per method: ten colours, and line styles that differ wherever colours repeat."""
    colours = seaborn.color_palette("tab10", 10)
    return {method: {"color": colours[index % 10], "linestyle": LINE_STYLES[index % len(LINE_STYLES)]}
            for index, method in enumerate(methods)}


# ---------------------------------------------------------------- verdict.json

CLAIM_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")  # "accuracy-gain"
NUMBER_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)*")  # "accuracy-gain.fmnist-resnet.mean"


def json_name(*parts) -> str:
    """A claim or number name for verdict.json from its parts (labels, workloads, metrics): each lowercased, every
    run of characters other than a-z and 0-9 turned into one hyphen, the parts joined by dots."""
    cleaned = [re.sub(r"[^a-z0-9]+", "-", str(part).lower()).strip("-") for part in parts]
    if not all(cleaned):
        raise ValueError(f"verdict.json name from {parts!r}: a part is empty")
    return ".".join(cleaned)


def interval_numbers(name: str, values: tuple | dict) -> dict[str, float]:
    """``{name.mean, name.low, name.high}`` of a (mean, low, high) tuple or a dict with those keys."""
    if isinstance(values, dict):
        values = values["mean"], values["low"], values["high"]
    return {f"{name}.{key}": value for key, value in zip(("mean", "low", "high"), values)}


def verdict_record(experiment: str, claims: dict[str, str], overall: str, numbers: dict | None = None) -> dict:
    """verdict.json's content: {experiment, overall, claims: {name: verdict}, numbers: {name: float or null}};
    the verdicts are the report's own words, a number that is not finite is null, and every name must already be
    what ``json_name`` makes (so that a renamed label shows up as an error, not as a silently new key)."""
    for name in claims:
        if not CLAIM_NAME.fullmatch(name):
            raise ValueError(f"verdict.json claim name {name!r}: allowed: lowercase words joined by hyphens")
    for name in numbers or {}:
        if not NUMBER_NAME.fullmatch(name):
            raise ValueError(f"verdict.json number name {name!r}: allowed: lowercase words with hyphens and dots")
    for verdict in [overall, *claims.values()]:
        if not isinstance(verdict, str) or not verdict:
            raise ValueError(f"verdict.json verdict {verdict!r}: allowed: the report's verdict string")
    return {"experiment": experiment, "overall": overall, "claims": dict(claims),
            "numbers": {name: float(value) if is_finite(value) else None for name, value in (numbers or {}).items()}}


def write_verdicts(out: Path, experiment: str, claims: dict[str, str], overall: str,
                   numbers: dict | None = None) -> Path:
    """Write ``out/verdict.json`` (``verdict_record``) atomically; returns its path."""
    return atomic.write_json(Path(out) / "verdict.json", verdict_record(experiment, claims, overall, numbers))


def experiment_name(arms: dict) -> str:
    """The experiment every arm result names (e.g. "marginal-momentum/vision"); an error if they differ."""
    names = sorted({arm["experiment"] for arm in arms.values()})
    if len(names) != 1:
        raise ValueError(f"the arms name {len(names)} experiments ({', '.join(names)}); a report reads one")
    return names[0]
