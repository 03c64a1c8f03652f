"""AdaMomentum — Wang, Kang, Qin, Wang, Xu, Zhang, Fu, arXiv 2106.11514."""

import torch

from .adaptive_moments import (add_direction, initialised_states, scale_weights, update_moments,
                               validate_adam_arguments)
from .base_weights import BaseWeightsMixin
from .tensor_lists import addcdiv_, addcmul_, by_value, lerp_, parameters_with_gradients, uses_foreach


class AdaMomentum(BaseWeightsMixin, torch.optim.Optimizer):
    r"""Adam whose second moment tracks the momentum m_t instead of the raw gradient.

    Algorithm (m_0 = v_0 = 0, t counted from 1)::

        m_t = β1 m_{t−1} + (1−β1) g_t
        v_t = β2 v_{t−1} + (1−β2) m_t² + ε          ε inside the average, accumulated every step
        θ_t = (1 − ηλ) θ_{t−1} − η · (m_t / (1−β1^t)) / √(v_t / (1−β2^t))

    There is no ε outside the square root. Weight decay λ is decoupled (AdamW-style). With β1 = 0
    this is Adam with ε inside the average. Under pure gradient noise E[m²] → σ²(1−β1)/(1+β1), so
    steps are up to √((1+β1)/(1−β1)) ≈ 4.4× Adam's at β1 = 0.9: learning rates do not transfer 1:1.

    The default ε = 1e-8 is Adam's; the authors' AdaM3 code (github.com/wyzjack/AdaM3, e.g.
    ``DCGAN_BigGAN/src/AdaM3.py``) defaults to ε = 1e-16. ε is added to v at every step there too, so
    it accumulates to about ε/(1−β2): 1e-5 here, 1e-13 there, a floor under v that caps the step where
    m_t is tiny. Pass ``eps=1e-16`` to match their runs. (That file also defaults to a RAdam-style
    rectified step, ``rectify=True``, which the algorithm above (spec §3) does not have.)

    Args:
        params: parameters or param groups.
        lr: η ≥ 0.  betas: (β1, β2), each in [0, 1).  eps: ε > 0.  weight_decay: λ ≥ 0.
        foreach: the multi-tensor path (True) or the per-tensor loop (False); None (default) chooses as torch
            does: the loop on CPU, multi-tensor on CUDA.
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, *, foreach: bool | None = None):
        defaults = validate_adam_arguments(lr, betas, eps, weight_decay)
        super().__init__(params, dict(defaults, foreach=foreach))

    @torch.no_grad()
    def step(self, closure=None):
        """One update; ``closure`` (optional) re-evaluates the loss and gradients."""
        loss = self._begin_step(closure)
        for group in self.param_groups:
            params, grads = parameters_with_gradients(group, type(self).__name__)
            states = initialised_states(self, params)
            for state in states:
                state["step"] += 1
            for step, bucket_params, bucket_grads, bucket_states in by_value(
                    [state["step"] for state in states], params, grads, states):
                self._update(group, step, bucket_params, bucket_grads, bucket_states)
        return loss

    @staticmethod
    def _update(group, step, params, grads, states) -> None:
        exp_avgs = [state["exp_avg"] for state in states]
        exp_avg_sqs = [state["exp_avg_sq"] for state in states]
        if not uses_foreach(group, params):
            _update_loop(group, step, params, grads, exp_avgs, exp_avg_sqs)
            return
        scale_weights(params, 1.0 - group["lr"] * group["weight_decay"], foreach=True)
        update_moments(exp_avgs, exp_avg_sqs, grads, group["betas"], foreach=True,
                       second_moment_of_momentum=True, eps_inside=group["eps"])
        add_direction(params, exp_avgs, exp_avg_sqs, scale=-group["lr"], step=step,
                      betas=group["betas"], eps=0.0, foreach=True)


def _update_loop(group, step: int, params, grads, exp_avgs, exp_avg_sqs) -> None:
    """Per tensor, each finished while it is in cache (torch's default on CPU): θ ← (1−ηλ)θ; m ← lerp(m, g, 1−β1);
    v ← β2 v + (1−β2) m² + ε; θ ← θ − (η/(1−β1^t)) m / √(v/(1−β2^t))."""
    (beta1, beta2), lr, eps = group["betas"], group["lr"], group["eps"]
    decay = 1.0 - lr * group["weight_decay"]
    step_size, correction2_sqrt = lr / (1.0 - beta1**step), (1.0 - beta2**step) ** 0.5
    for param, grad, exp_avg, exp_avg_sq in zip(params, grads, exp_avgs, exp_avg_sqs):
        if decay != 1.0:
            param.mul_(decay)
        lerp_(exp_avg, grad, 1.0 - beta1)
        addcmul_(exp_avg_sq.mul_(beta2), exp_avg, exp_avg, 1.0 - beta2).add_(eps)
        addcdiv_(param, exp_avg, exp_avg_sq.sqrt().div_(correction2_sqrt), -step_size)
