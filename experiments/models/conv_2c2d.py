"""DeepOBS ``2c2d`` network (Schneider et al. 2019), as used by the Overshoot paper's 2c2d-FM task.

conv(32, 5x5, same) - ReLU - maxpool(2) - conv(64, 5x5, same) - ReLU - maxpool(2) - fc(1024) - ReLU - fc(classes).
Initialisation follows DeepOBS's PyTorch port: Xavier-normal conv weights, Xavier-uniform dense weights, all biases
0.05.
"""

from torch import nn


class Conv2c2d(nn.Sequential):
    """The 2c2d classifier for ``1 x 28 x 28`` images."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1):
        super().__init__(
            nn.Conv2d(in_channels, 32, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(7 * 7 * 64, 1024),
            nn.ReLU(),
            nn.Linear(1024, num_classes),
        )
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.xavier_normal_(module.weight)
                nn.init.constant_(module.bias, 0.05)
            elif isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.constant_(module.bias, 0.05)
