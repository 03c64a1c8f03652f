"""The files of one run directory, each written so that a kill at any moment leaves a consistent run.

    config.json                     the resolved RunConfig (written once; a re-run with another config is refused)
    metrics.jsonl                   one JSON record per line: every training step, and every evaluation
    checkpoint.pt                   the latest checkpoint (model, optimizer, scheduler, step, RNG states, progress)
    checkpoint.previous.pt          the checkpoint before it, the fallback when the latest is truncated or corrupt
    checkpoint.pt.sha256, checkpoint.previous.pt.sha256
                                    the SHA-256 of each checkpoint, in ``sha256sum`` format (``sha256sum -c``)
    train.log                       human-readable log, appended across resumes
    summary.json                    final results; written last, so its presence means the run finished

Whole files are replaced atomically (``experiments.atomic``: temporary file, fsync, ``os.replace``). The metrics
log is append-only; each checkpoint records its length in bytes, and a resumed run cuts the log back to that
length, so records written after the checkpoint (and any half-written line) are dropped and re-written
identically.

A checkpoint holds tensors and plain data only (RNG states included) and is loaded with ``weights_only=True``, so
loading one cannot run code: one holding other objects is refused. It is loaded only when it matches its SHA-256.
A save keeps the checkpoint there was, if it verifies, as checkpoint.previous.pt; its steps are ordered so that a
kill between any two leaves a checkpoint that verifies. A resume takes checkpoint.pt, or where that is missing,
truncated or corrupt, checkpoint.previous.pt (the run logs which file was bad and the step it falls back to; the
metrics log is cut back to that checkpoint's length); with neither it stops with one line naming them.
"""

import hashlib
import io
import json
import math
import os
import pickle
from collections.abc import Callable

import torch

from experiments.atomic import replace_atomically, write_text
from experiments.atomic import write_json  # noqa: F401 (train.py writes JSON via this module)
from experiments.config import ConfigError

CONFIG = "config.json"
METRICS = "metrics.jsonl"
CHECKPOINT = "checkpoint.pt"
PREVIOUS_CHECKPOINT = "checkpoint.previous.pt"
LOG = "train.log"
SUMMARY = "summary.json"
WAY_OUT = "delete the run directory, or start a new --out"


class BadCheckpoint(ConfigError):
    """A checkpoint file that is missing, has no or another SHA-256 than the one recorded next to it, or cannot be
    read: one to fall back from."""


def read_json(path: str):
    with open(path) as file:
        return json.load(file)


def hash_path(path: str) -> str:
    """Where the SHA-256 of the checkpoint ``path`` is recorded."""
    return f"{path}.sha256"


def previous_path(path: str) -> str:
    """Where a save keeps the checkpoint it replaces at ``path``."""
    return os.path.join(os.path.dirname(path), PREVIOUS_CHECKPOINT)


def write_hash(path: str, digest: str) -> None:
    """Record ``digest`` as the SHA-256 of ``path``, atomically, as ``sha256sum`` writes it."""
    write_text(hash_path(path), f"{digest}  {os.path.basename(path)}\n")


def recorded_hash(path: str) -> str | None:
    """The SHA-256 recorded next to ``path`` (hexadecimal), or None where there is none."""
    try:
        with open(hash_path(path), errors="replace") as file:  # a garbled file then does not match, not raise
            return file.read().split()[0]
    except (FileNotFoundError, IndexError):
        return None


def problem_with(path: str) -> str | None:
    """None when the file ``path`` exists and matches the SHA-256 recorded next to it, else what is wrong."""
    if not os.path.exists(path):
        return f"{path} is missing"
    recorded = recorded_hash(path)
    if recorded is None:
        return f"{path} has no SHA-256 in {hash_path(path)}"
    with open(path, "rb") as file:
        if hashlib.file_digest(file, "sha256").hexdigest() != recorded:
            return f"{path} does not match its SHA-256 (truncated or corrupt)"
    return None


def save_checkpoint(path: str, checkpoint: dict) -> None:
    """Write ``checkpoint`` to ``path`` with its SHA-256, keeping the checkpoint at ``path``, if it verifies, as
    checkpoint.previous.pt with its SHA-256. Every step is one atomic write or rename, ordered so that a kill
    between any two leaves at least one checkpoint that verifies: the new one, or the newest one before it."""
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    data = buffer.getvalue()
    if problem_with(path) is None:
        write_hash(previous_path(path), recorded_hash(path))  # the previous one no longer verifies; path does
        os.replace(path, previous_path(path))  # now previous verifies, and path is missing
    write_hash(path, hashlib.sha256(data).hexdigest())
    replace_atomically(path, lambda file: file.write(data))


def load_checkpoint(path: str) -> dict:
    """The checkpoint at ``path``, on the CPU, once it matches its SHA-256, loaded with ``weights_only=True`` (so
    loading it runs no code). BadCheckpoint when it is missing, does not match or cannot be read; ConfigError when
    it holds objects other than tensors and plain data. Each message is one line naming the file."""
    problem = problem_with(path)
    if problem is not None:
        raise BadCheckpoint(problem)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:  # torch's refusal of a global: a class or function to call
        raise ConfigError(f"{path} holds objects other than tensors and plain data, so it is not loaded (that could "
                          f"run code); {WAY_OUT}") from error
    except (RuntimeError, EOFError, KeyError, ValueError) as error:  # torch's zip reader and legacy loader
        raise BadCheckpoint(f"{path} cannot be read ({str(error).partition(chr(10))[0]})") from error


def has_checkpoint(directory: str) -> bool:
    """True when ``directory`` holds a checkpoint to resume from (or to refuse to resume from)."""
    return any(os.path.exists(os.path.join(directory, name)) for name in (CHECKPOINT, PREVIOUS_CHECKPOINT))


def load_latest_checkpoint(directory: str, report: Callable[[str], object]) -> dict:
    """The newest checkpoint of ``directory`` that verifies (``load_checkpoint``): checkpoint.pt, or where that is
    bad checkpoint.previous.pt, after calling ``report`` with one line saying which file was bad and the step it
    falls back to. ConfigError, one line naming both files and the way out, when neither verifies."""
    path = os.path.join(directory, CHECKPOINT)
    try:
        return load_checkpoint(path)
    except BadCheckpoint as latest:
        try:
            checkpoint = load_checkpoint(previous_path(path))
        except BadCheckpoint as previous:
            raise ConfigError(f"no checkpoint to resume from: {latest}; {previous}; {WAY_OUT}") from previous
        report(f"{latest}: falling back to {previous_path(path)} at step {checkpoint['progress']['step']}")
        return checkpoint


def delete_run(directory: str) -> None:
    """Remove the run files of ``directory`` (only those; anything else a user put there stays)."""
    for name in (SUMMARY, CHECKPOINT, hash_path(CHECKPOINT), PREVIOUS_CHECKPOINT, hash_path(PREVIOUS_CHECKPOINT),
                 METRICS, CONFIG, LOG):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            os.remove(path)


def finite_or_none(value: float) -> float | None:
    """JSON has no NaN or Inf: a non-finite number is written as null."""
    return value if math.isfinite(value) else None


class MetricsLog:
    """Append-only ``metrics.jsonl`` whose length can be recorded and restored."""

    def __init__(self, path: str, resume_at_bytes: int):
        if resume_at_bytes > (os.path.getsize(path) if os.path.exists(path) else 0):
            raise ConfigError(f"{path} is shorter than its checkpoint records ({resume_at_bytes} bytes): the run "
                              f"directory was modified; {WAY_OUT}")
        self.file = open(path, "r+b" if resume_at_bytes else "wb")
        self.file.truncate(resume_at_bytes)
        self.file.seek(resume_at_bytes)

    def append(self, record: dict) -> None:
        self.file.write((json.dumps(record, sort_keys=True) + "\n").encode())

    def length_on_disk(self) -> int:
        """Flush and fsync, then return the length in bytes: what a checkpoint records."""
        self.file.flush()
        os.fsync(self.file.fileno())
        return self.file.tell()

    def close(self) -> None:
        self.file.close()


def read_metrics(path: str) -> list[dict]:
    with open(path) as file:
        return [json.loads(line) for line in file]
