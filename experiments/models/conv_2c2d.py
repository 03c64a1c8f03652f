"""DeepOBS ``2c2d`` network (Schneider et al. 2019), as used by the Overshoot paper's 2c2d-FM task.

conv(32, 5x5, same) - ReLU - maxpool(2) - conv(64, 5x5, same) - ReLU - maxpool(2) - fc(1024) - ReLU - fc(classes).
``width`` multiplies the three hidden sizes (32, 64, 1024), each rounded to the nearest integer: 1 is DeepOBS's
network, 0.25 gives 8/16/256 for CPU-sized runs (14x fewer multiply-adds, 1.0M instead of 13.9M per image; one
thread's SGD step at batch 64 takes ~7x less time, ~8 instead of ~58 ms).
Initialisation follows DeepOBS's PyTorch port: Xavier-normal conv weights, Xavier-uniform dense weights, all biases
0.05.
"""

from torch import nn

CHANNELS = (32, 64)
HIDDEN_UNITS = 1024


def scaled(size: int, width: float) -> int:
    """``size * width`` rounded, refusing a layer with no units."""
    units = round(size * width)
    if units < 1:
        raise ValueError(f"width={width} leaves the {size}-unit layer empty; allowed: width >= {1 / CHANNELS[0]}")
    return units


class Conv2c2d(nn.Sequential):
    """The 2c2d classifier for ``1 x 28 x 28`` images."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, width: float = 1.0):
        first, second = (scaled(channels, width) for channels in CHANNELS)
        hidden = scaled(HIDDEN_UNITS, width)
        super().__init__(
            nn.Conv2d(in_channels, first, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(first, second, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(7 * 7 * second, hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.xavier_normal_(module.weight)
                nn.init.constant_(module.bias, 0.05)
            elif isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.constant_(module.bias, 0.05)
