"""SGD with momentum whose parameters hold weights shifted along the momentum.

Overshoot-SGD and Momentum-SAM are the same algorithm with a different shift: both take the
gradient at θ'_t = θ_t − c_t b_t and differ only in the scale c_t (η_t·γ for Overshoot,
ρ/‖b_t‖ for MSAM). This module holds that shared algorithm; the two optimizers supply c_t.
"""

import math

import torch

from torch.optim.optimizer import _get_value

from . import fused_kernels, hyperparameters
from .base_weights import BaseWeightsMixin
from .tensor_lists import add_product_, by_value, lerp_, parameters_with_gradients, uses_foreach


class MomentumShiftSGD(BaseWeightsMixin, torch.optim.Optimizer):
    r"""Heavy-ball SGD evaluated at shifted weights θ' = θ − c·b.

    With the PyTorch momentum convention (the buffer sums gradients, b_0 = 0)::

        g_t  = ∇f(θ'_{t−1}) + λ θ_{t−1}            gradient at the stored weights, L2 at the base
        b_t  = β b_{t−1} + g_t
        θ_t  = θ_{t−1} − η_t b_t                    base weights: plain SGD with momentum
        θ'_t = θ_t − c_t b_t                        stored weights, c_t from the subclass

    Only θ' and the momentum are stored; θ_{t−1} = θ'_{t−1} + c_{t−1} b_{t−1} is recovered from the
    scale c_{t−1} applied to that parameter at its last step, kept as ``state[p]["applied_shift"]``
    (0 before the first step, so the first gradient is taken at unshifted weights; a parameter
    without a gradient keeps its weights and its shift). Because the applied scale is stored, a
    learning-rate or ρ schedule changes only future shifts and never leaves a permanent offset:
    the base weights are exactly those of SGD with momentum on the gradients taken at θ'.
    Substituting b_{t−1} = (b_t − g_t)/β gives the one-pass update of the fast path::

        θ'_t = θ'_{t−1} − (η_t + c_t − c_{t−1}/β) b_t − (c_{t−1}/β) g_t

    (with weight decay the L2 term is folded in without a temporary; see
    ``_weight_coefficients``). The buffer is stored in EMA form, ``state["exp_avg"]`` = m = (1−β) b,
    so that its update is a single ``lerp`` pass over memory; all formulas above are in terms of b.

    Momentum schedules (``OneCycleLR``, ``CyclicLR``): the β the buffer was stored with is kept as
    ``state[p]["momentum"]``. A step under a new β_t first restates m in its units,
    m ← m (1−β_t)/(1−β_old), so b_t = β_t b_{t−1} + g_t holds exactly as in ``torch.optim.SGD``; and
    ``base_weights()`` removes the shift with the stored β, so changing β between steps moves nothing.

    ``torch.compile(optimizer.step)``: the state is read and written eagerly (``_group_tensors``,
    ``_record_shifts``), the tensor passes are the per-tensor loop, traced once for a whole lr or
    momentum schedule (``tensor_lists``).
    """

    stores_shifted_weights = True
    shift_known_before_buffers = False
    """True where c_t does not depend on the updated buffers (Overshoot: c_t = η_t γ), so that one pass per tensor
    can finish it; the fused path needs it too."""

    def __init__(self, params, defaults: dict, foreach: bool | None = None, fused: bool = False):
        defaults = dict(defaults, foreach=foreach, fused=bool(fused))
        super().__init__(params, defaults)

    def _shift_scales(self, groups: list[dict], momentum_norm: float | None) -> list[float]:
        """Return c_t per group, given ‖b_t‖ over every parameter of every group (None where
        ``shift_known_before_buffers``: the scale is needed before the buffers are updated)."""
        raise NotImplementedError

    @staticmethod
    def _check_momentum_allows_shift(name: str, shift: float, momentum: float) -> None:
        if shift > 0 and momentum == 0:
            raise ValueError(
                f"{name}={shift!r} needs momentum > 0 (got momentum=0): the stored shift is "
                "recovered through the momentum buffer"
            )

    @torch.compiler.disable
    def _group_tensors(self, group: dict) -> tuple[list, list, list, list]:
        """``(params, grads, buffers, previous shifts)`` of the parameters that have a gradient."""
        params, grads = parameters_with_gradients(group, type(self).__name__, complex_supported=True)
        buffers, shifts, stale = [], [], []
        for param in params:
            state = self.state[param]
            if "exp_avg" not in state:
                state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                state["applied_shift"] = 0.0
                state["momentum"] = group["momentum"]
            elif state["momentum"] != group["momentum"]:
                stale.append(state)
            buffers.append(state["exp_avg"])
            shifts.append(state["applied_shift"])
        _restate_buffers(stale, group["momentum"])
        return params, grads, buffers, shifts

    @torch.no_grad()
    def step(self, closure=None):
        """One update; ``closure`` (optional) re-evaluates the loss and gradients at θ'."""
        loss = self._begin_step(closure)
        tensors = [self._group_tensors(group) for group in self.param_groups]
        if self.defaults["fused"] and not torch.compiler.is_compiling():
            self._fused_step(tensors)
            return loss
        known = self._shift_scales(self.param_groups, None) if self.shift_known_before_buffers else None
        multi_tensor = [uses_foreach(group, params) for group, (params, *_) in zip(self.param_groups, tensors)]
        squared_norm = 0.0
        for index, (group, (params, grads, buffers, previous)) in enumerate(zip(self.param_groups, tensors)):
            if multi_tensor[index]:
                _update_buffers_foreach(group, params, grads, buffers, previous)
                norms = None if known or not buffers else torch._foreach_norm(buffers)
            else:
                norms = _update_loop(group, params, grads, buffers, previous, known[index] if known else None)
            if norms:
                squared_norm = squared_norm + (
                    torch.linalg.vector_norm(torch.stack(norms).double()) / (1.0 - group["momentum"])) ** 2
        momentum_norm = None if known else _get_value(torch.as_tensor(squared_norm).sqrt())
        shifts = known or self._shift_scales(self.param_groups, momentum_norm)
        for group, (params, grads, buffers, previous), shift, foreach in zip(
                self.param_groups, tensors, shifts, multi_tensor):
            if foreach:
                _update_weights_foreach(group, params, grads, buffers, previous, shift)
            elif not known:
                _add_step_loop(group, params, buffers, shift)
        self._record_shifts(tensors, momentum_norm)
        return loss

    @torch.compiler.disable
    def _record_shifts(self, tensors, momentum_norm) -> None:
        """``state["applied_shift"]`` = c_t of this step for every parameter that was stepped, computed here, eagerly
        (see ``tensor_lists`` on torch.compile)."""
        shifts = self._shift_scales(self.param_groups, None if momentum_norm is None else float(momentum_norm))
        for (params, *_), shift in zip(tensors, shifts):
            for param in params:
                self.state[param]["applied_shift"] = float(shift)

    def _fused_step(self, tensors) -> None:
        """Buffers and stored weights in one compiled pass per tensor; only for subclasses whose
        c_t does not depend on the updated buffers (Overshoot: c_t = η_t γ)."""
        shifts = self._shift_scales(self.param_groups, None)
        for group, (params, grads, buffers, previous), shift in zip(self.param_groups, tensors, shifts):
            for previous_shift, shift_params, shift_grads, shift_buffers in by_value(
                    previous, params, grads, buffers):
                scalars = (_buffer_coefficients(group, previous_shift)
                           + _weight_coefficients(group, previous_shift, shift))
                fused_kernels.apply(fused_kernels.momentum_buffer_and_shifted_weights, scalars,
                                    shift_params, shift_grads, shift_buffers)
        self._record_shifts(tensors, None)

    @torch.no_grad()
    def _move_to_base(self) -> None:
        """θ = θ' + c b with the c and the β of the parameter's last step."""
        for group in self.param_groups:
            for param in group["params"]:
                state = self.state.get(param, {})
                if state.get("applied_shift", 0.0) != 0.0:
                    param.add_(state["exp_avg"], alpha=state["applied_shift"] / (1.0 - state["momentum"]))


def _restate_buffers(states: list[dict], beta: float) -> None:
    """m ← m (1−β)/(1−β_old) for buffers stored under another β_old (momentum schedules); they are then in β's units."""
    for stored_beta, stale in by_value([state["momentum"] for state in states], states):
        torch._foreach_mul_([state["exp_avg"] for state in stale], (1.0 - beta) / (1.0 - stored_beta))
        for state in stale:
            state["momentum"] = beta


def _update_loop(group, params, grads, buffers, previous, shift: float | None) -> list[torch.Tensor] | None:
    """Per-tensor path, the algorithm literally, each tensor finished while it is in cache (torch's default on CPU):
    θ_{t−1} = θ'_{t−1} + c_{t−1} b_{t−1}; g̃ = g + λθ_{t−1}; m_t = lerp(m_{t−1}, g̃, 1−β); and, when c_t is known
    (Overshoot), θ'_t = θ_{t−1} − (η + c_t) b_t. Otherwise (MSAM: c_t needs ‖b_t‖) the parameters hold θ_{t−1},
    ``_add_step_loop`` finishes them, and the norms ‖m_t‖ per tensor, taken while m_t is in cache, are returned.
    Four tensor operations with weight decay, as ``torch.optim.SGD``'s."""
    beta, decay = group["momentum"], group["weight_decay"]
    norms = []
    for param, grad, buffer, previous_shift in zip(params, grads, buffers, previous):
        if previous_shift != 0:
            add_product_(param, buffer, previous_shift / (1.0 - beta))
        if decay != 0:
            grad = grad.add(param, alpha=decay)  # λ is a constant of the graph: it does not change
        lerp_(buffer, grad, 1.0 - beta)
        if shift is not None:
            add_product_(param, buffer, -(group["lr"] + shift) / (1.0 - beta))
        else:
            norms.append(torch.linalg.vector_norm(buffer))
    return None if shift is not None else norms


def _add_step_loop(group, params, buffers, shift: float) -> None:
    """θ'_t = θ_{t−1} − (η + c_t) b_t, the parameters holding θ_{t−1} on entry."""
    for param, buffer in zip(params, buffers):
        add_product_(param, buffer, -(group["lr"] + shift) / (1.0 - group["momentum"]))


def _buffer_coefficients(group: dict, previous_shift: float) -> list[float]:
    """[s0, s1, s2] of m_t = s0 m_{t−1} + s1 g_t + s2 θ'_{t−1}: the EMA with L2 at θ_{t−1} folded in,
    θ_{t−1} = θ'_{t−1} + k m_{t−1} with k = c_{t−1}/(1−β)."""
    beta, decay = group["momentum"], group["weight_decay"]
    k = previous_shift / (1.0 - beta)
    return [beta + (1.0 - beta) * decay * k, 1.0 - beta, (1.0 - beta) * decay]


def _weight_coefficients(group: dict, previous_shift: float, shift: float) -> list[float]:
    """[w_θ, w_m, w_g] of θ'_t = w_θ θ'_{t−1} − w_m m_t − w_g g_t.

    With B = c_{t−1}/β, the update is θ'_t = θ'_{t−1} − (η + c_t − B) b_t − B g̃_t, where
    g̃_t = g_t + λθ_{t−1} is not stored: eliminating m_{t−1} = (m_t − (1−β)g̃_t)/β gives
    g̃_t = (g_t + λθ'_{t−1} + (λk/β) m_t)/D with D = 1 + λk(1−β)/β, k = c_{t−1}/(1−β).
    """
    beta, lr, decay = group["momentum"], group["lr"], group["weight_decay"]
    if previous_shift == 0:
        return [1.0, (lr + shift) / (1.0 - beta), 0.0]
    k = previous_shift / (1.0 - beta)
    gradient_coefficient = previous_shift / beta
    denominator = 1.0 + decay * k * (1.0 - beta) / beta
    return [1.0 - gradient_coefficient * decay / denominator,
            (lr + shift - gradient_coefficient) / (1.0 - beta)
            + gradient_coefficient * decay * k / (beta * denominator),
            gradient_coefficient / denominator]


def _update_buffers_foreach(group, params, grads, buffers, previous) -> None:
    """Fast path of the buffer update, leaving θ' in place and allocating nothing; for λ = 0 it is
    one lerp pass."""
    if group["weight_decay"] == 0:
        if buffers:
            torch._foreach_lerp_(buffers, grads, 1.0 - group["momentum"])
        return
    for previous_shift, shift_params, shift_grads, shift_buffers in by_value(
            previous, params, grads, buffers):
        momentum, gradient, weight = _buffer_coefficients(group, previous_shift)
        torch._foreach_mul_(shift_buffers, momentum)
        torch._foreach_add_(shift_buffers, shift_grads, alpha=gradient)
        torch._foreach_add_(shift_buffers, shift_params, alpha=weight)


def _update_weights_foreach(group, params, grads, buffers, previous, shift: float) -> None:
    """Fast path: θ'_t = w_θ θ'_{t−1} − w_m m_t − w_g g_t in at most three passes."""
    for previous_shift, shift_params, shift_grads, shift_buffers in by_value(
            previous, params, grads, buffers):
        weight, momentum, gradient = _weight_coefficients(group, previous_shift, shift)
        if weight != 1.0:
            torch._foreach_mul_(shift_params, weight)
        torch._foreach_add_(shift_params, shift_buffers, alpha=-momentum)
        if gradient != 0:
            torch._foreach_add_(shift_params, shift_grads, alpha=-gradient)


def validate_sgd_arguments(lr: float, momentum: float, weight_decay: float) -> dict:
    """Checked ``lr``, ``momentum`` and ``weight_decay`` as a defaults dict."""
    return {
        "lr": hyperparameters.learning_rate("lr", lr),
        "momentum": hyperparameters.momentum_coefficient("momentum", momentum),
        "weight_decay": hyperparameters.non_negative("weight_decay", weight_decay),
    }
