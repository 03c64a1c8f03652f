"""Wide residual networks WRN-d-k (Zagoruyko & Komodakis 2016) for 32x32 images, as used by the MSAM paper.

Pre-activation basic blocks (BN - ReLU - conv3x3, twice), three groups of (d - 4) / 6 blocks with widths
16k, 32k, 64k, a 16-channel 3x3 stem, then BN - ReLU - global average pool - linear. No dropout (MSAM's configs use
none). Convolutions are Kaiming-normal (fan-out), linear bias zero.
"""

import torch
from torch import nn

from .initialisation import initialise_residual_network


class _PreActivationBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.pre_activation = nn.Sequential(nn.BatchNorm2d(in_channels), nn.ReLU(inplace=True))
        self.residual = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        )
        self.projection = (
            None
            if stride == 1 and in_channels == out_channels
            else nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)
        )

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        activated = self.pre_activation(inputs)
        # With a projection the shortcut also sees the pre-activated input (as in the reference implementation).
        shortcut = inputs if self.projection is None else self.projection(activated)
        return self.residual(activated) + shortcut


class WideResNet(nn.Module):
    """WRN-``depth``-``widen_factor``; ``depth`` must be 6n + 4."""

    def __init__(self, depth: int, widen_factor: int, num_classes: int):
        super().__init__()
        if (depth - 4) % 6 != 0:
            raise ValueError(f"WideResNet depth must be 6n + 4, got {depth}")
        blocks_per_group = (depth - 4) // 6
        widths = [16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        layers: list[nn.Module] = [nn.Conv2d(3, 16, 3, padding=1, bias=False)]
        channels = 16
        for group, width in enumerate(widths):
            for index in range(blocks_per_group):
                stride = 2 if group > 0 and index == 0 else 1
                layers.append(_PreActivationBlock(channels, width, stride))
                channels = width
        layers += [
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(channels, num_classes),
        ]
        self.layers = nn.Sequential(*layers)
        initialise_residual_network(self)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.zeros_(module.bias)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.layers(images)
