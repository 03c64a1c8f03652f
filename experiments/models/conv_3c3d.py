"""DeepOBS ``3c3d`` network (Schneider et al. 2019, problem ``cifar10_3c3d``), the Overshoot paper's 3c3d-C10 model.

For ``3 x 32 x 32`` images:

    conv(64, 5x5, valid) - ReLU - maxpool(3x3, stride 2, same)     32 -> 28 -> 14
    conv(96, 3x3, valid) - ReLU - maxpool(3x3, stride 2, same)     14 -> 12 -> 6
    conv(128, 3x3, same) - ReLU - maxpool(3x3, stride 2, same)      6 ->  6 -> 3
    fc(512) - ReLU - fc(256) - ReLU - fc(classes)

TensorFlow's "same" max-pooling of an even-sized input with a 3x3 window and stride 2 pads one row and one column
after the input, which the window ignores; that is PyTorch's ``ceil_mode=True`` at these sizes (28, 12, 6), checked
in tests/test_models.py. Initialisation follows DeepOBS's PyTorch port: Xavier-normal conv weights, Xavier-uniform
dense weights, all biases 0. (DeepOBS adds an L2 penalty of 0.002 on the weights; that belongs to the optimizer's
weight decay, not to the task.)
"""

from torch import nn


def same_max_pool() -> nn.MaxPool2d:
    """3x3 max-pool, stride 2, with TensorFlow's "same" output size ceil(n / 2) for even n."""
    return nn.MaxPool2d(3, stride=2, ceil_mode=True)


class Conv3c3d(nn.Sequential):
    """The 3c3d classifier for ``3 x 32 x 32`` images."""

    def __init__(self, num_classes: int = 10):
        super().__init__(
            nn.Conv2d(3, 64, kernel_size=5),
            nn.ReLU(),
            same_max_pool(),
            nn.Conv2d(64, 96, kernel_size=3),
            nn.ReLU(),
            same_max_pool(),
            nn.Conv2d(96, 128, kernel_size=3, padding=1),
            nn.ReLU(),
            same_max_pool(),
            nn.Flatten(),
            nn.Linear(3 * 3 * 128, 512),
            nn.ReLU(),
            nn.Linear(512, 256),
            nn.ReLU(),
            nn.Linear(256, num_classes),
        )
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.xavier_normal_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
