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


class NAdam(BaseWeightsMixin, torch.optim.NAdam):
    """``torch.optim.NAdam``, resumable bit for bit: torch's ``load_state_dict`` casts the scalar state
    ``mu_product`` to the parameter's dtype while a fresh run keeps it in float32, so a resumed float64 run would
    drift in the last bits; it is cast back here."""

    def load_state_dict(self, state_dict) -> None:
        super().load_state_dict(state_dict)
        for state in self.state.values():
            if "mu_product" in state:
                state["mu_product"] = state["mu_product"].to(torch.get_default_dtype())


class RMSprop(BaseWeightsMixin, torch.optim.RMSprop):
    """``torch.optim.RMSprop``."""
