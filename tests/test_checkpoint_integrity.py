"""Checkpoint integrity (issue 12): what a resume does with a checkpoint that is truncated, corrupt or unsafe.

Checked here:
- the RNG states and every registry optimizer's state survive ``torch.save`` + ``torch.load(weights_only=True)``
  and put back exactly what was saved (the same draws, the same next step);
- a checkpoint holding an object that would run code when unpickled is refused with one line naming the file
  and the way out, and the code does not run;
- a truncated or corrupt checkpoint.pt makes the resume fall back to checkpoint.previous.pt with one log line, and
  the run ends bit-identical to an uninterrupted one (the metrics log is cut back to the fallback's length); a
  garbled .sha256 file makes its checkpoint one to fall back from too;
- with both checkpoints bad the resume stops with one line naming both, leaving every run file as it was;
- a kill before any rename of ``save_checkpoint`` leaves a checkpoint that verifies (the new one or the one before);
- a 2-process run whose writer (rank 0) is killed after a checkpoint resumes on both ranks to the results of an
  uninterrupted 2-process run, and only rank 0 ever writes a checkpoint.
"""

import hashlib
import io
import os
import random
import shutil
import subprocess
import sys
import time

import numpy as np
import psutil
import pytest
import torch

import optimizers
from experiments import launch, run_directory, train
from experiments.launch import Placement
from optimizer_problems import SENSIBLE
from test_distributed import ENVIRONMENT
from test_resume import Interrupted, interrupt_after_checkpoint
from test_train import OVERSHOOT, comparable, run

# ``run(out, *OVERSHOOT)`` trains test_train's TINY run (30 steps, a checkpoint every 10) with overshoot-sgd, whose
# checkpoints hold both the base and the shifted weights.
WAY_OUT = "delete the run directory, or start a new --out"


def draws() -> list:
    """One draw from each global generator a run uses: torch's, numpy's (its Gaussian first) and Python's."""
    return [torch.rand(3).tolist(), np.random.normal(), np.random.random(3).tolist(), random.random(),
            random.gauss(0.0, 1.0)]


def test_rng_states_survive_a_weights_only_load_and_restore_exactly():
    np.random.normal()  # numpy now holds a cached Gaussian (has_gauss = 1), the next normal() returns it
    random.gauss(0.0, 1.0)  # and Python one in gauss_next
    buffer = io.BytesIO()
    torch.save(train.rng_state(torch.device("cpu")), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    assert state["numpy"][3] == 1 and state["python"][2] is not None
    after_saving = draws()
    train.restore_rng_state(state)
    assert draws() == after_saving


def tiny_problem():
    """A 3→2 linear model and a closure giving its squared loss on fixed data (SAM-type optimizers need one)."""
    generator = torch.Generator().manual_seed(0)
    model = torch.nn.Linear(3, 2)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator))
    inputs, targets = torch.randn(8, 3, generator=generator), torch.randn(8, 2, generator=generator)
    return model, inputs, targets


def step(model, optimizer, inputs, targets) -> None:
    def closure():
        optimizer.zero_grad()
        loss = (model(inputs) - targets).pow(2).mean()
        loss.backward()
        return loss

    optimizer.step(closure)


@pytest.mark.parametrize("name", optimizers.available())
def test_optimizer_state_survives_a_weights_only_load_and_gives_the_same_next_step(name):
    model, inputs, targets = tiny_problem()
    optimizer = optimizers.create(name, model.parameters(), **SENSIBLE[name])
    for _ in range(3):
        step(model, optimizer, inputs, targets)
    buffer = io.BytesIO()
    torch.save(optimizer.state_dict(), buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)
    resumed_model, _, _ = tiny_problem()
    resumed_model.load_state_dict(model.state_dict())
    resumed = optimizers.create(name, resumed_model.parameters(), **SENSIBLE[name])
    resumed.load_state_dict(loaded)
    step(model, optimizer, inputs, targets)
    step(resumed_model, resumed, inputs, targets)
    for original, restored in zip(model.parameters(), resumed_model.parameters()):
        assert torch.equal(original, restored)


@pytest.fixture(scope="module")
def interrupted_run(tmp_path_factory):
    """A run directory of ``run(out, *OVERSHOOT)`` stopped right after its checkpoint at step 20 (the one before:
    step 10), with a half-written metrics line after it, as a kill would leave it."""
    directory = tmp_path_factory.mktemp("interrupted")
    with pytest.MonkeyPatch.context() as monkeypatch:
        interrupt_after_checkpoint(monkeypatch, 2)
        with pytest.raises(Interrupted):
            run(directory, *OVERSHOOT)
    with open(directory / run_directory.METRICS, "a") as metrics:
        metrics.write('{"kind": "train", "step": 99999, "lo')
    assert run_directory.load_checkpoint(directory / run_directory.CHECKPOINT)["progress"]["step"] == 20
    assert run_directory.load_checkpoint(directory / run_directory.PREVIOUS_CHECKPOINT)["progress"]["step"] == 10
    return directory


@pytest.fixture(scope="module")
def uninterrupted_run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("uninterrupted")
    assert run(directory, *OVERSHOOT) == 0
    return directory


@pytest.fixture
def copy_of_interrupted_run(interrupted_run, tmp_path):
    return shutil.copytree(interrupted_run, tmp_path / "run")


def truncate_to_half(path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def flip_middle_byte(path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def run_files(directory) -> dict:
    """The bytes of every file of ``directory`` but train.log, which each attempt appends to."""
    return {name: (directory / name).read_bytes() for name in os.listdir(directory) if name != run_directory.LOG}


def create_marker(path) -> None:
    """What unpickling a ``CodeRunning`` runs: creates the file ``path``."""
    open(path, "w").close()


class CodeRunning:
    """An object whose unpickling calls ``create_marker``: stands for one that would call os.system."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return create_marker, (self.marker,)


def test_checkpoint_that_would_run_code_is_refused_and_its_code_does_not_run(copy_of_interrupted_run, tmp_path,
                                                                            capsys):
    path, marker = copy_of_interrupted_run / run_directory.CHECKPOINT, tmp_path / "code-ran"
    checkpoint = run_directory.load_checkpoint(path)
    checkpoint["rng"][0]["numpy"] = CodeRunning(marker)
    torch.save(checkpoint, path)
    with open(path, "rb") as file:
        run_directory.write_hash(str(path), hashlib.file_digest(file, "sha256").hexdigest())
    assert run(copy_of_interrupted_run, *OVERSHOOT) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Traceback" not in error
    assert str(path) in error and "holds objects other than tensors and plain data" in error and WAY_OUT in error
    assert not marker.exists()
    torch.load(path, weights_only=False)  # the control: loading it unsafely does run its code
    assert marker.exists()


@pytest.mark.parametrize("corrupt", [truncate_to_half, flip_middle_byte])
def test_corrupt_latest_checkpoint_falls_back_to_the_previous_one(corrupt, copy_of_interrupted_run,
                                                                  uninterrupted_run):
    corrupt(copy_of_interrupted_run / run_directory.CHECKPOINT)
    assert run(copy_of_interrupted_run, *OVERSHOOT) == 0
    log = (copy_of_interrupted_run / run_directory.LOG).read_text()
    checkpoint, previous = (copy_of_interrupted_run / name for name in (run_directory.CHECKPOINT,
                                                                       run_directory.PREVIOUS_CHECKPOINT))
    fallback = [line for line in log.splitlines() if "falling back" in line]
    assert len(fallback) == 1
    assert f"{checkpoint} does not match its SHA-256" in fallback[0]
    assert f"falling back to {previous} at step 10" in fallback[0]
    assert "resumed" in log
    assert comparable(copy_of_interrupted_run) == comparable(uninterrupted_run)


def test_garbled_hash_file_makes_its_checkpoint_one_to_fall_back_from(tmp_path):
    path, previous = (str(tmp_path / name) for name in (run_directory.CHECKPOINT, run_directory.PREVIOUS_CHECKPOINT))
    for number in (1, 2):
        run_directory.save_checkpoint(path, {"progress": {"step": number}})
    (tmp_path / f"{run_directory.CHECKPOINT}.sha256").write_bytes(b"\xff\xfe garbled")
    reports = []
    assert run_directory.load_latest_checkpoint(str(tmp_path), reports.append)["progress"]["step"] == 1
    assert reports == [f"{path} does not match its SHA-256 (truncated or corrupt): falling back to {previous} at "
                       "step 1"]


def test_both_checkpoints_corrupt_stops_with_one_line_and_changes_no_file(copy_of_interrupted_run, capsys):
    checkpoint, previous = (copy_of_interrupted_run / name for name in (run_directory.CHECKPOINT,
                                                                       run_directory.PREVIOUS_CHECKPOINT))
    truncate_to_half(checkpoint)
    flip_middle_byte(previous)
    before = run_files(copy_of_interrupted_run)
    assert run(copy_of_interrupted_run, *OVERSHOOT) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Traceback" not in error
    assert str(checkpoint) in error and str(previous) in error and WAY_OUT in error
    assert run_files(copy_of_interrupted_run) == before


RENAMES_PER_SAVE = 4  # the hash of the kept checkpoint, the kept checkpoint, the new hash, the new checkpoint


class Killed(BaseException):
    """Stands for a kill at one rename of ``save_checkpoint``."""


@pytest.mark.parametrize("killed_at", range(1, RENAMES_PER_SAVE + 1))
def test_kill_before_any_rename_of_a_save_leaves_a_checkpoint_that_verifies(killed_at, tmp_path, monkeypatch):
    path = str(tmp_path / run_directory.CHECKPOINT)
    for number in (1, 2):
        run_directory.save_checkpoint(path, {"progress": {"step": number}, "weights": torch.full((4,), number)})
    rename = os.replace
    renames = []

    def rename_unless_killed(source, target):
        renames.append(target)
        if len(renames) == killed_at:
            raise Killed
        rename(source, target)

    monkeypatch.setattr(os, "replace", rename_unless_killed)
    with pytest.raises(Killed):
        run_directory.save_checkpoint(path, {"progress": {"step": 3}, "weights": torch.full((4,), 3)})
    monkeypatch.setattr(os, "replace", rename)
    reports = []
    checkpoint = run_directory.load_latest_checkpoint(str(tmp_path), reports.append)
    assert checkpoint["progress"]["step"] in (2, 3)
    assert torch.equal(checkpoint["weights"], torch.full((4,), checkpoint["progress"]["step"]))
    assert len(reports) == (run_directory.problem_with(path) is not None)  # one line where it fell back


def test_a_save_renames_as_many_times_as_the_kill_test_covers(tmp_path, monkeypatch):
    path = str(tmp_path / run_directory.CHECKPOINT)
    run_directory.save_checkpoint(path, {"progress": {"step": 1}})
    rename = os.replace
    renames = []

    def counted_rename(source, target):
        renames.append(target)
        rename(source, target)

    monkeypatch.setattr(os, "replace", counted_rename)
    run_directory.save_checkpoint(path, {"progress": {"step": 2}})
    assert len(renames) == RENAMES_PER_SAVE


# A writer that notes which rank saved each checkpoint, then trains as ``python -m experiments.train`` does.
RECORDING_TRAIN = """
import os, sys
from experiments import run_directory, train
save = run_directory.save_checkpoint
def save_and_note_rank(path, checkpoint):
    open(os.path.join(os.path.dirname(path), "saved-by-rank-" + os.environ["RANK"]), "a").close()
    save(path, checkpoint)
run_directory.save_checkpoint = save_and_note_rank
sys.exit(train.main(sys.argv[1:]))
"""
TWO_PROCESS_ARGUMENTS = ["--task", "digits-mlp", "--task-option", "width=16", "--steps", "300", "--batch-size",
                         "32", "--eval-every", "50", "--checkpoint-every", "10", "--dtype", "float64", "--device",
                         "cpu", *OVERSHOOT]
TIMEOUT_SECONDS = 120


def two_processes(out) -> list[str]:
    return [*launch.torchrun(Placement(gpus=2)), "--no-python", sys.executable, "-c", RECORDING_TRAIN,
            *TWO_PROCESS_ARGUMENTS, "--out", str(out)]


def kill_rank_0_after_a_checkpoint(out) -> None:
    """Start the 2-process run into ``out``, SIGKILL its rank 0 once a checkpoint is written; wait for the end."""
    launcher = subprocess.Popen(two_processes(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=ENVIRONMENT)
    try:
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while not (out / run_directory.CHECKPOINT).exists():
            assert launcher.poll() is None, "the run ended before writing a checkpoint"
            assert time.monotonic() < deadline, f"no checkpoint within {TIMEOUT_SECONDS} s"
            time.sleep(0.02)
        [rank_0] = [worker for worker in psutil.Process(launcher.pid).children()
                    if worker.environ().get("RANK") == "0"]
        rank_0.kill()
        assert launcher.wait(timeout=TIMEOUT_SECONDS) != 0
    finally:
        launcher.kill()
        launcher.wait()
    assert not (out / run_directory.SUMMARY).exists(), "the run finished before it was killed"


@pytest.mark.slow
def test_two_process_run_killed_on_one_rank_resumes_on_both_to_identical_results(tmp_path):
    killed, uninterrupted = tmp_path / "killed", tmp_path / "uninterrupted"
    kill_rank_0_after_a_checkpoint(killed)
    subprocess.run(two_processes(killed), check=True, capture_output=True, env=ENVIRONMENT, timeout=TIMEOUT_SECONDS)
    assert "resumed" in (killed / run_directory.LOG).read_text()
    subprocess.run(two_processes(uninterrupted), check=True, capture_output=True, env=ENVIRONMENT,
                   timeout=TIMEOUT_SECONDS)
    assert comparable(killed) == comparable(uninterrupted)
    for directory in (killed, uninterrupted):
        assert (directory / "saved-by-rank-0").exists() and not (directory / "saved-by-rank-1").exists()
