"""CIFAR tasks from user-supplied pickle batches: ``cifar10-3c3d``, ``cifar10-resnet18``, ``cifar100-resnet18``,
``cifar100-wrn16-4``, ``cifar100-wrn28-10``.

Data: CIFAR-10 / CIFAR-100 (Krizhevsky 2009; no explicit licence, distributed for research), official split
50,000 train / 10,000 test, 32x32 RGB. The "python version" directories (``cifar-10-batches-py/``,
``cifar-100-python/``) are expected under the repository's ``data/`` or at ``data_root``.
Inputs are normalised per channel; training batches are augmented by ``Task.augment`` (random crop after 4-pixel
zero padding, horizontal flip) with the harness's generator. Cutout and label smoothing, which MSAM's configs add,
are not part of the task.

Sizes: ``train_size`` (default all, drawn by the run seed) and ``eval_size`` (default all, fixed subset). The
ResNet-18 tasks take ``stem``: ``"cifar"`` (default; 3x3 stride-1, no max-pool) or ``"imagenet"`` (torchvision's
7x7 stride-2 + max-pool, the Overshoot paper's ResNet-C100).
"""

import functools

import torch
from torch.utils.data import Dataset

from experiments.tasks.datasets.cifar_pickle import cifar_files, read_cifar
from experiments.tasks.datasets.image_transforms import pad_crop_flip
from experiments.tasks.datasets.locations import REPOSITORY_DATA, dataset_directory, require_paths
from experiments.models.conv_3c3d import Conv3c3d
from experiments.models.resnet import STEMS, resnet18, resnet32
from experiments.models.wide_resnet import WideResNet
from experiments.tasks import objectives
from experiments.tasks.base import Task
from experiments.tasks.options import ChoiceOption, IntOption
from experiments.tasks.registry import Recipe
from experiments.tasks.seeding import (
    TRAIN_SUBSET_STREAM,
    fixed_evaluation_indices,
    initialised_with_seed,
    subsample_indices,
)

PADDING = 4
_DEFAULT_DIRECTORY = {10: REPOSITORY_DATA / "cifar-10-batches-py", 100: REPOSITORY_DATA / "cifar-100-python"}
_ARCHIVE = {10: "cifar-10-python.tar.gz", 100: "cifar-100-python.tar.gz"}
_MEAN = {10: (0.4914, 0.4822, 0.4465), 100: (0.5071, 0.4865, 0.4409)}
_STD = {10: (0.2470, 0.2435, 0.2616), 100: (0.2673, 0.2564, 0.2762)}


class NormalisedImages(Dataset):
    """uint8 images kept as stored (4x smaller than floats), normalised to float when an item is read."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, mean, std):
        self.images, self.labels = images, labels
        self.mean, self.std = torch.tensor(mean).view(3, 1, 1), torch.tensor(std).view(3, 1, 1)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return (self.images[index].float() / 255.0 - self.mean) / self.std, self.labels[index]


def _builder(task_name: str, num_classes: int, make_model):
    """``make_model(**model_options)``: the task's options other than the sizes (e.g. ``stem``) go to the model."""

    def build(
        *, seed: int, data_root: str | None, train_size: int | None, eval_size: int | None, **model_options
    ) -> Task:
        directory = dataset_directory(data_root, _DEFAULT_DIRECTORY[num_classes])
        require_paths(
            cifar_files(directory, num_classes, "train") + cifar_files(directory, num_classes, "test"),
            f"download {_ARCHIVE[num_classes]} from https://www.cs.toronto.edu/~kriz/cifar.html, extract it and "
            f"pass data_root=<the extracted {_DEFAULT_DIRECTORY[num_classes].name} directory>",
        )
        splits = {}
        for split, choose in [
            ("train", lambda n: subsample_indices(n, train_size, seed, TRAIN_SUBSET_STREAM)),
            ("test", lambda n: fixed_evaluation_indices(n, eval_size)),
        ]:
            images, labels = read_cifar(directory, num_classes, split)
            chosen = choose(len(labels))
            splits[split] = NormalisedImages(
                torch.from_numpy(images[chosen]), torch.from_numpy(labels[chosen]),
                _MEAN[num_classes], _STD[num_classes],
            )
        with initialised_with_seed(seed):
            model = make_model(**model_options)
        black = -torch.tensor(_MEAN[num_classes]) / torch.tensor(_STD[num_classes])
        return Task(
            name=task_name,
            model=model,
            train_set=splits["train"],
            eval_sets={"test": splits["test"]},
            loss=objectives.cross_entropy,
            metrics=objectives.classification_metrics,
            target_metric="accuracy",
            higher_is_better=True,
            augment=functools.partial(_augment, fill=black),
            source=(
                f"CIFAR-{num_classes} (Krizhevsky 2009) from {directory}: official split, {len(splits['train'])} "
                f"training images (run seed), {len(splits['test'])} test images (fixed); per-channel normalised; "
                f"train augmentation: {PADDING}-px zero-pad random crop + horizontal flip"
                + "".join(f"; {name} {value}" for name, value in model_options.items()) + "."
            ),
        )

    return build


def _augment(images: torch.Tensor, generator: torch.Generator, fill: torch.Tensor) -> torch.Tensor:
    return pad_crop_flip(images, generator, PADDING, fill)


_SIZE_OPTIONS = {
    "train_size": IntOption(None, 1, "training images drawn by the run seed; None = all 50,000", none_means_all=True),
    "eval_size": IntOption(None, 1, "fixed test images evaluated; None = all 10,000", none_means_all=True),
}

_RESNET18_OPTIONS = {
    **_SIZE_OPTIONS,
    "stem": ChoiceOption("cifar", STEMS, "cifar: 3x3 stride 1, no max-pool; imagenet: torchvision's 7x7/2 + max-pool"),
}

RECIPES = {
    "cifar10-3c3d": Recipe(_builder("cifar10-3c3d", 10, lambda: Conv3c3d(10)), _SIZE_OPTIONS),
    "cifar10-resnet18": Recipe(
        _builder("cifar10-resnet18", 10, lambda stem: resnet18(10, stem)), _RESNET18_OPTIONS
    ),
    "cifar10-resnet32": Recipe(_builder("cifar10-resnet32", 10, lambda: resnet32(10)), _SIZE_OPTIONS),
    "cifar100-resnet18": Recipe(
        _builder("cifar100-resnet18", 100, lambda stem: resnet18(100, stem)), _RESNET18_OPTIONS
    ),
    "cifar100-wrn16-4": Recipe(_builder("cifar100-wrn16-4", 100, lambda: WideResNet(16, 4, 100)), _SIZE_OPTIONS),
    "cifar100-wrn28-10": Recipe(_builder("cifar100-wrn28-10", 100, lambda: WideResNet(28, 10, 100)), _SIZE_OPTIONS),
}
