"""Training steps per second of several methods, relative to a baseline, measured in one job: the Momentum-SAM
paper's "Speed" column (Becker, Altrock, Risse 2024, Table 1: SGD 1, SAM 0.52, MSAM 0.99).

    python -m experiments.speed --spec '<JSON>' --out results/msam/speed.json

    spec = {"task": "cifar100-wrn16-4", "options": {}, "data_root": null, "batch_size": 256, "baseline": "SGD",
            "repeats": 5, "steps": 50, "warmup": 5, "seed": 0,           # optional: "threads" (1), "device" (auto)
            "methods": {"SGD": {"optimizer": "sgdm", "setting": {"lr": 0.5, "momentum": 0.9}},
                        "SAM": {"optimizer": "sam", "setting": {"lr": 0.5, "rho": 0.05}}}}

The task is built once. In each repeat every method, in an order rotated by one place per repeat (so a drift of
the machine's speed hits every method alike), starts from the same initial weights and RNG state, takes ``warmup``
untimed and then ``steps`` timed steps on the same fixed, already augmented training batches: the harness's step
(``experiments.train``: ``optimizer.step(closure)``, the closure zeroing the gradients, running the forward pass
and ``task.loss`` and backward, and the loss read back as a number; every method gets the closure). As in the
harness's ``training_seconds``, loading and augmenting data is not timed. On CPU torch uses ``threads`` threads
(default 1, so runs of other jobs on the machine disturb less); on a GPU the device is synchronised around the
timed steps.

Output JSON: {"task", "task_options", "batch_size", "baseline", "repeats", "steps", "warmup", "threads", "seed",
"device", "methods": {label: {"optimizer", "setting", "seconds_per_step": [one per repeat], "speed", "speed_interval"}}}
with speed = median baseline seconds per step / median method seconds per step (the baseline's is 1), and
speed_interval its 95 % percentile bootstrap interval: repeats resampled with replacement, the baseline's and the
method's together (they were measured side by side), 9 999 resamples, fixed seed.
"""

import argparse
import copy
import json
import sys
import time

import numpy as np
import torch
from scipy import stats
from tqdm import tqdm

import optimizers
from experiments import atomic, distributed
from experiments.config import ConfigError, build_task, choice, integer, validate
from experiments.evaluation import to_device
from experiments.train import (
    AUGMENTATION_STREAM,
    DROPOUT_STREAM,
    derived_seed,
    global_state_restored,
    seed_global_generators,
    seeded_generator,
    training_batches,
)

REQUIRED = ("task", "batch_size", "baseline", "repeats", "steps", "warmup", "methods")
OPTIONAL = {"options": {}, "data_root": None, "seed": 0, "threads": 1, "device": "auto", "dtype": "float32"}
CONFIDENCE = 0.95
RESAMPLES = 9999


def measure(spec: dict) -> dict:
    """Time every method of ``spec`` (the module docstring's format) and return the result JSON; ConfigError
    naming the field, the value and what is allowed before any compute when the spec is bad."""
    spec, configs = checked(spec)
    labels = list(configs)
    first = configs[labels[0]]
    task = build_task(first)
    if first.batch_size > len(task.train_set):
        raise ConfigError(f"batch_size={first.batch_size} is not allowed; allowed: at most the "
                          f"{len(task.train_set)} training examples of task {first.task!r}")
    threads = torch.get_num_threads()
    process = distributed.this_process()
    device = distributed.choose_device(process, first.device)
    seconds = {label: [] for label in labels}
    try:
        torch.set_num_threads(spec["threads"])
        with global_state_restored():
            torch.use_deterministic_algorithms(True, warn_only=device.type == "cuda")  # as the harness trains
            torch.backends.cudnn.benchmark = False
            network = task.model.to(device=device, dtype=getattr(torch, first.dtype))
            initial = copy.deepcopy(network.state_dict())
            batches = fixed_batches(task, first, process, spec["warmup"] + spec["steps"], device)
            bar = tqdm(total=spec["repeats"] * len(labels), unit="run", file=sys.stdout, desc=f"speed {task.name}")
            with bar:
                for repeat in range(spec["repeats"]):
                    shift = repeat % len(labels)
                    for label in labels[shift:] + labels[:shift]:
                        network.load_state_dict(initial)
                        seed_global_generators(derived_seed(first.seed, DROPOUT_STREAM, process.rank))
                        seconds[label].append(seconds_per_step(network, task, configs[label], batches,
                                                               spec["warmup"], device))
                        bar.update()
    finally:
        torch.set_num_threads(threads)
    baseline = np.array(seconds[spec["baseline"]])
    methods = {}
    for label in labels:
        method = np.array(seconds[label])
        methods[label] = {
            "optimizer": configs[label].optimizer, "setting": spec["methods"][label]["setting"],
            "seconds_per_step": method.tolist(),
            "speed": float(np.median(baseline) / np.median(method)),
            "speed_interval": [1.0, 1.0] if label == spec["baseline"] else speed_interval(baseline, method),
        }
    return {"task": first.task, "task_options": first.task_options, "batch_size": first.batch_size,
            "baseline": spec["baseline"], "repeats": spec["repeats"], "steps": spec["steps"],
            "warmup": spec["warmup"], "threads": spec["threads"], "seed": first.seed, "device": device.type,
            "methods": methods}


def checked(spec: dict) -> tuple[dict, dict]:
    """The spec with its defaults filled in, and one validated RunConfig per method label."""
    if not isinstance(spec, dict):
        raise ConfigError(f"spec={spec!r} is not allowed; allowed: a JSON object")
    unknown = sorted(set(spec) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise ConfigError(f"{unknown[0]}={spec[unknown[0]]!r} is not a field of a speed spec; allowed: "
                          f"{', '.join([*REQUIRED, *OPTIONAL])}")
    missing = [name for name in REQUIRED if name not in spec]
    if missing:
        raise ConfigError(f"{missing[0]} is missing from the speed spec; required: {', '.join(REQUIRED)}")
    spec = {**OPTIONAL, **spec}
    spec["repeats"] = integer("repeats", spec["repeats"], minimum=2)  # one repeat gives no interval
    spec["steps"] = integer("steps", spec["steps"], minimum=1)
    spec["warmup"] = integer("warmup", spec["warmup"], minimum=0)
    spec["threads"] = integer("threads", spec["threads"], minimum=1)
    methods = spec["methods"]
    if not isinstance(methods, dict) or not methods:
        raise ConfigError(f"methods={methods!r} is not allowed; allowed: a non-empty mapping of label: "
                          '{"optimizer": NAME, "setting": {...}}')
    choice("baseline", spec["baseline"], list(methods))
    common = {"task": spec["task"], "task_options": spec["options"], "data_root": spec["data_root"],
              "batch_size": spec["batch_size"], "seed": spec["seed"], "device": spec["device"],
              "dtype": spec["dtype"]}
    validate(common)  # the fields every method shares, named as they are
    configs = {}
    for label, method in methods.items():
        if not isinstance(method, dict) or sorted(method) != ["optimizer", "setting"] or not isinstance(
                method["setting"], dict):
            raise ConfigError(f"methods[{label!r}]={method!r} is not allowed; allowed: "
                              '{"optimizer": NAME, "setting": {constructor arguments, lr included}}')
        try:
            name = choice("optimizer", method["optimizer"], optimizers.available())
            setting = dict(method["setting"])
            lr = setting.pop("lr", optimizers.info(name).defaults.get("lr"))
            if lr is None:
                raise ConfigError(f"setting.lr is missing; allowed: a setting with lr (optimizer {name!r} has no "
                                  "default)")
            configs[label] = validate({**common, "optimizer": name, "lr": lr, "hyperparameters": setting})
        except ConfigError as error:
            raise ConfigError(f"methods[{label!r}]: {error}") from None
    return spec, configs


def fixed_batches(task, config, process, count: int, device) -> list[tuple]:
    """The run's first ``count`` training batches in the harness's order, augmented as the harness does, on the
    device."""
    batches, dtype = training_batches(task, config, process, 0), getattr(torch, config.dtype)
    fixed = []
    for index in range(count):
        inputs, targets = next(batches)
        if task.augment is not None:
            inputs = task.augment(inputs, seeded_generator(config.seed, AUGMENTATION_STREAM, index, process.rank))
        fixed.append((to_device(inputs, device, dtype), to_device(targets, device, dtype)))
    return fixed


def seconds_per_step(network, task, config, batches: list[tuple], warmup: int, device) -> float:
    """A fresh optimizer's mean time of one harness step over ``batches[warmup:]``, after untimed steps on the
    first ``warmup``."""
    optimizer = optimizers.create(config.optimizer, network.parameters(), lr=config.lr, **config.hyperparameters)
    network.train()

    def closure():
        optimizer.zero_grad(set_to_none=True)
        loss = task.loss(network(inputs), targets)
        loss.backward()
        return loss

    started = None
    for index, (inputs, targets) in enumerate(batches):
        if index == warmup:
            synchronise(device)
            started = time.perf_counter()
        optimizer.step(closure).detach().double().item()
    synchronise(device)
    return (time.perf_counter() - started) / (len(batches) - warmup)


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def speed_interval(baseline: np.ndarray, method: np.ndarray) -> list[float]:
    """95 % percentile bootstrap interval of median(baseline)/median(method), repeats resampled in pairs."""
    def ratio(base, other, axis):
        return np.median(base, axis=axis) / np.median(other, axis=axis)

    interval = stats.bootstrap((baseline, method), ratio, paired=True, vectorized=True, method="percentile",
                               confidence_level=CONFIDENCE, n_resamples=RESAMPLES,
                               rng=np.random.default_rng(0)).confidence_interval
    return [float(interval.low), float(interval.high)]


def main(argv: list[str] | None = None) -> int:
    """The command line: exit code 0 when the JSON is written, 2 on a bad spec."""
    parser = argparse.ArgumentParser(prog="python -m experiments.speed", description=__doc__.split("\n")[0])
    parser.add_argument("--spec", required=True, help="the measurement, as JSON (see the module docstring)")
    parser.add_argument("--out", required=True, help="result JSON")
    arguments = parser.parse_args(argv)
    try:
        try:
            spec = json.loads(arguments.spec)
        except json.JSONDecodeError as error:
            raise ConfigError(f"spec is not valid JSON ({error}); allowed: a JSON object") from None
        result = measure(spec)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    atomic.write_json(arguments.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
