"""The pipeline through a real SLURM: part of the smoke protocol run with profiles/slurm on a single-node cluster
brought up on this machine (tests/local_slurm.py), against the same target run locally.

The target is one arm of the SVAG experiment (and the protocol job before it, a local rule). ``SLOW_ARM`` lengthens
its runs (two seeds, 400 steps, a checkpoint every 10) so that the test can cancel its SLURM job mid-run, once a run
has written a checkpoint: the profile's ``retries`` resubmits the job, its runs resume from their checkpoints, and
every run directory ends as the uninterrupted local run's does. One arm is all the time allows: each SLURM job
starts a Snakemake that parses the workflow (~10 s on 2 cores) and the plugin's status checks come at growing
intervals (5, 15, 25 s ... after ``--slurm-init-seconds-before-status-checks 5``; back to 5 after a job ends), so the
test takes about a minute where the arm itself trains for ~6 s.
The profile's cluster-sized resources are replaced by what one small node has (RESOURCES); its other settings
(executor, retries, keep-going, rerun-incomplete) are the ones under test. There is no accounting database here, so
the plugin reads job states from squeue (``--slurm-status-command squeue``).

Timing fields differ between any two runs and are left out of the comparisons, by name (WALL_CLOCK): ``wall_time``
of each metrics.jsonl record, ``timing`` of summary.json (wall, training, steps and examples per second) and
``run_seconds`` of each run in an arm's JSON. Everything else must be equal, and model tensors bitwise.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from experiments import run_directory
from local_slurm import local_slurm, missing_programs, PACKAGES, PARTITION
from test_pipeline import FASHION_MNIST, project_copy

MISSING = missing_programs()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.system,
    pytest.mark.skipif(bool(MISSING), reason=f"needs {', '.join(MISSING)} (Debian: {PACKAGES}): run `make system-deps`"),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: slurmd runs the jobs as root here"),
    pytest.mark.skipif(not FASHION_MNIST.is_dir(), reason="needs Fashion-MNIST: run `make system-deps`"),
]

EXPERIMENT = "marginal-momentum/svag"
ARM = ("svag-1", "sgdm")  # workload, method
TARGETS = [f"results/{EXPERIMENT}/arms/{ARM[0]}/{ARM[1]}.json"]
SLOW_ARM = """\
# tests/test_slurm.py: the SVAG experiment of config/smoke.yaml with a first arm long enough (~3 s a run) that its
# SLURM job can be cancelled between two of its checkpoints.
experiments:
  marginal-momentum/svag:
    seeds: {tuning: [100], evaluation: [0, 1]}
    workloads:
      - &svag
        name: svag-1
        task: fmnist-mlp
        options: {train_size: 256, eval_size: 64}
        steps: 400
        batch_size: 16
        schedule: constant
        eval_every: 100
        checkpoint_every: 10
        svag: 1
        search:
          sgdm: {effective_lr: {values: [0.1]}}
          sgd: &reuse_sgdm {reuse: {workload: svag-1, method: sgdm}}
      - {<<: *svag, name: svag-2, steps: 4, eval_every: 2, checkpoint_every: 4, svag: 2,
         search: {sgd: *reuse_sgdm, sgdm: *reuse_sgdm}}
"""
CONFIG = ["--configfile", "config/smoke.yaml", "config/slurm-test.yaml"]
RESOURCES = ["--default-resources", f"slurm_partition={PARTITION}", "runtime=10", "mem_mb=1000", "cpus_per_task=1",
             "--set-resources", "arm:runtime=10", "arm:mem_mb=1000", "arm:cpus_per_task=1",
             "--set-threads", "arm=1"]
SLURM = ["--workflow-profile", "profiles/slurm", *CONFIG, *RESOURCES, "--slurm-status-command", "squeue",
         "--slurm-init-seconds-before-status-checks", "5", "--slurm-no-account"]
WALL_CLOCK = {"wall_time", "timing", "run_seconds"}
KILL_WAIT_SECONDS = 120


def prepared_copy(destination: Path) -> Path:
    root = project_copy(destination)
    (root / "config/slurm-test.yaml").write_text(SLOW_ARM)
    return root


def without_wall_clock(value):
    """``value`` (parsed JSON) with every WALL_CLOCK field removed, at any depth."""
    if isinstance(value, dict):
        return {key: without_wall_clock(item) for key, item in value.items() if key not in WALL_CLOCK}
    if isinstance(value, list):
        return [without_wall_clock(item) for item in value]
    return value


def metrics(run: Path) -> list:
    return [without_wall_clock(json.loads(line)) for line in (run / "metrics.jsonl").read_text().splitlines()]


def model_tensors(run: Path) -> dict[str, torch.Tensor]:
    checkpoint = run_directory.load_checkpoint(str(run / "checkpoint.pt"))
    return checkpoint["model"]


def run_differences(run: Path, reference: Path) -> list[str]:
    """What differs between two finished run directories, apart from timing: the model tensors of the last
    checkpoint (bitwise, with dtype), metrics.jsonl record by record, summary.json. Empty when they are the same."""
    differences = []
    tensors, expected = model_tensors(run), model_tensors(reference)
    if tensors.keys() != expected.keys():
        differences.append(f"model tensors {sorted(tensors)} != {sorted(expected)}")
    differences += [f"model tensor {name}" for name in sorted(tensors.keys() & expected.keys())
                    if tensors[name].dtype != expected[name].dtype or not torch.equal(tensors[name], expected[name])]
    if metrics(run) != metrics(reference):
        differences.append("metrics.jsonl")
    summaries = [without_wall_clock(json.loads((path / "summary.json").read_text())) for path in (run, reference)]
    if summaries[0] != summaries[1]:
        differences.append("summary.json")
    return differences


def run_directories(root: Path) -> list[Path]:
    """Every run directory of the experiment, relative to ``root``."""
    return sorted(path.parent.relative_to(root) for path in (root / "results" / EXPERIMENT / "runs").rglob("config.json"))


def snakemake(root: Path, arguments: list[str], environment: dict) -> subprocess.Popen:
    """Snakemake on TARGETS, started in ``root``; its output goes to ``root``/snakemake.out."""
    with open(root / "snakemake.out", "w") as output:
        return subprocess.Popen([sys.executable, "-m", "snakemake", *TARGETS, *arguments], cwd=root, env=environment,
                                stdout=output, stderr=subprocess.STDOUT)


def finished(root: Path, pipeline: subprocess.Popen) -> str:
    """The output of a pipeline started by ``snakemake``, once it ended successfully."""
    pipeline.wait(timeout=600)
    output = (root / "snakemake.out").read_text()
    assert pipeline.returncode == 0, output[-5000:]
    return output


def stopped(pipeline: subprocess.Popen) -> None:
    """A pipeline that is still running (a check failed) is interrupted: Snakemake cancels its SLURM jobs."""
    if pipeline.poll() is None:
        pipeline.terminate()
        pipeline.wait(timeout=60)


def cancel_arm_after_its_first_checkpoint(root: Path, cluster, pipeline: subprocess.Popen) -> str:
    """Wait for the first checkpoint of the arm's runs, then scancel the SLURM job running them; its job id."""
    runs = root / "results" / EXPERIMENT / "runs" / ARM[0] / ARM[1]
    deadline = time.monotonic() + KILL_WAIT_SECONDS
    while not any(runs.rglob("checkpoint.pt")):
        assert pipeline.poll() is None, "the pipeline ended before any checkpoint:\n" + \
            (root / "snakemake.out").read_text()[-3000:]
        assert time.monotonic() < deadline, f"no checkpoint in {runs} after {KILL_WAIT_SECONDS} s"
        time.sleep(0.05)
    running = [job["id"] for job in cluster.jobs() if job["state"] == "RUNNING" and arm_of(job) == ARM]
    assert len(running) == 1, cluster.jobs()
    cluster.run("scancel", running[0])
    return running[0]


def arm_of(job: dict) -> tuple[str, str] | None:
    """(workload, method) of an arm's SLURM job, from the comment the plugin gives it (the rule and wildcards)."""
    prefix = f"rule_arm_wildcards_{EXPERIMENT.replace('/', '_')}_"  # the plugin writes "/" as "_"
    if not job["comment"].startswith(prefix):
        return None
    workload, method = job["comment"].removeprefix(prefix).rsplit("_", 1)
    return workload, method


def test_smoke_arms_through_slurm_equal_a_local_run_even_after_a_job_is_cancelled_mid_run(tmp_path):
    local, remote = prepared_copy(tmp_path / "local"), prepared_copy(tmp_path / "slurm-run")
    reference = snakemake(local, ["--cores", "2", *CONFIG], os.environ.copy())  # meanwhile: SLURM mostly waits
    try:
        with local_slurm(tmp_path / "slurm") as cluster:
            pipeline = snakemake(remote, SLURM, cluster.environment)
            try:
                cancelled = cancel_arm_after_its_first_checkpoint(remote, cluster, pipeline)
                output = finished(remote, pipeline)
            finally:
                stopped(pipeline)
            jobs = cluster.jobs()
        finished(local, reference)
    finally:
        stopped(reference)

    # The arm ran under SLURM, twice: cancelled, then its retry; the local rule (protocol) was not submitted.
    assert sorted((arm_of(job), job["state"]) for job in jobs) == [(ARM, "CANCELLED"), (ARM, "COMPLETED")], jobs
    assert [job["id"] for job in jobs if job["state"] == "CANCELLED"] == [cancelled]
    assert f"SLURM-job '{cancelled}' failed" in output

    # The cancelled job was stopped mid-run: its retry resumed a run from a checkpoint before the run's end.
    resumed = [line for path in (remote / "results" / EXPERIMENT / "runs").rglob("train.log")
               for line in path.read_text().splitlines() if " resumed " in line]
    assert resumed and all(" of 400" in line and " at step 400 " not in line for line in resumed), resumed

    arms = [without_wall_clock(json.loads((root / TARGETS[0]).read_text())) for root in (remote, local)]
    assert arms[0] == arms[1]
    runs = run_directories(local)
    assert run_directories(remote) == runs and len(runs) == 2  # one point, two evaluation seeds
    for run in runs:
        assert run_differences(remote / run, local / run) == [], run
    # negative control: the comparison sees another run (the other seed)
    assert {"metrics.jsonl", "summary.json"} <= set(run_differences(remote / runs[0], local / runs[1]))
