"""Step-Tuned SGD — Castera, Bolte, Févotte, Pauwels, Neural Processing Letters 2022 (arXiv 2103.03570)."""

import torch

from . import hyperparameters
from .base_weights import BaseWeightsMixin
from .tensor_lists import add_scaled, parameters_with_gradients


class StepTunedSGD(BaseWeightsMixin, torch.optim.Optimizer):
    r"""SGD whose step is tuned by a stochastic Barzilai–Borwein (BB1) curvature estimate.

    Each iteration k (counted from 0) uses one minibatch B_k twice::

        s_k      = α_k γ_k,   α_k = lr / (k+1)^{1/2+δ},   γ_0 = clip(1)
        θ_{k+½}  = θ_k − s_k ∇J_{B_k}(θ_k)
        θ_{k+1}  = θ_{k+½} − s_k ∇J_{B_k}(θ_{k+½})
        Δθ = θ_{k+½} − θ_k,   Δg = ∇J_{B_k}(θ_{k+½}) − ∇J_{B_k}(θ_k)       (same batch)
        G_k = β G_{k−1} + (1−β) Δg,   Ĝ_k = G_k / (1 − β^{k+1})
        γ_{k+1} = clip(‖Δθ‖² / ⟨Ĝ_k, Δθ⟩)  if ⟨Ĝ_k, Δθ⟩ > 0,  else clip(ν)

    with clip(x) = min(max(x, min_step), max_step). γ is one global scalar: the inner products run
    over all parameters of all groups. Coupled weight decay λ is added to both gradients before
    differencing. The defaults (ν, β, min_step, max_step, δ) = (2, 0.9, 0.5, 2, 0.001) are the
    paper's. With min_step = max_step = c this is SGD taking two steps c·α_k per batch.

    ``step(closure)`` needs a closure that zeroes the gradients, evaluates the loss on the *same*
    batch each time it is called, calls ``backward()`` and returns the loss; it is called twice
    (two gradient evaluations per iteration) and the loss at θ_k is returned. BatchNorm running
    statistics are updated by both evaluations. The current γ_k and k live in ``param_groups[0]``
    (``"gamma"``, ``"iteration"``); G per parameter in ``state[p]["gradient_difference_ema"]``.

    With ``max_grad_norm`` = c, both gradients ∇J_{B_k}(θ_k) and ∇J_{B_k}(θ_{k+½}) are clipped by
    ``torch.nn.utils.clip_grad_norm_(all parameters, c)`` right after their evaluation (before weight
    decay is added), exactly as if the closure clipped after ``backward()``; the steps and Δg use the
    clipped gradients. Clipping ``.grad`` before ``step(closure)`` has no effect (the closure recomputes
    it): ``step`` warns once when it finds ``.grad`` changed since the previous step. ``GradScaler`` is
    refused (it would unscale only the gradients in ``.grad`` before the step); bfloat16 autocast inside
    the closure needs none.

    Args:
        params: parameters or param groups.  lr: the scaling factor α ≥ 0 (the one tuned value).
        nu: ν > 0, the step multiplier where the curvature is not positive.
        beta: β ∈ [0, 1).  min_step, max_step: 0 < m̃ ≤ M̃.  delta: δ ≥ 0 (δ > 0 makes Σα_k² finite).
        weight_decay: λ ≥ 0, coupled L2.  foreach: multi-tensor fast path or reference loop.
        max_grad_norm: c > 0 to clip each gradient evaluation to global L2 norm c, or None (no clipping).
    """

    _step_supports_amp_scaling = True  # so that GradScaler.step calls step(), which refuses it by name

    def __init__(self, params, lr: float, nu: float = 2.0, beta: float = 0.9,
                 min_step: float = 0.5, max_step: float = 2.0, delta: float = 0.001,
                 weight_decay: float = 0.0, *, foreach: bool = True, max_grad_norm: float | None = None):
        defaults = {
            "lr": hyperparameters.non_negative("lr", lr),
            "nu": hyperparameters.positive("nu", nu),
            "beta": hyperparameters.momentum_coefficient("beta", beta),
            "min_step": hyperparameters.positive("min_step", min_step),
            "max_step": hyperparameters.positive("max_step", max_step),
            "delta": hyperparameters.non_negative("delta", delta),
            "weight_decay": hyperparameters.non_negative("weight_decay", weight_decay),
            "foreach": foreach,
        }
        if defaults["max_step"] < defaults["min_step"]:
            raise ValueError(f"max_step={max_step!r} is out of range: allowed [min_step={min_step!r}, inf)")
        super().__init__(params, defaults)
        self.max_grad_norm = None if max_grad_norm is None else hyperparameters.positive("max_grad_norm",
                                                                                          max_grad_norm)

    def __getstate__(self) -> dict:
        """What ``copy.deepcopy`` and ``pickle`` keep: torch's three entries and ``max_grad_norm``."""
        return {**super().__getstate__(), "max_grad_norm": self.max_grad_norm}

    def _clip(self, value: float) -> float:
        first = self.param_groups[0]
        return min(max(value, first["min_step"]), first["max_step"])

    @torch.no_grad()
    def step(self, closure=None):
        """One iteration: two gradient evaluations of ``closure`` on the same batch."""
        if closure is None:
            raise RuntimeError("StepTunedSGD.step() needs a closure that re-evaluates the same "
                               "batch: opt.step(closure)")
        first = self.param_groups[0]
        gamma = first.setdefault("gamma", self._clip(1.0))
        iteration = first.setdefault("iteration", 0)

        loss = self._begin_step(closure, recomputes_gradients=True, max_grad_norm=self.max_grad_norm)
        half_steps, first_grads = [], []
        for group in self.param_groups:
            params, grads = parameters_with_gradients(group, type(self).__name__)
            size = group["lr"] / (iteration + 1) ** (0.5 + group["delta"]) * gamma
            grads = _with_decay(grads, params, group["weight_decay"])
            # Detach the first gradients from the parameters so the second evaluation writes new
            # tensors instead of zeroing these (no copy needed).
            for param in params:
                param.grad = None
            add_scaled(params, grads, -size, group["foreach"])
            half_steps.append((params, size))
            first_grads.append(grads)

        self._evaluate(closure, self.max_grad_norm)
        curvature, squared_step = 0.0, 0.0
        for group, (params, size), grads_before in zip(self.param_groups, half_steps, first_grads):
            if not params:
                continue
            grads_after = _with_decay([p.grad for p in params], params, group["weight_decay"])
            averages = [self._difference_ema(p) for p in params]
            beta = group["beta"]
            if group["foreach"]:  # G ← βG + (1−β)(g_after − g_before) without a temporary
                torch._foreach_mul_(averages, beta)
                torch._foreach_add_(averages, grads_after, alpha=1.0 - beta)
                torch._foreach_add_(averages, grads_before, alpha=-(1.0 - beta))
            else:
                for average, after, before in zip(averages, grads_after, grads_before):
                    average.mul_(beta).add_(after - before, alpha=1.0 - beta)
            debias = 1.0 - group["beta"] ** (iteration + 1)
            # Δθ = −s g_before, so ⟨Ĝ, Δθ⟩ = −s⟨G, g_before⟩/debias and ‖Δθ‖² = s²‖g_before‖².
            curvature -= size * _dot(averages, grads_before) / debias
            squared_step += size**2 * _dot(grads_before, grads_before)
            add_scaled(params, grads_after, -size, group["foreach"])

        ratio = squared_step / curvature if curvature > 0 else first["nu"]
        first["gamma"] = self._clip(ratio)
        first["iteration"] = iteration + 1
        self._remember_gradients()
        return loss

    def _difference_ema(self, param: torch.Tensor) -> torch.Tensor:
        state = self.state[param]
        if "gradient_difference_ema" not in state:
            state["gradient_difference_ema"] = torch.zeros_like(param)
        return state["gradient_difference_ema"]


def _with_decay(grads, params, decay: float):
    """g + λθ as new tensors; the gradients themselves when λ = 0."""
    if decay == 0 or not grads:
        return grads
    return torch._foreach_add(grads, params, alpha=decay)


def _dot(first, second) -> float:
    """Σ_i ⟨a_i, b_i⟩ over tensor lists: per tensor in its own precision (float32 at least),
    summed in float64."""
    def widened(tensor):
        return tensor.flatten() if tensor.dtype in (torch.float32, torch.float64) else tensor.flatten().float()
    return torch.stack([torch.dot(widened(a), widened(b)).double()
                        for a, b in zip(first, second)]).sum().item()
