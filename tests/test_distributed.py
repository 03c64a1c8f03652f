"""Data parallelism: 2 gloo processes with half the batch each make the same updates as 1 process with all of it,
whether the 2 processes share one torchrun (one node) or are started as 2 nodes of 1 process each.

In float64 the only difference is the order in which the gradient's per-example terms are summed (two half-batch
means averaged vs one mean), ~1e-16 relative per step; over 20 steps that stays far below the 1e-10 tolerance.
Both use the torchrun options of ``experiments.launch``: standalone on one node; across nodes the c10d rendezvous,
here on 127.0.0.1, with the two nodes started as two separate torchrun commands, as srun starts them on a cluster.

The tests whose names contain ``cuda`` run the same comparisons on GPUs (nccl) and skip without them; the suite
never needs a GPU. ``benchmarks/gpu_check.sh`` selects them with ``-k cuda``.
"""

import os
import subprocess

import pytest
import torch

from experiments import launch, run_directory, train
from experiments.launch import Placement
from local_slurm import free_port

ARGUMENTS = ["--task", "digits-mlp", "--task-option", "width=16", "--steps", "20", "--batch-size", "32",
             "--eval-every", "10", "--checkpoint-every", "20", "--dtype", "float64", "--device", "cpu"]
ENVIRONMENT = dict(os.environ, OMP_NUM_THREADS="1")
CUDA_DEVICES = torch.cuda.device_count() if torch.cuda.is_available() else 0
TIMEOUT_SECONDS = 120  # a node that never joins the rendezvous would otherwise keep the other waiting for 15 min


def assert_same_training(one, two, processes: int) -> None:
    """The run directories ``one`` and ``two`` logged the same metrics and ended at the same weights, to rel 1e-10;
    ``two`` ran on ``processes`` processes."""
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
    assert run_directory.read_json(two / "summary.json")["processes"] == processes


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", [
    ["--optimizer", "sgdm", "--lr", "0.1", "--momentum", "0.9"],
    ["--optimizer", "sam", "--lr", "0.1", "--rho", "0.05"],  # a closure: two all-reduced gradients per step
], ids=["sgdm", "sam"])
def test_two_processes_match_one(optimizer, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    assert train.main([*ARGUMENTS, *optimizer, "--out", str(one)]) == 0
    subprocess.run([*launch.torchrun(Placement(gpus=2)), "-m", "experiments.train", *ARGUMENTS, *optimizer,
                    "--out", str(two)], check=True, capture_output=True, env=ENVIRONMENT)
    assert_same_training(one, two, processes=2)


def two_nodes(arguments: list[list[str]], out) -> list[str]:
    """Train on 2 nodes of 1 process each, the nodes started side by side as separate torchrun commands with
    ``arguments[rank]`` for experiments.train; returns each node's output, failing if either fails."""
    options = launch.torchrun(Placement(gpus=1, nodes=2), f"127.0.0.1:{free_port()}", "two-nodes")
    nodes = [subprocess.Popen([*options, "--node-rank", str(rank), "-m", "experiments.train", *arguments[rank],
                               "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env=ENVIRONMENT) for rank in (0, 1)]
    try:
        outputs = [node.communicate(timeout=TIMEOUT_SECONDS)[0] for node in nodes]
    finally:
        for node in nodes:
            node.kill()
            node.wait()
    assert [node.returncode for node in nodes] == [0, 0], outputs
    return outputs


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", [
    ["--optimizer", "overshoot-sgd", "--lr", "0.1", "--momentum", "0.9", "--overshoot", "5"],  # shifted weights
    ["--optimizer", "step-tuned-sgd", "--lr", "0.3"],  # a closure: two all-reduced gradients per step
], ids=["overshoot-sgd", "step-tuned-sgd"])
def test_two_nodes_match_one_process(optimizer, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    assert train.main([*ARGUMENTS, *optimizer, "--out", str(one)]) == 0
    two_nodes([[*ARGUMENTS, *optimizer]] * 2, two)
    assert_same_training(one, two, processes=2)


@pytest.mark.skipif(CUDA_DEVICES < 1, reason="no CUDA device")
def test_one_cuda_process_matches_the_cpu(tmp_path):
    """float64 on a GPU makes the CPU's updates up to the order of summation (cuBLAS vs CPU reductions)."""
    one, two = tmp_path / "cpu", tmp_path / "cuda"
    optimizer = ["--optimizer", "msam", "--lr", "0.1", "--momentum", "0.9", "--rho", "0.3"]
    assert train.main([*ARGUMENTS, *optimizer, "--out", str(one)]) == 0
    assert train.main([*ARGUMENTS, *optimizer, "--device", "cuda", "--out", str(two)]) == 0
    assert_same_training(one, two, processes=1)


@pytest.mark.skipif(CUDA_DEVICES < 2, reason="needs 2 CUDA devices")
def test_two_cuda_processes_match_one_cpu_process(tmp_path):
    """DDP over nccl on 2 GPUs, half the batch each, against 1 CPU process with all of it."""
    one, two = tmp_path / "cpu", tmp_path / "cuda"
    optimizer = ["--optimizer", "sam", "--lr", "0.1", "--rho", "0.05"]
    assert train.main([*ARGUMENTS, *optimizer, "--out", str(one)]) == 0
    subprocess.run([*launch.torchrun(Placement(gpus=2)), "-m", "experiments.train", *ARGUMENTS, *optimizer,
                    "--device", "cuda", "--out", str(two)], check=True, capture_output=True, env=ENVIRONMENT)
    assert_same_training(one, two, processes=2)
