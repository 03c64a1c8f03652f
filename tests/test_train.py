"""The training harness: determinism, divergence, base-weight evaluation, finished and changed runs."""

import json
import os

import pytest
import torch

import optimizers
from experiments import run_directory, train
from experiments.tasks import create as create_task

TINY = ["--task", "digits-mlp", "--task-option", "width=16", "--task-option", "train_size=256",
        "--steps", "30", "--batch-size", "32", "--eval-every", "10", "--checkpoint-every", "10"]
OVERSHOOT = ["--optimizer", "overshoot-sgd", "--lr", "0.1", "--momentum", "0.9", "--overshoot", "5"]


def run(out, *arguments) -> int:
    return train.main([*TINY, *arguments, "--out", str(out)])


def comparable(directory) -> tuple[list[dict], dict]:
    """Metrics and summary without the timing fields, which are the only ones allowed to differ."""
    metrics = [{k: v for k, v in record.items() if k != "wall_time"}
               for record in run_directory.read_metrics(os.path.join(directory, run_directory.METRICS))]
    summary = run_directory.read_json(os.path.join(directory, run_directory.SUMMARY))
    summary.pop("timing")
    return metrics, summary


def test_two_runs_are_bit_identical(tmp_path):
    assert run(tmp_path / "a", *OVERSHOOT, "--schedule", "cosine") == 0
    assert run(tmp_path / "b", *OVERSHOOT, "--schedule", "cosine") == 0
    first, second = comparable(tmp_path / "a"), comparable(tmp_path / "b")
    assert first == second
    assert len([r for r in first[0] if r["kind"] == "train"]) == 30
    assert [r["step"] for r in first[0] if r["kind"] == "eval"] == [0, 10, 20, 30]


def test_run_writes_every_file_and_counts_gradient_evaluations(tmp_path):
    assert run(tmp_path, "--optimizer", "sam", "--lr", "0.1", "--rho", "0.05", "--target", "0.2") == 0
    names = set(os.listdir(tmp_path))
    assert {"config.json", "metrics.jsonl", "checkpoint.pt", "train.log", "summary.json"} <= names
    summary = run_directory.read_json(tmp_path / "summary.json")
    assert summary["gradient_evaluations"] == 60  # SAM: two per step
    assert summary["target"]["gradient_evaluations"] == 2 * summary["target"]["steps"]
    assert summary["status"] == "finished" and summary["final"]["test/accuracy"] > 0.1


def test_huge_learning_rate_ends_as_diverged_with_exit_code_0(tmp_path):
    assert run(tmp_path, "--optimizer", "sgdm", "--lr", "1e6") == 0
    summary = run_directory.read_json(tmp_path / "summary.json")
    assert summary["diverged"] and summary["status"] == "diverged"
    assert summary["diverged_step"] == summary["steps"] < 30
    last = run_directory.read_metrics(tmp_path / "metrics.jsonl")[-1]
    assert last["step"] == summary["diverged_step"] and last["loss"] is None  # NaN is written as null


def test_evaluation_and_checkpoint_use_base_weights(tmp_path):
    assert run(tmp_path, *OVERSHOOT) == 0
    checkpoint = run_directory.load_checkpoint(tmp_path / "checkpoint.pt")
    base, trained = checkpoint["model"], checkpoint["training_model"]
    assert any(not torch.equal(base[name], trained[name]) for name in base)
    task = create_task("digits-mlp", seed=0, width=16, train_size=256)
    task.model.load_state_dict(base)
    inputs, targets = task.eval_sets["test"][:]
    accuracy = task.metrics(task.model(inputs), targets)["accuracy"].item() / len(targets)
    summary = run_directory.read_json(tmp_path / "summary.json")
    assert accuracy == pytest.approx(summary["final"]["test/accuracy"], abs=1e-12)


def test_batch_norm_statistics_are_re_estimated_at_base_weights_and_restored():
    torch.manual_seed(0)
    network = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    optimizer = optimizers.create("overshoot-sgd", network.parameters(), lr=0.5, momentum=0.9, overshoot=5)
    data = torch.utils.data.TensorDataset(torch.randn(64, 3), torch.zeros(64))
    for _ in range(3):
        optimizer.zero_grad()
        network(data.tensors[0]).pow(2).sum().backward()
        optimizer.step()
    params_before = [p.clone() for p in network.parameters()]
    buffers_before = [b.clone() for b in network.buffers()]
    batches = torch.utils.data.DataLoader(data, batch_sampler=[list(range(32)), list(range(32, 64))])
    device = torch.device("cpu")
    with train.evaluation_weights(network, optimizer, True, batches, device, torch.float32):
        features = network[0](data.tensors[0]).detach()
        assert torch.allclose(network[1].running_mean, features.mean(0), atol=1e-6)
    assert all(torch.equal(a, b) for a, b in zip(params_before, network.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(buffers_before, network.buffers()))


def test_finished_run_is_not_redone(tmp_path, capsys):
    assert run(tmp_path, *OVERSHOOT) == 0
    stamps = {name: os.stat(tmp_path / name).st_mtime_ns for name in os.listdir(tmp_path)}
    assert run(tmp_path, *OVERSHOOT) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert stamps == {name: os.stat(tmp_path / name).st_mtime_ns for name in os.listdir(tmp_path)}


def test_changed_config_is_refused_unless_restart_is_asked(tmp_path, capsys):
    assert run(tmp_path, *OVERSHOOT) == 0
    assert run(tmp_path, *OVERSHOOT, "--seed", "1") == 2
    assert "seed=1 differs from 0" in capsys.readouterr().err
    assert run(tmp_path, *OVERSHOOT, "--seed", "1", "--restart-if-changed") == 0
    assert json.loads((tmp_path / "config.json").read_text())["seed"] == 1
