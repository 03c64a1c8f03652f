"""The files of one run directory, each written so that a kill at any moment leaves a consistent run.

    config.json     the resolved RunConfig (written once; a re-run with another config is refused)
    metrics.jsonl   one JSON record per line: every training step, and every evaluation
    checkpoint.pt   the latest checkpoint (model, optimizer, scheduler, step, RNG states, progress)
    train.log       human-readable log, appended across resumes
    summary.json    final results; written last, so its presence means the run finished

Whole files are replaced atomically (``experiments.atomic``: temporary file, fsync, ``os.replace``). The metrics
log is append-only; each checkpoint records its length in bytes, and a resumed run cuts the log back to that
length, so records written after the checkpoint (and any half-written line) are dropped and re-written
identically.
"""

import json
import math
import os

import torch

from experiments.atomic import replace_atomically, write_json  # noqa: F401 (train.py writes JSON via this module)

CONFIG = "config.json"
METRICS = "metrics.jsonl"
CHECKPOINT = "checkpoint.pt"
LOG = "train.log"
SUMMARY = "summary.json"


def read_json(path: str):
    with open(path) as file:
        return json.load(file)


def save_checkpoint(path: str, checkpoint: dict) -> None:
    replace_atomically(path, lambda file: torch.save(checkpoint, file))


def load_checkpoint(path: str) -> dict:
    return torch.load(path, map_location="cpu", weights_only=False)  # our own file: holds RNG states


def delete_run(directory: str) -> None:
    """Remove the run files of ``directory`` (only those; anything else a user put there stays)."""
    for name in (SUMMARY, CHECKPOINT, METRICS, CONFIG, LOG):
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
            raise RuntimeError(f"{path} is shorter than its checkpoint records ({resume_at_bytes} bytes); "
                               "the run directory was modified: delete it and start again")
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
