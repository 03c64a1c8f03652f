"""What every report shares: reading the arms and the protocol, the command line, and the per-arm values most
tables start from (final metrics by seed, the edge note of a tuned arm, means with bootstrap intervals)."""

import argparse
import json
import math
from collections.abc import Callable
from pathlib import Path

from experiments import statistics

CONFIDENCE = 0.95
SEED = 0  # of every bootstrap


def load_arms(paths) -> dict[tuple[str, str], dict]:
    """The arm results by (workload, method); a file holds one arm, or a list of them (one job per method); a pair
    given twice is an error."""
    arms = {}
    for path in paths:
        content = json.loads(Path(path).read_text())
        for arm in content if isinstance(content, list) else [content]:
            key = (arm["workload"], arm["method"])
            if key in arms:
                raise ValueError(f"two results for workload {key[0]}, method {key[1]}: {path}")
            arms[key] = arm
    return arms


def main(module: str, description: str, report: Callable, argv: list[str] | None = None,
         extra: Callable[[argparse.ArgumentParser], None] | None = None) -> int:
    """``python -m <module> --protocol P --arms A... --out DIR [extra]``: calls ``report(protocol, arms, out,
    arguments)`` and prints the paths it returns. ``extra`` adds the report's own arguments."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    parser.add_argument("--protocol", required=True, help="the experiment's protocol section as JSON")
    parser.add_argument("--arms", nargs="+", required=True, help="arm result JSONs")
    parser.add_argument("--out", required=True, help="folder for tables/, figures/ and verdict.md")
    if extra is not None:
        extra(parser)
    arguments = parser.parse_args(argv)
    protocol = json.loads(Path(arguments.protocol).read_text())
    for path in report(protocol, load_arms(arguments.arms), Path(arguments.out), arguments):
        print(path)
    return 0


def is_finite(value) -> bool:
    return value is not None and math.isfinite(value)


def finite(values) -> list[float]:
    return [value for value in values if is_finite(value)]


def mean_interval(values) -> tuple[float, float, float]:
    """Mean and 95 % BCa bootstrap interval of the finite values; NaNs when there are none."""
    kept = finite(values)
    return statistics.mean_ci(kept, CONFIDENCE, SEED) if kept else (math.nan, math.nan, math.nan)


def finals(arm: dict) -> dict[int, float | None]:
    """Seed -> the evaluation run's final metric (None: diverged)."""
    return {run["seed"]: run["final"] for run in arm["evaluation"]["runs"]}


def edge_note(arm: dict) -> str:
    """"" unless the arm's chosen point lies on its grid's edge: then e.g. "effective_lr at grid max"."""
    tuning = arm.get("tuning")
    if not tuning or not tuning["edge"]:
        return ""
    notes = []
    for axis in tuning["edge"]:
        value, grid = tuning["chosen_point"][axis], tuning["axes"][axis]
        notes.append(f"{axis} at grid {'max' if math.isclose(value, max(grid)) else 'min'}")
    return "; ".join(notes)
