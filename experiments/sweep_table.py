"""The sweep's summary table: one row per (task, optimizer, learning rate), aggregated over seeds.

    python -m experiments.sweep_table results/sweep/runs/*/*/*/*/summary.json --out results/sweep/summary

writes ``summary.csv`` (every number), ``summary.md`` and ``summary.tex`` (the same rows, formatted). Each row
gives the task's watched metric (e.g. test accuracy) at the end and at its best, the steps and gradient
evaluations to reach the task's target, and how many seeds diverged (final values average the other seeds). The
learning rate with the best mean final metric per (task, optimizer) among those that diverged on no seed is
marked: the tuning protocol is "best lr on the grid, by final value".
"""

import argparse
import json
import os

import pandas as pd


def run_rows(paths: list[str]) -> pd.DataFrame:
    """One row per run from its summary.json."""
    rows = []
    for path in paths:
        with open(path) as file:
            summary = json.load(file)
        metric, target = summary["metric"], summary["target"] or {}
        rows.append({
            "task": summary["task"], "optimizer": summary["optimizer"], "lr": summary["lr"],
            "seed": summary["seed"], "metric": metric, "higher_is_better": summary["higher_is_better"],
            "final": (summary["final"] or {}).get(metric),
            "best": summary["best"].get(metric, {}).get("value"),
            "diverged_step": summary["diverged_step"],
            "target": target.get("value"), "steps_to_target": target.get("steps"),
            "gradient_evaluations_to_target": target.get("gradient_evaluations"),
        })
    return pd.DataFrame(rows)


def aggregate(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over seeds; medians of steps to target over the seeds that reached it."""
    groups = runs.groupby(["task", "optimizer", "lr"], sort=True)
    table = groups.agg(
        metric=("metric", "first"), higher_is_better=("higher_is_better", "first"), seeds=("seed", "count"),
        final_mean=("final", "mean"), final_std=("final", "std"), best_mean=("best", "mean"),
        target=("target", "first"), reached=("steps_to_target", "count"),
        steps_to_target=("steps_to_target", "median"),
        gradient_evaluations_to_target=("gradient_evaluations_to_target", "median"),
        diverged=("diverged_step", "count"), first_diverged_step=("diverged_step", "min"),
    ).reset_index()
    score = table["final_mean"].where(table["higher_is_better"], -table["final_mean"])
    score = score.where(table["diverged"] == 0)  # a learning rate that diverged on any seed is never the best
    best_index = score.groupby([table["task"], table["optimizer"]]).idxmax().dropna()
    table["best_lr"] = table.index.isin(best_index)
    return table


def display_rows(table: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Header and formatted cells shared by the Markdown and LaTeX tables."""
    header = ["task", "optimizer", "lr", "metric", "final (mean ± sd)", "best", "steps to target",
              "grad. evals to target", "diverged"]
    cells = []
    for row in table.itertuples():
        spread = "" if pd.isna(row.final_std) else f" ± {row.final_std:.4f}"
        final = "—" if pd.isna(row.final_mean) else f"{row.final_mean:.4f}{spread}"
        reached = f"{row.reached}/{row.seeds}"
        steps = "—" if pd.isna(row.target) else (
            f"not reached (0/{row.seeds})" if row.reached == 0 else f"{row.steps_to_target:g} ({reached})")
        evaluations = "—" if pd.isna(row.gradient_evaluations_to_target) else f"{row.gradient_evaluations_to_target:g}"
        diverged = "0" if row.diverged == 0 else f"{row.diverged}/{row.seeds} (step {row.first_diverged_step:g})"
        cells.append([row.task, row.optimizer, f"{row.lr:g}" + (" *" if row.best_lr else ""), row.metric, final,
                      "—" if pd.isna(row.best_mean) else f"{row.best_mean:.4f}", steps, evaluations, diverged])
    return header, cells


def markdown(table: pd.DataFrame) -> str:
    header, cells = display_rows(table)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines) + "\n\n\\* best learning rate of the grid by mean final value, among those that never diverged.\n"


def latex(table: pd.DataFrame) -> str:
    header, cells = display_rows(table)

    def escape(text: str) -> str:
        return text.replace("_", r"\_").replace("%", r"\%").replace("±", r"$\pm$").replace("—", "--")

    lines = [r"\begin{tabular}{" + "l" * 4 + "r" * (len(header) - 4) + "}", r"\toprule",
             " & ".join(escape(h) for h in header) + r" \\", r"\midrule"]
    lines += [" & ".join(escape(cell) for cell in row) + r" \\" for row in cells]
    return "\n".join(lines + [r"\bottomrule", r"\end{tabular}"]) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("summaries", nargs="+", help="summary.json files of the runs")
    parser.add_argument("--out", required=True, help="output path without extension")
    arguments = parser.parse_args(argv)
    table = aggregate(run_rows(arguments.summaries))
    os.makedirs(os.path.dirname(arguments.out) or ".", exist_ok=True)
    table.to_csv(arguments.out + ".csv", index=False)
    for extension, text in ((".md", markdown(table)), (".tex", latex(table))):
        with open(arguments.out + extension, "w") as file:
            file.write(text)
    print(markdown(table))


if __name__ == "__main__":
    main()
