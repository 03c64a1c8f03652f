"""Each method's float64 trajectory against a hand-written recursion of its equations.

Every recursion below is written from the spec (``specs/algorithms.md``) and the class docstring,
on one flat float64 vector, in PyTorch momentum form where momentum appears; none calls the
package. The optimizer runs on the same point as three tensors in two param groups (so norms and
inner products must be global), and both see the gradient ∇f_k of ``NoisyProblem`` wherever they
evaluate it. Stored weights and ``base_weights()`` are compared after every step.
"""

import math

import pytest
import torch

import optimizers
from optimizer_problems import (NoisyProblem, assert_different_trajectory, assert_same_trajectory,
                                cosine_schedule, run, single_threaded_torch)  # noqa: F401 (autouse fixture)

STEPS = 60


def two_groups(params):
    return [{"params": params[:1]}, {"params": params[1:]}]


def optimizer_trajectories(constructor, problem, steps=STEPS, lr_schedule=None,
                           group_updates=None, foreach=True, **hparams):
    params = problem.parameters()
    optimizer = constructor(two_groups(params), foreach=foreach, **hparams)
    return run(optimizer, params, problem, steps, lr_schedule=lr_schedule,
               group_updates=group_updates, base=True)


def assert_matches(recursion, optimizer_run):
    stored, base = optimizer_run
    expected_stored, expected_base = (torch.stack(rows) for rows in recursion)
    assert_same_trajectory(stored, expected_stored)
    assert_same_trajectory(base, expected_base)


def adamw_direction(m, v, t, beta1, beta2, eps):
    """torch.optim.AdamW's direction: (m/(1−β1^t)) / (√(v/(1−β2^t)) + ε)."""
    return (m / (1 - beta1**t)) / ((v / (1 - beta2**t)).sqrt() + eps)


# --- Overshoot SGD: the two-model definition -------------------------------------------------

def overshoot_sgd_two_model(problem, lrs, momentum, overshoot, weight_decay):
    """Base SGDM θ (b = βb + g, θ ← θ − ηb, L2 at θ) fed the gradient at θ' = θ − ηγb."""
    theta = problem.start.clone()
    shifted = theta.clone()
    buffer = torch.zeros_like(theta)
    stored, base = [], []
    for k, lr in enumerate(lrs):
        g = problem.grad(shifted, k) + weight_decay * theta
        buffer = momentum * buffer + g
        theta = theta - lr * buffer
        shifted = theta - lr * overshoot * buffer
        stored.append(shifted)
        base.append(theta)
    return stored, base


@pytest.mark.parametrize("foreach", [True, False])
@pytest.mark.parametrize("schedule,weight_decay", [("constant", 0.0), ("cosine", 0.0),
                                                   ("constant", 0.05), ("cosine", 0.05)])
def test_overshoot_sgd_is_the_two_model_definition(schedule, weight_decay, foreach):
    problem, lr = NoisyProblem(), 0.03
    lrs = [lr] * STEPS if schedule == "constant" else cosine_schedule(lr, STEPS, floor=lr / 20)
    expected = overshoot_sgd_two_model(problem, lrs, 0.9, 5.0, weight_decay)
    actual = optimizer_trajectories(optimizers.OvershootSGD, problem, lr_schedule=lrs,
                                    foreach=foreach, lr=lr, momentum=0.9, overshoot=5.0,
                                    weight_decay=weight_decay)
    assert_matches(expected, actual)


# --- Overshoot AdamW ---------------------------------------------------------------------------

def overshoot_at(t, overshoot, delay):
    return overshoot if t > delay else 0.0


def overshoot_adamw_two_model(problem, lrs, betas, eps, weight_decay, overshoot, delay):
    """Two torch-AdamW recursions sharing moments: base θ with lr η, overshoot θ' stepped from
    θ_{t−1} with lr η(1+γ_t); the gradient is taken at θ'."""
    beta1, beta2 = betas
    theta = problem.start.clone()
    shifted = theta.clone()
    m, v = torch.zeros_like(theta), torch.zeros_like(theta)
    stored, base = [], []
    for k, lr in enumerate(lrs):
        t = k + 1
        g = problem.grad(shifted, k)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        u = adamw_direction(m, v, t, beta1, beta2, eps)
        overshoot_lr = lr * (1 + overshoot_at(t, overshoot, delay))
        shifted = theta * (1 - overshoot_lr * weight_decay) - overshoot_lr * u
        theta = theta * (1 - lr * weight_decay) - lr * u
        stored.append(shifted)
        base.append(theta)
    return stored, base


def overshoot_adamw_official_approximation(problem, lrs, betas, eps, weight_decay, overshoot,
                                           delay):
    """Spec 1(a) shipped AdamO: θ'_t = (1−ηλ)θ'_{t−1} − (η/(bc1 d_t))[(1+γ_t−γ_{t−1}/β1) m_t
    + γ_{t−1}(1−β1)/β1 g_t], d_t = √(v_t/bc2) + ε; base θ_t = θ'_t + ηγ_t m_t/(bc1 d_t)."""
    beta1, beta2 = betas
    shifted = problem.start.clone()
    m, v = torch.zeros_like(shifted), torch.zeros_like(shifted)
    stored, base = [], []
    for k, lr in enumerate(lrs):
        t = k + 1
        gamma, gamma_before = overshoot_at(t, overshoot, delay), overshoot_at(t - 1, overshoot, delay)
        g = problem.grad(shifted, k)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        bc1, d = 1 - beta1**t, (v / (1 - beta2**t)).sqrt() + eps
        combination = (1 + gamma - gamma_before / beta1) * m + gamma_before * (1 - beta1) / beta1 * g
        shifted = (1 - lr * weight_decay) * shifted - lr / bc1 * combination / d
        stored.append(shifted)
        base.append(shifted + lr * gamma * m / (bc1 * d))
    return stored, base


ADAMW_CASES = {
    "plain": dict(weight_decay=0.0, overshoot_delay=0, schedule="constant"),
    "weight-decay": dict(weight_decay=0.05, overshoot_delay=0, schedule="constant"),
    "delay": dict(weight_decay=0.0, overshoot_delay=7, schedule="constant"),
    "decay-delay-cosine": dict(weight_decay=0.05, overshoot_delay=7, schedule="cosine"),
}


@pytest.mark.parametrize("foreach", [True, False])
@pytest.mark.parametrize("exact", [True, False], ids=["exact", "official-approximation"])
@pytest.mark.parametrize("case", ADAMW_CASES)
def test_overshoot_adamw(case, exact, foreach):
    settings = ADAMW_CASES[case]
    problem, lr, betas, eps, overshoot = NoisyProblem(), 0.02, (0.9, 0.999), 1e-8, 5.0
    lrs = [lr] * STEPS if settings["schedule"] == "constant" else cosine_schedule(lr, STEPS, lr / 20)
    recursion = overshoot_adamw_two_model if exact else overshoot_adamw_official_approximation
    expected = recursion(problem, lrs, betas, eps, settings["weight_decay"], overshoot,
                         settings["overshoot_delay"])
    actual = optimizer_trajectories(optimizers.OvershootAdamW, problem, lr_schedule=lrs,
                                    foreach=foreach, lr=lr, betas=betas, eps=eps,
                                    weight_decay=settings["weight_decay"], overshoot=overshoot,
                                    overshoot_delay=settings["overshoot_delay"], exact=exact)
    assert_matches(expected, actual)


# --- AdaMomentum -------------------------------------------------------------------------------

def adamomentum_recursion(problem, lr, betas, eps, weight_decay, steps=STEPS):
    """Spec 3(a): v tracks m² with ε added inside the average every step, no ε outside the root;
    decoupled weight decay."""
    beta1, beta2 = betas
    theta = problem.start.clone()
    m, v = torch.zeros_like(theta), torch.zeros_like(theta)
    trajectory = []
    for k in range(steps):
        t = k + 1
        g = problem.grad(theta, k)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * m * m + eps
        theta = (1 - lr * weight_decay) * theta - lr * (m / (1 - beta1**t)) / (v / (1 - beta2**t)).sqrt()
        trajectory.append(theta)
    return trajectory, trajectory


@pytest.mark.parametrize("foreach", [True, False])
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_adamomentum(weight_decay, foreach):
    # A large ε and small gradients (noise-free tail) make where ε sits visible.
    problem, lr, betas, eps = NoisyProblem(), 0.02, (0.9, 0.99), 1e-3
    expected = adamomentum_recursion(problem, lr, betas, eps, weight_decay)
    actual = optimizer_trajectories(optimizers.AdaMomentum, problem, foreach=foreach, lr=lr,
                                    betas=betas, eps=eps, weight_decay=weight_decay)
    assert_matches(expected, actual)


# --- Step-Tuned SGD ---------------------------------------------------------------------------

def step_tuned_sgd_recursion(problem, alpha, nu, beta, min_step, max_step, delta, weight_decay,
                             steps=STEPS, record=None):
    """Spec 4(a): two half-steps on the same batch, BB1 step from the debiased EMA of gradient
    differences, one global γ, γ_0 = clip(1), k from 0."""

    def clip(x):
        return min(max(x, min_step), max_step)

    theta = problem.start.clone()
    ema = torch.zeros_like(theta)
    gamma = clip(1.0)
    trajectory = []
    for k in range(steps):
        step = alpha / (k + 1) ** (0.5 + delta) * gamma
        g_before = problem.grad(theta, k) + weight_decay * theta
        half = theta - step * g_before
        g_after = problem.grad(half, k) + weight_decay * half
        new_theta = half - step * g_after
        delta_theta, delta_g = half - theta, g_after - g_before
        ema = beta * ema + (1 - beta) * delta_g
        debiased = ema / (1 - beta ** (k + 1))
        curvature = float(debiased @ delta_theta)
        if curvature > 0:
            gamma = clip(float(delta_theta @ delta_theta) / curvature)
            branch = "bb1"
        else:
            gamma = clip(nu)
            branch = "nu"
        if record is not None:
            record.append((branch, gamma))
        theta = new_theta
        trajectory.append(theta)
    return trajectory, trajectory


@pytest.mark.parametrize("foreach", [True, False])
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_step_tuned_sgd(weight_decay, foreach):
    # Indefinite curvature (bounded by the quartic) and strong noise so that the run visits
    # the BB1 branch, the ν branch and both clips.
    problem = NoisyProblem(eigenvalues=(-1.0, 2.0), quartic=0.2, noise=0.5)
    settings = dict(nu=1.7, beta=0.5, min_step=0.6, max_step=1.9, delta=0.001,
                    weight_decay=weight_decay)
    record = []
    expected = step_tuned_sgd_recursion(problem, 0.4, record=record, **settings)
    branches = {branch for branch, _ in record}
    gammas = [gamma for _, gamma in record]
    assert branches == {"bb1", "nu"}
    assert 0.6 in gammas and 1.9 in gammas and any(0.6 < g < 1.9 for g in gammas)
    actual = optimizer_trajectories(optimizers.StepTunedSGD, problem, foreach=foreach, lr=0.4,
                                    **settings)
    assert_matches(expected, actual)


# --- MSAM (SGD) ---------------------------------------------------------------------------------

def msam_recursion(problem, lr, momentum, rhos, weight_decay):
    """Spec 5(a): v = μv + g with g taken at w̃ = w − ρ v/‖v‖ (global norm, +1e-12), L2 at w,
    w ← w − ηv; the first step is unperturbed."""
    w = problem.start.clone()
    perturbed = w.clone()
    v = torch.zeros_like(w)
    stored, base = [], []
    for k, rho in enumerate(rhos):
        g = problem.grad(perturbed, k) + weight_decay * w
        v = momentum * v + g
        w = w - lr * v
        perturbed = w - rho * v / (v.norm() + 1e-12)
        stored.append(perturbed)
        base.append(w)
    return stored, base


def rho_updates(rhos):
    def update(k, optimizer):
        for group in optimizer.param_groups:
            group["rho"] = rhos[k]
    return update


@pytest.mark.parametrize("foreach", [True, False])
@pytest.mark.parametrize("rho_schedule,weight_decay", [("constant", 0.0), ("constant", 0.05),
                                                       ("changing", 0.05)])
def test_msam(rho_schedule, weight_decay, foreach):
    problem, lr, momentum = NoisyProblem(), 0.05, 0.9
    if rho_schedule == "constant":
        rhos = [0.3] * STEPS
    else:  # off for a warm-up, then a jump, a ramp and a cosine decay: ρ changes between steps
        rhos = [0.0] * 5 + [0.5] * 5 + [0.05 * i for i in range(20)] + cosine_schedule(0.8, 30)
    expected = msam_recursion(problem, lr, momentum, rhos, weight_decay)
    actual = optimizer_trajectories(optimizers.MSAM, problem, group_updates=rho_updates(rhos),
                                    foreach=foreach, lr=lr, momentum=momentum, rho=rhos[0],
                                    weight_decay=weight_decay)
    assert_matches(expected, actual)


# --- MSAM (AdamW) -------------------------------------------------------------------------------

def msam_adamw_recursion(problem, lr, betas, eps, weight_decay, rhos):
    """AdamW (torch form, decay before the step) on w, gradient at w̃ = w − ρ m/‖m‖ with Adam's
    first moment m, global norm, first step unperturbed."""
    beta1, beta2 = betas
    w = problem.start.clone()
    perturbed = w.clone()
    m, v = torch.zeros_like(w), torch.zeros_like(w)
    stored, base = [], []
    for k, rho in enumerate(rhos):
        t = k + 1
        g = problem.grad(perturbed, k)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        w = w * (1 - lr * weight_decay) - lr * adamw_direction(m, v, t, beta1, beta2, eps)
        perturbed = w - rho * m / (m.norm() + 1e-12)
        stored.append(perturbed)
        base.append(w)
    return stored, base


@pytest.mark.parametrize("foreach", [True, False])
@pytest.mark.parametrize("rho_schedule,weight_decay", [("constant", 0.0), ("changing", 0.05)])
def test_msam_adamw(rho_schedule, weight_decay, foreach):
    problem, lr, betas, eps = NoisyProblem(), 0.02, (0.9, 0.999), 1e-8
    rhos = [0.3] * STEPS if rho_schedule == "constant" else (
        [0.0] * 8 + [1.0] * 12 + cosine_schedule(0.5, 40))
    expected = msam_adamw_recursion(problem, lr, betas, eps, weight_decay, rhos)
    actual = optimizer_trajectories(optimizers.MSAMAdamW, problem, group_updates=rho_updates(rhos),
                                    foreach=foreach, lr=lr, betas=betas, eps=eps, rho=rhos[0],
                                    weight_decay=weight_decay)
    assert_matches(expected, actual)


# --- SAM ------------------------------------------------------------------------------------------

def sam_recursion(problem, lr, momentum, rho, weight_decay, steps=STEPS):
    """Ascent ε = ρ g/‖g‖ (global norm, +1e-12) on batch k, gradient at w + ε on the same batch,
    then a heavy-ball SGD step from w (torch SGD: b = μb + g̃ + λw, b_1 = g̃_1 + λw)."""
    w = problem.start.clone()
    b = torch.zeros_like(w)
    trajectory = []
    for k in range(steps):
        g = problem.grad(w, k)
        ascent = w + rho * g / (g.norm() + 1e-12)
        sharp = problem.grad(ascent, k) + weight_decay * w
        b = momentum * b + sharp
        w = w - lr * b
        trajectory.append(w)
    return trajectory, trajectory


@pytest.mark.parametrize("foreach", [True, False])
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_sam(weight_decay, foreach):
    problem, lr, momentum, rho = NoisyProblem(), 0.05, 0.9, 0.2
    expected = sam_recursion(problem, lr, momentum, rho, weight_decay)
    actual = optimizer_trajectories(lambda params, **kw: optimizers.create("sam", params, **kw),
                                    problem, foreach=foreach, lr=lr, momentum=momentum, rho=rho,
                                    weight_decay=weight_decay)
    assert_matches(expected, actual)


def test_recursions_are_not_trivially_satisfied():
    """The reference recursions move the weights, and their shifts are not negligible."""
    problem = NoisyProblem()
    stored, base = overshoot_sgd_two_model(problem, [0.03] * STEPS, 0.9, 5.0, 0.0)
    assert (stored[-1] - base[-1]).norm() > 1e-2
    assert (base[-1] - problem.start).norm() > 0.5
    stored, base = msam_recursion(problem, 0.05, 0.9, [0.3] * STEPS, 0.0)
    assert math.isclose(float((stored[-1] - base[-1]).norm()), 0.3, rel_tol=1e-9)


# --- NAdam (the Overshoot paper's baseline) -------------------------------------------------------

def nadam_recursion(problem, lr, betas, eps, weight_decay, mu, steps=STEPS):
    """Decoupled decay w ← w(1 − ηλ), then m, v as Adam and w ← w − η(1−μ)/(1−μ^t)·g/d − ημ/(1−μ^(t+1))·m/d with
    d = √(v/(1−β2^t)) + ε and a constant Nesterov coefficient μ. μ^t is the running product Π μ in float32, as
    torch keeps it (its scalar dtype), and μ^(t+1) = that product times μ."""
    beta1, beta2 = betas
    w = problem.start.clone()
    m, v = torch.zeros_like(w), torch.zeros_like(w)
    product = torch.ones((), dtype=torch.float32)
    trajectory = []
    for k in range(steps):
        t = k + 1
        g = problem.grad(w, k)
        w = w * (1 - lr * weight_decay)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        d = (v / (1 - beta2**t)).sqrt() + eps
        product = product * mu
        w = w - lr * (1 - mu) / (1 - product.item()) * g / d - lr * mu / (1 - product.item() * mu) * m / d
        trajectory.append(w)
    return trajectory, trajectory


@pytest.mark.parametrize("foreach", [True, False])
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_nadam_has_the_constant_nesterov_coefficient_half_beta1(weight_decay, foreach):
    problem, lr, betas, eps = NoisyProblem(), 0.02, (0.9, 0.999), 1e-8
    actual = optimizer_trajectories(lambda params, **h: optimizers.create("nadam", params, **h), problem,
                                    foreach=foreach, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    assert_matches(nadam_recursion(problem, lr, betas, eps, weight_decay, mu=betas[0] / 2), actual)
    # Negative control: μ = β1 (what "schedule off" might be misread as) is another trajectory.
    stored, _ = actual
    assert_different_trajectory(stored, torch.stack(nadam_recursion(problem, lr, betas, eps, weight_decay,
                                                                    mu=betas[0])[0]))
