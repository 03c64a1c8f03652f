"""experiments.launch: the command that starts a run on several processes, and an arm run that way.

The arm test runs the same arm twice, in process and as two torchrun processes (``--gpus 2``: without CUDA, two gloo
CPU processes, the path a 2-GPU job takes with the device swapped), in float64: the records agree to 1e-10, as
in tests/test_distributed.py, because only the summation order of the gradient differs.
"""

import json
import math
import os
import subprocess
import sys

import pytest
import yaml

from experiments import arm as arm_job
from experiments import launch, protocol
from experiments.config import ConfigError, resolve, validate
from experiments.launch import Placement

TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]


def test_one_process_stays_in_process():
    assert Placement().in_process and Placement(gpus=1).in_process
    assert not Placement(gpus=2).in_process and not Placement(nodes=2).in_process


def test_several_gpus_on_one_node_is_standalone_torchrun():
    assert launch.command(Placement(gpus=4), "run/launch.yaml", "run", environ={}) == [
        *TORCHRUN, "--nproc-per-node", "4", "--standalone",
        "-m", "experiments.train", "--config", "run/launch.yaml", "--out", "run", "--restart-if-changed"]


@pytest.fixture
def fake_slurm(tmp_path):
    """The environment of a 3-node SLURM job, 4242, with an ``scontrol`` that expands its node list and an
    ``squeue`` that knows the job."""
    for name, script in [("scontrol", '[ "$*" = "show hostnames gpu[07-09]" ] || exit 1\nprintf "gpu07\\ngpu08\\n'
                                      'gpu09\\n"'),
                         ("squeue", '[ "$*" = "--noheader --format=%N %D --jobs=4242" ] || exit 1\n'
                                    'echo "gpu[07-09] 3"')]:
        (tmp_path / name).write_text(f"#!/bin/sh\n{script}\n")
        (tmp_path / name).chmod(0o755)
    return {"PATH": f"{tmp_path}:{os.environ['PATH']}", "SLURM_JOB_ID": "4242", "SLURM_JOB_NODELIST": "gpu[07-09]",
            "SLURM_JOB_NUM_NODES": "3"}


MULTI_NODE = [
    "srun", "--nodes", "3", "--ntasks-per-node", "1", "--kill-on-bad-exit", "1",
    *TORCHRUN, "--nproc-per-node", "8", "--nnodes", "3", "--rdzv-backend", "c10d",
    "--rdzv-endpoint", "gpu07:33742", "--rdzv-id", "4242",  # port 29500 + 4242
    "-m", "experiments.train", "--config", "run/launch.yaml", "--out", "run", "--restart-if-changed"]


def test_several_nodes_rendezvous_on_the_first_host_of_the_allocation(fake_slurm):
    assert launch.command(Placement(gpus=8, nodes=3), "run/launch.yaml", "run", environ=fake_slurm) == MULTI_NODE


def test_without_the_node_list_in_the_environment_squeue_gives_it(fake_slurm):
    """As inside a job of snakemake-executor-plugin-slurm-jobstep, which removes SLURM_JOB_NODELIST."""
    del fake_slurm["SLURM_JOB_NODELIST"], fake_slurm["SLURM_JOB_NUM_NODES"]
    assert launch.command(Placement(gpus=8, nodes=3), "run/launch.yaml", "run", environ=fake_slurm) == MULTI_NODE


def test_several_nodes_without_slurm_name_the_variable(fake_slurm):
    del fake_slurm["SLURM_JOB_ID"]
    with pytest.raises(ConfigError, match="nodes=2 needs a SLURM allocation.*SLURM_JOB_ID is not set"):
        launch.command(Placement(nodes=2), "c", "run", environ=fake_slurm)


def test_a_job_squeue_does_not_know_is_named(fake_slurm):
    del fake_slurm["SLURM_JOB_NODELIST"]
    with pytest.raises(ConfigError, match="SLURM_JOB_ID=999: `squeue .*` failed"):
        launch.command(Placement(nodes=2), "c", "run", environ={**fake_slurm, "SLURM_JOB_ID": "999"})


def test_more_nodes_than_allocated_is_refused(fake_slurm):
    with pytest.raises(ConfigError, match="nodes=4 is not allowed in SLURM job 4242 of 3 nodes"):
        launch.command(Placement(nodes=4), "c", "run", environ=fake_slurm)


def test_a_node_list_scontrol_rejects_is_named(fake_slurm):
    with pytest.raises(ConfigError, match=r"node list 'gpu\[01-02\]': `scontrol show hostnames gpu\[01-02\]` failed"):
        launch.command(Placement(nodes=2), "c", "run", environ={**fake_slurm, "SLURM_JOB_NODELIST": "gpu[01-02]"})


@pytest.mark.parametrize("field, value, allowed", [("gpus", -1, ">= 0"), ("nodes", 0, ">= 1"), ("gpus", 1.5, ">= 0"),
                                                   ("nodes", True, ">= 1")])
def test_bad_placement_names_the_field(field, value, allowed):
    with pytest.raises(ConfigError, match=f"{field}={value!r} is not allowed; allowed: an integer {allowed}"):
        Placement(**{field: value})


def test_the_arm_command_line_refuses_a_bad_placement(capsys, tmp_path):
    spec = protocol.Arm(**ARM).as_json()
    code = arm_job.main(["--spec", json.dumps(spec), "--runs", str(tmp_path), "--out", str(tmp_path / "a.json"),
                         "--gpus", "-2"])
    assert code == 2 and "gpus=-2 is not allowed" in capsys.readouterr().err
    assert not (tmp_path / "a.json").exists()


def test_the_config_travels_float_for_float(tmp_path):
    """What train() writes for torchrun reads back as the same RunConfig, awkward floats included. Negative
    control: written as JSON, ``1e-05`` would read back as text (YAML 1.1 wants a dot in a float)."""
    config = validate({"task": "digits-mlp", "lr": 1e-10, "optimizer": "adamw", "seed": 3, "steps": 7,
                       "hyperparameters": {"betas": [0.1 + 0.2, 1 - 1e-12], "eps": 1e-300, "weight_decay": 0.0},
                       "target": 0.95, "task_options": {"width": 16, "scale": 1e-05}})
    path = tmp_path / "launch.yaml"
    path.write_text(yaml.safe_dump(launch.as_json(config), sort_keys=True))
    assert resolve(["--config", str(path), "--out", "x"])[0] == config
    path.write_text(json.dumps(launch.as_json(config)))
    assert resolve(["--config", str(path), "--out", "x"])[0].task_options["scale"] == "1e-05"


ARM = dict(experiment="overshoot", workload="digits", method="msam", optimizer="msam",
           hyperparameters={"momentum": 0.9, "rho": 0.3}, task="digits-mlp", options={"width": 16}, data_root=None,
           budget={"steps": 20, "batch_size": 32, "schedule": "constant", "eval_every": 10, "checkpoint_every": 20},
           axes={"lr": [0.1]}, reuse=None, tuning_seeds=[0], evaluation_seeds=[1])


def runs_in(dtype, monkeypatch):
    """Every run of an arm in ``dtype`` on the CPU (the protocol has no dtype: its runs are float32)."""
    monkeypatch.setattr(protocol, "run_values", lambda *arguments: {**RUN_VALUES(*arguments), "dtype": dtype,
                                                                     "device": "cpu"})


RUN_VALUES = protocol.run_values


def assert_close(expected, actual, where="record"):
    """Equal structure; numbers equal to rel 1e-10 (abs 1e-12); the run's wall time and folder are not compared."""
    if isinstance(expected, dict):
        assert expected.keys() == actual.keys(), where
        for key in expected.keys() - {"run_seconds", "directory", "wall_time"}:
            assert_close(expected[key], actual[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert len(expected) == len(actual), where
        for index, (first, second) in enumerate(zip(expected, actual)):
            assert_close(first, second, f"{where}[{index}]")
    elif isinstance(expected, float) and not isinstance(actual, bool):
        assert math.isclose(expected, actual, rel_tol=1e-10, abs_tol=1e-12), (where, expected, actual)
    else:
        assert expected == actual, where


@pytest.mark.slow
def test_an_arm_on_two_processes_records_what_it_records_in_process(tmp_path, monkeypatch):
    runs_in("float64", monkeypatch)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    arm = protocol.Arm(**ARM)
    in_process = arm_job.arm_result(arm, None, str(tmp_path / "one"))
    two_processes = arm_job.arm_result(arm, None, str(tmp_path / "two"), placement=Placement(gpus=2))
    assert_close(in_process, two_processes)
    run = two_processes["evaluation"]["runs"][0]["directory"]
    assert yaml.safe_load(open(os.path.join(run, "summary.json")))["processes"] == 2
    assert not os.path.exists(os.path.join(run, launch.CONFIG_FILE))
    # Finished runs are read back without starting processes.
    monkeypatch.setattr(launch, "command", lambda *arguments: pytest.fail("started a finished run again"))
    assert_close(two_processes, arm_job.arm_result(arm, None, str(tmp_path / "two"), placement=Placement(gpus=2)))
    # Negative control: the comparison sees rounding far smaller than a wrong gradient would cause: float32's.
    runs_in("float32", monkeypatch)
    with pytest.raises(AssertionError, match="final_train_loss|final|best|curve|train_loss"):
        assert_close(in_process, arm_job.arm_result(arm, None, str(tmp_path / "float32")))


def test_a_failing_run_names_its_command(tmp_path, monkeypatch):
    """A torchrun that fails stops the arm with the command in the error, not with a missing summary.json."""
    monkeypatch.setattr(launch, "command", lambda *arguments: [sys.executable, "-c", "raise SystemExit(3)"])
    config = validate({"task": "digits-mlp", "steps": 1})
    with pytest.raises(subprocess.CalledProcessError, match="exit status 3"):
        launch.train(config, str(tmp_path / "run"), Placement(gpus=2))
    assert not (tmp_path / "run" / launch.CONFIG_FILE).exists()
