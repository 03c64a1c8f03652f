"""Tasks on data bundled with scikit-learn (no download): ``digits-mlp`` and ``diabetes-mlp``.

``diabetes-mlp`` stands in for the Overshoot paper's MLP on California Housing: that dataset is NOT bundled with
scikit-learn (``fetch_california_housing`` downloads it), and nothing may be downloaded at run time. The MLP keeps
the paper's hidden sizes [200, 150].

The train/test split is fixed (split seed 0) for every run; the run seed decides the model initialisation and,
when ``train_size`` is set, which training examples are used. ``digits_split`` is the project's one digits loader:
the ledger checks of ``theory`` train on the same split.
"""

import numpy as np
import torch
from sklearn.datasets import load_diabetes, load_digits
from sklearn.model_selection import train_test_split
from torch.utils.data import TensorDataset

from experiments import data_cache
from experiments.models.mlp import MLP
from experiments.tasks import objectives
from experiments.tasks.base import Task
from experiments.tasks.options import IntOption
from experiments.tasks.registry import Recipe
from experiments.tasks.seeding import TRAIN_SUBSET_STREAM, initialised_with_seed, subsample_indices

SPLIT_SEED = 0
TEST_FRACTION = 0.2


def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits as ``(train_x, test_x, train_y, test_y)``: pixels scaled to [0, 1] (float64, 64
    features), labels 0-9 (int64), split stratified 80/20 with split seed 0 (1437 train / 360 test). The arrays are
    read-only and decoded once per process (``experiments.data_cache``); copy what you change."""

    def decode():
        images, labels = load_digits(return_X_y=True)
        return tuple(train_test_split(images / 16.0, labels.astype(np.int64), test_size=TEST_FRACTION,
                                      random_state=SPLIT_SEED, stratify=labels))

    return data_cache.decoded(("sklearn digits", TEST_FRACTION, SPLIT_SEED), decode)


def _build_digits(*, seed: int, data_root: str | None, train_size: int | None, width: int) -> Task:
    del data_root  # bundled with scikit-learn
    train_x, test_x, train_y, test_y = digits_split()
    chosen = subsample_indices(len(train_x), train_size, seed, TRAIN_SUBSET_STREAM)
    with initialised_with_seed(seed):
        model = MLP(64, [width, width], 10)
    return Task(
        name="digits-mlp",
        model=model,
        train_set=_tensors(train_x[chosen], train_y[chosen], torch.long),
        eval_sets={"test": _tensors(test_x, test_y, torch.long)},
        loss=objectives.cross_entropy,
        metrics=objectives.classification_metrics,
        target_metric="accuracy",
        higher_is_better=True,
        source=(
            "scikit-learn load_digits: UCI optical recognition of handwritten digits, test part (CC BY 4.0), "
            f"1797 8x8 images, 10 classes, pixels scaled to [0, 1]. Fixed stratified split {1 - TEST_FRACTION:.0%}/"
            f"{TEST_FRACTION:.0%} (1437 train / 360 test, split seed {SPLIT_SEED}); "
            f"training examples used: {len(chosen)}."
        ),
    )


def _build_diabetes(*, seed: int, data_root: str | None, train_size: int | None) -> Task:
    del data_root  # bundled with scikit-learn
    features, target = load_diabetes(return_X_y=True, scaled=False)
    train_x, test_x, train_y, test_y = train_test_split(
        features, target[:, None], test_size=TEST_FRACTION, random_state=SPLIT_SEED
    )
    # Standardise inputs and target with training-split statistics only, so the test set stays unseen.
    x_mean, x_std = train_x.mean(0), train_x.std(0)
    y_mean, y_std = train_y.mean(0), train_y.std(0)
    train_x, test_x = (train_x - x_mean) / x_std, (test_x - x_mean) / x_std
    train_y, test_y = (train_y - y_mean) / y_std, (test_y - y_mean) / y_std
    chosen = subsample_indices(len(train_x), train_size, seed, TRAIN_SUBSET_STREAM)
    with initialised_with_seed(seed):
        model = MLP(10, [200, 150], 1)
    return Task(
        name="diabetes-mlp",
        model=model,
        train_set=_tensors(train_x[chosen], train_y[chosen], torch.float32),
        eval_sets={"test": _tensors(test_x, test_y, torch.float32)},
        loss=objectives.mean_squared_error,
        metrics=objectives.regression_metrics,
        target_metric="loss",
        higher_is_better=False,
        source=(
            "scikit-learn load_diabetes (Efron et al. 2004, 'Least Angle Regression'; shipped under scikit-learn's "
            "BSD-3 licence): 442 patients, 10 features, disease progression target. Features and target "
            f"standardised with training statistics. Fixed split 353 train / 89 test (split seed {SPLIT_SEED}); "
            f"training examples used: {len(chosen)}. Replaces California Housing, which needs a download."
        ),
    )


def _tensors(inputs: np.ndarray, targets: np.ndarray, target_dtype: torch.dtype) -> TensorDataset:
    # torch.tensor copies: never a view of the read-only cached arrays.
    return TensorDataset(torch.tensor(inputs, dtype=torch.float32), torch.tensor(targets, dtype=target_dtype))


RECIPES = {
    "digits-mlp": Recipe(
        build=_build_digits,
        options={
            "train_size": IntOption(None, 1, "training examples to subsample; default all 1437", none_means_all=True),
            "width": IntOption(128, 1, "units in each of the two hidden layers"),
        },
    ),
    "diabetes-mlp": Recipe(
        build=_build_diabetes,
        options={
            "train_size": IntOption(None, 1, "training examples to subsample; default all 353", none_means_all=True)
        },
    ),
}
