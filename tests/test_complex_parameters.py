"""Complex parameters: each method either equals itself run on ``torch.view_as_real`` or refuses them.

For a real loss of a complex z, torch's gradient is ∂L/∂Re z + i ∂L/∂Im z, so an optimizer is correct on complex
parameters exactly when its trajectory on z equals its trajectory on the real view (Re z, Im z). That holds for the
heavy-ball family with the momentum shift (Overshoot-SGD, MSAM: linear in g, Euclidean norms), and for torch's own
Adam (it views complex as real). Methods that square or multiply gradients elementwise must raise a ValueError
naming the problem, before changing any weight. Negative control: torch's Adam fed a complex gradient through a
hand-written g² (not |g|²) update is rejected by the same comparison.
"""

import pytest
import torch

import optimizers
from optimizer_problems import SENSIBLE, assert_different_trajectory, assert_same_trajectory

STEPS = 12
SUPPORTED = ["overshoot-sgd", "msam", "sgdm", "adamw"]
REFUSED = ["overshoot-adamw", "msam-adamw", "adamomentum", "step-tuned-sgd", "sam", "sam-adamw"]


def start() -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.randn(3, 4, dtype=torch.complex128, generator=generator)


TARGET = start().flip(0) * 0.5


def loss_of(z: torch.Tensor) -> torch.Tensor:
    """A smooth real loss of complex weights: Σ |z − t|² + ¼ Σ |z − t|⁴."""
    squared = (z - TARGET).abs() ** 2
    return squared.sum() + 0.25 * (squared**2).sum()


def trajectory(name: str, as_real: bool) -> torch.Tensor:
    """The weights after every step, as real views, of ``name`` run on z or on view_as_real(z)."""
    value = torch.view_as_real(start()).clone() if as_real else start()
    param = torch.nn.Parameter(value)
    optimizer = optimizers.create(name, [param], **SENSIBLE[name])

    def closure():
        optimizer.zero_grad()
        loss = loss_of(torch.view_as_complex(param) if as_real else param)
        loss.backward()
        return loss

    rows = []
    for _ in range(STEPS):
        optimizer.step(closure)
        with optimizer.base_weights():
            weights = param.detach() if as_real else torch.view_as_real(param.detach())
            rows.append(weights.reshape(-1).clone())
    return torch.stack(rows)


@pytest.mark.parametrize("name", SUPPORTED)
def test_complex_parameters_follow_the_real_view(name):
    assert_same_trajectory(trajectory(name, as_real=False), trajectory(name, as_real=True))


@pytest.mark.parametrize("name", REFUSED)
def test_methods_that_square_gradients_refuse_complex_parameters(name):
    param = torch.nn.Parameter(start())
    before = param.detach().clone()
    optimizer = optimizers.create(name, [param], **SENSIBLE[name])

    def closure():
        optimizer.zero_grad()
        loss = loss_of(param)
        loss.backward()
        return loss

    with pytest.raises(ValueError, match="complex parameters"):
        optimizer.step(closure)
    assert torch.equal(param.detach(), before)


def test_negative_control_an_elementwise_square_of_a_complex_gradient_is_rejected():
    """Adam's update with v from g·g (complex) instead of per-component squares: a plausible mistake."""
    reference = trajectory("adam", as_real=True)
    z = start()
    exp_avg, exp_avg_sq, rows = torch.zeros_like(z), torch.zeros_like(z), []
    beta1, beta2, lr, eps = 0.9, 0.999, SENSIBLE["adam"]["lr"], 1e-8
    for step in range(1, STEPS + 1):
        point = z.clone().requires_grad_(True)
        loss_of(point).backward()
        grad = point.grad
        exp_avg = beta1 * exp_avg + (1 - beta1) * grad
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad * grad
        denominator = (exp_avg_sq / (1 - beta2**step)).sqrt() + eps
        z = z - lr * (exp_avg / (1 - beta1**step)) / denominator
        rows.append(torch.view_as_real(z).reshape(-1).clone())
    assert_different_trajectory(torch.stack(rows), reference)
