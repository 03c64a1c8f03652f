"""Data parallelism: 2 gloo processes with half the batch each make the same updates as 1 process with all of it.

In float64 the only difference is the order in which the gradient's per-example terms are summed (two half-batch
means averaged vs one mean), ~1e-16 relative per step; over 20 steps that stays far below the 1e-10 tolerance.
"""

import os
import subprocess
import sys

import pytest
import torch

from experiments import run_directory, train

ARGUMENTS = ["--task", "digits-mlp", "--task-option", "width=16", "--steps", "20", "--batch-size", "32",
             "--eval-every", "10", "--checkpoint-every", "20", "--dtype", "float64", "--device", "cpu"]


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", [
    ["--optimizer", "sgdm", "--lr", "0.1", "--momentum", "0.9"],
    ["--optimizer", "sam", "--lr", "0.1", "--rho", "0.05"],  # a closure: two all-reduced gradients per step
], ids=["sgdm", "sam"])
def test_two_processes_match_one(optimizer, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    assert train.main([*ARGUMENTS, *optimizer, "--out", str(one)]) == 0
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                    "-m", "experiments.train", *ARGUMENTS, *optimizer, "--out", str(two)],
                   check=True, capture_output=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    one_metrics = run_directory.read_metrics(one / "metrics.jsonl")
    two_metrics = run_directory.read_metrics(two / "metrics.jsonl")
    assert [r["step"] for r in one_metrics] == [r["step"] for r in two_metrics]
    for first, second in zip(one_metrics, two_metrics):
        assert first.keys() == second.keys()
        for key in first.keys() - {"wall_time", "kind"}:
            assert first[key] == pytest.approx(second[key], rel=1e-10, abs=1e-12), key
    one_model = run_directory.load_checkpoint(one / "checkpoint.pt")["model"]
    two_model = run_directory.load_checkpoint(two / "checkpoint.pt")["model"]
    for name in one_model:
        torch.testing.assert_close(one_model[name], two_model[name], rtol=1e-10, atol=1e-12)
    assert run_directory.read_json(two / "summary.json")["processes"] == 2
