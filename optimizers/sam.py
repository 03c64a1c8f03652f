"""Sharpness-Aware Minimization (SAM) — Foret, Kleiner, Mobahi, Neyshabur, ICLR 2021; the baseline of MSAM."""

from collections.abc import Callable

import torch

from . import hyperparameters
from .base_weights import BaseWeightsMixin
from .tensor_lists import NORM_FLOOR, global_norm, parameters_with_gradients


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
    ``backward()`` and returns the loss; the loss at w is returned.

    SAM is an ordinary ``torch.optim.Optimizer``: param groups, defaults and state are the base
    optimizer's own objects (each group carries its own ρ), so schedulers, ``add_param_group``,
    ``state_dict``/``load_state_dict`` (the base's format, with SAM's state-dict hooks), ``copy.deepcopy``
    and ``pickle`` work as for the base. Step hooks (global and SAM's own) run once per ``SAM.step``;
    the base step inside runs without hooks.

    With ``max_grad_norm`` = c, each of the two evaluations is followed by
    ``torch.nn.utils.clip_grad_norm_(all parameters, c)``, exactly as if the closure clipped after
    ``backward()``: g is clipped (which changes ε only through the 1e-12 floor, as ε is g's direction
    times ρ) and g̃, the gradient of the base step, is clipped. Clipping ``.grad`` before ``step(closure)``
    has no effect (the closure recomputes it): ``step`` warns once when it finds ``.grad`` changed since
    the previous step. ``GradScaler`` is refused (it would unscale only the gradients in ``.grad`` before
    the step); bfloat16 autocast inside the closure needs none.

        >>> SAM(model.parameters(), torch.optim.SGD, rho=0.05, lr=0.1, momentum=0.9)
        >>> SAM(model.parameters(), lambda params, **kw: torch.optim.AdamW(params, **kw), lr=1e-3)

    Args:
        params: parameters or param groups.
        base_optimizer: a ``torch.optim.Optimizer`` class, e.g. ``torch.optim.SGD``, or any callable
            ``(params, **base_kwargs) -> torch.optim.Optimizer`` that optimizes the given params
            (e.g. a registry constructor, which validates its hyperparameters).
        rho: ρ ≥ 0, the radius of the ascent step (0.05 in the SAM paper; ≈0.2–0.3 on CIFAR).
        max_grad_norm: c > 0 to clip each gradient evaluation to global L2 norm c, or None (no clipping).
        **base_kwargs: the base optimizer's arguments (lr, momentum, weight_decay, …).
    """

    _step_supports_amp_scaling = True  # so that GradScaler.step calls step(), which refuses it by name

    def __init__(self, params, base_optimizer: Callable[..., torch.optim.Optimizer], rho: float = 0.05, *,
                 max_grad_norm: float | None = None, **base_kwargs):
        if not callable(base_optimizer):
            raise TypeError(f"base_optimizer={base_optimizer!r} is not callable; allowed: a torch.optim.Optimizer "
                            "class or a callable (params, **kwargs) -> torch.optim.Optimizer")
        rho = hyperparameters.non_negative("rho", rho)
        self.max_grad_norm = None if max_grad_norm is None else hyperparameters.positive("max_grad_norm",
                                                                                          max_grad_norm)
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

    def __getstate__(self) -> dict:
        """What ``copy.deepcopy`` and ``pickle`` keep: torch's three entries, the base and ``max_grad_norm``."""
        return {**super().__getstate__(), "base_optimizer": self.base_optimizer, "max_grad_norm": self.max_grad_norm}

    def __setstate__(self, state: dict) -> None:
        """Unpickling (``state`` holds the base), or ``load_state_dict`` (the new ``state`` and
        ``param_groups``): these become the base's, through the base's own ``__setstate__``."""
        if "base_optimizer" in state:
            super().__setstate__(state)
        else:
            self.base_optimizer.__setstate__(state)
        self._share_with_base()

    def add_param_group(self, param_group: dict) -> None:
        """A new group of the base optimizer (its defaults fill the gaps), with a validated ρ."""
        param_group["rho"] = hyperparameters.non_negative("rho", param_group.get("rho", self.defaults["rho"]))
        if hasattr(self, "base_optimizer"):
            self.base_optimizer.add_param_group(param_group)
        else:  # inside torch.optim.Optimizer.__init__, before the base exists
            super().add_param_group(param_group)

    @torch.no_grad()
    def step(self, closure=None):
        """Ascent to w + ρ g/‖g‖, gradient there, back to w, base step: two evaluations."""
        if closure is None:
            raise RuntimeError("SAM.step() needs a closure that re-evaluates the same batch")
        loss = self._begin_step(closure, recomputes_gradients=True, max_grad_norm=self.max_grad_norm)
        groups = [parameters_with_gradients(group, type(self).__name__) for group in self.param_groups]
        grads = [g for _, group_grads in groups for g in group_grads]
        norm = global_norm(grads)
        saved = []
        for group, (params, group_grads) in zip(self.param_groups, groups):
            saved.append([p.detach().clone() for p in params])
            if params:
                torch._foreach_add_(params, group_grads, alpha=group["rho"] / (norm + NORM_FLOOR))
        self._evaluate(closure, self.max_grad_norm)
        for (params, _), originals in zip(groups, saved):
            if params:
                torch._foreach_copy_(params, originals)
        self._base_step_without_hooks()
        self._remember_gradients()
        return loss

    def _base_step_without_hooks(self) -> None:
        """The base optimizer's own step function, not torch's wrapper around every ``Optimizer.step``
        (which runs the global and per-optimizer step hooks): those ran around ``SAM.step`` already."""
        step = type(self.base_optimizer).step
        (step.__wrapped__ if getattr(step, "hooked", False) else step)(self.base_optimizer)
