# %% [markdown]
# # AdaMomentum: the second moment of the momentum
#
# Wang et al. (arXiv 2106.11514) replace g_t² by m_t² in Adam's second moment. This notebook walks
# through the checks in `theory/adamomentum.py`; it holds no logic of its own.

# %%
import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
import torch

from theory import adamomentum as am

torch.set_num_threads(1)

# %% [markdown]
# ## 1. Pure noise: the momentum's variance is smaller, so the steps are larger
# m_t = β1 m_{t−1} + (1−β1)g_t with i.i.d. zero-mean g of variance σ²: V = β1²V + (1−β1)²σ².

# %%
variance = am.stationary_momentum_variance()
variance, sp.simplify(sp.sqrt(am.sigma**2 / variance))

# %%
momenta = np.linspace(0, 0.99, 100)
plt.semilogy(momenta, [float(am.STEP_RATIO.subs(am.beta1, b)) for b in momenta])
plt.axvline(0.9, ls=":", color="gray")
plt.xlabel("β1")
plt.ylabel("AdaMomentum / Adam step under pure noise");

# %%
outcome = am.noise_scale()
outcome.verdict, outcome.key_number, outcome.evidence["constant_gradient_step_ratio"]

# %% [markdown]
# ## 2. Reddi et al.'s online counterexample
# f_t(x) = 1010x once every 101 steps, −10x otherwise, on [−1, 1]: the optimum is −1, and Adam
# (β1 = 0.9, β2 = 0.99) drifts to the wrong end. AdaMomentum with the same betas:

# %%
gradients = am.online_linear_gradients(1010.0, 101, -10.0, 4040)
runs = {
    "Adam": lambda params: torch.optim.Adam(params, lr=am.REDDI_LR, betas=(0.9, 0.99)),
    "AMSGrad": lambda params: torch.optim.Adam(params, lr=am.REDDI_LR, betas=(0.9, 0.99), amsgrad=True),
    "AdaMomentum": lambda params: am.AdaMomentum(params, lr=am.REDDI_LR, betas=(0.9, 0.99)),
}
for name, make in runs.items():
    plt.plot(am.projected_online_run(make, gradients, am.REDDI_LR), label=name, lw=0.8)
plt.xlabel("t")
plt.ylabel("x_t")
plt.legend();

# %%
outcome = am.reddi_counterexample()
outcome.verdict, outcome.key_number
