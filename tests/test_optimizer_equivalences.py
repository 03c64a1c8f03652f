"""The exact equivalences of spec §6, each to float64 precision, and negative controls.

Each positive check runs the package's optimizer and an independent reference (a torch.optim
optimizer, the two-model protocol built from two torch.optim instances, or a hand-written
recursion) on ``NoisyProblem`` and compares them with ``assert_same_trajectory`` (relative
deviation ≤ 1e-12 over 60 steps). Each negative control feeds a deliberately wrong variant to the
same comparison and asserts that it reports a mismatch, so the checks are shown able to fail.
"""

import pytest
import torch

import optimizers
from optimizer_problems import (NoisyProblem, assert_different_trajectory,
                                assert_same_trajectory, base_flat, cosine_schedule, flat, run,
                                single_threaded_torch)  # noqa: F401 (autouse fixture)

STEPS = 60
LR, MOMENTUM = 0.03, 0.9


def trajectory(optimizer_factory, problem, steps=STEPS, base=False, **kw):
    params = problem.parameters()
    return run(optimizer_factory(params), params, problem, steps, base=base, **kw)


def two_model_protocol(problem, base_optimizer, overshoot_optimizer, steps=STEPS, lrs=None,
                       overshoot_factors=None):
    """The paper's reference protocol with two torch optimizers (spec 1(a)): take the gradient at
    the overshoot weights θ', copy it to the base model, reset θ' ← θ, step both.

    ``base_optimizer(params, lr)`` / ``overshoot_optimizer(params, lr)`` build the two; the
    overshoot lr is η_t(1 + γ_t) with γ_t = ``overshoot_factors[t-1]``."""
    lrs = lrs or [LR] * steps
    base_params, shifted_params = problem.parameters(), problem.parameters()
    base = base_optimizer(base_params, lrs[0])
    shifted = overshoot_optimizer(shifted_params, lrs[0] * (1 + overshoot_factors[0]))
    stored, bases = [], []
    for k in range(steps):
        problem.closure(shifted_params, k)()
        with torch.no_grad():
            for base_param, shifted_param in zip(base_params, shifted_params):
                base_param.grad = shifted_param.grad.clone()
                shifted_param.copy_(base_param)
        for group in base.param_groups:
            group["lr"] = lrs[k]
        for group in shifted.param_groups:
            group["lr"] = lrs[k] * (1 + overshoot_factors[k])
        base.step()
        shifted.step()
        stored.append(flat(shifted_params))
        bases.append(flat(base_params))
    return torch.stack(stored), torch.stack(bases)


def sgdm(params, lr, **kw):
    return torch.optim.SGD(params, lr=lr, momentum=MOMENTUM, **kw)


# --- Overshoot SGD ----------------------------------------------------------------------------

class WrongSignOvershootSGD(optimizers.OvershootSGD):
    """Shifts to θ + ηγb, the sign pitfall of spec 1(e)6."""

    def _shift_scales(self, groups, momentum_norm):
        return [-group["lr"] * group["overshoot"] for group in groups]


class WrongCoefficientOvershootSGD(optimizers.OvershootSGD):
    """Shifts by η(1+γ)b, i.e. confuses the shift with the overshoot model's step."""

    def _shift_scales(self, groups, momentum_norm):
        return [group["lr"] * (1 + group["overshoot"]) for group in groups]


def test_sgdo_with_zero_overshoot_is_sgd_momentum():
    problem = NoisyProblem()
    expected = trajectory(lambda p: sgdm(p, LR), problem)
    assert_same_trajectory(trajectory(
        lambda p: optimizers.OvershootSGD(p, lr=LR, momentum=MOMENTUM, overshoot=0.0), problem),
        expected)
    assert_different_trajectory(trajectory(
        lambda p: optimizers.OvershootSGD(p, lr=LR, momentum=MOMENTUM, overshoot=0.5), problem),
        expected)


@pytest.mark.parametrize("foreach", [True, False])
def test_sgdo_with_overshoot_beta_is_torch_nesterov(foreach):
    problem = NoisyProblem()
    expected = trajectory(lambda p: sgdm(p, LR, nesterov=True), problem)
    sgdo = trajectory(lambda p: optimizers.OvershootSGD(p, lr=LR, momentum=MOMENTUM,
                                                        overshoot=MOMENTUM, foreach=foreach),
                      problem)
    assert_same_trajectory(sgdo, expected)


@pytest.mark.parametrize("overshoot", [0.5, 3.0])
def test_negative_control_sgdo_is_not_nesterov_at_other_overshoot(overshoot):
    problem = NoisyProblem()
    expected = trajectory(lambda p: sgdm(p, LR, nesterov=True), problem)
    assert_different_trajectory(trajectory(
        lambda p: optimizers.OvershootSGD(p, lr=LR, momentum=MOMENTUM, overshoot=overshoot),
        problem), expected)


SGDO_TWO_MODEL_CASES = {
    "constant-lr": dict(schedule=False, weight_decay=0.0),
    "cosine-lr-weight-decay": dict(schedule=True, weight_decay=0.05),
}


@pytest.mark.parametrize("case", SGDO_TWO_MODEL_CASES)
@pytest.mark.parametrize("overshoot", [3.0, 7.0])
def test_efficient_sgdo_is_the_two_model_definition(overshoot, case):
    settings = SGDO_TWO_MODEL_CASES[case]
    problem = NoisyProblem()
    lrs = cosine_schedule(LR, STEPS, LR / 20) if settings["schedule"] else [LR] * STEPS
    decay = settings["weight_decay"]
    expected_stored, expected_base = two_model_protocol(
        problem, lambda p, lr: sgdm(p, lr, weight_decay=decay),
        lambda p, lr: sgdm(p, lr, weight_decay=decay), lrs=lrs,
        overshoot_factors=[overshoot] * STEPS)
    stored, base = trajectory(
        lambda p: optimizers.OvershootSGD(p, lr=LR, momentum=MOMENTUM, overshoot=overshoot,
                                          weight_decay=decay),
        problem, base=True, lr_schedule=lrs)
    assert_same_trajectory(stored, expected_stored)
    assert_same_trajectory(base, expected_base)
    for wrong in (WrongSignOvershootSGD, WrongCoefficientOvershootSGD):
        wrong_stored, wrong_base = trajectory(
            lambda p: wrong(p, lr=LR, momentum=MOMENTUM, overshoot=overshoot, weight_decay=decay),
            problem, base=True, lr_schedule=lrs)
        assert_different_trajectory(wrong_stored, expected_stored)


def test_sgdo_at_the_sgd_point_follows_plain_sgd():
    """γ = β/(1−β): θ' follows plain SGD at lr η/(1−β) (QHM with ν = 0)."""
    problem = NoisyProblem()
    effective_lr = LR / (1 - MOMENTUM)
    assert effective_lr * (problem.largest_eigenvalue + 0.3) < 2  # + the quartic's curvature
    expected = trajectory(lambda p: torch.optim.SGD(p, lr=effective_lr), problem)
    sgd_point = MOMENTUM / (1 - MOMENTUM)
    assert_same_trajectory(trajectory(
        lambda p: optimizers.OvershootSGD(p, lr=LR, momentum=MOMENTUM, overshoot=sgd_point),
        problem), expected)
    assert_different_trajectory(trajectory(
        lambda p: optimizers.OvershootSGD(p, lr=LR, momentum=MOMENTUM, overshoot=sgd_point - 1),
        problem), expected)


# --- Overshoot AdamW -------------------------------------------------------------------------

ADAM = dict(betas=(0.9, 0.999), eps=1e-8)


@pytest.mark.parametrize("foreach", [True, False])
@pytest.mark.parametrize("weight_decay,delay,schedule", [(0.0, 0, False), (0.05, 6, True)])
def test_exact_overshoot_adamw_is_two_model_adamw(weight_decay, delay, schedule, foreach):
    problem, lr, overshoot = NoisyProblem(), 0.02, 6.0
    lrs = cosine_schedule(lr, STEPS, lr / 20) if schedule else [lr] * STEPS
    factors = [overshoot if t > delay else 0.0 for t in range(1, STEPS + 1)]

    def adamw(params, lr):
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, **ADAM)

    expected_stored, expected_base = two_model_protocol(problem, adamw, adamw, lrs=lrs,
                                                        overshoot_factors=factors)

    def overshoot_adamw(exact):
        return lambda p: optimizers.OvershootAdamW(
            p, lr=lr, weight_decay=weight_decay, overshoot=overshoot, overshoot_delay=delay,
            exact=exact, foreach=foreach, **ADAM)

    stored, base = trajectory(overshoot_adamw(True), problem, base=True, lr_schedule=lrs)
    assert_same_trajectory(stored, expected_stored)
    assert_same_trajectory(base, expected_base)
    # Negative control: the official approximation is measurably not the two-model method.
    approximate_stored, _ = trajectory(overshoot_adamw(False), problem, base=True, lr_schedule=lrs)
    assert_different_trajectory(approximate_stored, expected_stored)


@pytest.mark.parametrize("exact", [True, False])
def test_overshoot_adamw_with_zero_overshoot_is_torch_adamw(exact):
    problem = NoisyProblem()
    expected = trajectory(lambda p: torch.optim.AdamW(p, lr=0.02, weight_decay=0.05, **ADAM),
                          problem)
    actual = trajectory(lambda p: optimizers.OvershootAdamW(p, lr=0.02, weight_decay=0.05,
                                                            overshoot=0.0, exact=exact, **ADAM),
                        problem)
    assert_same_trajectory(actual, expected)


# --- MSAM -----------------------------------------------------------------------------------------

class NesterovMSAM(optimizers.MSAM):
    """ρ_t = ημ‖v_t‖, i.e. a shift scale ρ_t/‖v_t‖ = ημ: Sutskever-form NAG."""

    def _shift_scales(self, groups, momentum_norm):
        return [group["lr"] * group["momentum"] for group in groups]


class WrongSignNesterovMSAM(optimizers.MSAM):
    """Perturbs along +v (the sign pitfall of spec 5(e)1)."""

    def _shift_scales(self, groups, momentum_norm):
        return [-group["lr"] * group["momentum"] for group in groups]


def test_msam_with_zero_rho_is_sgd_momentum():
    problem = NoisyProblem()
    expected = trajectory(lambda p: sgdm(p, 0.05, weight_decay=0.05), problem)
    assert_same_trajectory(trajectory(
        lambda p: optimizers.MSAM(p, lr=0.05, momentum=MOMENTUM, rho=0.0, weight_decay=0.05),
        problem), expected)
    assert_different_trajectory(trajectory(
        lambda p: optimizers.MSAM(p, lr=0.05, momentum=MOMENTUM, rho=0.3, weight_decay=0.05),
        problem), expected)


@pytest.mark.parametrize("foreach", [True, False])
def test_msam_with_rho_eta_mu_norm_is_nesterov(foreach):
    problem = NoisyProblem()
    expected = trajectory(lambda p: sgdm(p, 0.05, nesterov=True), problem)
    assert_same_trajectory(trajectory(
        lambda p: NesterovMSAM(p, lr=0.05, momentum=MOMENTUM, rho=0.3, foreach=foreach), problem),
        expected)
    assert_different_trajectory(trajectory(
        lambda p: WrongSignNesterovMSAM(p, lr=0.05, momentum=MOMENTUM, rho=0.3, foreach=foreach),
        problem), expected)


def test_msam_adamw_with_zero_rho_is_torch_adamw():
    problem = NoisyProblem()
    expected = trajectory(lambda p: torch.optim.AdamW(p, lr=0.02, weight_decay=0.05, **ADAM),
                          problem)
    assert_same_trajectory(trajectory(
        lambda p: optimizers.MSAMAdamW(p, lr=0.02, weight_decay=0.05, rho=0.0, **ADAM), problem),
        expected)
    assert_different_trajectory(trajectory(
        lambda p: optimizers.MSAMAdamW(p, lr=0.02, weight_decay=0.05, rho=0.3, **ADAM), problem),
        expected)


# --- a parameter whose first gradient arrives late ----------------------------------------------

def late_start_trajectory(optimizer_factory, problem, late=5, steps=25):
    """Parameter 2 gets no gradient before step ``late`` (a frozen-then-unfrozen layer)."""
    params = problem.parameters()
    optimizer = optimizer_factory(params)
    rows = []
    for k in range(steps):
        problem.closure(params, k)()
        if k < late:
            params[2].grad = None
        optimizer.step()
        rows.append(flat(params))
    return torch.stack(rows)


@pytest.mark.parametrize("name,factory", [
    ("msam-adamw", lambda p: optimizers.MSAMAdamW(p, lr=0.02, weight_decay=0.05, rho=0.0, **ADAM)),
    ("overshoot-adamw", lambda p: optimizers.OvershootAdamW(p, lr=0.02, weight_decay=0.05,
                                                            overshoot=0.0, **ADAM)),
], ids=["msam-adamw", "overshoot-adamw"])
def test_adamw_variants_count_steps_per_parameter_like_torch_adamw(name, factory):
    """torch.optim.AdamW keeps the step count t (and so the bias corrections 1 − β^t) per
    parameter; the ρ = 0 / γ = 0 cases must match it also when a parameter starts late."""
    problem = NoisyProblem()
    expected = late_start_trajectory(
        lambda p: torch.optim.AdamW(p, lr=0.02, weight_decay=0.05, **ADAM), problem)
    assert_same_trajectory(late_start_trajectory(factory, problem), expected)


def test_sgd_momentum_variants_match_torch_when_a_parameter_starts_late():
    problem = NoisyProblem()
    expected = late_start_trajectory(lambda p: sgdm(p, 0.05), problem)
    for factory in (lambda p: optimizers.MSAM(p, lr=0.05, momentum=MOMENTUM, rho=0.0),
                    lambda p: optimizers.OvershootSGD(p, lr=0.05, momentum=MOMENTUM,
                                                      overshoot=0.0)):
        assert_same_trajectory(late_start_trajectory(factory, problem), expected)


# --- AdaMomentum --------------------------------------------------------------------------------

def adam_recursion(problem, lr, beta2, eps, eps_inside, steps=STEPS):
    """Adam with β1 = 0 (m = g), written by hand, with ε inside the average
    (v = β2 v + (1−β2) g² + ε, θ −= η g/√(v/(1−β2^t))) or outside (θ −= η g/(√(v/(1−β2^t)) + ε))."""
    theta = problem.start.clone()
    v = torch.zeros_like(theta)
    rows = []
    for k in range(steps):
        t = k + 1
        g = problem.grad(theta, k)
        if eps_inside:
            v = beta2 * v + (1 - beta2) * g * g + eps
            theta = theta - lr * g / (v / (1 - beta2**t)).sqrt()
        else:
            v = beta2 * v + (1 - beta2) * g * g
            theta = theta - lr * g / ((v / (1 - beta2**t)).sqrt() + eps)
        rows.append(theta)
    return torch.stack(rows)


@pytest.mark.parametrize("foreach", [True, False])
def test_adamomentum_without_momentum_is_adam_with_eps_inside(foreach):
    problem, lr, beta2, eps = NoisyProblem(), 0.02, 0.99, 1e-4
    actual = trajectory(lambda p: optimizers.AdaMomentum(p, lr=lr, betas=(0.0, beta2), eps=eps,
                                                         foreach=foreach), problem)
    assert_same_trajectory(actual, adam_recursion(problem, lr, beta2, eps, eps_inside=True))
    assert_different_trajectory(actual, adam_recursion(problem, lr, beta2, eps, eps_inside=False))


# --- Step-Tuned SGD -----------------------------------------------------------------------------

def half_step_sgd(problem, alpha, step_factor, delta, steps=STEPS):
    """torch SGD making two steps of size c·α/(k+1)^{1/2+δ} per batch k, on the same batch."""
    params = problem.parameters()
    sgd = torch.optim.SGD(params, lr=alpha)
    rows = []
    for k in range(steps):
        for group in sgd.param_groups:
            group["lr"] = step_factor * alpha / (k + 1) ** (0.5 + delta)
        sgd.step(problem.closure(params, k))
        sgd.step(problem.closure(params, k))
        rows.append(flat(params))
    return torch.stack(rows)


@pytest.mark.parametrize("step_factor", [0.7, 1.3])
def test_step_tuned_sgd_with_fixed_step_is_sgd_with_two_half_steps(step_factor):
    problem, alpha, delta = NoisyProblem(), 0.3, 0.001
    expected = half_step_sgd(problem, alpha, step_factor, delta)
    fixed = trajectory(lambda p: optimizers.StepTunedSGD(
        p, lr=alpha, min_step=step_factor, max_step=step_factor, delta=delta), problem)
    assert_same_trajectory(fixed, expected)
    tuned = trajectory(lambda p: optimizers.StepTunedSGD(p, lr=alpha, delta=delta), problem)
    assert_different_trajectory(tuned, expected)


# --- SAM ------------------------------------------------------------------------------------------

def test_sam_with_zero_rho_is_sgd_momentum():
    problem = NoisyProblem()
    expected = trajectory(lambda p: sgdm(p, 0.05, weight_decay=0.05), problem)
    sam = trajectory(lambda p: optimizers.create("sam", p, lr=0.05, momentum=MOMENTUM, rho=0.0,
                                                 weight_decay=0.05), problem)
    assert_same_trajectory(sam, expected)
    assert_different_trajectory(trajectory(
        lambda p: optimizers.create("sam", p, lr=0.05, momentum=MOMENTUM, rho=0.05,
                                    weight_decay=0.05), problem), expected)


def test_base_weights_of_the_equivalent_runs_are_the_stored_weights():
    """Where nothing is shifted (γ = 0, ρ = 0) base_weights() equals the stored weights."""
    problem = NoisyProblem()
    for factory in (lambda p: optimizers.OvershootSGD(p, lr=LR, momentum=MOMENTUM, overshoot=0.0),
                    lambda p: optimizers.MSAM(p, lr=LR, momentum=MOMENTUM, rho=0.0),
                    lambda p: optimizers.MSAMAdamW(p, lr=LR, rho=0.0)):
        params = problem.parameters()
        optimizer = factory(params)
        run(optimizer, params, problem, 10)
        assert torch.equal(base_flat(optimizer, params), flat(params))
