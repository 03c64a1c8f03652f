"""Reader for the "python version" of CIFAR-10 / CIFAR-100 (Krizhevsky 2009): pickled batch dictionaries.

CIFAR-10 (``cifar-10-batches-py/``): ``data_batch_1`` ... ``data_batch_5`` and ``test_batch``, each a dict with
``b"data"`` (N x 3072 uint8, channel-major 32x32 planes) and ``b"labels"``.
CIFAR-100 (``cifar-100-python/``): ``train`` and ``test`` with ``b"data"`` and ``b"fine_labels"`` (100 classes).
The files were pickled by Python 2, hence ``encoding="bytes"``.
"""

import pickle
from pathlib import Path

import numpy as np

BATCH_FILES = {
    10: {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]},
    100: {"train": ["train"], "test": ["test"]},
}
_LABEL_KEY = {10: b"labels", 100: b"fine_labels"}


def cifar_files(directory: Path, num_classes: int, split: str) -> list[Path]:
    return [directory / name for name in BATCH_FILES[num_classes][split]]


def read_cifar(directory: Path, num_classes: int, split: str) -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)``: uint8 images of shape (N, 3, 32, 32) and int64 labels, files in their listed order."""
    images, labels = [], []
    for path in cifar_files(directory, num_classes, split):
        with open(path, "rb") as stream:
            batch = pickle.load(stream, encoding="bytes")
        images.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.append(np.asarray(batch[_LABEL_KEY[num_classes]], dtype=np.int64))
    return np.concatenate(images), np.concatenate(labels)
