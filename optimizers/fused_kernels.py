"""Per-tensor kernels that ``torch.compile`` turns into one fused loop over memory.

The multi-tensor (``torch._foreach_*``) paths make one pass over memory per operation; a fused
kernel reads and writes each tensor once. Each kernel here is the optimizer's update for one
parameter written in plain tensor operations, with every scalar of the step packed into one
float64 tensor so that changing learning rates and bias corrections never trigger a recompilation.
``compiled(kernel)`` compiles it once per process; where compilation fails (no C++ compiler, an
unsupported device) it warns once and runs the same kernel eagerly, which gives the same result.
"""

import warnings

import torch


def momentum_buffer_and_shifted_weights(param, grad, exp_avg, scalars) -> None:
    """The step of ``MomentumShiftSGD`` for one tensor, for shifts known before the buffer update
    (Overshoot): m ← s0·m + s1·g + s2·θ', then θ' ← s3·θ' − s4·m − s5·g (coefficients from
    ``momentum_shift._buffer_coefficients`` and ``_weight_coefficients``)."""
    s = scalars.to(param.dtype)
    exp_avg.copy_(s[0] * exp_avg + s[1] * grad + s[2] * param)
    param.copy_(s[3] * param - s[4] * exp_avg - s[5] * grad)


def overshoot_adamw_exact(param, grad, exp_avg, exp_avg_sq, scalars) -> None:
    """Two-model Overshoot-AdamW step for one tensor (see ``OvershootAdamW``).

    scalars = [a·d, b·d, 1−β1^{t−1}, √(1−β2^{t−1}), 1−β1^t, √(1−β2^t), β1, β2, η(1+γ), ε, ε_{t−1}],
    where θ_{t−1} = aθ' + b u_{t−1} recovers the base weights, d = 1 − η(1+γ)λ, and u_{t−1} is built
    with the betas (in s[2], s[3]) and ε_{t−1} of the step that made it.
    """
    s = scalars.to(param.dtype)
    previous_direction = (exp_avg / s[2]) / (exp_avg_sq.sqrt() / s[3] + s[10])
    param.mul_(s[0]).add_(previous_direction * s[1])
    exp_avg.lerp_(grad, 1 - s[6])
    exp_avg_sq.mul_(s[7]).add_((1 - s[7]) * grad * grad)
    param.sub_(s[8] * (exp_avg / s[4]) / (exp_avg_sq.sqrt() / s[5] + s[9]))


def overshoot_adamw_approximate(param, grad, exp_avg, exp_avg_sq, scalars) -> None:
    """The official approximate AdamO step for one tensor.

    scalars = [1 − ηλ, w_m, w_g, 1−β1^t, √(1−β2^t), β1, β2, η, ε]: θ' ← (1−ηλ)θ', Adam moments,
    θ' ← θ' − η (w_m m + w_g g) / ((1−β1^t)(√(v/(1−β2^t)) + ε)).
    """
    s = scalars.to(param.dtype)
    param.mul_(s[0])
    exp_avg.lerp_(grad, 1 - s[5])
    exp_avg_sq.mul_(s[6]).add_((1 - s[6]) * grad * grad)
    param.sub_(s[7] * (s[1] * exp_avg + s[2] * grad) / s[3] / (exp_avg_sq.sqrt() / s[4] + s[8]))


def apply(kernel, scalars: list[float], *tensor_lists) -> None:
    """Run the compiled ``kernel`` on each tuple of tensors, the step's scalars packed in one
    float64 tensor. Contiguous tensors are passed flattened, so one compilation serves every shape."""
    run = compiled(kernel)
    packed = {}
    for tensors in zip(*tensor_lists):
        device = tensors[0].device
        if device not in packed:
            packed[device] = torch.tensor(scalars, dtype=torch.float64, device=device)
        if all(t.is_contiguous() for t in tensors):
            tensors = tuple(t.view(-1) for t in tensors)
        run(*tensors, packed[device])


_compiled: dict = {}


def compiled(kernel):
    """``kernel`` compiled by torch.compile (once per process), falling back to eager on failure."""
    if kernel not in _compiled:
        _compiled[kernel] = _WithFallback(kernel)
    return _compiled[kernel]


class _WithFallback:
    def __init__(self, kernel):
        self.kernel = kernel
        self.run = torch.compile(kernel, dynamic=True, fullgraph=True)

    def __call__(self, *args) -> None:
        try:
            self.run(*args)
        except Exception as error:  # compilation happens at the first call, before any write
            if self.run is self.kernel:
                raise
            warnings.warn(f"torch.compile of {self.kernel.__name__} failed ({type(error).__name__}: "
                          f"{error}); running it eagerly", RuntimeWarning, stacklevel=2)
            self.run = self.kernel
            self.run(*args)
