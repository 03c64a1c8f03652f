"""The baselines taken from ``torch.optim``, given the package's ``base_weights()`` protocol.

They store no shifted weights, so ``base_weights()`` does nothing; the classes exist so every
optimizer of the registry offers the same interface.
"""

import torch

from .base_weights import BaseWeightsMixin


class SGD(BaseWeightsMixin, torch.optim.SGD):
    """``torch.optim.SGD`` (plain, heavy-ball or Nesterov momentum)."""


class Adam(BaseWeightsMixin, torch.optim.Adam):
    """``torch.optim.Adam``."""


class AdamW(BaseWeightsMixin, torch.optim.AdamW):
    """``torch.optim.AdamW``."""


class RMSprop(BaseWeightsMixin, torch.optim.RMSprop):
    """``torch.optim.RMSprop``."""
