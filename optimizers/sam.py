"""Sharpness-Aware Minimization (SAM) — Foret, Kleiner, Mobahi, Neyshabur, ICLR 2021; the baseline of MSAM."""

from collections.abc import Callable

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

    The base step is the base optimizer's own ``step()`` with g̃ in ``.grad``: its momentum, moments,
    weight decay (taken at w) and step counts are exactly its own. ρ = 0 is the base optimizer, bit
    for bit (ε = 0, so g̃ = g). The parameters hold w outside ``step`` (nothing is stored shifted);
    the weights are restored from a copy, not by subtracting ε, so w is unchanged bit for bit before
    the base step. ``step`` needs a closure that zeroes the gradients, evaluates the same batch, calls
    ``backward()`` and returns the loss; the loss at w is returned. Param groups, defaults and state
    are shared with the base optimizer, so schedulers, ``add_param_group`` and ``state_dict`` work on
    either; each group carries its own ρ.

        >>> SAM(model.parameters(), torch.optim.SGD, rho=0.05, lr=0.1, momentum=0.9)
        >>> SAM(model.parameters(), lambda params, **kw: torch.optim.AdamW(params, **kw), lr=1e-3)

    Args:
        params: parameters or param groups.
        base_optimizer: a ``torch.optim.Optimizer`` class, e.g. ``torch.optim.SGD``, or any callable
            ``(params, **base_kwargs) -> torch.optim.Optimizer`` that optimizes the given params
            (e.g. a registry constructor, which validates its hyperparameters).
        rho: ρ ≥ 0, the radius of the ascent step (0.05 in the SAM paper; ≈0.2–0.3 on CIFAR).
        **base_kwargs: the base optimizer's arguments (lr, momentum, weight_decay, …).
    """

    def __init__(self, params, base_optimizer: Callable[..., torch.optim.Optimizer], rho: float = 0.05,
                 **base_kwargs):
        if not callable(base_optimizer):
            raise TypeError(f"base_optimizer={base_optimizer!r} is not callable; allowed: a torch.optim.Optimizer "
                            "class or a callable (params, **kwargs) -> torch.optim.Optimizer")
        rho = hyperparameters.non_negative("rho", rho)
        super().__init__(params, dict(rho=rho, **base_kwargs))
        ours = [p for group in self.param_groups for p in group["params"]]
        base = base_optimizer(self.param_groups, **base_kwargs)
        if not isinstance(base, torch.optim.Optimizer):
            raise TypeError(f"base_optimizer={base_optimizer!r} returned {type(base).__name__}; allowed: a "
                            "torch.optim.Optimizer")
        theirs = [p for group in base.param_groups for p in group["params"]]
        if len(theirs) != len(ours) or any(a is not b for a, b in zip(theirs, ours)):
            raise ValueError(f"base_optimizer={base_optimizer!r} does not optimize the parameters it was given; "
                             "allowed: an optimizer over exactly those param groups")
        base.defaults["rho"] = rho
        self.base_optimizer = base
        self._share_with_base()

    def _share_with_base(self) -> None:
        self.param_groups = self.base_optimizer.param_groups
        self.state = self.base_optimizer.state
        self.defaults = self.base_optimizer.defaults

    def add_param_group(self, param_group: dict) -> None:
        """A new group of the base optimizer (its defaults fill the gaps), with a validated ρ."""
        param_group["rho"] = hyperparameters.non_negative("rho", param_group.get("rho", self.defaults["rho"]))
        if hasattr(self, "base_optimizer"):
            self.base_optimizer.add_param_group(param_group)
        else:  # inside torch.optim.Optimizer.__init__, before the base exists
            super().add_param_group(param_group)

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
