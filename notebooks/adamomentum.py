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
# ## 2. Reddi et al.'s online counterexample
# f_t(x) = 1010x once every 101 steps, −10x otherwise, on [−1, 1]: the optimum is −1, and Adam
# (β1 = 0.9, β2 = 0.99) drifts to the wrong end. AdaMomentum with the same betas, and AMSGrad (Reddi
# et al.'s fix) for comparison; left, the construction of their Theorem 1:

# %%
show(am.check_reddi_counterexample(figure="adamomentum-reddi-counterexample.png"))
