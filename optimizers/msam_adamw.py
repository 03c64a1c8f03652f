"""Momentum-SAM on AdamW — Becker, Altrock, Risse, arXiv 2401.12033."""

import torch

from . import hyperparameters
from .adaptive_moments import (add_direction, initialised_states, scale_weights, update_moments,
                               validate_adam_arguments)
from .base_weights import BaseWeightsMixin
from .tensor_lists import NORM_FLOOR, add_scaled, by_value, global_norm, parameters_with_gradients, uses_foreach


class MSAMAdamW(BaseWeightsMixin, torch.optim.Optimizer):
    r"""AdamW whose gradient is taken at w̃ = w − ρ m/‖m‖, with m Adam's first moment.

    Algorithm (‖·‖ the global L2 norm over all parameters; m not bias-corrected, which the
    normalisation makes irrelevant)::

        g_t  = ∇f(w̃_{t−1})
        w_t  = AdamW step from w_{t−1} with g_t      (torch.optim.AdamW, decay before the step)
        w̃_t = w_t − ρ_t m_t / (‖m_t‖ + 1e-12)

    The parameters hold w̃; the first step is unperturbed. The scale ρ_t/‖m_t‖ applied is stored
    per parameter (``state[p]["applied_shift"]``), so ρ schedules (e.g. ρ = 0 during warm-up, as the paper does
    for ViTs) never leave a permanent shift. ρ = 0 is ``torch.optim.AdamW``. The paper's code
    applies the decay after the Adam step; the difference is O(η²λ).

    Args:
        params: parameters or param groups.  lr: η ≥ 0.  betas: (β1, β2) in [0, 1).
        eps: ε > 0.  weight_decay: λ ≥ 0, decoupled.  rho: ρ ≥ 0 (the paper uses 1 by default).
        foreach: multi-tensor fast path (True) or per-parameter reference path.
    """

    stores_shifted_weights = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01, rho: float = 1.0, *, foreach: bool = True):
        defaults = validate_adam_arguments(lr, betas, eps, weight_decay)
        defaults["rho"] = hyperparameters.non_negative("rho", rho)
        super().__init__(params, dict(defaults, foreach=foreach))

    @torch.no_grad()
    def step(self, closure=None):
        """One update; ``closure`` (optional) re-evaluates the loss and gradients at w̃."""
        loss = self._begin_step(closure)
        updated = []
        for group in self.param_groups:
            params, grads = parameters_with_gradients(group, type(self).__name__)
            states = initialised_states(self, params, applied_shift=0.0)
            updated.append((params, states))
            for state in states:
                state["step"] += 1
            keys = [(state["step"], state["applied_shift"]) for state in states]
            for (step, previous_shift), bucket_params, bucket_grads, bucket_states in by_value(
                    keys, params, grads, states):
                self._adamw_step_from_base(group, step, previous_shift, bucket_params,
                                           bucket_grads, bucket_states)
        norm = global_norm([state["exp_avg"] for _, states in updated for state in states])
        for group, (params, states) in zip(self.param_groups, updated):
            add_scaled(params, [state["exp_avg"] for state in states], -group["rho"] / (norm + NORM_FLOOR),
                       uses_foreach(group, params))
        self._record_shifts(updated, norm)
        return loss

    @torch.compiler.disable
    def _record_shifts(self, updated, norm) -> None:
        """``state["applied_shift"]`` = ρ/(‖m_t‖ + 1e-12) of this step for every parameter that was stepped,
        computed here, eagerly (see ``tensor_lists`` on torch.compile)."""
        for group, (_, states) in zip(self.param_groups, updated):
            for state in states:
                state["applied_shift"] = group["rho"] / (float(norm) + NORM_FLOOR)

    @staticmethod
    def _adamw_step_from_base(group, step, previous_shift, params, grads, states) -> None:
        """w_{t−1} = w̃_{t−1} + c_{t−1} m_{t−1}, then one AdamW step: the parameters hold w_t."""
        foreach = uses_foreach(group, params)
        exp_avgs = [state["exp_avg"] for state in states]
        exp_avg_sqs = [state["exp_avg_sq"] for state in states]
        add_scaled(params, exp_avgs, previous_shift, foreach)
        scale_weights(params, 1.0 - group["lr"] * group["weight_decay"], foreach=foreach)
        update_moments(exp_avgs, exp_avg_sqs, grads, group["betas"], foreach=foreach)
        add_direction(params, exp_avgs, exp_avg_sqs, scale=-group["lr"], step=step,
                      betas=group["betas"], eps=group["eps"], foreach=foreach)

    @torch.no_grad()
    def _move_to_base(self) -> None:
        for group in self.param_groups:
            for param in group["params"]:
                state = self.state.get(param, {})
                if state.get("applied_shift", 0.0) != 0.0:
                    param.add_(state["exp_avg"], alpha=state["applied_shift"])
