"""The paper's generated parts, a pure function of results/: the numbers its text quotes and its own two tables.

    python -m experiments.paper_numbers --results results --out paper/build/generated

writes, each atomically:

- ``numbers.tex``: one ``\\newcommand`` per quoted number or verdict, each with a comment naming the file and field
  it comes from. From every ``verdict.json`` (experiments/reports): ``\\Verdict<Experiment>`` (overall),
  ``\\Verdict<Experiment><Claim>`` and ``\\Number<Experiment><Name>``; from the ledger (results/theory/claims.json):
  ``\\LedgerClaims``, ``\\LedgerVerified``, ``\\LedgerRefuted``, ``\\LedgerInconclusive`` and
  ``\\LedgerRefutedIds``; from the comparison below, ``\\ComparisonCount`` and how many of the papers' numbers lie
  inside, above and below our intervals (all and per paper); ``\\RunCount`` (training runs with a summary);
  ``\\InertiaCommit``; the protocol constants the text names. Macro names are the
  CamelCased words of their source (digits spelled: ``sgdo-3`` gives ``SgdoThree``), since TeX names are letters.
- ``paper_vs_ours.{csv,md,tex}``: every number of the papers (the protocols' analysis blocks, from the spec) that a
  result of ours measures in the same units, beside ours with its 95 % interval and where the paper's number lies
  relative to that interval. Absolute accuracies are left out on purpose: theirs are on CIFAR-100, ours on small
  proxies, so only scale-free quantities (steps saved, gains over the baseline, speed ratios, eigenvalue ratios)
  are set side by side.
- ``protocol.{csv,md,tex}``: per experiment and workload, the task, batch, budget, schedule, methods, seeds and the
  size of the search grid, from each frozen ``protocol.json``.
- ``tables.tex``: the appendix that includes every experiment's tables (``appendix_tables``).
"""

import argparse
import json
import math
import re
from collections import Counter
from pathlib import Path

import pandas as pd

from experiments import archive, atomic, sources, tables
from experiments.reports.common import CONFIDENCE

DIGITS = ("Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine")
CI_PATTERN = re.compile(r"^\s*(\S+) \[(\S+), (\S+)\]\s*$")  # tables.format_ci: "0.871 [0.862, 0.880]"
INSIDE, ABOVE, BELOW, NO_INTERVAL = "inside", "above", "below", "no interval"  # where the paper's number lies


def macro_name(*parts: str) -> str:
    """``macro_name("Verdict", "marginal-momentum/vision", "sgdo-3")`` is ``VerdictMarginalMomentumVisionSgdoThree``:
    every run of letters capitalised, every digit spelled, everything else dropped."""
    words = re.findall(r"[A-Za-z]+|[0-9]", " ".join(parts))
    return "".join(DIGITS[int(word)] if word.isdigit() else word[0].upper() + word[1:] for word in words)


def parse_ci(text) -> tuple[float, float, float]:
    """The inverse of ``tables.format_ci`` (mean, low, high; — is NaN); NaNs for an empty cell."""
    match = CI_PATTERN.match(str(text)) if isinstance(text, str) else None
    if match is None:
        return math.nan, math.nan, math.nan
    return tuple(math.nan if value == tables.MISSING else float(value) for value in match.groups())


def where(paper: float, low: float, high: float) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return NO_INTERVAL
    return ABOVE if paper > high else BELOW if paper < low else INSIDE


def number_text(value, digits: int = 3) -> str:
    """A number for the text: ``digits`` significant figures, — for a missing one."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return tables.MISSING
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


# ------------------------------------------------------------------------------------------ the papers beside ours
def _comparison(paper: str, quantity: str, paper_value: float, ours: tuple, setting: str, source: Path) -> dict:
    mean, low, high = ours
    return {"paper": paper, "quantity": quantity, "paper's value": paper_value, "ours": mean, "low": low,
            "high": high, "paper's value lies": where(paper_value, low, high), "our setting": setting,
            "source": source.as_posix()}


def overshoot_comparisons(results: Path) -> list[dict]:
    """Steps saved (%) by each Overshoot method against its family's reference (primary protocol, Table 1)."""
    path = results / "overshoot" / "tables" / "steps_saved_average.csv"
    frame = pd.read_csv(path)
    rows = frame[(frame["protocol"] == "paper") & frame["reference"] & frame["paper_percent"].notna()]
    return [_comparison("Overshoot", f"steps saved (%), {row.method} vs {row.baseline}", row.paper_percent,
                        (row.saved_percent, row.low, row.high), row.scale, path) for row in rows.itertuples()]


def msam_comparisons(results: Path) -> list[dict]:
    """Momentum-SAM: the gain in test accuracy over SGDM (pp, Table 1), the speed relative to SGDM (Table 1) and the
    top-Hessian-eigenvalue ratios (Table A.1)."""
    protocol = json.loads((results / "msam" / "protocol.json").read_text())
    scale = f"ours: {protocol['workloads'][0]['name']}; paper: {protocol['analysis']['paper']['scale']}"
    baseline = protocol["analysis"]["baseline"]
    rows = []
    accuracy = results / "msam" / "tables" / "msam_accuracy.csv"
    for row in pd.read_csv(accuracy).to_dict("records"):
        if row["method"] != baseline:
            gain = tuple(100.0 * value for value in parse_ci(row[f"\N{MINUS SIGN} {baseline}"]))
            rows.append(_comparison("Momentum-SAM", f"test accuracy gain over {baseline} (pp), {row['method']}",
                                    row["paper gain (pp)"], gain, scale, accuracy))
    speed = results / "msam" / "tables" / "msam_speed.csv"
    for row in pd.read_csv(speed).to_dict("records"):
        if row["method"] != baseline:
            rows.append(_comparison("Momentum-SAM", f"speed relative to {baseline}, {row['method']}",
                                    row["paper speed"], (row["speed"], row["low"], row["high"]), scale, speed))
    flatness = results / "msam" / "tables" / "msam_flatness.csv"
    for row in pd.read_csv(flatness).to_dict("records"):
        rows.append(_comparison("Momentum-SAM", f"top Hessian eigenvalue ratio, {row['ratio']}", row["paper"],
                                parse_ci(row["ours"]), scale, flatness))
    return rows


COMPARISONS = {"overshoot": overshoot_comparisons, "msam": msam_comparisons}  # the experiments the spec has numbers for


def comparisons(results: Path) -> pd.DataFrame:
    rows = [row for experiment, rows_of in COMPARISONS.items() if (results / experiment).is_dir()
            for row in rows_of(results)]
    return pd.DataFrame(rows, columns=list(_comparison("", "", 0.0, (0.0, 0.0, 0.0), "", Path())))


def comparison_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The comparison as the paper shows it: ours as ``mean [low, high]``, the setting and source left to the CSV."""
    shown = frame[["paper", "quantity", "paper's value"]].copy()
    shown["ours [95 % CI]"] = [tables.format_ci(row.ours, row.low, row.high, digits=2) for row in frame.itertuples()]
    shown["paper's value lies"] = frame["paper's value lies"]
    return shown


# --------------------------------------------------------------------------------------------------- the protocol
def grid_points(search: dict) -> int:
    """Points of a workload's search, summed over methods: the product of every searched axis's values."""
    total = 0
    for axes in search.values():
        sizes = [len(axis["values"]) for axis in axes.values() if isinstance(axis, dict) and "values" in axis]
        total += math.prod(sizes) if sizes else 0
    return total


def protocol_rows(results: Path) -> pd.DataFrame:
    rows = []
    for path in sorted(results.glob("**/protocol.json")):
        protocol = json.loads(path.read_text())
        experiment = path.parent.relative_to(results).as_posix()
        for workload in protocol["workloads"]:
            rows.append({
                "experiment": experiment, "workload": workload["name"], "task": workload["task"],
                "batch": workload["batch_size"],
                "budget": f"{workload['steps']} {workload['budget_unit'].replace('-', ' ')}",
                "schedule": workload.get("schedule", "constant"), "methods": len(protocol["methods"]),
                "tuning seeds": len(protocol["seeds"]["tuning"]),
                "evaluation seeds": len(protocol["seeds"]["evaluation"]),
                "grid points": grid_points(workload.get("search", {})),
            })
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------------- the macros
def _macro(name: str, value, source: str) -> str:
    return rf"\newcommand{{\{name}}}{{{tables.latex_escape(number_text(value))}}}% {source}"


def verdict_macros(results: Path) -> list[str]:
    lines = []
    for path in sorted(results.glob("**/verdict.json")):
        content = json.loads(path.read_text())
        experiment = path.parent.relative_to(results).as_posix()
        source = path.as_posix()
        lines.append(_macro(macro_name("Verdict", experiment), content["overall"], f"{source}: overall"))
        for claim, verdict in content["claims"].items():
            lines.append(_macro(macro_name("Verdict", experiment, claim), verdict, f"{source}: claims.{claim}"))
        for name, value in content.get("numbers", {}).items():
            lines.append(_macro(macro_name("Number", experiment, name), value, f"{source}: numbers.{name}"))
    return lines


def ledger_macros(results: Path) -> list[str]:
    path = results / "theory" / "claims.json"
    entries = json.loads(path.read_text())
    entries = entries["claims"] if isinstance(entries, dict) else entries
    counts = Counter(entry["verdict"] for entry in entries)
    refuted = ", ".join(entry["id"] for entry in entries if entry["verdict"] == "refuted")
    source = path.as_posix()
    return [_macro("LedgerClaims", len(entries), f"{source}: claims"),
            *(_macro(macro_name("Ledger", verdict), counts[verdict], f"{source}: verdict = {verdict}")
              for verdict in ("verified", "refuted", "inconclusive")),
            _macro("LedgerRefutedIds", refuted or tables.MISSING, f"{source}: ids with verdict refuted")]


def comparison_macros(frame: pd.DataFrame, source: str) -> list[str]:
    """How many of the papers' numbers lie inside, above and below our intervals: over all papers
    (``\\ComparisonInside``) and per paper (``\\ComparisonOvershootInside``, ``\\ComparisonCountOvershoot``)."""
    lines = []
    for paper, rows in [("", frame), *frame.groupby("paper", sort=True)]:
        counts = Counter(rows["paper's value lies"])
        which = f"{source}: rows{f' of {paper}' if paper else ''}"
        lines.append(_macro(macro_name("Comparison", "count", paper), len(rows), which))
        lines += [_macro(macro_name("Comparison", paper, relation), counts[relation], f"{which}, lying {relation}")
                  for relation in (INSIDE, ABOVE, BELOW, NO_INTERVAL)]
    return lines


def protocol_macros(results: Path) -> list[str]:
    """The protocol constants the text names: the interval level, and Overshoot's claimed saving and its target."""
    lines = [_macro("ConfidencePercent", round(100 * CONFIDENCE), "experiments/reports/common.py: CONFIDENCE")]
    path = results / "overshoot" / "protocol.json"
    if path.is_file():
        analysis = json.loads(path.read_text())["analysis"]
        lines += [_macro("OvershootClaimPercent", analysis["claimed_saving_percent"],
                         f"{path.as_posix()}: analysis.claimed_saving_percent"),
                  _macro("OvershootThresholdPercent", round(100 * analysis["threshold"]),
                         f"{path.as_posix()}: analysis.threshold")]
    return lines


PAPER_ORDER = ("overshoot", "marginal-momentum/vision", "marginal-momentum/finetune", "marginal-momentum/svag",
               "adamomentum", "step-tuned-sgd", "msam", "leaderboard")  # the paper's sections; any other after


def appendix_tables(results: Path) -> str:
    """The appendix of every experiment's tables, in the paper's order: one ``\\subsection`` per experiment
    (label ``app:<experiment>``) with a ``\\resulttable`` per table the report wrote, so that a protocol with other
    workloads (other table names) still shows all of its tables. Per-seed tables (``*seeds``) stay in their CSV."""
    found = sorted(path.parent.parent.relative_to(results).as_posix() for path in results.glob("**/tables/*.tex"))
    experiments = sorted(set(found), key=lambda name: (PAPER_ORDER.index(name) if name in PAPER_ORDER
                                                      else len(PAPER_ORDER), name))
    lines = ["% Written by python -m experiments.paper_numbers from the results; do not edit by hand."]
    for experiment in experiments:
        lines.append(rf"\subsection{{\texttt{{{experiment}}}}}\label{{app:{experiment}}}")
        tables = sorted((results / experiment / "tables").glob("*.tex"))
        lines += [rf"\resulttable{{report}}{{{path.with_suffix('').as_posix()}}}"
                  for path in tables if not path.stem.endswith("seeds")]
    return "\n".join(lines) + "\n"


def run_count(results: Path) -> int:
    return sum(1 for _ in results.glob("**/runs/**/summary.json"))


def write(results: Path, out: Path) -> list[Path]:
    """Write numbers.tex, paper_vs_ours.* and protocol.* under ``out``; return their paths."""
    compared = comparisons(results)
    written = [atomic.write_text(out / "paper_vs_ours.full.csv", compared.to_csv(index=False, lineterminator="\n"))]
    written += tables.write_table(
        comparison_table(compared), out / "paper_vs_ours",
        caption="The papers' own numbers (their scale) beside ours (this run's scale) with our 95 % bootstrap "
                "interval over evaluation seeds, and where the paper's number lies relative to that interval. Only "
                "scale-free quantities are compared; each row's setting and source table are in "
                "paper_vs_ours.full.csv.")
    written += tables.write_table(
        protocol_rows(results), out / "protocol",
        caption="The protocol of every experiment as run (frozen protocol.json): budget per run, methods compared, "
                "seeds for tuning and for evaluation, and the points of the search grid, summed over methods.")
    lines = ["% Written by python -m experiments.paper_numbers from the results; do not edit by hand.",
             _macro("InertiaCommit", archive.commit_of(sources.ROOT), "git rev-parse HEAD (-dirty: changed files)"),
             *protocol_macros(results), *ledger_macros(results), *verdict_macros(results),
             *comparison_macros(compared, (out / "paper_vs_ours.full.csv").as_posix()),
             _macro("RunCount", run_count(results), f"{results.as_posix()}/**/runs/**/summary.json: files")]
    written.append(atomic.write_text(out / "numbers.tex", "\n".join(lines) + "\n"))
    written.append(atomic.write_text(out / "tables.tex", appendix_tables(results)))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.paper_numbers", description=__doc__.split("\n")[0])
    parser.add_argument("--results", default="results", help="the pipeline's results folder")
    parser.add_argument("--out", default="paper/build/generated", help="folder for numbers.tex and the tables")
    arguments = parser.parse_args(argv)
    for path in write(Path(arguments.results), Path(arguments.out)):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
