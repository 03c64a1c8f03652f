"""The base-weights protocol shared by every optimizer in the package.

Some methods (Overshoot, MSAM) keep *shifted* weights in the parameters, because that is where the
next gradient must be taken. The weights a user evaluates, checkpoints and reports are the *base*
weights. ``optimizer.base_weights()`` puts them into the parameters for the duration of a ``with``
block and restores the training weights bit for bit on exit; for methods that store no shift it
does nothing.
"""

import contextlib
from collections.abc import Iterator

import torch


class BaseWeightsMixin:
    """Adds ``base_weights()`` to a ``torch.optim.Optimizer``.

    Subclasses that store shifted weights set ``stores_shifted_weights = True`` and implement
    ``_move_to_base()``, which overwrites the parameters with the base weights computed from the
    optimizer state.
    """

    stores_shifted_weights: bool = False
    param_groups: list[dict]

    def _move_to_base(self) -> None:
        raise NotImplementedError

    @contextlib.contextmanager
    def base_weights(self) -> Iterator[None]:
        """Context manager: parameters hold the base weights inside, the training weights after.

        A nested block is a no-op: the parameters already hold the base weights.
        """
        if not self.stores_shifted_weights or getattr(self, "_in_base_weights", False):
            yield
            return
        params = [p for group in self.param_groups for p in group["params"]]
        training = [p.detach().clone() for p in params]
        self._in_base_weights = True
        try:
            with torch.no_grad():
                self._move_to_base()
            yield
        finally:
            with torch.no_grad():
                for param, saved in zip(params, training):
                    param.copy_(saved)
            self._in_base_weights = False

    def _begin_step(self, closure) -> torch.Tensor | None:
        """Start of ``step``: refuse to run inside ``base_weights()``, then evaluate the optional
        closure (with gradients enabled) and return its loss."""
        if getattr(self, "_in_base_weights", False):
            raise RuntimeError(
                f"{type(self).__name__}.step() called inside base_weights(): the parameters hold "
                "the base weights, not the training weights; leave the with-block first"
            )
        if closure is None:
            return None
        with torch.enable_grad():
            return closure()
