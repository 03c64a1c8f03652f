"""Train one task with one optimizer, reproducibly and resumably: the single entry point of every experiment.

    python -m experiments.train --task digits-mlp --optimizer overshoot-sgd --lr 0.1 --momentum 0.9 \\
        --overshoot 5 --seed 0 --steps 1000 --target 0.95 --out results/example
    torchrun --nproc-per-node 8 -m experiments.train --config run.yaml --out DIR     # data-parallel

A run is a pure function of its configuration: data order depends on (seed, epoch), augmentation on
(seed, step), and on CPU the same inputs give bit-identical metrics. Killed at any moment and started again with
the same command, a run resumes from its last checkpoint and ends bit-identical to an uninterrupted one; a
finished run is not redone. Evaluation and checkpoints use the optimizer's base weights, with BatchNorm
statistics re-estimated at them when the optimizer trains shifted weights (Overshoot, MSAM). A NaN or Inf loss
ends the run as diverged (exit code 0). Bad input stops before any compute with exit code 2.
"""

import contextlib
import dataclasses
import json
import logging
import math
import os
import random
import sys
import time

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS; must precede CUDA start

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

import optimizers
from experiments import distributed
from experiments import run_directory as files
from experiments.config import ConfigError, RunConfig, build_task, resolve

# Keys of independent random streams derived from the run seed.
DATA_ORDER_STREAM = 10
AUGMENTATION_STREAM = 11
BATCH_NORM_STREAM = 12
DROPOUT_STREAM = 13


@dataclasses.dataclass
class Progress:
    """Everything about the run so far that the summary needs; saved in each checkpoint."""

    step: int = 0  # optimizer steps done
    last_loss: float | None = None  # training loss of the last step
    last_evaluation: dict = dataclasses.field(default_factory=dict)  # "split/metric" -> value
    best: dict = dataclasses.field(default_factory=dict)  # "split/metric" -> {"value", "step"}
    target_step: int | None = None  # first evaluated step at which the target was reached
    diverged_step: int | None = None  # step whose loss was NaN or Inf
    metrics_bytes: int = 0  # length of metrics.jsonl at this point
    wall_seconds: float = 0.0  # elapsed time, summed over resumed processes
    training_seconds: float = 0.0  # time inside optimizer steps


def main(argv: list[str] | None = None) -> int:
    process = distributed.this_process()
    try:
        config, arguments = resolve(argv)
        out = arguments.out
        if config.batch_size % process.world_size:
            raise ConfigError(f"batch_size={config.batch_size} is not allowed with {process.world_size} "
                              "processes; allowed: a multiple of the number of processes")
        if already_finished(config, out, arguments.restart_if_changed, process):
            if process.is_main:
                print(f"{out}: finished already with this config; nothing to do")
            return 0
        task = build_task(config)
        if config.batch_size > len(task.train_set):
            raise ConfigError(f"batch_size={config.batch_size} is not allowed; allowed: at most the "
                              f"{len(task.train_set)} training examples of task {config.task!r}")
    except ConfigError as error:
        if process.is_main:
            print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        train(config, task, out, process)
    finally:
        distributed.stop()
    return 0


def already_finished(config: RunConfig, out: str, restart_if_changed: bool, process) -> bool:
    """True if ``out`` holds a finished run of ``config``. If it holds a run of another config: with
    ``restart_if_changed`` its files are deleted, else ConfigError."""
    config_path = os.path.join(out, files.CONFIG)
    if not os.path.exists(config_path):
        return False
    stored, wanted = files.read_json(config_path), as_json(config)
    changed = [name for name in wanted if stored.get(name) != wanted[name] and name != "data_workers"]
    if changed and restart_if_changed:
        if process.is_main:  # the others wait for this at the barrier in train()
            files.delete_run(out)
        return False
    if changed:
        name = changed[0]
        raise ConfigError(f"{name}={wanted[name]!r} differs from {stored.get(name)!r} of the run already in "
                          f"{out}; allowed: the same config, or another --out")
    return os.path.exists(os.path.join(out, files.SUMMARY))


def as_json(config: RunConfig) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(config)))


def train(config: RunConfig, task, out: str, process: distributed.Process) -> None:
    started = time.perf_counter()
    device = distributed.choose_device(process, config.device)
    # A few CUDA backward kernels (adaptive pooling, embeddings) have no deterministic version: on GPUs they
    # warn instead of stopping the run. On CPUs every run is bit-reproducible.
    torch.use_deterministic_algorithms(True, warn_only=device.type == "cuda")
    torch.backends.cudnn.benchmark = False
    distributed.start(process, device)
    distributed.barrier()  # process 0 may have just deleted an outdated run in ``out``
    dtype = getattr(torch, config.dtype)
    network = task.model.to(device=device, dtype=dtype)
    model = distributed.wrap(network, process, device)
    optimizer = optimizers.create(config.optimizer, network.parameters(), lr=config.lr, **config.hyperparameters)
    info = optimizers.info(config.optimizer)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, learning_rate_factor(config))
    os.makedirs(out, exist_ok=True)
    log = open_log(os.path.join(out, files.LOG), process)
    checkpoint_path = os.path.join(out, files.CHECKPOINT)
    if os.path.exists(checkpoint_path):
        progress = resume(files.load_checkpoint(checkpoint_path), network, optimizer, scheduler, process)
        log.info("resumed %s at step %d of %d", out, progress.step, config.steps)
    else:
        progress = Progress()
        torch.manual_seed(derived_seed(config.seed, DROPOUT_STREAM, process.rank))
        if process.is_main:
            files.write_json(os.path.join(out, files.CONFIG), as_json(config))
    log.info("config %s", json.dumps(as_json(config), indent=2))
    wall_seconds_before = progress.wall_seconds
    metrics = files.MetricsLog(os.path.join(out, files.METRICS), progress.metrics_bytes) if process.is_main else None
    shifted = info.stores_shifted_weights
    batch_norm_batches = reestimation_batches(task, config)

    def elapsed() -> float:
        return wall_seconds_before + time.perf_counter() - started

    def evaluate_and_record() -> None:
        with evaluation_weights(network, optimizer, shifted, batch_norm_batches, device, dtype):
            results = evaluate(network, task, config, process, device, dtype)
        track(progress, results, task, config)
        record = {"kind": "eval", "step": progress.step, "wall_time": elapsed(),
                  "gradient_evaluations": progress.step * info.gradient_evaluations, **results}
        if metrics is not None:
            metrics.append(record)
        log.info("step %d: %s", progress.step, ", ".join(f"{k} {v:.4g}" for k, v in results.items() if v is not None))

    def save() -> None:
        rng_states = distributed.gather_objects(rng_state(device))
        if process.is_main:
            progress.metrics_bytes = metrics.length_on_disk()
            progress.wall_seconds = elapsed()
            with evaluation_weights(network, optimizer, shifted, batch_norm_batches, device, dtype):
                evaluated_model = {k: v.detach().clone() for k, v in network.state_dict().items()}
            files.save_checkpoint(checkpoint_path, {
                "model": evaluated_model,  # base weights: what to evaluate or fine-tune
                "training_model": network.state_dict() if shifted else None,  # the shifted weights trained on
                "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "progress": dataclasses.asdict(progress), "rng": rng_states, "config": as_json(config)})

    def closure():
        optimizer.zero_grad(set_to_none=True)
        loss = task.loss(model(inputs), targets)
        loss.backward()
        return loss

    if progress.step == 0:
        evaluate_and_record()
    batches = training_batches(task, config, process, progress.step)
    bar = tqdm(total=config.steps, initial=progress.step, unit="step", dynamic_ncols=True,
               disable=not (process.is_main and sys.stderr.isatty()))
    with logging_redirect_tqdm(loggers=[log]), bar:
        while progress.step < config.steps:
            inputs, targets = next(batches)
            if task.augment is not None:
                inputs = task.augment(inputs, seeded_generator(config.seed, AUGMENTATION_STREAM,
                                                               progress.step, process.rank))
            inputs, targets = to_device(inputs, device, dtype), to_device(targets, device, dtype)
            learning_rate = optimizer.param_groups[0]["lr"]
            step_started = time.perf_counter()
            loss = optimizer.step(closure)
            scheduler.step()
            loss = distributed.mean_over_processes(loss.detach().double()).item()
            progress.training_seconds += time.perf_counter() - step_started
            progress.step += 1
            progress.last_loss = files.finite_or_none(loss)
            if metrics is not None:
                metrics.append({"kind": "train", "step": progress.step, "loss": progress.last_loss,
                                "lr": learning_rate, "wall_time": elapsed(),
                                "gradient_evaluations": progress.step * info.gradient_evaluations})
            bar.update()
            if not math.isfinite(loss):
                progress.diverged_step = progress.step
                log.info("diverged: loss %s at step %d", loss, progress.step)
                break
            if progress.step % config.eval_every == 0 or progress.step == config.steps:
                evaluate_and_record()
            if progress.step % config.checkpoint_every == 0 or progress.step == config.steps:
                save()
    progress.wall_seconds = elapsed()
    if process.is_main:
        metrics.close()
        summary = summarize(progress, config, task, info, process)
        files.write_json(os.path.join(out, files.SUMMARY), summary)
        log.info("summary %s", json.dumps(summary, indent=2))
    close_log(log)


def learning_rate_factor(config: RunConfig):
    """The schedule as a factor of the peak lr, in closed form so resuming cannot drift."""
    if config.schedule == "cosine":
        return lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, config.steps) / config.steps))
    return lambda step: 1.0


def derived_seed(*keys: int) -> int:
    """A 64-bit seed for one random stream, mixed from the run seed and the stream's keys."""
    return int(np.random.SeedSequence(keys).generate_state(2, dtype=np.uint32).view(np.uint64)[0] >> 1)


def seeded_generator(*keys: int) -> torch.Generator:
    return torch.Generator().manual_seed(derived_seed(*keys))


def training_batches(task, config: RunConfig, process: distributed.Process, done_steps: int):
    """This process's share of every global batch from step ``done_steps`` on; the order of each epoch is a
    permutation drawn from (seed, epoch), and the last incomplete batch of an epoch is dropped."""
    steps_per_epoch = len(task.train_set) // config.batch_size
    epoch, position = divmod(done_steps, steps_per_epoch)
    while True:
        if hasattr(task.train_set, "set_epoch"):  # datasets that draw their own augmentation from (seed, epoch)
            task.train_set.set_epoch(epoch)
        order = torch.randperm(len(task.train_set), generator=seeded_generator(config.seed, DATA_ORDER_STREAM, epoch))
        global_batches = order[:steps_per_epoch * config.batch_size].view(steps_per_epoch, config.batch_size)
        shards = [distributed.shard(batch.tolist(), process) for batch in global_batches[position:]]
        yield from DataLoader(task.train_set, batch_sampler=shards, num_workers=config.data_workers)
        epoch, position = epoch + 1, 0


def reestimation_batches(task, config: RunConfig) -> DataLoader:
    """The fixed whole global batches, un-augmented like the eval data, on which every process re-estimates
    BatchNorm statistics at the base weights (so all processes get the same statistics without communicating)."""
    count = min(config.batch_norm_batches, len(task.train_set) // config.batch_size)
    order = torch.randperm(len(task.train_set), generator=seeded_generator(config.seed, BATCH_NORM_STREAM))
    batches = order[:count * config.batch_size].view(count, config.batch_size)
    return DataLoader(task.train_set, batch_sampler=batches.tolist(), num_workers=config.data_workers)


def to_device(value, device: torch.device, dtype: torch.dtype):
    """Tensors (or a dict of them) on ``device``; floating-point ones in the run's dtype."""
    if isinstance(value, dict):
        return {key: to_device(item, device, dtype) for key, item in value.items()}
    return value.to(device=device, dtype=dtype if value.is_floating_point() else value.dtype)


@contextlib.contextmanager
def evaluation_weights(network, optimizer, shifted: bool, batches: DataLoader, device, dtype):
    """The optimizer's base weights in the network; with shifted weights and BatchNorm, the running statistics
    re-estimated at them too (the ones gathered in training belong to the shifted weights). Everything,
    statistics included, is as before on exit."""
    norms = [m for m in network.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    with optimizer.base_weights():
        if not (shifted and norms):
            yield
            return
        saved = [buffer.clone() for buffer in network.buffers()]
        try:
            reestimate_batch_norm(network, norms, batches, device, dtype)
            yield
        finally:
            for buffer, value in zip(network.buffers(), saved):
                buffer.copy_(value)


@torch.no_grad()
def reestimate_batch_norm(network, norms, batches: DataLoader, device, dtype) -> None:
    """Forward passes in train mode over fixed training batches, averaging the statistics of all of them."""
    momenta = [norm.momentum for norm in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # None: a cumulative average over the batches, independent of the old statistics
    was_training = network.training
    network.train()
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):  # dropout draws stay put
        for inputs, _ in batches:
            network(to_device(inputs, device, dtype))
    network.train(was_training)
    for norm, momentum in zip(norms, momenta):
        norm.momentum = momentum


@torch.no_grad()
def evaluate(network, task, config: RunConfig, process, device, dtype) -> dict:
    """Every metric of every eval set, averaged over its examples; each process takes every world_size-th one."""
    network.eval()
    results = {}
    for split, dataset in task.eval_sets.items():
        mine = Subset(dataset, range(process.rank, len(dataset), process.world_size))
        sums = {}
        for inputs, targets in DataLoader(mine, batch_size=config.eval_batch_size, num_workers=config.data_workers):
            outputs = network(to_device(inputs, device, dtype))
            for name, value in task.metrics(outputs, to_device(targets, device, dtype)).items():
                sums[name] = sums.get(name, 0.0) + value.detach().double()
        totals = distributed.sum_over_processes(torch.stack(list(sums.values())))
        for name, total in zip(sums, totals.tolist()):
            results[f"{split}/{name}"] = files.finite_or_none(total / len(dataset))
    network.train()
    return results


def track(progress: Progress, results: dict, task, config: RunConfig) -> None:
    """Update the last evaluation, the best values (loss and the target metric of every split) and the target."""
    progress.last_evaluation = results
    for key, value in results.items():
        metric = key.split("/", 1)[1]
        if value is None or metric not in ("loss", task.target_metric):
            continue
        higher_is_better = task.higher_is_better if metric == task.target_metric else False
        best = progress.best.get(key)
        if best is None or (value > best["value"] if higher_is_better else value < best["value"]):
            progress.best[key] = {"value": value, "step": progress.step}
    watched = results.get(target_key(task, config))
    if config.target is not None and progress.target_step is None and watched is not None:
        if (watched >= config.target) if task.higher_is_better else (watched <= config.target):
            progress.target_step = progress.step


def target_key(task, config: RunConfig) -> str:
    return f"{config.target_split or next(iter(task.eval_sets))}/{task.target_metric}"


def summarize(progress: Progress, config: RunConfig, task, info, process) -> dict:
    per_step = info.gradient_evaluations
    diverged = progress.diverged_step is not None
    return {
        "task": config.task, "optimizer": config.optimizer, "lr": config.lr, "seed": config.seed,
        "hyperparameters": config.hyperparameters,
        "status": "diverged" if diverged else "finished",
        "diverged": diverged, "diverged_step": progress.diverged_step,
        "steps": progress.step, "gradient_evaluations": progress.step * per_step,
        "final_train_loss": progress.last_loss,
        "metric": target_key(task, config), "higher_is_better": task.higher_is_better,  # what tables rank by
        "final": None if diverged else progress.last_evaluation,
        "best": progress.best,
        "target": None if config.target is None else {
            "metric": target_key(task, config), "value": config.target, "steps": progress.target_step,
            "gradient_evaluations": None if progress.target_step is None else progress.target_step * per_step},
        "processes": process.world_size,
        "timing": {  # differs between runs; everything else is bit-identical
            "wall_seconds": progress.wall_seconds, "training_seconds": progress.training_seconds,
            "steps_per_second": progress.step / max(progress.training_seconds, 1e-9),
            "examples_per_second": progress.step * config.batch_size / max(progress.training_seconds, 1e-9)},
    }


def rng_state(device: torch.device) -> dict:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate(),
            "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None}


def resume(checkpoint: dict, network, optimizer, scheduler, process) -> Progress:
    """Restore the training state of ``checkpoint`` into the given objects; returns its progress."""
    if len(checkpoint["rng"]) != process.world_size:
        raise RuntimeError(f"the checkpoint was written by {len(checkpoint['rng'])} processes, this run has "
                           f"{process.world_size}; resume with the same number or start a new --out")
    network.load_state_dict(checkpoint["training_model"] or checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    state = checkpoint["rng"][process.rank]
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if state["cuda"] is not None:
        torch.cuda.set_rng_state(state["cuda"])
    return Progress(**checkpoint["progress"])


def open_log(path: str, process) -> logging.Logger:
    """A logger writing to train.log and stdout on process 0, silent elsewhere."""
    log = logging.getLogger(f"experiments.train.{path}")
    log.setLevel(logging.INFO if process.is_main else logging.WARNING)
    log.propagate = False
    if process.is_main:
        file_handler = logging.FileHandler(path)
        file_handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        log.addHandler(file_handler)
        log.addHandler(logging.StreamHandler(sys.stdout))
    return log


def close_log(log: logging.Logger) -> None:
    for handler in list(log.handlers):
        handler.close()
        log.removeHandler(handler)


if __name__ == "__main__":
    sys.exit(main())
