"""Adam's moment estimates and update direction, shared by the Adam-family optimizers here.

    m_t = β1 m_{t−1} + (1−β1) g_t                 first moment (``exp_avg``)
    v_t = β2 v_{t−1} + (1−β2) s_t² (+ ε_in)        second moment (``exp_avg_sq``) of s = g or s = m
    u_t = (m_t / (1−β1^t)) / (√(v_t / (1−β2^t)) + ε_out)     the update direction

Each function has a per-parameter reference form (``*_loop``) and a multi-tensor form
(``*_foreach``) that the tests hold equal.
"""

import torch

from . import hyperparameters
from .tensor_lists import add_product_, addcmul_


def validate_adam_arguments(lr, betas, eps, weight_decay) -> dict:
    """Checked Adam hyperparameters as a defaults dict."""
    return {
        "lr": hyperparameters.learning_rate("lr", lr),
        "betas": hyperparameters.betas_pair("betas", betas),
        "eps": hyperparameters.positive("eps", eps),
        "weight_decay": hyperparameters.non_negative("weight_decay", weight_decay),
    }


@torch.compiler.disable  # state is written eagerly (see ``tensor_lists`` on torch.compile)
def initialised_states(optimizer: torch.optim.Optimizer, params: list[torch.Tensor],
                       **scalars) -> list[dict]:
    """The state dicts of ``params``; on first use zero ``exp_avg``, ``exp_avg_sq``, ``step`` = 0
    and the given per-parameter ``scalars``. The step count is per parameter, as in torch's Adam,
    so a parameter whose first gradient comes late starts its bias correction at 1."""
    states = []
    for param in params:
        state = optimizer.state[param]
        if "exp_avg" not in state:
            state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            state["step"] = 0
            state.update(scalars)
        states.append(state)
    return states


def update_moments(exp_avgs, exp_avg_sqs, grads, betas, *, foreach: bool,
                   second_moment_of_momentum: bool = False, eps_inside: float = 0.0) -> None:
    """In place: m ← β1 m + (1−β1) g; v ← β2 v + (1−β2) s² + ε_in with s = m_t or s = g."""
    beta1, beta2 = betas
    if foreach:
        torch._foreach_lerp_(exp_avgs, grads, 1.0 - beta1)
        source = exp_avgs if second_moment_of_momentum else grads
        torch._foreach_mul_(exp_avg_sqs, beta2)
        torch._foreach_addcmul_(exp_avg_sqs, source, source, value=1.0 - beta2)
        if eps_inside:
            torch._foreach_add_(exp_avg_sqs, eps_inside)
        return
    for exp_avg, exp_avg_sq, grad in zip(exp_avgs, exp_avg_sqs, grads):
        add_product_(exp_avg.mul_(beta1), grad, 1.0 - beta1)
        source = exp_avg if second_moment_of_momentum else grad
        addcmul_(exp_avg_sq.mul_(beta2), source, source, 1.0 - beta2).add_(eps_inside)


def add_direction(params, exp_avgs, exp_avg_sqs, *, scale: float, step: int, betas, eps: float,
                  foreach: bool) -> None:
    """In place: θ ← θ + scale · u with u = (m/(1−β1^t)) / (√(v/(1−β2^t)) + ε) at step t ≥ 1.

    ε may be 0 (AdaMomentum keeps its ε inside v). The fast path folds both bias corrections
    into scalars: u = (√bc2 / bc1) · m / (√v + ε√bc2).
    """
    beta1, beta2 = betas
    correction1 = 1.0 - beta1**step
    correction2_sqrt = (1.0 - beta2**step) ** 0.5
    if foreach:
        denominators = torch._foreach_sqrt(exp_avg_sqs)
        if eps:
            torch._foreach_add_(denominators, eps * correction2_sqrt)
        torch._foreach_addcdiv_(params, exp_avgs, denominators,
                                value=scale * correction2_sqrt / correction1)
        return
    for param, exp_avg, exp_avg_sq in zip(params, exp_avgs, exp_avg_sqs):
        direction = (exp_avg / correction1) / ((exp_avg_sq / (correction2_sqrt**2)).sqrt() + eps)
        add_product_(param, direction, scale)


def scale_weights(params, factor: float, *, foreach: bool) -> None:
    """In place: θ ← factor · θ (decoupled weight decay uses factor = 1 − ηλ)."""
    if factor == 1.0:
        return
    if foreach:
        torch._foreach_mul_(params, factor)
    else:
        for param in params:
            param.mul_(factor)
