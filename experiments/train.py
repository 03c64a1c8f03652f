"""Train one task with one optimizer, reproducibly and resumably: the single entry point of every experiment.

    python -m experiments.train --task digits-mlp --optimizer overshoot-sgd --lr 0.1 --momentum 0.9 \\
        --overshoot 5 --seed 0 --steps 1000 --target 0.95 --out results/example
    torchrun --nproc-per-node 8 -m experiments.train --config run.yaml --out DIR     # data-parallel

    summary = experiments.train.run(config, "results/example")   # in process (experiments.arm runs many)

A run is a pure function of its configuration: data order depends on (seed, epoch), augmentation on
(seed, batch), and on CPU the same inputs give bit-identical metrics, whatever ran before in the process. Killed at
any moment and started again with the same command, a run resumes from its last checkpoint and ends bit-identical
to an uninterrupted one; a finished run is not redone. Under SVAG (``--svag`` ℓ > 1, ``experiments.svag``) a step
takes two consecutive batches. Evaluation and checkpoints use the optimizer's base weights
(``experiments.evaluation``); summary.json is ``experiments.summary``. A NaN or Inf loss ends the run as diverged
(exit code 0). Bad input stops before any compute with exit code 2.
"""

import bisect
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
from torch.utils.data import DataLoader
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

import optimizers
from experiments import distributed, svag
from experiments import run_directory as files
from experiments.config import ConfigError, RunConfig, build_task, resolve
from experiments.evaluation import base_weight_loss, evaluate, evaluation_weights, to_device, track
from experiments.summary import Progress, summarize

# Keys of independent random streams derived from the run seed.
DATA_ORDER_STREAM = 10
AUGMENTATION_STREAM = 11
BATCH_NORM_STREAM = 12
DROPOUT_STREAM = 13


def main(argv: list[str] | None = None) -> int:
    """The command line: exit code 0 when the run finished or diverged, 2 on bad input."""
    process = distributed.this_process()
    try:
        config, arguments = resolve(argv)
        run(config, arguments.out, restart_if_changed=arguments.restart_if_changed)
    except ConfigError as error:
        if process.is_main:
            print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        distributed.stop()
    return 0


def run(config: RunConfig, out: str, *, restart_if_changed: bool = True) -> dict:
    """Train ``config`` (a validated RunConfig) into the run directory ``out`` and return its summary, the dict
    stored in summary.json. A finished run of the same config is read back, not redone; a run of another config in
    ``out`` is deleted and started over with ``restart_if_changed``, else ConfigError; a checkpoint is resumed.

    Safe to call many times in one process: the caller's RNG states, deterministic-algorithms flag and cuDNN
    setting are as before on return, and a run's results do not depend on what ran before it in the process.
    """
    process = distributed.this_process()
    if config.batch_size % process.world_size:
        raise ConfigError(f"batch_size={config.batch_size} is not allowed with {process.world_size} "
                          "processes; allowed: a multiple of the number of processes")
    summary_path = os.path.join(out, files.SUMMARY)
    if already_finished(config, out, restart_if_changed, process):
        if process.is_main:
            print(f"{out}: finished already with this config; nothing to do")
        return files.read_json(summary_path)
    task = build_task(config)
    if config.batch_size > len(task.train_set):
        raise ConfigError(f"batch_size={config.batch_size} is not allowed; allowed: at most the "
                          f"{len(task.train_set)} training examples of task {config.task!r}")
    with global_state_restored():
        summary = train(config, task, out, process)
    return json.loads(json.dumps(summary))  # as summary.json reads back (tuples become lists)


@contextlib.contextmanager
def global_state_restored():
    """Run the body, then put back the process-wide settings a run changes: the RNG states (CPU, CUDA, numpy,
    Python), the deterministic-algorithms flag and cuDNN's benchmark mode."""
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    benchmark = torch.backends.cudnn.benchmark
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        with torch.random.fork_rng(devices=range(torch.cuda.device_count()) if torch.cuda.is_initialized() else []):
            yield
    finally:
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
        torch.backends.cudnn.benchmark = benchmark
        np.random.set_state(numpy_state)
        random.setstate(python_state)


def already_finished(config: RunConfig, out: str, restart_if_changed: bool, process) -> bool:
    """True if ``out`` holds a finished run of ``config``. If it holds a run of another config: with
    ``restart_if_changed`` its files are deleted, else ConfigError."""
    config_path = os.path.join(out, files.CONFIG)
    if not os.path.exists(config_path):
        return False
    stored, wanted = files.read_json(config_path), as_json(config)
    # A field the stored config lacks was added later; the run used what its default does now.
    stored = {**as_json(RunConfig()), **stored}
    changed = [name for name in wanted if stored[name] != wanted[name] and name != "data_workers"]
    if changed and restart_if_changed:
        if process.is_main:  # the others wait for this at the barrier in train()
            files.delete_run(out)
        return False
    if changed:
        name = changed[0]
        raise ConfigError(f"{name}={wanted[name]!r} differs from {stored[name]!r} of the run already in "
                          f"{out}; allowed: the same config, or another --out")
    return os.path.exists(os.path.join(out, files.SUMMARY))


def as_json(config: RunConfig) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(config)))


def train(config: RunConfig, task, out: str, process: distributed.Process) -> dict:
    """The training loop of one run, from its checkpoint if there is one; returns the summary."""
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
    batches_per_step = svag.batches_per_step(config.svag)
    gradient_evaluations = info.gradient_evaluations * batches_per_step  # per step
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, learning_rate_factor(config))
    os.makedirs(out, exist_ok=True)
    log = open_log(os.path.join(out, files.LOG), process)
    metrics = None
    try:
        checkpoint_path = os.path.join(out, files.CHECKPOINT)
        if files.has_checkpoint(out):
            progress = resume(files.load_latest_checkpoint(out, log.info), network, optimizer, scheduler, process)
            log.info("resumed %s at step %d of %d", out, progress.step, config.steps)
        else:
            progress = Progress()
            seed_global_generators(derived_seed(config.seed, DROPOUT_STREAM, process.rank))
            if process.is_main:
                files.write_json(os.path.join(out, files.CONFIG), as_json(config))
        log.info("config %s", json.dumps(as_json(config), indent=2))
        wall_seconds_before = progress.wall_seconds
        metrics = (files.MetricsLog(os.path.join(out, files.METRICS), progress.metrics_bytes) if process.is_main
                   else None)
        shifted = info.stores_shifted_weights
        batch_norm_batches = reestimation_batches(task, config)

        def elapsed() -> float:
            return wall_seconds_before + time.perf_counter() - started

        def evaluate_and_record() -> None:
            with mixed_precision(config, device), evaluation_weights(network, optimizer, shifted,
                                                                     batch_norm_batches, device, dtype):
                results = evaluate(network, task, config, process, device, dtype)
            track(progress, results, task, config)
            record = {"kind": "eval", "step": progress.step, "wall_time": elapsed(),
                      "gradient_evaluations": progress.step * gradient_evaluations, **results}
            if metrics is not None:
                metrics.append(record)
            log.info("step %d: %s", progress.step,
                     ", ".join(f"{k} {v:.4g}" for k, v in results.items() if v is not None))

        def save() -> None:
            rng_states = distributed.gather_objects(rng_state(device))
            if process.is_main:
                progress.metrics_bytes = metrics.length_on_disk()
                progress.wall_seconds = elapsed()
                with mixed_precision(config, device), evaluation_weights(network, optimizer, shifted,
                                                                         batch_norm_batches, device, dtype):
                    evaluated_model = {k: v.detach().clone() for k, v in network.state_dict().items()}
                files.save_checkpoint(checkpoint_path, {
                    "model": evaluated_model,  # base weights: what to evaluate or fine-tune
                    "training_model": network.state_dict() if shifted else None,  # the shifted weights trained on
                    "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "progress": dataclasses.asdict(progress), "rng": rng_states, "config": as_json(config)})

        def prepared(inputs, targets, index: int) -> tuple:
            """Training batch number ``index`` (from 0), augmented with its own generator, on the device."""
            if task.augment is not None:
                inputs = task.augment(inputs, seeded_generator(config.seed, AUGMENTATION_STREAM, index, process.rank))
            return to_device(inputs, device, dtype), to_device(targets, device, dtype)

        def closure():
            # Under SVAG the gradient of c₁L(B₁) + c₂L(B₂); the loss returned and logged is L(B₁).
            optimizer.zero_grad(set_to_none=True)
            with mixed_precision(config, device):
                losses = [task.loss(model(inputs), targets) for inputs, targets in step_batches]
            svag.objective(losses, config.svag).backward()
            return losses[0]

        if progress.step == 0:
            evaluate_and_record()
        batches = training_batches(task, config, process, progress.step * batches_per_step)
        bar = tqdm(total=config.steps, initial=progress.step, unit="step", dynamic_ncols=True,
                   disable=not (process.is_main and sys.stderr.isatty()))
        with logging_redirect_tqdm(loggers=[log]), bar:
            while progress.step < config.steps:
                step_batches = [prepared(*next(batches), progress.step * batches_per_step + offset)
                                for offset in range(batches_per_step)]
                learning_rate = optimizer.param_groups[0]["lr"]
                with mixed_precision(config, device):  # outside the timed step: it is logging, not training
                    base_loss = (distributed.mean_over_processes(
                        base_weight_loss(network, optimizer, task, *step_batches[0], device).double()).item()
                        if shifted else None)
                step_started = time.perf_counter()
                loss = optimizer.step(closure)
                scheduler.step()
                loss = distributed.mean_over_processes(loss.detach().double()).item()
                progress.training_seconds += time.perf_counter() - step_started
                progress.step += 1
                progress.last_loss = files.finite_or_none(loss)
                if metrics is not None:
                    record = {"kind": "train", "step": progress.step, "loss": progress.last_loss,
                              "lr": learning_rate, "wall_time": elapsed(),
                              "gradient_evaluations": progress.step * gradient_evaluations}
                    if shifted:  # "loss" is at the shifted weights the gradient is taken at
                        record["base_loss"] = files.finite_or_none(base_loss)
                    metrics.append(record)
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
        summary = summarize(progress, config, task, gradient_evaluations, process)
        if process.is_main:
            metrics.close()
            files.write_json(os.path.join(out, files.SUMMARY), summary)
            log.info("summary %s", json.dumps(summary, indent=2))
        return summary
    finally:
        if metrics is not None:
            metrics.close()
        close_log(log)


def mixed_precision(config: RunConfig, device: torch.device):
    """The context of every forward pass: with ``autocast: bfloat16``, ``torch.autocast`` in bfloat16 (matrix
    products and convolutions in bf16, losses and reductions in float32; weights, gradients and optimizer state stay
    in the run's dtype); with ``none``, no change."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=config.autocast == "bfloat16")


def learning_rate_factor(config: RunConfig):
    """The learning rate of the step after ``done`` steps, as a factor of the peak lr, in closed form so resuming
    cannot drift: the schedule times the warm-up.

    constant:   1
    cosine:     (1 + cos(π·done/steps))/2, reaching 0 after the last step
    multistep:  decay_factor^(number of milestones ≤ done): step m + 1 is the first one decayed at milestone m
    warm-up:    min(1, (done + 1)/warmup_steps): a linear ramp from 0 that steps 1, ..., W climb in equal parts
                to the peak, which step W takes (none with warmup_steps = 0)
    """
    def schedule(done: int) -> float:
        if config.schedule == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * min(done, config.steps) / config.steps))
        if config.schedule == "multistep":
            return config.decay_factor ** bisect.bisect_right(config.milestones, done)
        return 1.0

    def factor(done: int) -> float:
        warmup = min(1.0, (done + 1) / config.warmup_steps) if config.warmup_steps else 1.0
        return warmup * schedule(done)

    return factor


def derived_seed(*keys: int) -> int:
    """A 64-bit seed for one random stream, mixed from the run seed and the stream's keys."""
    return int(np.random.SeedSequence(keys).generate_state(2, dtype=np.uint32).view(np.uint64)[0] >> 1)


def seed_global_generators(seed: int) -> None:
    """Seed torch's (CPU and CUDA), numpy's and Python's global generators, which dropout and any library code
    draw from, so a fresh run does not depend on what the process did before it."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def seeded_generator(*keys: int) -> torch.Generator:
    return torch.Generator().manual_seed(derived_seed(*keys))


def training_batches(task, config: RunConfig, process: distributed.Process, done_batches: int):
    """This process's share of every global batch after the first ``done_batches``; the order of each epoch is a
    permutation drawn from (seed, epoch), and the last incomplete batch of an epoch is dropped. A step takes one
    batch, or under SVAG two consecutive ones."""
    steps_per_epoch = len(task.train_set) // config.batch_size  # batches per epoch
    epoch, position = divmod(done_batches, steps_per_epoch)
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


def rng_state(device: torch.device) -> dict:
    """This process's RNG states (torch's CPU and CUDA, numpy's, Python's) as tensors and plain data, which
    ``torch.load(weights_only=True)`` accepts; ``restore_rng_state`` puts them back exactly."""
    name, key, position, has_gauss, cached_gaussian = np.random.get_state()
    version, internal_state, gauss_next = random.getstate()
    return {"torch": torch.get_rng_state(),
            "numpy": (name, torch.from_numpy(key.astype(np.int64)), int(position), int(has_gauss),
                      float(cached_gaussian)),
            "python": (version, torch.tensor(internal_state, dtype=torch.int64), gauss_next),
            "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None}


def restore_rng_state(state: dict) -> None:
    """Set the generators to ``state`` (from ``rng_state``): they then draw what they drew after it was taken."""
    torch.set_rng_state(state["torch"])
    name, key, position, has_gauss, cached_gaussian = state["numpy"]
    np.random.set_state((name, key.numpy().astype(np.uint32), position, has_gauss, cached_gaussian))
    version, internal_state, gauss_next = state["python"]
    random.setstate((version, tuple(internal_state.tolist()), gauss_next))
    if state["cuda"] is not None:
        torch.cuda.set_rng_state(state["cuda"])


def resume(checkpoint: dict, network, optimizer, scheduler, process) -> Progress:
    """Restore the training state of ``checkpoint`` into the given objects; returns its progress."""
    if len(checkpoint["rng"]) != process.world_size:
        raise ConfigError(f"the checkpoint was written by {len(checkpoint['rng'])} processes, this run has "
                          f"{process.world_size}; resume with the same number or start a new --out")
    network.load_state_dict(checkpoint["training_model"] or checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    restore_rng_state(checkpoint["rng"][process.rank])
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
