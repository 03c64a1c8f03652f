"""Overshoot-AdamW (AdamO) — Kopal, Gregor, de Leon-Martinez, Simko, arXiv 2501.09556."""

import torch

from . import buckets, hyperparameters
from .adaptive_moments import (add_direction, initialised_states, scale_weights, update_moments,
                               validate_adam_arguments)
from .base_weights import BaseWeightsMixin
from .gradients import parameters_with_gradients


class OvershootAdamW(BaseWeightsMixin, torch.optim.Optimizer):
    r"""AdamW whose gradient is taken at overshoot weights θ' that extend the last update by γ.

    Base weights follow AdamW on the gradients taken at θ' (u_t is Adam's direction, see
    ``adaptive_moments``; m, v, bias corrections as in ``torch.optim.AdamW``)::

        θ_t = (1 − η_t λ) θ_{t−1} − η_t u_t

    ``exact=True`` — the paper's two-model definition (a second AdamW with lr η(1+γ) stepped from
    θ_{t−1} each step): θ'_t = θ_t + γ_t (θ_t − θ_{t−1}), i.e.

        θ'_t = (1 − η_t(1+γ_t)λ) θ_{t−1} − η_t(1+γ_t) u_t.

    The parameters hold θ'; the base weights are recovered from the current state as
    θ_t = a_t θ'_t + b_t u_t with a_t = (1−η_tλ)/(1−η_t(1+γ_t)λ) and b_t = η_tγ_t/(1−η_t(1+γ_t)λ),
    kept per parameter (``state[p]["recovery"]``) from the step that applied them, so lr schedules and weight
    decay keep the two-model identity exactly. It costs one extra pass to rebuild u_{t−1}.

    ``exact=False`` — the official shipped AdamO, an approximation that reuses the current
    denominator d_t and bias correction for removing the old shift::

        θ'_t = (1 − η_tλ) θ'_{t−1} − (η_t/((1−β1^t) d_t)) [(1 + γ_t − γ_{t−1}/β1) m_t
                                                           + γ_{t−1}(1−β1)/β1 · g_t]

    with base weights θ_t = θ'_t + η_tγ_t u_t (decay on the overshoot weights, as shipped).

    Overshoot warm-up: γ_t = 0 for the first ``overshoot_delay`` steps and γ from step
    ``overshoot_delay + 1`` on (the official code instead ramps γ_t = clamp(t − delay, 0, γ) up by
    1 per step). State per parameter: exp_avg and exp_avg_sq, as AdamW.

    Args:
        params: parameters or param groups.
        lr: η ≥ 0.  betas: (β1, β2) in [0, 1); β1 > 0 when overshoot > 0.  eps: ε > 0.
        weight_decay: λ ≥ 0, decoupled.  overshoot: γ ≥ 0.  overshoot_delay: steps ≥ 0 without
        overshoot.  exact: two-model form (True) or the official approximation (False).
        foreach: multi-tensor fast path (True) or per-parameter reference path.
    """

    stores_shifted_weights = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01, overshoot: float = 5.0, overshoot_delay: int = 0,
                 exact: bool = True, *, foreach: bool = True):
        defaults = validate_adam_arguments(lr, betas, eps, weight_decay)
        defaults["overshoot"] = hyperparameters.non_negative("overshoot", overshoot)
        if defaults["overshoot"] > 0 and defaults["betas"][0] == 0:
            raise ValueError(f"overshoot={overshoot!r} needs betas[0] > 0 (got 0)")
        if int(overshoot_delay) != overshoot_delay or overshoot_delay < 0:
            raise ValueError(f"overshoot_delay={overshoot_delay!r} is out of range: allowed "
                             "integers >= 0")
        defaults.update(overshoot_delay=int(overshoot_delay), exact=bool(exact), foreach=foreach)
        super().__init__(params, defaults)

    @staticmethod
    def _overshoot_at(group: dict, step: int) -> float:
        return group["overshoot"] if step > group["overshoot_delay"] else 0.0

    @torch.no_grad()
    def step(self, closure=None):
        """One update; ``closure`` (optional) re-evaluates the loss and gradients at θ'."""
        loss = self._begin_step(closure)
        for group in self.param_groups:
            params, grads = parameters_with_gradients(group, type(self).__name__)
            states = initialised_states(self, params, recovery=(1.0, 0.0))
            for state in states:
                state["step"] += 1
            update = self._exact_step if group["exact"] else self._approximate_step
            keys = [(state["step"], state["recovery"]) for state in states]
            for (step, recovery), bucket_params, bucket_grads, bucket_states in buckets.by_value(
                    keys, params, grads, states):
                exp_avgs = [state["exp_avg"] for state in bucket_states]
                exp_avg_sqs = [state["exp_avg_sq"] for state in bucket_states]
                new_recovery = update(group, step, recovery, bucket_params, bucket_grads, exp_avgs,
                                      exp_avg_sqs)
                for state in bucket_states:
                    state["recovery"] = new_recovery
        return loss

    def _exact_step(self, group, step, recovery, params, grads, exp_avgs, exp_avg_sqs):
        lr, decay, foreach = group["lr"], group["weight_decay"], group["foreach"]
        adam = dict(betas=group["betas"], eps=group["eps"], foreach=foreach)
        overshoot = self._overshoot_at(group, step)
        overshoot_decay = 1.0 - lr * (1.0 + overshoot) * decay
        # θ'_t = d·θ_{t−1} − η(1+γ) u_t with θ_{t−1} = a θ'_{t−1} + b u_{t−1}: u_{t−1} is rebuilt
        # from the moments before they are updated, and the two scalings merge into one pass.
        scale, shift = recovery
        scale_weights(params, scale * overshoot_decay, foreach=foreach)
        denominators = None
        if shift != 0:
            denominators = add_direction(params, exp_avgs, exp_avg_sqs,
                                         scale=shift * overshoot_decay, step=step - 1, **adam)
        update_moments(exp_avgs, exp_avg_sqs, grads, group["betas"], foreach=foreach)
        add_direction(params, exp_avgs, exp_avg_sqs, scale=-lr * (1.0 + overshoot), step=step,
                      workspace=denominators, **adam)
        return ((1.0 - lr * decay) / overshoot_decay, lr * overshoot / overshoot_decay)

    def _approximate_step(self, group, step, recovery, params, grads, exp_avgs, exp_avg_sqs):
        lr, foreach = group["lr"], group["foreach"]
        beta1 = group["betas"][0]
        previous, current = self._overshoot_at(group, step - 1), self._overshoot_at(group, step)
        scale_weights(params, 1.0 - lr * group["weight_decay"], foreach=foreach)
        update_moments(exp_avgs, exp_avg_sqs, grads, group["betas"], foreach=foreach)
        momentum_weight = 1.0 + current - (previous / beta1 if previous else 0.0)
        gradient_weight = previous * (1.0 - beta1) / beta1 if previous else 0.0
        if not foreach:
            combined = [momentum_weight * m + gradient_weight * g for m, g in zip(exp_avgs, grads)]
            weight = 1.0
        elif momentum_weight == 0:
            combined, weight = grads, gradient_weight
        else:
            # The bracket w_m m_t + w_g g_t as w_m (m_t + (w_g/w_m) g_t): one pass fewer.
            combined = torch._foreach_add(exp_avgs, grads, alpha=gradient_weight / momentum_weight)
            weight = momentum_weight
        add_direction(params, combined, exp_avg_sqs, scale=-lr * weight, step=step,
                      betas=group["betas"], eps=group["eps"], foreach=foreach)
        return (1.0, lr * current)

    @torch.no_grad()
    def _move_to_base(self) -> None:
        for group in self.param_groups:
            params = [p for p in group["params"] if "exp_avg" in self.state.get(p, {})]
            states = [self.state[p] for p in params]
            keys = [(state["step"], state["recovery"]) for state in states]
            for (step, (scale, shift)), bucket_params, bucket_states in buckets.by_value(
                    keys, params, states):
                scale_weights(bucket_params, scale, foreach=group["foreach"])
                if shift != 0:
                    add_direction(bucket_params, [s["exp_avg"] for s in bucket_states],
                                  [s["exp_avg_sq"] for s in bucket_states], scale=shift, step=step,
                                  betas=group["betas"], eps=group["eps"], foreach=group["foreach"])
