"""ImageNet-style image folders (``<split>/<class_dir>/*.JPEG``) decoded with Pillow, with reproducible crops.

Training items are augmented inside ``__getitem__`` (Inception-style random-resized crop + horizontal flip), because
JPEGs of different sizes must be cropped before they can be batched. The randomness of item ``index`` in epoch
``epoch`` comes from ``numpy.random.default_rng([seed, epoch, index])``: independent of the order, batch and
data-loader worker that reads it, so a run is reproducible from its seed. Call ``set_epoch(epoch)`` at the start
of every epoch (as with ``DistributedSampler``) to get fresh crops; without it every epoch sees epoch 0's crops.
Evaluation items are deterministic: resize the shorter side to ``crop * 256 / 224``, centre crop ``crop``.
"""

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from experiments.tasks.datasets.image_transforms import random_resized_crop, resize_center_crop, to_normalised_tensor

IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png")


def class_names(split_directory: Path) -> list[str]:
    """Sorted names of the class sub-directories."""
    return sorted(entry.name for entry in split_directory.iterdir() if entry.is_dir())


def list_images(split_directory: Path, classes: list[str]) -> tuple[list[Path], np.ndarray]:
    """Image paths in (class, file name) order, and their class indices in ``classes``."""
    paths, labels = [], []
    for label, name in enumerate(classes):
        class_directory = split_directory / name
        if not class_directory.is_dir():
            continue
        files = sorted(p for p in class_directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        paths += files
        labels += [label] * len(files)
    return paths, np.asarray(labels, dtype=np.int64)


class ImageFolderImages(Dataset):
    """``(normalised 3 x crop x crop image, label)`` items; ``train=True`` applies the seeded random crop + flip."""

    def __init__(self, paths: list[Path], labels: np.ndarray, crop: int, train: bool, seed: int):
        self.paths, self.labels = paths, torch.from_numpy(labels)
        self.crop, self.train, self.seed = crop, train, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        with Image.open(self.paths[index]) as file:
            image = file.convert("RGB")
        if self.train:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            image = random_resized_crop(image, rng, self.crop)
            if rng.random() < 0.5:
                image = image.transpose(Image.FLIP_LEFT_RIGHT)
        else:
            image = resize_center_crop(image, round(self.crop * 256 / 224), self.crop)
        return to_normalised_tensor(image), self.labels[index]
