"""Times the training harness (experiments.train) against a bare training loop on the same model, data and
optimizer, and prints the ratio (goal: at most 1.05).

    .venv/bin/python benchmarks/harness_overhead.py                    # digits-mlp, width 512, ~30 s
    .venv/bin/python benchmarks/harness_overhead.py --steps 60 --repeats 1

The harness time is the run's wall time from its summary: every step logged, evaluations at step 0 and at the
end, one checkpoint. The bare loop is ``zero_grad, forward, backward, step`` over a shuffled DataLoader plus one
final evaluation. Both run in this process on one CPU thread, interleaved, and the fastest of the repeats counts.
It prints the ratio of whole runs, and the ratio per step (the difference of a long and a short run, which
removes the fixed costs: the harness's step-0 evaluation and checkpoint, which a longer run amortises).
"""

import argparse
import contextlib
import io
import json
import tempfile
import time

import torch
from torch.utils.data import DataLoader

import optimizers
from experiments import tasks, train


def bare_loop(task_name: str, options: dict, optimizer_name: str, lr: float, steps: int, batch_size: int) -> float:
    task = tasks.create(task_name, seed=0, **options)
    optimizer = optimizers.create(optimizer_name, task.model.parameters(), lr=lr)
    loader = DataLoader(task.train_set, batch_size=batch_size, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(0))
    started = time.perf_counter()
    done = 0
    while done < steps:
        for inputs, targets in loader:
            optimizer.zero_grad(set_to_none=True)
            task.loss(task.model(inputs), targets).backward()
            optimizer.step()
            done += 1
            if done == steps:
                break
    with torch.no_grad():
        for inputs, targets in DataLoader(task.eval_sets["test"], batch_size=1024):
            task.metrics(task.model(inputs), targets)
    return time.perf_counter() - started


def harness(task_name: str, options: dict, optimizer_name: str, lr: float, steps: int, batch_size: int) -> float:
    with tempfile.TemporaryDirectory() as out:
        arguments = ["--task", task_name, "--optimizer", optimizer_name, "--lr", str(lr), "--steps", str(steps),
                     "--batch-size", str(batch_size), "--eval-every", str(steps), "--checkpoint-every", str(steps),
                     "--out", out, *[f"--task-option={name}={value}" for name, value in options.items()]]
        assert train.main(arguments) == 0
        with open(f"{out}/summary.json") as file:
            return json.load(file)["timing"]["wall_seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", default="digits-mlp")
    parser.add_argument("--width", type=int, default=512, help="hidden width of the MLP")
    parser.add_argument("--optimizer", default="sgd")
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--steps", type=int, default=600, help="steps of the long runs; the short ones do 1/6")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    torch.set_num_threads(1)
    lengths = (arguments.steps // 6, arguments.steps)
    best = {}
    for _ in range(arguments.repeats):
        for steps in lengths:
            setting = (arguments.task, {"width": arguments.width}, arguments.optimizer, arguments.lr, steps,
                       arguments.batch_size)
            for name, loop in (("bare", bare_loop), ("harness", quiet(harness))):
                best[name, steps] = min(best.get((name, steps), float("inf")), loop(*setting))
    short, long = lengths
    per_step = ((best["harness", long] - best["harness", short]) / (best["bare", long] - best["bare", short]))
    print(f"{arguments.task} (width {arguments.width}), {arguments.optimizer}, batch {arguments.batch_size}, "
          f"best of {arguments.repeats}:")
    print(f"  {long} steps: bare loop {best['bare', long]:.3f} s, harness {best['harness', long]:.3f} s, "
          f"ratio {best['harness', long] / best['bare', long]:.3f}")
    print(f"  per step (runs of {short} and {long} steps differenced, fixed costs removed): ratio {per_step:.3f}")


def quiet(function):
    """``function`` with its standard output (the run's printed config and summary) discarded."""
    def silent(*arguments):
        with contextlib.redirect_stdout(io.StringIO()):
            return function(*arguments)
    return silent


if __name__ == "__main__":
    main()
