"""CIFAR tasks from user-supplied pickle batches: ``cifar10-3c3d``, ``cifar10-resnet18``, ``cifar100-resnet18``,
``cifar100-resnet50``, ``cifar100-wrn16-4``, ``cifar100-wrn28-10``.

Data: CIFAR-10 / CIFAR-100 (Krizhevsky 2009; no explicit licence, distributed for research), official split
50,000 train / 10,000 test, 32x32 RGB. The "python version" directories (``cifar-10-batches-py/``,
``cifar-100-python/``) are expected under the repository's ``data/`` or at ``data_root``.
Inputs are normalised per channel; training batches are augmented by ``Task.augment`` (random crop after 4-pixel
zero padding, horizontal flip) with the harness's generator.

Options of every CIFAR task: ``train_size`` (default all, drawn by the run seed) and ``eval_size`` (default all,
fixed subset); the Momentum-SAM paper's recipe (its Table A.3) adds the other two:

* ``label_smoothing`` ε in [0, 1) (default 0): the training loss ``task.loss`` is cross-entropy against the target
  (1 − ε)·one-hot + ε/K (``torch.nn.functional.cross_entropy(label_smoothing=ε)``, K classes); the reported test
  loss (``task.metrics``) stays plain cross-entropy. MSAM's code puts s/(K − 1) on each wrong class instead, the
  target of torch's ε = s·K/(K − 1) (its 0.1 is 0.111 here for CIFAR-10, 0.101 for CIFAR-100), and reports KL
  divergence (cross-entropy less the target's entropy: the same gradients).
* ``cutout`` s pixels (default 0 = off; DeVries & Taylor 2017, MSAM's configs use 16): after crop and flip, one
  s x s square per image is set to the normalised value of black, the fill the padding uses (the raw image zeroed
  there), its centre drawn uniformly over the image from the harness's generator and the square clipped at the
  borders (rows centre − s//2 to centre − s//2 + s − 1, columns alike). DeVries & Taylor's and MSAM's code fill
  with the dataset mean instead, and MSAM's applies cutout to half of the images (``cutoutProp = 0.5``), before
  the crop.

The ResNet-18 tasks also take ``stem``: ``"cifar"`` (default; 3x3 stride-1, no max-pool) or ``"imagenet"``
(torchvision's 7x7 stride-2 + max-pool, the Overshoot paper's ResNet-C100).
"""

import functools

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from experiments.tasks.datasets.cifar_pickle import cifar_files, read_cifar
from experiments.tasks.datasets.image_transforms import pad_crop_flip
from experiments.tasks.datasets.locations import REPOSITORY_DATA, dataset_directory, require_paths
from experiments.models.conv_3c3d import Conv3c3d
from experiments.models.resnet import STEMS, resnet18, resnet32, resnet50
from experiments.models.wide_resnet import WideResNet
from experiments.tasks import objectives
from experiments.tasks.base import Task
from experiments.tasks.options import ChoiceOption, FloatOption, IntOption
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
    """``make_model(**model_options)``: the task's options other than the sizes and the recipe's (e.g. ``stem``)
    go to the model."""

    def build(
        *, seed: int, data_root: str | None, train_size: int | None, eval_size: int | None, label_smoothing: float,
        cutout: int, **model_options
    ) -> Task:
        if not label_smoothing < 1:
            raise ValueError(f"task {task_name!r}: option 'label_smoothing' must be < 1, got {label_smoothing} "
                             f"({_RECIPE_OPTIONS['label_smoothing'].help})")
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
            loss=(functools.partial(F.cross_entropy, label_smoothing=label_smoothing) if label_smoothing
                  else objectives.cross_entropy),
            metrics=objectives.classification_metrics,
            target_metric="accuracy",
            higher_is_better=True,
            augment=functools.partial(_augment, fill=black, cutout=cutout),
            source=(
                f"CIFAR-{num_classes} (Krizhevsky 2009) from {directory}: official split, {len(splits['train'])} "
                f"training images (run seed), {len(splits['test'])} test images (fixed); per-channel normalised; "
                f"train augmentation: {PADDING}-px zero-pad random crop + horizontal flip"
                + (f" + {cutout}-px cutout (filled with black)" if cutout else "")
                + (f"; training loss: cross-entropy with label smoothing {label_smoothing} (test loss: plain "
                   "cross-entropy)" if label_smoothing else "")
                + "".join(f"; {name} {value}" for name, value in model_options.items()) + "."
            ),
        )

    return build


def _augment(images: torch.Tensor, generator: torch.Generator, fill: torch.Tensor, cutout: int) -> torch.Tensor:
    images = pad_crop_flip(images, generator, PADDING, fill)
    return apply_cutout(images, generator, cutout, fill) if cutout else images


def apply_cutout(images: torch.Tensor, generator: torch.Generator, side: int, fill: torch.Tensor) -> torch.Tensor:
    """Cutout (DeVries & Taylor 2017): in each image of ``images`` (N, C, H, W), the pixels of one ``side`` x
    ``side`` square set to ``fill`` (C,). Its centre (row, column) is drawn uniformly over the image from
    ``generator``; it covers rows centre_row − side//2 to centre_row − side//2 + side − 1 (columns alike), clipped
    at the borders, so a square near an edge is cut short."""
    count, channels, height, width = images.shape
    top = torch.randint(0, height, (count,), generator=generator) - side // 2
    left = torch.randint(0, width, (count,), generator=generator) - side // 2
    rows, columns = torch.arange(height), torch.arange(width)
    in_rows = (rows >= top[:, None]) & (rows < top[:, None] + side)  # (N, H)
    in_columns = (columns >= left[:, None]) & (columns < left[:, None] + side)  # (N, W)
    square = in_rows[:, None, :, None] & in_columns[:, None, None, :]
    return torch.where(square, fill.to(images.dtype).view(1, channels, 1, 1), images)


_RECIPE_OPTIONS = {
    "train_size": IntOption(None, 1, "training images drawn by the run seed; None = all 50,000", none_means_all=True),
    "eval_size": IntOption(None, 1, "fixed test images evaluated; None = all 10,000", none_means_all=True),
    "label_smoothing": FloatOption(0.0, 0.0, "label smoothing of the training loss, in [0, 1); the test loss is "
                                   "plain cross-entropy; MSAM's recipe: 0.1"),
    "cutout": IntOption(0, 0, "side in pixels of the square cut out of each training image after crop and flip; "
                        "0 = none; MSAM's recipe: 16"),
}

_STEM_OPTIONS = {
    **_RECIPE_OPTIONS,
    "stem": ChoiceOption("cifar", STEMS, "cifar: 3x3 stride 1, no max-pool; imagenet: torchvision's 7x7/2 + max-pool"),
}

RECIPES = {
    "cifar10-3c3d": Recipe(_builder("cifar10-3c3d", 10, lambda: Conv3c3d(10)), _RECIPE_OPTIONS),
    "cifar10-resnet18": Recipe(
        _builder("cifar10-resnet18", 10, lambda stem: resnet18(10, stem)), _STEM_OPTIONS
    ),
    "cifar10-resnet32": Recipe(_builder("cifar10-resnet32", 10, lambda: resnet32(10)), _RECIPE_OPTIONS),
    "cifar100-resnet18": Recipe(
        _builder("cifar100-resnet18", 100, lambda stem: resnet18(100, stem)), _STEM_OPTIONS
    ),
    "cifar100-resnet50": Recipe(  # the MSAM paper's CIFAR-100 ResNet-50
        _builder("cifar100-resnet50", 100, lambda stem: resnet50(100, stem)), _STEM_OPTIONS
    ),
    "cifar100-wrn16-4": Recipe(_builder("cifar100-wrn16-4", 100, lambda: WideResNet(16, 4, 100)), _RECIPE_OPTIONS),
    "cifar100-wrn28-10": Recipe(_builder("cifar100-wrn28-10", 100, lambda: WideResNet(28, 10, 100)), _RECIPE_OPTIONS),
}
