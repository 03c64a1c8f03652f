"""What a task is: the fixed part of a comparison (data, model, loss, metric).

Tasks and optimizers are independent axes: a task never knows which optimizer trains it.
"""

import dataclasses
from collections.abc import Callable

import torch
from torch.utils.data import Dataset


@dataclasses.dataclass
class Task:
    """Data + model + loss + metric, built deterministically from a seed.

    Attributes:
        name: registry name, ``<data>-<model>``.
        model: the network, initialised from the seed.
        train_set: map-style dataset of ``(inputs, target)`` pairs; ``inputs`` may be a tensor or a
            dict of tensors (language models), batched with torch's default collate.
        eval_sets: named held-out datasets of the same form (``"test"``, ``"val"``).
        loss: ``loss(outputs, target) -> scalar`` mean over the batch; the training objective.
        metrics: ``metrics(outputs, target) -> {name: sum over the batch}``; the harness divides by
            the number of examples. Always contains ``"loss"``.
        target_metric: the metric a steps-to-target criterion watches (e.g. ``"accuracy"``).
        higher_is_better: direction of ``target_metric``.
        augment: optional ``augment(inputs, generator) -> inputs`` applied to training batches,
            with a generator seeded by the harness from (seed, step) so runs stay reproducible.
        source: where the data comes from, its licence, sizes and the split used.
    """

    name: str
    model: torch.nn.Module
    train_set: Dataset
    eval_sets: dict[str, Dataset]
    loss: Callable
    metrics: Callable
    target_metric: str
    higher_is_better: bool
    augment: Callable | None = None
    source: str = ""
