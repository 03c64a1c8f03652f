"""Sharpness-Aware Minimization (SAM) — Foret, Kleiner, Mobahi, Neyshabur, ICLR 2021; the baseline of MSAM."""

import torch

from . import hyperparameters
from .base_weights import BaseWeightsMixin
from .gradients import parameters_with_gradients

NORM_FLOOR = 1e-12


class SAM(BaseWeightsMixin, torch.optim.Optimizer):
    r"""SAM around any base optimizer: the base step uses the gradient at the ascent point.

    Each ``step(closure)``, with ‖·‖ the global L2 norm over all parameters::

        g   = ∇f(w)                                   first evaluation
        ε   = ρ g / (‖g‖ + 1e-12)
        g̃   = ∇f(w + ε)                               second evaluation, same batch
        w   ← base_optimizer step from w with gradient g̃

    The parameters hold w outside ``step`` (nothing is stored shifted); the weights are restored
    from a copy, not by subtracting ε, so w is unchanged bit for bit before the base step.
    ``step`` needs a closure that zeroes the gradients, evaluates the same batch, calls
    ``backward()`` and returns the loss; the loss at w is returned. Param groups and state are
    shared with the base optimizer, so schedulers and ``state_dict`` work on either.

    Args:
        params: parameters or param groups.
        base_optimizer: a ``torch.optim.Optimizer`` class, e.g. ``torch.optim.SGD``.
        rho: ρ ≥ 0, the radius of the ascent step (0.05 in the SAM paper; ≈0.2–0.3 on CIFAR).
        **base_kwargs: the base optimizer's arguments (lr, momentum, weight_decay, …).
    """

    def __init__(self, params, base_optimizer: type[torch.optim.Optimizer], rho: float = 0.05,
                 **base_kwargs):
        rho = hyperparameters.non_negative("rho", rho)
        super().__init__(params, dict(rho=rho, **base_kwargs))
        self.base_optimizer = base_optimizer(self.param_groups, **base_kwargs)
        self._share_with_base()

    def _share_with_base(self) -> None:
        self.param_groups = self.base_optimizer.param_groups
        self.state = self.base_optimizer.state

    def load_state_dict(self, state_dict: dict) -> None:
        self.base_optimizer.load_state_dict(state_dict)
        self._share_with_base()

    def state_dict(self) -> dict:
        return self.base_optimizer.state_dict()

    @torch.no_grad()
    def step(self, closure=None):
        """Ascent to w + ρ g/‖g‖, gradient there, back to w, base step: two evaluations."""
        if closure is None:
            raise RuntimeError("SAM.step() needs a closure that re-evaluates the same batch")
        loss = self._begin_step(closure)
        groups = [parameters_with_gradients(group, type(self).__name__) for group in self.param_groups]
        grads = [g for _, group_grads in groups for g in group_grads]
        norm = torch.linalg.vector_norm(torch.stack(
            [n.double() for n in torch._foreach_norm(grads)])).item() if grads else 0.0
        saved = []
        for group, (params, group_grads) in zip(self.param_groups, groups):
            saved.append([p.detach().clone() for p in params])
            if params:
                torch._foreach_add_(params, group_grads, alpha=group["rho"] / (norm + NORM_FLOOR))
        with torch.enable_grad():
            closure()
        for (params, _), originals in zip(groups, saved):
            if params:
                torch._foreach_copy_(params, originals)
        self.base_optimizer.step()
        return loss
