"""Residual networks with BatchNorm (He et al. 2016), written here because torchvision is not usable.

One ``ResNet`` class covers the variants the tasks need:

* ``resnet50``: the ImageNet ResNet-50 (7x7 stride-2 stem + max-pool, bottleneck blocks [3, 4, 6, 3]),
  matching torchvision's ``resnet50`` layer for layer (stride on the 3x3 conv, "ResNet v1.5").
* ``resnet18``: ResNet-18 (basic blocks [2, 2, 2, 2]) with either stem: ``"cifar"``, the common CIFAR variant
  (3x3 stride-1 stem, no max-pool), as in kuangliu/pytorch-cifar; or ``"imagenet"``, torchvision's ``resnet18``
  layer for layer (7x7 stride-2 stem + max-pool; what the Overshoot paper trains on 32x32 CIFAR-100).
* ``resnet32``: He et al.'s CIFAR ResNet-32 (3x3 stem, basic blocks [5, 5, 5], widths 16/32/64).
* ``small_resnet``: a CIFAR-style ResNet-8 (widths 16/32/64, one basic block per stage) for 28x28 Fashion-MNIST.

Initialisation follows torchvision: Kaiming-normal (fan-out) convolutions, BatchNorm weight 1 and bias 0.
"""

import torch
from torch import nn

from .initialisation import initialise_residual_network


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a shortcut; ``expansion`` 1."""

    expansion = 1

    def __init__(self, in_channels: int, width: int, stride: int):
        super().__init__()
        self.residual = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
        )
        self.shortcut = _shortcut(in_channels, width, stride)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.residual(inputs) + self.shortcut(inputs))


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (carrying the stride), 1x1 expand by 4, with a shortcut."""

    expansion = 4

    def __init__(self, in_channels: int, width: int, stride: int):
        super().__init__()
        out_channels = width * self.expansion
        self.residual = nn.Sequential(
            nn.Conv2d(in_channels, width, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        self.shortcut = _shortcut(in_channels, out_channels, stride)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.residual(inputs) + self.shortcut(inputs))


def _shortcut(in_channels: int, out_channels: int, stride: int) -> nn.Module:
    if stride == 1 and in_channels == out_channels:
        return nn.Identity()
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
    )


class ResNet(nn.Module):
    """Stem, then stages of ``block`` (the first stage at stride 1, the rest at stride 2), global pool, linear."""

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        blocks_per_stage: list[int],
        widths: list[int],
        num_classes: int,
        in_channels: int = 3,
        imagenet_stem: bool = False,
    ):
        super().__init__()
        if imagenet_stem:
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, widths[0], 7, stride=2, padding=3, bias=False),
                nn.BatchNorm2d(widths[0]),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(3, stride=2, padding=1),
            )
        else:
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False),
                nn.BatchNorm2d(widths[0]),
                nn.ReLU(inplace=True),
            )
        stages = []
        channels = widths[0]
        for stage, (count, width) in enumerate(zip(blocks_per_stage, widths)):
            for index in range(count):
                stride = 2 if stage > 0 and index == 0 else 1
                stages.append(block(channels, width, stride))
                channels = width * block.expansion
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes))
        initialise_residual_network(self)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(images)))


STEMS = ("cifar", "imagenet")


def resnet50(num_classes: int = 1000, stem: str = "imagenet") -> ResNet:
    """ResNet-50 (bottleneck blocks 3/4/6/3); the cifar stem (3x3 stride 1, no max-pool) for 32-px images."""
    if stem not in STEMS:
        raise ValueError(f"stem must be one of {list(STEMS)}, got {stem!r}")
    return ResNet(Bottleneck, [3, 4, 6, 3], [64, 128, 256, 512], num_classes, imagenet_stem=stem == "imagenet")


def resnet18(num_classes: int, stem: str) -> ResNet:
    if stem not in STEMS:
        raise ValueError(f"stem must be one of {list(STEMS)}, got {stem!r}")
    return ResNet(BasicBlock, [2, 2, 2, 2], [64, 128, 256, 512], num_classes, imagenet_stem=stem == "imagenet")


def resnet32(num_classes: int) -> ResNet:
    """He et al. (2016)'s CIFAR ResNet-32: three stages of 5 basic blocks, widths 16/32/64 (the marginal-value
    paper's SVAG network). Its stride-2 shortcuts are 1x1 projections, not the paper's zero-padded identities."""
    return ResNet(BasicBlock, [5, 5, 5], [16, 32, 64], num_classes)


def small_resnet(num_classes: int, in_channels: int, width: int = 16) -> ResNet:
    """Three stages of one basic block each, widths w/2w/4w (w = 16: 16/32/64)."""
    return ResNet(BasicBlock, [1, 1, 1], [width, 2 * width, 4 * width], num_classes, in_channels=in_channels)
