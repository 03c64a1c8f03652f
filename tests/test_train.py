"""The training harness: determinism, divergence, base-weight evaluation, finished and changed runs."""

import json
import math
import os
import random
import subprocess
import sys

import numpy as np
import pytest
import torch

import optimizers
from experiments import evaluation, run_directory, train
from experiments.config import resolve, validate
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
    with evaluation.evaluation_weights(network, optimizer, True, batches, device, torch.float32):
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


def test_in_process_run_is_bitwise_the_same_first_or_after_other_runs(tmp_path):
    """One run alone in a fresh process, and the same run in this process after other runs and with the global
    RNGs and the deterministic-algorithms flag disturbed: identical results, and the caller's state is kept."""
    arguments = [*TINY, *OVERSHOOT, "--schedule", "cosine"]
    environment = dict(os.environ, OMP_NUM_THREADS=str(torch.get_num_threads()))  # the same arithmetic
    subprocess.run([sys.executable, "-m", "experiments.train", *arguments, "--out", str(tmp_path / "first")],
                   check=True, env=environment, stdout=subprocess.DEVNULL)
    config, _ = resolve([*arguments, "--out", "unused"])
    train.run(validate({**train.as_json(config), "optimizer": "sam", "hyperparameters": {"rho": 0.05}}),
              str(tmp_path / "other"))
    torch.manual_seed(123)
    np.random.seed(4)
    random.seed(5)
    torch.use_deterministic_algorithms(False)
    states = torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()
    summary = train.run(config, str(tmp_path / "after"))
    assert comparable(tmp_path / "first") == comparable(tmp_path / "after")
    assert summary == run_directory.read_json(tmp_path / "after" / "summary.json")
    assert not torch.are_deterministic_algorithms_enabled()
    assert torch.equal(states[0], torch.get_rng_state()) and (states[1] == np.random.get_state()[1]).all()
    assert states[2] == random.getstate()
    stamps = {name: os.stat(tmp_path / "after" / name).st_mtime_ns for name in os.listdir(tmp_path / "after")}
    assert train.run(config, str(tmp_path / "after")) == summary  # finished: read back, nothing recomputed
    assert stamps == {name: os.stat(tmp_path / "after" / name).st_mtime_ns for name in os.listdir(tmp_path / "after")}


def logged_learning_rates(directory) -> list[float]:
    return [record["lr"] for record in run_directory.read_metrics(directory / "metrics.jsonl")
            if record["kind"] == "train"]


def test_warmup_and_multistep_follow_torch_schedulers_and_the_closed_form(tmp_path):
    """Each step's logged lr against torch's LinearLR (warm-up from peak/W) chained with MultiStepLR, and a few
    values by hand; a cosine run with warm-up is the product of the two factors."""
    assert run(tmp_path / "multistep", *OVERSHOOT, "--schedule", "multistep", "--milestones", "10,20",
               "--decay-factor", "0.5", "--warmup-steps", "4") == 0
    logged = logged_learning_rates(tmp_path / "multistep")
    parameter = torch.zeros(1, requires_grad=True)
    reference = torch.optim.SGD([parameter], lr=0.1)
    scheduler = torch.optim.lr_scheduler.ChainedScheduler([
        torch.optim.lr_scheduler.LinearLR(reference, start_factor=1 / 4, total_iters=3),
        torch.optim.lr_scheduler.MultiStepLR(reference, milestones=[10, 20], gamma=0.5)])
    expected = []
    for _ in range(30):
        expected.append(reference.param_groups[0]["lr"])
        reference.step()
        scheduler.step()
    assert logged == pytest.approx(expected, rel=1e-12)
    assert logged[:5] == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.1], rel=1e-12)
    assert (logged[9], logged[10], logged[19], logged[20]) == pytest.approx((0.1, 0.05, 0.05, 0.025), rel=1e-12)
    assert run(tmp_path / "cosine", *OVERSHOOT, "--schedule", "cosine", "--warmup-steps", "6") == 0
    cosine = [0.1 * min(1, (done + 1) / 6) * 0.5 * (1 + math.cos(math.pi * done / 30)) for done in range(30)]
    assert logged_learning_rates(tmp_path / "cosine") == pytest.approx(cosine, rel=1e-12)
    # Negative control: a warm-up counted from step 0 (lr 0 on the first step) is a different schedule.
    assert logged_learning_rates(tmp_path / "cosine") != pytest.approx(
        [0.1 * min(1, done / 6) * 0.5 * (1 + math.cos(math.pi * done / 30)) for done in range(30)], rel=1e-6)


def test_bfloat16_autocast_runs_the_forward_passes_in_bf16_and_stays_bit_reproducible(tmp_path):
    """``--autocast bfloat16``: the first step's loss (same weights, same batch) moves by bf16 rounding only; the
    weights and the optimizer state stay float32; two such runs are bit-identical."""
    for name in ("mixed", "again"):
        assert run(tmp_path / name, *OVERSHOOT, "--autocast", "bfloat16") == 0
    assert run(tmp_path / "float32", *OVERSHOOT) == 0
    mixed, again, full = (comparable(tmp_path / name) for name in ("mixed", "again", "float32"))
    assert mixed == again
    first_loss = [next(r["loss"] for r in result[0] if r["kind"] == "train") for result in (mixed, full)]
    assert first_loss[0] != first_loss[1] and first_loss[0] == pytest.approx(first_loss[1], rel=2**-7)
    checkpoint = run_directory.load_checkpoint(str(tmp_path / "mixed" / "checkpoint.pt"))
    tensors = [*checkpoint["model"].values(), *(value for state in checkpoint["optimizer"]["state"].values()
                                                 for value in state.values() if torch.is_tensor(value))]
    assert {tensor.dtype for tensor in tensors if tensor.is_floating_point()} == {torch.float32}


def test_a_run_stored_before_a_field_existed_counts_as_that_fields_default(tmp_path, capsys):
    assert run(tmp_path, *OVERSHOOT) == 0
    stored = json.loads((tmp_path / "config.json").read_text())
    for name in ("svag", "warmup_steps", "milestones", "decay_factor", "autocast"):
        del stored[name]
    (tmp_path / "config.json").write_text(json.dumps(stored))
    assert run(tmp_path, *OVERSHOOT) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert run(tmp_path, *OVERSHOOT, "--svag", "2") == 2  # a value other than the default is a change
    assert "svag=2 differs from 1" in capsys.readouterr().err


def test_decoded_data_is_shared_read_only_and_tasks_copy_it():
    from experiments.tasks.sklearn_bundled import digits_split

    arrays = digits_split()
    assert all(a is b for a, b in zip(arrays, digits_split()))  # decoded once per process
    assert not any(array.flags.writeable for array in arrays)
    task = create_task("digits-mlp", seed=0)
    for tensor in (*task.train_set.tensors, *task.eval_sets["test"].tensors):
        tensor.zero_()  # a run that changed its data ...
    assert arrays[0].any() and arrays[3].any()  # ... leaves the cache as it was
    fresh = create_task("digits-mlp", seed=0)
    assert fresh.eval_sets["test"].tensors[0].abs().sum() > 0


def test_shifted_weight_methods_also_log_the_training_loss_at_base_weights(tmp_path):
    """Overshoot trains at θ′ = θ − γηb: its logged "loss" is L(θ′; B), and "base_loss" is L(θ; B) on the same batch,
    the base model's training curve (what the Overshoot paper plots). At step 1 the two coincide (b = 0); later they
    differ. Plain SGDM logs no base_loss."""
    common = ["--task", "digits-mlp", "--task-option", "width=8", "--lr", "0.5", "--steps", "6", "--batch-size", "16",
              "--eval-every", "6", "--checkpoint-every", "6", "--dtype", "float64", "--seed", "3"]
    assert run(tmp_path / "sgdo", *common, "--optimizer", "overshoot-sgd", "--momentum", "0.9", "--overshoot", "5") == 0
    records = [r for r in run_directory.read_metrics(str(tmp_path / "sgdo" / run_directory.METRICS))
               if r["kind"] == "train"]
    assert records[0]["base_loss"] == pytest.approx(records[0]["loss"], rel=1e-12)
    assert all(abs(r["base_loss"] - r["loss"]) > 1e-9 for r in records[2:])
    assert run(tmp_path / "sgdm", *common, "--optimizer", "sgdm", "--momentum", "0.9") == 0
    plain = [r for r in run_directory.read_metrics(str(tmp_path / "sgdm" / run_directory.METRICS))
             if r["kind"] == "train"]
    assert all("base_loss" not in r for r in plain)
