"""How much of the pipeline's training-job time is spent inside runs (goal: at least 0.85).

    .venv/bin/python benchmarks/pipeline_overhead.py                 # after `make reproduce`
    .venv/bin/python benchmarks/pipeline_overhead.py --root .smoke   # after `make smoke`

Job time is what Snakemake's ``benchmark:`` directive measured for every training job (the ``s`` column of
``benchmarks/output/<experiment>/arms/<workload>/<method>.tsv``, or ``.../jobs/<group>.tsv``): the whole process, from interpreter start-up and
imports to the written result. Time inside runs is the sum of the jobs' ``run_seconds`` (``results/<experiment>/
arms/<workload>/<method>.json``): from building a run's task to its summary, data loading and evaluations
included. The ratio of the two sums, per experiment and in all, is what the pipeline spends training.

Only jobs whose result and timing are both present count, and a job that found all its runs finished (a re-run of
the pipeline) measures nothing useful: run it on a fresh ``results/``.
"""

import argparse
import json
from pathlib import Path

import pandas as pd


def job_times(root: Path) -> pd.DataFrame:
    """One row per training job (one arm, or with grouped jobs a method's or the experiment's arms): experiment, workload,
    method, job seconds, seconds inside runs (a run's Hessian spectrum, computed in the job, counts as its work),
    runs."""
    rows = []
    output = root / "benchmarks" / "output"
    jobs = [(timing, 2, "arms") for timing in output.glob("**/arms/*/*.tsv")]
    jobs += [(timing, 1, "jobs") for timing in output.glob("**/jobs/*.tsv")]
    for timing, depth, kind in sorted(jobs):
        relative = timing.relative_to(output)
        experiment = str(relative.parents[depth])
        result = root / "results" / relative.with_suffix(".json")
        if not result.exists():
            continue
        content = json.loads(result.read_text())
        arms = content if isinstance(content, list) else [content]
        runs = [run for arm in arms for run in [*((arm["tuning"] or {}).get("runs", [])), *arm["evaluation"]["runs"]]]
        rows.append({"experiment": experiment, "workload": arms[0]["workload"] if kind == "arms" else "(all)",
                     "method": arms[0]["method"], "job_seconds": float(pd.read_csv(timing, sep="\t")["s"].iloc[-1]),
                     "run_seconds": sum(run["run_seconds"] + ((run.get("hessian") or {}).get("seconds") or 0.0)
                                        for run in runs), "runs": len(runs)})
    return pd.DataFrame(rows, columns=["experiment", "workload", "method", "job_seconds", "run_seconds", "runs"])


def summary(jobs: pd.DataFrame) -> pd.DataFrame:
    """Per experiment and in all: jobs, runs, the two sums and their ratio."""
    sums = jobs.groupby("experiment")[["job_seconds", "run_seconds", "runs"]].sum()
    sums["jobs"] = jobs.groupby("experiment").size()
    sums.loc["all"] = sums.sum()
    sums["inside_runs"] = sums["run_seconds"] / sums["job_seconds"]
    return sums[["jobs", "runs", "job_seconds", "run_seconds", "inside_runs"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=Path("."), help="the pipeline's working directory")
    arguments = parser.parse_args(argv)
    jobs = job_times(arguments.root)
    if jobs.empty:
        print(f"no training jobs with both a result and a timing under {arguments.root}: run the pipeline first")
        return 1
    table = summary(jobs)
    print(table.to_string(float_format=lambda value: f"{value:.3f}"))
    print(f"\ntime inside runs / training-job time: {table.loc['all', 'inside_runs']:.3f} (goal: >= 0.85)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
