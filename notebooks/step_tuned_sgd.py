# %% [markdown]
# # Step-Tuned SGD and the Barzilai–Borwein step
#
# Castera, Bolte, Févotte, Pauwels (Neural Processing Letters 2022) tune SGD's step with a
# stochastic Barzilai–Borwein (BB) estimate of the local curvature. This notebook walks through the
# checks in `theory/barzilai_borwein.py`; it holds no logic of its own.

# %%
import torch
from IPython.display import Image, display

from theory import barzilai_borwein as bb
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
# A finite run can only show the decrease; δ = 0 changes the step by at most (k+1)^{−0.001}. Here at
# reduced size (2 seeds, 300 iterations; the ledger runs 3 seeds, 600 iterations).

# %%
show(bb.check_critical_set(seeds=(0, 1), deltas=(0.001, 0.0), iterations=300, figure="stsgd-critical-set.png"))
