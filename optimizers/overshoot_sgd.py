"""Overshoot-SGD (SGDO) — Kopal, Gregor, de Leon-Martinez, Simko, arXiv 2501.09556."""

import torch

from . import hyperparameters
from .momentum_shift import MomentumShiftSGD, validate_sgd_arguments


class OvershootSGD(MomentumShiftSGD):
    r"""SGD with momentum whose gradient is taken at the overshoot weights θ' = θ − η γ b.

    Algorithm (PyTorch momentum convention, b_0 = 0, θ'_0 = θ_0)::

        g_t  = ∇f(θ'_{t−1}) + λ θ_{t−1}
        b_t  = β b_{t−1} + g_t
        θ_t  = θ_{t−1} − η_t b_t
        θ'_t = θ_t − η_t γ b_t  =  θ_t + γ (θ_t − θ_{t−1})

    This is the paper's two-model definition (a base model θ and an overshoot model stepped with
    lr η(1+γ) from θ, both fed the gradient taken at θ'). The parameters hold θ'; only the
    momentum buffer is stored per parameter, and the efficient update is

        θ'_t = θ'_{t−1} − (η_t + c_t − c_{t−1}/β) b_t − (c_{t−1}/β) g_t,   c_t = η_t γ.

    Special cases: γ = 0 is SGD with momentum; γ = β is ``torch.optim.SGD(nesterov=True)``;
    γ = β/(1−β) makes θ' follow plain SGD at lr η/(1−β) (quasi-hyperbolic momentum with
    α = η/(1−β), ν = 1 − γ(1−β)/β in general).

    Learning-rate schedules: the shift applied at the last step, c_{t−1} = η_{t−1}γ, is stored, so
    the base weights stay exactly the two-model base weights under any schedule (the official
    implementation assumes η_t = η_{t−1} and drifts from the two-model run when lr changes).
    ``base_weights()`` returns θ = θ' + c_t b_t with the stored c_t, never the scheduler's next lr.
    Weight decay λ is L2 added to the gradient at the base weights θ_{t−1}, as in the two-model
    definition (the official efficient code adds it at θ').

    Args:
        params: parameters or param groups.
        lr: η ≥ 0.
        momentum: β ∈ [0, 1); must be > 0 when overshoot > 0.
        overshoot: γ ≥ 0 (the paper recommends 3–7 with β = 0.9).
        weight_decay: λ ≥ 0, coupled L2 at the base weights.
        foreach: the multi-tensor path (True) or the per-tensor loop (False); None (default) chooses as torch
            does: the loop on CPU, multi-tensor on CUDA.
        fused: one compiled pass per tensor (``fused_kernels``, torch.compile, falling back to
            running them eagerly where compilation fails); overrides ``foreach``. The first step
            pays the compilation (~10 s on a CPU).
    """

    def __init__(self, params, lr: float, momentum: float = 0.9, overshoot: float = 5.0,
                 weight_decay: float = 0.0, *, foreach: bool | None = None, fused: bool = False):
        defaults = validate_sgd_arguments(lr, momentum, weight_decay)
        defaults["overshoot"] = hyperparameters.non_negative("overshoot", overshoot)
        self._check_momentum_allows_shift("overshoot", defaults["overshoot"], defaults["momentum"])
        super().__init__(params, defaults, foreach, fused)

    shift_known_before_buffers = True  # c_t = η_t γ

    def _shift_scales(self, groups, momentum_norm) -> list[float]:
        return [group["lr"] * group["overshoot"] for group in groups]
