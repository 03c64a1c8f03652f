# %% [markdown]
# # Step-Tuned SGD and the Barzilai–Borwein step
#
# Castera, Bolte, Févotte, Pauwels (Neural Processing Letters 2022) tune SGD's step with a
# stochastic Barzilai–Borwein (BB) estimate of the local curvature. This notebook walks through the
# checks in `theory/step_tuned_sgd.py`; it holds no logic of its own.

# %%
import torch
from IPython.display import Image, display

from theory import step_tuned_sgd as bb
from theory import report

torch.set_num_threads(1)


def show(outcome):
    """Print the verdict and key number and display the figure the check saved."""
    print(f"{outcome.verdict}: {outcome.key_number}")
    if "figure" in outcome.evidence:
        display(Image(filename=str(report.figure_path(outcome.evidence["figure"]))))

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
# BB converges but is not a descent method: f rises on a sizeable fraction of steps. The figure shows
# the first seed's run per condition number κ.

# %%
show(bb.check_quadratic_convergence(figure="bb-quadratic-convergence.png"))

# %% [markdown]
# ## 3. Step-Tuned SGD measures the curvature along its step
# With β = 0 on f = λx²/2, γ_{k+1} = ‖Δθ‖²/⟨Δg, Δθ⟩ = 1/λ, then clipped to [0.5, 2] (ν = 2 where the
# curvature is not positive).

# %%
show(bb.check_curvature(figure="stsgd-curvature.png"))

# %% [markdown]
# ## 4. Gradient norm along noisy non-convex runs
# The paper proves almost-sure convergence to the critical set for step sizes α/(k+1)^{1/2+δ}, δ > 0.
# A finite run can only show the trend: the check fits ‖∇F(θ_k)‖ ∝ k^slope over the second half of
# each run and asks the 95 % interval over 8 seeds to lie below 0; a diverged run refutes. It cannot
# tell δ = 0.001 from δ = 0 (the steps differ by at most (k+1)^{−0.001}). Without the decay the runs
# at the tuned α diverge (refuted); a smaller, stable constant step settles at a noise floor, which
# this rule calls inconclusive.

# %%
show(bb.check_critical_set(figure="stsgd-critical-set.png"))

# %% [markdown]
# ## 5. Does the averaged curvature estimate track the curvature?
# With β > 0 the optimizer averages the same-batch gradient differences, G_k = βG_{k−1} + (1−β)Δg_k,
# and estimates the curvature as c_k = ⟨Ĝ_k, Δθ_k⟩/‖Δθ_k‖² (γ = 1/c_k before clipping). On one batch
# of λx²/2 + σξx, Δg_j = λΔθ_j exactly, so c_k = λ⟨m_k, Δθ_k⟩/‖Δθ_k‖² with m_k the average of the
# *steps*. Once the noise sets the sign of each step, the past steps are unrelated to the current one
# and c_k falls to about (1−β)λ, with heavy tails and c_k ≤ 0 on about a third of the steps. With
# β = 0 the estimate is λ exactly; a closure that draws a new batch on each call adds the batch noise
# to the difference.

# %%
show(bb.check_curvature_tracking(figure="stsgd-curvature-tracking.png"))

# %%
for beta in (0.0, 0.5):
    outcome = bb.check_curvature_tracking(beta=beta)
    print(f"β = {beta:g}: {outcome.verdict}: {outcome.key_number}")
