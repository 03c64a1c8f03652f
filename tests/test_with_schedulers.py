"""The shifted-weight optimizers under torch's momentum-cycling schedulers equal their definitions.

``OneCycleLR`` and ``CyclicLR`` change the learning rate *and* the momentum (``momentum``, or
``betas[0]`` for the Adam family) before every step. Each method here is defined by its base run: a
``torch.optim.SGD``/``AdamW`` stepping the base weights θ under the same scheduler, fed the gradient
taken at the shifted weights θ' computed from that run by the paper's definition:

- Overshoot-SGD: θ'_t = θ_t − η_t γ b_t (b_t torch's ``momentum_buffer``);
- MSAM: θ'_t = θ_t − ρ b_t/(‖b_t‖ + 1e-12);
- Overshoot-AdamW (two-model): θ'_t = θ_t + γ(θ_t − θ_{t−1});
- MSAM-AdamW: θ'_t = θ_t − ρ m_t/(‖m_t‖ + 1e-12) (m_t torch's ``exp_avg``).

Both the stored weights θ' and ``base_weights()`` must match to float64 rounding, on every path.
Negative controls: a reference that holds the momentum fixed is rejected, and changing the momentum
between steps must not move the base weights.
"""

import pytest
import torch

import optimizers
from optimizer_problems import (NoisyProblem, assert_different_trajectory, assert_same_trajectory,
                                base_flat, flat, single_threaded_torch)  # noqa: F401 (autouse fixture)

STEPS = 16
NORM_FLOOR = 1e-12

METHODS = {
    "overshoot-sgd": dict(lr=0.03, momentum=0.9, overshoot=3.0, weight_decay=0.05),
    "msam": dict(lr=0.05, momentum=0.9, rho=0.1, weight_decay=0.05),
    "overshoot-adamw": dict(lr=0.03, overshoot=3.0, overshoot_delay=2, weight_decay=0.05),
    "msam-adamw": dict(lr=0.05, rho=0.1, weight_decay=0.05),
}
PATHS = {"foreach": dict(foreach=True), "loop": dict(foreach=False), "fused": dict(fused=True)}
CASES = [(name, path) for name in METHODS for path in PATHS
         if path != "fused" or "fused" in optimizers.info(name).defaults]


def one_cycle(optimizer):
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=2 * optimizer.param_groups[0]["lr"], total_steps=STEPS, pct_start=0.3,
        base_momentum=0.8, max_momentum=0.95)


def cyclic(optimizer):
    lr = optimizer.param_groups[0]["lr"]
    return torch.optim.lr_scheduler.CyclicLR(optimizer, base_lr=lr / 4, max_lr=lr, step_size_up=3,
                                             base_momentum=0.8, max_momentum=0.95)


SCHEDULERS = {"one-cycle": one_cycle, "cyclic": cyclic}


def beta(group: dict) -> float:
    return group["betas"][0] if "betas" in group else group["momentum"]


def global_norm(tensors) -> float:
    return float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(t) for t in tensors])))


def shifted_point(name: str, hparams: dict, torch_optimizer, params, previous, step: int):
    """θ'_t from the base run after step ``step`` (from 1), by the method's definition."""
    group = torch_optimizer.param_groups[0]
    if name == "overshoot-adamw":
        overshoot = hparams["overshoot"] if step > hparams["overshoot_delay"] else 0.0
        return [p + overshoot * (p - q) for p, q in zip(params, previous)]
    key = "exp_avg" if name == "msam-adamw" else "momentum_buffer"
    buffers = [torch_optimizer.state[p][key] for p in params]
    if name == "overshoot-sgd":
        scale = group["lr"] * hparams["overshoot"]
    else:
        scale = hparams["rho"] / (global_norm(buffers) + NORM_FLOOR)
    return [p - scale * b for p, b in zip(params, buffers)]


def reference(name: str, make_scheduler, problem: NoisyProblem, hold_momentum: bool = False):
    """(stored, base) rows of the definition, run with torch's own optimizer and scheduler.

    ``hold_momentum`` (negative control) restores the initial momentum after every scheduler step, as a
    reference that ignored the momentum schedule would."""
    hparams = METHODS[name]
    params = problem.parameters()
    if name.endswith("adamw"):
        torch_optimizer = torch.optim.AdamW(params, lr=hparams["lr"], weight_decay=hparams["weight_decay"])
    else:
        torch_optimizer = torch.optim.SGD(params, lr=hparams["lr"], momentum=hparams["momentum"],
                                          weight_decay=hparams["weight_decay"])
    scheduler = make_scheduler(torch_optimizer)
    initial = {key: torch_optimizer.param_groups[0][key] for key in ("momentum", "betas")
               if key in torch_optimizer.param_groups[0]}
    shifted = [p.detach().clone() for p in params]
    stored, bases = [], []
    for k in range(STEPS):
        gradient = torch.split(problem.grad(flat(shifted), k), problem.sizes)
        for param, piece in zip(params, gradient):
            param.grad = piece.reshape(param.shape).clone()
        previous = [p.detach().clone() for p in params]
        torch_optimizer.step()
        with torch.no_grad():
            shifted = shifted_point(name, hparams, torch_optimizer, params, previous, k + 1)
        scheduler.step()
        if hold_momentum:
            torch_optimizer.param_groups[0].update(initial)
        stored.append(flat(shifted))
        bases.append(flat(params))
    return torch.stack(stored), torch.stack(bases)


def package_run(name: str, path: str, make_scheduler, problem: NoisyProblem):
    """(stored, base, betas) rows of the package's optimizer under the same scheduler."""
    params = problem.parameters()
    optimizer = optimizers.create(name, params, **METHODS[name], **PATHS[path])
    scheduler = make_scheduler(optimizer)
    stored, bases, betas = [], [], []
    for k in range(STEPS):
        betas.append(beta(optimizer.param_groups[0]))
        optimizer.step(problem.closure(params, k))
        scheduler.step()
        stored.append(flat(params))
        bases.append(base_flat(optimizer, params))
    return torch.stack(stored), torch.stack(bases), betas


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("name,path", CASES)
def test_shifted_weights_follow_their_definition_under_a_momentum_schedule(name, path, scheduler):
    problem = NoisyProblem()
    stored, base, betas = package_run(name, path, SCHEDULERS[scheduler], problem)
    assert len(set(betas)) > 3, f"the scheduler did not cycle the momentum: {betas}"
    expected_stored, expected_base = reference(name, SCHEDULERS[scheduler], problem)
    assert_same_trajectory(base, expected_base)
    assert_same_trajectory(stored, expected_stored)


@pytest.mark.parametrize("name", METHODS)
def test_negative_control_a_reference_with_the_momentum_held_is_rejected(name):
    problem = NoisyProblem()
    _, base, _ = package_run(name, "foreach", one_cycle, problem)
    _, held_base = reference(name, one_cycle, problem, hold_momentum=True)
    assert_different_trajectory(base, held_base)


@pytest.mark.parametrize("name", METHODS)
def test_changing_the_momentum_between_steps_leaves_the_base_weights(name):
    problem = NoisyProblem()
    params = problem.parameters()
    optimizer = optimizers.create(name, params, **METHODS[name])
    for k in range(4):
        optimizer.step(problem.closure(params, k))
    before, stored = base_flat(optimizer, params), flat(params)
    group = optimizer.param_groups[0]
    if "betas" in group:
        group["betas"] = (0.5, 0.9)
    else:
        group["momentum"] = 0.5
    assert torch.equal(base_flat(optimizer, params), before)
    assert torch.equal(flat(params), stored)
