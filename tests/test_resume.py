"""Kill a run with SIGKILL after its first checkpoint, start the same command again: the resumed run ends
bit-identical (metrics and summary, timing aside) to one that was never interrupted."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from experiments import run_directory, train
from test_train import comparable

ARGUMENTS = ["--task", "digits-mlp", "--task-option", "width=16", "--steps", "1500", "--batch-size", "16",
             "--eval-every", "100", "--checkpoint-every", "100", "--schedule", "cosine"]


def kill_after_first_checkpoint(command: list[str], directory) -> None:
    # Same thread count as this process, so the killed run and the in-process one do identical arithmetic.
    environment = dict(os.environ, OMP_NUM_THREADS=str(torch.get_num_threads()))
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=environment)
    deadline = time.monotonic() + 60
    while not (directory / "checkpoint.pt").exists():
        assert process.poll() is None, "the run ended before writing a checkpoint"
        assert time.monotonic() < deadline, "no checkpoint within 60 s"
        time.sleep(0.02)
    time.sleep(0.3)  # let it write metrics past the checkpoint, which the resumed run must cut away
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (directory / "summary.json").exists(), "the run finished before it was killed"
    with open(directory / "metrics.jsonl", "a") as metrics:  # as if killed mid-line, after the checkpoint
        metrics.write('{"kind": "train", "step": 99999, "lo')


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", [
    ["--optimizer", "sgdm", "--lr", "0.05", "--momentum", "0.9"],
    ["--optimizer", "overshoot-sgd", "--lr", "0.05", "--momentum", "0.9", "--overshoot", "5"],  # shifted weights
], ids=["sgdm", "overshoot-sgd"])
def test_killed_run_resumes_to_identical_results(optimizer, tmp_path):
    killed, uninterrupted = tmp_path / "killed", tmp_path / "uninterrupted"
    arguments = [*ARGUMENTS, *optimizer]
    kill_after_first_checkpoint([sys.executable, "-m", "experiments.train", *arguments, "--out", str(killed)],
                                killed)
    assert train.main([*arguments, "--out", str(killed)]) == 0
    assert "resumed" in (killed / "train.log").read_text()
    assert train.main([*arguments, "--out", str(uninterrupted)]) == 0
    assert comparable(killed) == comparable(uninterrupted)


class Interrupted(Exception):
    """Stands for a kill right after a checkpoint was written."""


def interrupt_after_checkpoint(monkeypatch, number: int = 1) -> None:
    """Make the run stop (raise Interrupted) right after its ``number``-th checkpoint; later runs save normally."""
    save = run_directory.save_checkpoint
    saves = []

    def save_then_maybe_stop(path, checkpoint):
        save(path, checkpoint)
        saves.append(path)
        if len(saves) == number:
            monkeypatch.setattr(run_directory, "save_checkpoint", save)
            raise Interrupted

    monkeypatch.setattr(run_directory, "save_checkpoint", save_then_maybe_stop)


@pytest.mark.parametrize("options", [
    ["--svag", "4", "--optimizer", "sam", "--lr", "0.05", "--rho", "0.05"],  # two batches per step, a closure
    ["--schedule", "multistep", "--milestones", "15,30", "--decay-factor", "0.3", "--warmup-steps", "8",
     "--optimizer", "overshoot-sgd", "--lr", "0.1", "--momentum", "0.9", "--overshoot", "5"],
], ids=["svag", "warmup-multistep"])
def test_interrupted_run_resumes_to_identical_results(options, tmp_path, monkeypatch):
    """In process: the run stops right after its first checkpoint (step 10 of 40), with a half-written metrics
    line after it; started again it resumes and ends bit-identical to an uninterrupted run."""
    arguments = ["--task", "digits-mlp", "--task-option", "width=16", "--task-option", "train_size=256",
                 "--steps", "40", "--batch-size", "16", "--eval-every", "5", "--checkpoint-every", "10", *options]
    interrupted, uninterrupted = tmp_path / "interrupted", tmp_path / "uninterrupted"
    interrupt_after_checkpoint(monkeypatch)
    with pytest.raises(Interrupted):
        train.main([*arguments, "--out", str(interrupted)])
    with open(interrupted / "metrics.jsonl", "a") as metrics:
        metrics.write('{"kind": "train", "step": 99999, "lo')
    assert train.main([*arguments, "--out", str(interrupted)]) == 0
    assert "resumed" in (interrupted / "train.log").read_text()
    assert train.main([*arguments, "--out", str(uninterrupted)]) == 0
    assert comparable(interrupted) == comparable(uninterrupted)
