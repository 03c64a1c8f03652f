"""Momentum-SAM (MSAM) on SGD — Becker, Altrock, Risse, arXiv 2401.12033."""

from . import hyperparameters
from .momentum_shift import MomentumShiftSGD, validate_sgd_arguments
from .tensor_lists import NORM_FLOOR


class MSAM(MomentumShiftSGD):
    r"""SGD with momentum whose gradient is taken at w̃ = w − ρ v/‖v‖ (a step of length ρ back
    along the last update), giving SAM-like flatness at the cost of one gradient per step.

    Algorithm (PyTorch momentum convention, v_0 = 0, ‖·‖ the global L2 norm over all parameters)::

        g_t  = ∇f(w̃_{t−1}) + λ w_{t−1}
        v_t  = μ v_{t−1} + g_t
        w_t  = w_{t−1} − η_t v_t
        w̃_t = w_t − ρ_t v_t / (‖v_t‖ + 1e-12)

    The parameters hold w̃; the first step is unperturbed (w̃_0 = w_0). The scale applied at the
    last step, ρ_{t−1}/‖v_{t−1}‖, is stored per group (``"applied_shift"``) and used to remove the
    perturbation, so a ρ or lr schedule never leaves a permanent shift (the paper's code rescales
    by the current ρ). ``base_weights()`` returns w = w̃ + ρ v/‖v‖. Weight decay λ is L2 at the
    unperturbed weights w (the paper's code adds it at w̃; the two differ by O(λρ)).

    ρ = 0 is SGD with momentum; the time-varying ρ_t = η μ ‖v_t‖ is Sutskever-form Nesterov
    momentum, i.e. ``torch.optim.SGD(nesterov=True)``. The paper uses ρ ≈ 3 on CIFAR.

    Args:
        params: parameters or param groups (ρ may differ per group; the norm is global).
        lr: η ≥ 0.
        momentum: μ ∈ [0, 1); must be > 0 when rho > 0.
        rho: ρ ≥ 0, the length of the perturbation.
        weight_decay: λ ≥ 0, coupled L2 at the unperturbed weights.
        foreach: the multi-tensor path (True) or the per-tensor loop (False); None (default) chooses as torch
            does: the loop on CPU, multi-tensor on CUDA.
    """

    def __init__(self, params, lr: float, momentum: float = 0.9, rho: float = 0.3,
                 weight_decay: float = 0.0, *, foreach: bool | None = None):
        defaults = validate_sgd_arguments(lr, momentum, weight_decay)
        defaults["rho"] = hyperparameters.non_negative("rho", rho)
        self._check_momentum_allows_shift("rho", defaults["rho"], defaults["momentum"])
        super().__init__(params, defaults, foreach)

    def _shift_scales(self, groups, momentum_norm) -> list[float]:
        return [group["rho"] / (momentum_norm + NORM_FLOOR) for group in groups]
