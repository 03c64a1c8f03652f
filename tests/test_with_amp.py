"""SAM and Step-Tuned SGD under mixed precision: bfloat16 autocast works, GradScaler is refused by name.

bfloat16: a tiny float32 MLP whose closure runs the forward pass under ``torch.autocast("cpu", torch.bfloat16)``.
Each method is checked against a reference built from its definition and driven by the same autocast closure:
SAM by hand around ``torch.optim.SGD`` (g at w, ε = ρ g/(‖g‖ + 1e-12) with the global norm, g̃ at w + ε, SGD step
from w with g̃), Step-Tuned SGD by its equations (two half steps s_k = α_k γ_k, the BB1 ratio from Δθ and the
debiased EMA of Δg). Both run in float32, so agreement is to float32 rounding (``TOLERANCE``); the negative control
is the same reference evaluated without autocast (float32 forward passes), which must be rejected: the comparison
sees the precision the closure ran in.

float16 + GradScaler: ``scaler.step(optimizer, closure)`` would unscale (and check for inf/NaN) only the gradients
already in ``.grad``, while these methods step on the closure's own, scaled, gradients. Both methods refuse it with
a RuntimeError that names the alternative; the negative control shows what the refusal prevents, a step on
gradients 65536 times too large.
"""

import math

import pytest
import torch

import optimizers
from optimizer_problems import mismatch, single_threaded_torch  # noqa: F401 (autouse fixture)

STEPS = 8
TOLERANCE = 1e-5  # relative, float32 arithmetic in a different order than the package's
RHO, SAM_LR, MOMENTUM = 0.1, 0.1, 0.9
STSGD = dict(lr=0.3, nu=2.0, beta=0.9, min_step=0.5, max_step=2.0, delta=0.001)


def tiny_problem():
    """A float32 4-8-1 tanh MLP and one fixed batch."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    inputs = torch.randn(32, 4)
    return model, inputs, torch.sin(inputs.sum(dim=1, keepdim=True))


def closure_for(model, inputs, targets, autocast=True):
    """Zero the gradients, forward under bfloat16 autocast (or in float32), backward; returns the loss."""
    def closure():
        for param in model.parameters():
            param.grad = None
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            loss = torch.nn.functional.mse_loss(model(inputs), targets)
        loss.backward()
        return loss
    return closure


def weights(model):
    return torch.cat([p.detach().reshape(-1).double() for p in model.parameters()])


def build(name, model):
    if name == "sam":
        return optimizers.SAM(model.parameters(), torch.optim.SGD, rho=RHO, lr=SAM_LR, momentum=MOMENTUM)
    return optimizers.StepTunedSGD(model.parameters(), **STSGD)


def package_run(name, autocast=True):
    """The package's optimizer ``name`` on the tiny problem: the weights after each step."""
    model, inputs, targets = tiny_problem()
    optimizer = build(name, model)
    rows = []
    for _ in range(STEPS):
        optimizer.step(closure_for(model, inputs, targets, autocast))
        rows.append(weights(model))
    return torch.stack(rows)


def reference_sam(autocast=True):
    model, inputs, targets = tiny_problem()
    params = list(model.parameters())
    sgd = torch.optim.SGD(params, lr=SAM_LR, momentum=MOMENTUM)
    closure = closure_for(model, inputs, targets, autocast)
    rows = []
    for _ in range(STEPS):
        closure()
        with torch.no_grad():
            g = [p.grad.clone() for p in params]
            norm = torch.sqrt(sum((piece.double() ** 2).sum() for piece in g)).item()
            w = [p.detach().clone() for p in params]
            for param, piece in zip(params, g):
                param.add_(piece, alpha=RHO / (norm + 1e-12))
        closure()
        with torch.no_grad():
            for param, original in zip(params, w):
                param.copy_(original)
        sgd.step()
        rows.append(weights(model))
    return torch.stack(rows)


def reference_step_tuned_sgd(autocast=True):
    """The paper's equations on the flat float32 vector θ (see the StepTunedSGD docstring)."""
    model, inputs, targets = tiny_problem()
    params = list(model.parameters())
    closure = closure_for(model, inputs, targets, autocast)

    def gradient_at(theta):
        torch.nn.utils.vector_to_parameters(theta, params)
        closure()
        return torch.cat([p.grad.reshape(-1) for p in params])

    def clip(value):
        return min(max(value, STSGD["min_step"]), STSGD["max_step"])

    theta = torch.nn.utils.parameters_to_vector(params).detach()
    average, gamma, rows = torch.zeros_like(theta), clip(1.0), []
    for k in range(STEPS):
        step = STSGD["lr"] / (k + 1) ** (0.5 + STSGD["delta"]) * gamma
        before = gradient_at(theta)
        half = theta - step * before
        after = gradient_at(half)
        moved = half - theta
        theta = half - step * after
        average = STSGD["beta"] * average + (1 - STSGD["beta"]) * (after - before)
        curvature = torch.dot(average / (1 - STSGD["beta"] ** (k + 1)), moved).item()
        gamma = clip(torch.dot(moved, moved).item() / curvature if curvature > 0 else STSGD["nu"])
        rows.append(theta.double())
    torch.nn.utils.vector_to_parameters(theta, params)
    return torch.stack(rows)


REFERENCES = {"sam": reference_sam, "step-tuned-sgd": reference_step_tuned_sgd}


@pytest.mark.parametrize("name", list(REFERENCES))
def test_bfloat16_autocast_matches_the_definition_with_the_same_closure(name):
    reference = REFERENCES[name]
    expected = reference()
    deviation = mismatch(package_run(name), expected)
    assert deviation <= TOLERANCE, f"relative deviation {deviation:.2e} > {TOLERANCE:.0e}"
    assert mismatch(reference(autocast=False), expected) > 10 * TOLERANCE  # negative control: float32 forward


def scaled_closure(model, inputs, targets, scaler):
    def closure():
        for param in model.parameters():
            param.grad = None
        loss = torch.nn.functional.mse_loss(model(inputs), targets)
        scaler.scale(loss).backward()
        return loss
    return closure


@pytest.mark.filterwarnings("ignore:.*step.closure. recomputes")  # .grad was set before the step, as usual with AMP
@pytest.mark.parametrize("name", list(REFERENCES))
def test_grad_scaler_with_a_positional_closure_is_refused_by_name(name):
    model, inputs, targets = tiny_problem()
    optimizer = build(name, model)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**16)
    closure = scaled_closure(model, inputs, targets, scaler)
    closure()  # the usual scaler.scale(loss).backward() before scaler.step(optimizer, ...)
    before = weights(model)
    with pytest.raises(RuntimeError, match=r"does not support GradScaler.*bfloat16 autocast"):
        scaler.step(optimizer, closure)
    assert torch.equal(weights(model), before)
    optimizer.step(closure_for(model, inputs, targets))  # still usable without the scaler
    assert not torch.equal(weights(model), before)


@pytest.mark.parametrize("name", list(REFERENCES))
def test_negative_control_the_scaled_closure_would_step_on_gradients_times_the_scale(name):
    """What the refusal prevents: the same closure outside GradScaler.step leaves 2^16 × ∇f in .grad."""
    model, inputs, targets = tiny_problem()
    closure_for(model, inputs, targets, autocast=False)()
    plain = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    scaled_closure(model, inputs, targets, torch.amp.GradScaler("cpu", init_scale=2.0**16))()
    scaled = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    assert torch.allclose(scaled, plain * 2.0**16, rtol=1e-5)
    assert math.isfinite(float(scaled.abs().max()))
