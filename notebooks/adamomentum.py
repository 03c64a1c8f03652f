# %% [markdown]
# # AdaMomentum: the second moment of the momentum
#
# Wang et al. (arXiv 2106.11514) replace g_t² by m_t² in Adam's second moment. This notebook walks
# through the checks in `theory/adamomentum.py`; it holds no logic of its own.

# %%
import sympy as sp
import torch
from IPython.display import Image, display

from theory import adamomentum as am
from theory import report

torch.set_num_threads(1)


def show(outcome):
    """Print the verdict and key number and display the figure the check saved."""
    print(f"{outcome.verdict}: {outcome.key_number}")
    if "figure" in outcome.evidence:
        display(Image(filename=str(report.figure_path(outcome.evidence["figure"]))))

# %% [markdown]
# ## 1. Pure noise: the momentum's variance is smaller, so the steps are larger
# m_t = β1 m_{t−1} + (1−β1)g_t with i.i.d. zero-mean g of variance σ²: V = β1²V + (1−β1)²σ².

# %%
variance = am.stationary_momentum_variance()
variance, sp.simplify(sp.sqrt(am.sigma**2 / variance))

# %% [markdown]
# Measured: AdaMomentum against torch Adam on the same noise stream (left, against β1), and under a
# constant gradient (right), where the two coincide once m has caught up with g.

# %%
outcome = am.check_noise_scale(figure="adamomentum-noise-scale.png")
show(outcome)
outcome.evidence["constant_gradient_step_ratio"]

# %% [markdown]
# ## 2. Reddi et al.'s online counterexample, judged by the regret
# f_t(x) = 1010x once every 101 steps, −10x otherwise, on [−1, 1]: the optimum is −1. With α_t = α/√t on a grid
# of α, each run is classed by the log–log slope of its regret R(T) (≈ 1/2 for O(√T), 1 for linear). An α
# counts only where the control, AdaMomentum with an AMSGrad-style max over v̂, converges within the horizon.
# The paper's convex theorem (text not available) needs α_t/√v̂_t non-increasing; plain AdaMomentum's v̂ falls
# on many steps, so a linear regret there cannot contradict it:

# %%
show(am.check_reddi_counterexample(figure="adamomentum-reddi-counterexample.png"))

# %% [markdown]
# The finding about the algorithm, separately: without the max AdaMomentum fails like Adam; with it, it
# converges. The slope is a weak test at this horizon: Adam, which ends near the wrong end x = +1 for α ≥ 0.5,
# reads 'sublinear' there, because the √T part of its regret still dominates the linear part (see
# `am.SUBLINEAR_SLOPE`). At β1 = 0 (Reddi et al.'s Theorem 1) AdaMomentum is Adam, up to where ε sits:

# %%
outcome = am.check_reddi_without_max(figure="adamomentum-reddi-without-max.png")
show(outcome)
outcome.evidence["theorem_1_construction"]["max_direction_difference_candidate_vs_adam"]

# %% [markdown]
# A negative control: the max kept, but the α/√t decay dropped. The assumption holds (α/√v̂ never increases),
# the regret is linear, and the check refutes it:

# %%
print(am.check_reddi_counterexample(am.adamomentum_max_directions,
                                    schedule=lambda alpha, t: alpha + 0 * t).key_number)

# %% [markdown]
# ## 3. Non-convex convergence
# Cauchy-loss regression with one-sample gradients; the running minimum of E‖∇f(x_t)‖² against the assumed
# bound log T/√T, read as an upper bound. With a constant step the norm stalls at the noise floor:

# %%
show(am.check_nonconvex(figure="adamomentum-nonconvex.png"))
print(am.check_nonconvex(schedule=lambda alpha, t: alpha).key_number)
