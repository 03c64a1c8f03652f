"""Evaluation of one run: every metric of every eval set at the optimizer's base weights, and what the run keeps of
it (last values, best values, the step at which the target was first reached).

Optimizers that train shifted weights (Overshoot, MSAM) are evaluated at their base weights; with BatchNorm the
running statistics gathered in training belong to the shifted weights, so they are re-estimated at the base weights
on fixed training batches for the evaluation and put back afterwards.
"""

import contextlib

import torch
from torch.utils.data import DataLoader, Subset

from experiments import distributed
from experiments import run_directory as files
from experiments.config import RunConfig
from experiments.summary import Progress, target_key


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


@torch.no_grad()
def base_weight_loss(network, optimizer, task, inputs, targets, device) -> torch.Tensor:
    """L(θ; B): the training loss of batch B at the optimizer's base weights θ, in training mode, for optimizers
    that train at shifted weights θ′ (Overshoot, MSAM), whose own loss is L(θ′; B). The Overshoot paper's training
    curves are the base model's. Random draws (dropout, the VAE's latent sample) and BatchNorm statistics are
    restored afterwards, so logging it leaves the run bit for bit as it was."""
    saved = [buffer.clone() for buffer in network.buffers()]
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), optimizer.base_weights():
        loss = task.loss(network(inputs), targets)
    for buffer, value in zip(network.buffers(), saved):
        buffer.copy_(value)
    return loss

