"""The auto-encoding form of an image task (``fmnist-vae``, ``mnist5k-vae``): the target is the input itself, the
loss is the DeepOBS VAE loss (``experiments/models/vae.py``), labels are not used."""

import torch
from torch.utils.data import TensorDataset

from experiments.models.vae import vae_loss, vae_metrics
from experiments.tasks.base import Task
from experiments.tasks.options import IntOption

CHANNELS_OPTION = IntOption(64, 1, "channels of every VAE convolution; DeepOBS: 64")


def vae_task(name: str, model: torch.nn.Module, train_images: torch.Tensor, test_images: torch.Tensor,
             source: str) -> Task:
    """``(image, image)`` pairs for training and the ``"test"`` split; target metric: the loss, lower is better."""
    return Task(
        name=name,
        model=model,
        train_set=TensorDataset(train_images, train_images),
        eval_sets={"test": TensorDataset(test_images, test_images)},
        loss=vae_loss,
        metrics=vae_metrics,
        target_metric="loss",
        higher_is_better=False,
        source=source,
    )
