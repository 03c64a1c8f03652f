"""The CIFAR tasks' recipe options of the Momentum-SAM paper, on generated CIFAR pickles
(``tests/full_scale_data.py``): ``label_smoothing`` changes the training loss only, ``cutout`` sets exactly one
clipped square per image to black, drawn from the harness's generator, and the defaults change nothing."""

import pytest
import torch
import torch.nn.functional as F
from full_scale_data import fake_data
from torch.utils.data import DataLoader

from experiments import tasks
from experiments.tasks import cifar, objectives
from experiments.tasks.datasets.image_transforms import pad_crop_flip

BLACK = -torch.tensor(cifar._MEAN[10]) / torch.tensor(cifar._STD[10])


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> str:
    return fake_data("cifar10-3c3d", tmp_path_factory.mktemp("cifar"))[0]


def build(data_root: str, name: str = "cifar10-3c3d", **options) -> tasks.Task:
    return tasks.create(name, seed=1, data_root=data_root, **options)


def images_and_labels(task, count: int = 12):
    return next(iter(DataLoader(task.train_set, batch_size=count)))


def test_every_cifar_task_takes_both_options():
    for name in tasks.available():
        if name.startswith("cifar"):
            options = tasks.registry.recipe(name).options
            assert options["label_smoothing"].default == 0.0 and options["cutout"].default == 0


def test_label_smoothing_changes_the_training_loss_but_not_the_test_loss(data_root):
    task = build(data_root, label_smoothing=0.1)
    images, labels = images_and_labels(task)
    logits = task.model(images)
    assert torch.equal(task.loss(logits, labels), F.cross_entropy(logits, labels, label_smoothing=0.1))
    assert not torch.allclose(task.loss(logits, labels), F.cross_entropy(logits, labels))
    assert torch.equal(task.metrics(logits, labels)["loss"], F.cross_entropy(logits, labels, reduction="sum"))
    assert "label smoothing 0.1" in task.source


def test_cutout_sets_one_clipped_square_per_image_to_black():
    images = torch.rand(400, 3, 8, 8) + 5.0  # no pixel is black before
    cut = cifar.apply_cutout(images, torch.Generator().manual_seed(0), 4, BLACK)
    clipped = 0
    for before, after in zip(images, cut):
        changed = (after != before).all(dim=0)
        assert torch.equal(changed, (after != before).any(dim=0))  # every channel of a pixel, or none
        assert torch.equal(after[:, changed], BLACK[:, None].expand(3, int(changed.sum())))
        rows, columns = changed.any(dim=1).nonzero().flatten(), changed.any(dim=0).nonzero().flatten()
        assert changed.sum() == len(rows) * len(columns)  # a rectangle ...
        assert torch.equal(rows, torch.arange(rows[0], rows[-1] + 1))
        assert torch.equal(columns, torch.arange(columns[0], columns[-1] + 1))
        for span, first, last in [(len(rows), rows[0], rows[-1]), (len(columns), columns[0], columns[-1])]:
            assert span == 4 or (span < 4 and (first == 0 or last == 7))  # ... of side 4, unless cut at a border
        clipped += len(rows) < 4 or len(columns) < 4
    # Centres are uniform over the 8x8 image: a square is cut short when a centre lies in row or column 0, 1 or 7.
    assert 0.45 < clipped / len(images) < 0.7  # 1 - (5/8)^2 = 0.61


def test_cutout_comes_after_crop_and_flip_and_is_drawn_from_the_generator(data_root):
    task, plain = build(data_root, cutout=16), build(data_root)
    images, _ = images_and_labels(task)
    runs = [task.augment(images, torch.Generator().manual_seed(seed)) for seed in (7, 7, 8)]
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])
    cropped = plain.augment(images, torch.Generator().manual_seed(7))  # the same crop and flip draws come first
    changed = (runs[0] != cropped).any(dim=1)
    assert changed.any(dim=(1, 2)).all()  # every image got a square
    assert torch.equal(runs[0].permute(0, 2, 3, 1)[changed], BLACK.expand(int(changed.sum()), 3))
    for image in changed:  # what changed lies within one 16 x 16 square (the rest of it was black padding already)
        rows, columns = image.any(dim=1).nonzero().flatten(), image.any(dim=0).nonzero().flatten()
        assert rows[-1] - rows[0] < 16 and columns[-1] - columns[0] < 16
    assert "16-px cutout" in task.source


def test_defaults_leave_the_task_as_it_was(data_root):
    task = build(data_root, "cifar10-resnet18", train_size=12)
    images, labels = images_and_labels(task)
    assert task.loss is objectives.cross_entropy
    augmented = task.augment(images, torch.Generator().manual_seed(3))
    assert torch.equal(augmented, pad_crop_flip(images, torch.Generator().manual_seed(3), cifar.PADDING, BLACK))
    assert task.source == build(data_root, "cifar10-resnet18", train_size=12, label_smoothing=0.0, cutout=0).source
    assert "cutout" not in task.source and "smoothing" not in task.source


@pytest.mark.parametrize("options, error, message", [
    ({"label_smoothing": 1.0}, ValueError, "option 'label_smoothing' must be < 1, got 1.0"),
    ({"label_smoothing": -0.1}, ValueError, "option 'label_smoothing' must be >= 0.0, got -0.1"),
    ({"cutout": -1}, ValueError, "option 'cutout' must be >= 0, got -1"),
    ({"cutout": 1.5}, TypeError, "option 'cutout' must be an int, got 1.5"),
])
def test_bad_values_are_refused_naming_the_option(options, error, message, data_root):
    with pytest.raises(error, match=message):
        build(data_root, **options)
