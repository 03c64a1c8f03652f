"""The whole pipeline on the smoke config, in a scratch directory: every stage runs, the table shows the
diverged run, and a second invocation finds nothing to do."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(REPOSITORY / "Snakefile"),
             "--configfile", str(REPOSITORY / "config/smoke.yaml"), "--cores", "2"]


@pytest.mark.slow
def test_smoke_pipeline_runs_every_stage_then_has_nothing_to_do(tmp_path):
    finished = subprocess.run([*SNAKEMAKE, "--directory", str(tmp_path)], capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr[-3000:]
    for name in ("theory/claims.json", "theory/claims.md", "theory/claims.tex", "sweep/summary.csv",
                 "sweep/summary.md", "sweep/summary.tex"):
        assert (tmp_path / "results" / name).stat().st_size > 0, name
    table = pd.read_csv(tmp_path / "results/sweep/summary.csv")
    assert len(table) == 4
    assert table.set_index(["optimizer", "lr"]).loc[("sgdm", 1e6), "diverged"] == 1
    assert (tmp_path / "benchmarks/output/sweep/summary.tsv").exists()
    again = subprocess.run([*SNAKEMAKE, "--directory", str(tmp_path), "--dry-run"], capture_output=True, text=True)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
