"""Fashion-MNIST tasks: ``fmnist-mlp``, ``fmnist-2c2d``, ``fmnist-resnet`` and ``fmnist-vae``.

Data: Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, MIT licence), 60,000 train / 10,000 test 28x28 grey images in
10 classes, read from the IDX files (gzipped or not) installed by Debian's ``dataset-fashion-mnist`` under
``/usr/share/datasets/fashion-mnist`` (``make system-deps``), or from ``data_root``. Pixels are scaled to [0, 1].

The official split is kept. By default a CPU-sized part is used, so that a few hundred steps take seconds:
``train_size`` (default 10,000, drawn by the run seed; None = all 60,000) and ``eval_size`` (default 2,000, a fixed
subset, the same for every run seed; None = all 10,000). CPU-sized networks: ``width`` (fmnist-2c2d, a multiplier of
the layer sizes, default 1 = DeepOBS), ``width`` (fmnist-resnet, first-stage channels, default 16) and ``channels``
(fmnist-vae, default 64 = DeepOBS).
"""

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from experiments import data_cache
from experiments.tasks.datasets.idx import read_idx
from experiments.tasks.datasets.locations import dataset_directory, require_paths
from experiments.models.conv_2c2d import Conv2c2d
from experiments.models.mlp import MLP
from experiments.models.resnet import small_resnet
from experiments.models.vae import VAE
from experiments.tasks import objectives
from experiments.tasks.autoencoding import CHANNELS_OPTION, vae_task
from experiments.tasks.base import Task
from experiments.tasks.options import FloatOption, IntOption
from experiments.tasks.registry import Recipe
from experiments.tasks.seeding import (
    TRAIN_SUBSET_STREAM,
    fixed_evaluation_indices,
    initialised_with_seed,
    subsample_indices,
)

DEFAULT_DIRECTORY = Path("/usr/share/datasets/fashion-mnist")
HOW_TO_GET = "run `make system-deps` (Debian package dataset-fashion-mnist) or pass data_root=<dir with the IDX files>"
SYSTEM_DATA = (DEFAULT_DIRECTORY, HOW_TO_GET)  # what `make system-deps` installs (see registry.missing_system_data)
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def idx_files(directory: Path) -> dict[str, tuple[Path, Path]]:
    """Paths of the (images, labels) IDX files per split, preferring plain files and falling back to ``.gz``."""

    def locate(stem: str) -> Path:
        plain = directory / stem
        return plain if plain.exists() else directory / f"{stem}.gz"

    return {split: (locate(images), locate(labels)) for split, (images, labels) in _FILES.items()}


def _load(directory: Path, split: str, chosen_of_size) -> tuple[torch.Tensor, torch.Tensor, int]:
    images_path, labels_path = idx_files(directory)[split]
    images = data_cache.decoded_file(images_path, lambda: read_idx(images_path))  # once per process
    labels = data_cache.decoded_file(labels_path, lambda: read_idx(labels_path))
    if len(images) != len(labels):
        raise ValueError(f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels")
    chosen = chosen_of_size(len(images))
    pixels = torch.from_numpy(images[chosen].astype(np.float32) / 255.0).unsqueeze(1)
    return pixels, torch.from_numpy(labels[chosen].astype(np.int64)), len(images)


def _builder(task_name: str, make_model, generative: bool):
    """``make_model(**model_options)``: the task's options other than the sizes (``width``, ``channels``) go to the
    model."""

    def build(
        *, seed: int, data_root: str | None, train_size: int | None, eval_size: int | None, **model_options
    ) -> Task:
        directory = dataset_directory(data_root, DEFAULT_DIRECTORY)
        require_paths([path for pair in idx_files(directory).values() for path in pair], HOW_TO_GET)
        train_x, train_y, train_total = _load(
            directory, "train", lambda n: subsample_indices(n, train_size, seed, TRAIN_SUBSET_STREAM)
        )
        test_x, test_y, test_total = _load(
            directory, "test", lambda n: fixed_evaluation_indices(n, eval_size)
        )
        with initialised_with_seed(seed):
            model = make_model(**model_options)
        source = (
            f"Fashion-MNIST (Xiao et al. 2017, MIT licence) from {directory}: official split, "
            f"{len(train_x)} of {train_total} training images (run seed), {len(test_x)} of {test_total} test "
            f"images (fixed for all seeds); 28x28 grey, pixels in [0, 1], 10 classes"
            + "".join(f"; {name} {value}" for name, value in model_options.items()) + "."
        )
        if generative:
            return vae_task(task_name, model, train_x, test_x, source)
        return Task(
            name=task_name,
            model=model,
            train_set=TensorDataset(train_x, train_y),
            eval_sets={"test": TensorDataset(test_x, test_y)},
            loss=objectives.cross_entropy,
            metrics=objectives.classification_metrics,
            target_metric="accuracy",
            higher_is_better=True,
            source=source,
        )

    return build


_SIZE_OPTIONS = {
    "train_size": IntOption(10_000, 1, "training images drawn by the run seed; None = all 60,000", none_means_all=True),
    "eval_size": IntOption(2_000, 1, "fixed test images evaluated; None = all 10,000", none_means_all=True),
}
# At least 1/32, so that the narrowest 2c2d layer (32 channels) keeps one.
WIDTH_OPTION = FloatOption(
    1.0, 1 / 32, "multiplier of the 2c2d layer sizes 32/64 channels and 1024 units, each rounded; 0.25 -> 8/16/256"
)

RECIPES = {
    # DeepOBS fmnist_mlp: 784-1000-500-100-10.
    "fmnist-mlp": Recipe(_builder("fmnist-mlp", lambda: MLP(784, [1000, 500, 100], 10), False), _SIZE_OPTIONS),
    "fmnist-2c2d": Recipe(
        _builder("fmnist-2c2d", lambda width: Conv2c2d(10, width=width), False),
        {**_SIZE_OPTIONS, "width": WIDTH_OPTION},
    ),
    "fmnist-resnet": Recipe(
        _builder("fmnist-resnet", lambda width: small_resnet(10, in_channels=1, width=width), False),
        {**_SIZE_OPTIONS, "width": IntOption(16, 1, "channels of the first stage (then 2x and 4x); 16 -> 16/32/64")},
    ),
    "fmnist-vae": Recipe(
        _builder("fmnist-vae", lambda channels: VAE(channels=channels), True),
        {**_SIZE_OPTIONS, "channels": CHANNELS_OPTION},
    ),
}
