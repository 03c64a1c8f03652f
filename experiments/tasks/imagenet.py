"""``imagenet-resnet50``: ResNet-50 on ImageNet-1k (ILSVRC 2012) from a user-supplied image-folder copy.

Data (research-only ImageNet terms of access; not redistributable): ``<data_root>/train/<wnid>/*.JPEG`` (1.28M
images) and ``<data_root>/val/<wnid>/*.JPEG`` (50,000, sorted into class folders, e.g. with the usual
``valprep.sh``). Classes are the sorted train sub-directories; the val folder must use the same names.
Training crops: Inception-style random-resized crop to ``crop_size`` (default 224) + horizontal flip, seeded per
(run seed, epoch, index) inside the dataset — call ``task.train_set.set_epoch(epoch)`` every epoch (see
``experiments/tasks/datasets/image_folder.py``). Evaluation: resize to ``crop_size * 256/224``, centre crop.

Sizes: ``train_size`` (default all, drawn by the run seed) and ``eval_size`` (default all, fixed subset).
"""

from experiments.tasks.datasets.image_folder import ImageFolderImages, class_names, list_images
from experiments.tasks.datasets.locations import REPOSITORY_DATA, dataset_directory, require_paths
from experiments.models.resnet import resnet50
from experiments.tasks import objectives
from experiments.tasks.base import Task
from experiments.tasks.options import IntOption
from experiments.tasks.registry import Recipe
from experiments.tasks.seeding import (
    TRAIN_SUBSET_STREAM,
    fixed_evaluation_indices,
    initialised_with_seed,
    subsample_indices,
)

DEFAULT_DIRECTORY = REPOSITORY_DATA / "imagenet"
HOW_TO_GET = (
    "obtain ILSVRC-2012 from https://image-net.org (account required), arrange train/ and val/ as "
    "<class_dir>/*.JPEG, and pass data_root=<directory holding train/ and val/>"
)


def _build(
    *, seed: int, data_root: str | None, train_size: int | None, eval_size: int | None, crop_size: int
) -> Task:
    directory = dataset_directory(data_root, DEFAULT_DIRECTORY)
    require_paths([directory / "train", directory / "val"], HOW_TO_GET)
    classes = class_names(directory / "train")
    if not classes:
        raise FileNotFoundError(f"no class directories under {directory / 'train'}. To get them: {HOW_TO_GET}")
    train_paths, train_labels = list_images(directory / "train", classes)
    val_paths, val_labels = list_images(directory / "val", classes)
    train_chosen = subsample_indices(len(train_paths), train_size, seed, TRAIN_SUBSET_STREAM)
    val_chosen = fixed_evaluation_indices(len(val_paths), eval_size)
    train_set = ImageFolderImages(
        [train_paths[i] for i in train_chosen], train_labels[train_chosen], crop_size, train=True, seed=seed
    )
    val_set = ImageFolderImages(
        [val_paths[i] for i in val_chosen], val_labels[val_chosen], crop_size, train=False, seed=seed
    )
    with initialised_with_seed(seed):
        model = resnet50(num_classes=len(classes))
    return Task(
        name="imagenet-resnet50",
        model=model,
        train_set=train_set,
        eval_sets={"val": val_set},
        loss=objectives.cross_entropy,
        metrics=objectives.classification_metrics,
        target_metric="accuracy",
        higher_is_better=True,
        source=(
            f"ImageNet-1k image folders at {directory} (ImageNet terms of access, research only): {len(classes)} "
            f"classes, {len(train_set)} of {len(train_paths)} training images (run seed), {len(val_set)} of "
            f"{len(val_paths)} val images (fixed); {crop_size}-px Inception crops + flip for training, "
            "resize + centre crop for val."
        ),
    )


RECIPES = {
    "imagenet-resnet50": Recipe(
        build=_build,
        options={
            "train_size": IntOption(None, 1, "training images drawn by the run seed; None = all", none_means_all=True),
            "eval_size": IntOption(None, 1, "fixed val images evaluated; None = all", none_means_all=True),
            "crop_size": IntOption(224, 32, "side of the square crops fed to the network"),
        },
    )
}
