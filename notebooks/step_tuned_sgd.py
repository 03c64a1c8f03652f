# %% [markdown]
# # Step-Tuned SGD and the Barzilai–Borwein step
#
# Castera, Bolte, Févotte, Pauwels (Neural Processing Letters 2022) tune SGD's step with a
# stochastic Barzilai–Borwein (BB) estimate of the local curvature. This notebook walks through the
# checks in `theory/barzilai_borwein.py`; it holds no logic of its own.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from theory import barzilai_borwein as bb

torch.set_num_threads(1)

# %% [markdown]
# ## 1. BB steps from a local quadratic model
# Model the Hessian as I/α and ask the secant equation ∇²f·s = y to hold in least squares, either as
# ‖s/α − y‖² or as ‖s − αy‖². In terms of the inner products sᵀs, sᵀy, yᵀy:

# %%
bb.secant_least_squares()

# %%
outcome = bb.check_local_quadratic()
outcome.verdict, outcome.key_number

# %% [markdown]
# ## 2. Deterministic BB on strictly convex quadratics
# BB converges but is not a descent method: f rises on a sizeable fraction of steps.

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for condition in bb.CONDITION_NUMBERS:
    losses, norms = bb.barzilai_borwein_run(*bb.convex_quadratic(100, condition, seed=0))
    axes[0].semilogy(norms / norms[0], label=f"κ = {condition:g}")
    axes[1].plot(np.diff(losses)[:80] > 0, ".", label=f"κ = {condition:g}")
axes[0].set(xlabel="iteration", ylabel="‖g_k‖ / ‖g_0‖", title="gradient norm")
axes[1].set(xlabel="iteration", ylabel="f increased (1) or not (0)", title="non-monotone steps")
axes[0].legend()
plt.tight_layout()

# %%
outcome = bb.check_quadratic_convergence()
outcome.verdict, outcome.key_number

# %% [markdown]
# ## 3. Step-Tuned SGD measures the curvature along its step
# With β = 0 on f = λx²/2, γ_{k+1} = ‖Δθ‖²/⟨Δg, Δθ⟩ = 1/λ, then clipped to [0.5, 2] (ν = 2 where the
# curvature is not positive).

# %%
curvatures = np.linspace(-1, 5, 61)
measured = [bb.step_tuned_gammas(c, iterations=1)[0] for c in curvatures if c != 0]
plt.plot([c for c in curvatures if c != 0], measured, "o", label="StepTunedSGD γ")
grid = np.linspace(0.15, 5, 200)
plt.plot(grid, 1 / grid, label="1/λ (unclipped)")
plt.ylim(0, 2.5)
plt.xlabel("λ")
plt.ylabel("γ after one step")
plt.legend();

# %%
outcome = bb.check_curvature()
outcome.verdict, outcome.key_number

# %% [markdown]
# ## 4. Gradient norm along noisy non-convex runs
# The paper proves almost-sure convergence to the critical set for step sizes α/(k+1)^{1/2+δ}, δ > 0.
# A finite run can only show the decrease; δ = 0 changes the step by at most (k+1)^{−0.001}.

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for axis, (name, (problem_class, lr)) in zip(axes, bb.PROBLEMS.items()):
    for seed in (0, 1):
        iterations, norms = bb.step_tuned_gradient_norms(problem_class(seed=seed), lr, 0.001, 600, 20)
        axis.loglog(iterations[1:], norms[1:], label=f"seed {seed}")
    axis.set(title=name, xlabel="iteration k", ylabel="‖∇F(θ_k)‖")
    axis.legend()
plt.tight_layout()

# %%
outcome = bb.check_critical_set(seeds=(0, 1), deltas=(0.001, 0.0), iterations=300)
outcome.verdict, outcome.key_number
