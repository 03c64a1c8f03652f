"""Multilayer perceptron: flatten, then Linear + ReLU layers, then a linear output layer."""

from torch import nn


class MLP(nn.Sequential):
    """``in_features -> hidden[0] -> ... -> hidden[-1] -> out_features`` with ReLU between layers."""

    def __init__(self, in_features: int, hidden: list[int], out_features: int):
        layers: list[nn.Module] = [nn.Flatten()]
        widths = [in_features, *hidden]
        for fan_in, fan_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
        layers.append(nn.Linear(widths[-1], out_features))
        super().__init__(*layers)
