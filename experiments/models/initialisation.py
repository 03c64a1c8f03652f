"""The weight initialisation shared by the residual networks (He et al. 2015 for convolutions)."""

from torch import nn


def initialise_residual_network(model: nn.Module) -> None:
    """Kaiming-normal (fan-out, ReLU) convolutions; BatchNorm scale 1 and shift 0."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
