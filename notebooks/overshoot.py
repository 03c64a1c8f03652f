# %% [markdown]
# # Overshoot: the efficient form, its special cases, and where the official code drifts
#
# Kopal et al. (arXiv 2501.09556) take the gradient at θ'_t = θ_t + γ(θ_t − θ_{t−1}). This notebook
# walks through the checks in `theory/overshoot.py`; it holds no logic of its own.

# %%
import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
import torch
from IPython.display import Image, display

from theory import overshoot as ov
from theory import report
from theory.overshoot import beta, eta, gamma

torch.set_num_threads(1)


def show(outcome):
    """Print the verdict and key number and display the figure the check saved."""
    print(f"{outcome.verdict}: {outcome.key_number}")
    if "figure" in outcome.evidence:
        display(Image(filename=str(report.figure_path(outcome.evidence["figure"]))))

# %% [markdown]
# ## 1. Two models vs one: the zero-memory update
# Two-model definition: b_t = βb_{t−1} + g_t, θ_t = θ_{t−1} − ηb_t, θ'_t = θ_t − ηγb_t. Substituting
# b_{t−1} = (b_t − g_t)/β gives θ'_t = θ'_{t−1} − η[(γ/β)g_t + (1+γ−γ/β)b_t]. Unrolled with symbolic
# gradients g_1, g_2, … both give the same θ'_k:

# %%
two_model = ov.symbolic_two_model(eta, beta, gamma)
efficient = ov.symbolic_efficient(eta, beta, gamma / beta, 1 + gamma - gamma / beta)
sp.collect(sp.expand(two_model[2]), ov.gradient_symbols), [sp.simplify(a - b) for a, b in zip(two_model, efficient)]

# %%
for check in (ov.efficient_form, ov.nesterov, ov.quasi_hyperbolic, ov.sgd_point):
    outcome = check()
    print(f"{check.__name__:18s} {outcome.verdict:9s} {outcome.key_number}")

# %% [markdown]
# ## 2. One family: CM, NAG and SGD as QHM
# SGDO is quasi-hyperbolic momentum with α = η/(1−β), ν = 1 − γ(1−β)/β: γ = 0 → ν = 1 (CM),
# γ = β → ν = β (NAG), γ = β/(1−β) → ν = 0 (plain SGD at lr η/(1−β)).

# %%
nu = 1 - gamma * (1 - beta) / beta
overshoots = np.linspace(0, 10, 101)
plt.plot(overshoots, [float(nu.subs({beta: 0.9, gamma: g})) for g in overshoots])
for label, value in (("CM", 0), ("NAG", 0.9), ("paper's 3–7", 5), ("SGD", 9)):
    plt.axvline(value, ls=":", color="gray")
    plt.text(value, 1.02, label, ha="center")
plt.xlabel("overshoot γ (β = 0.9)")
plt.ylabel("QHM ν");

# %% [markdown]
# ## 3. The official efficient form under a cosine lr and weight decay
# It assumes η_t = η_{t−1} and takes L2 at θ'. The project's OvershootSGD stores the applied shift
# and takes L2 at θ, and stays on the two-model trajectory. Per-step deviation of the base weights
# from the two-model definition, in each setting:

# %%
outcome = ov.check_schedule_deviation(figure="overshoot-schedule-deviation.png")
show(outcome)
outcome.evidence["official_relative_deviation"]

# %% [markdown]
# ## 4. AdamO: the shipped update reuses the new denominator
# Removing the old shift needs d_{t−1}; the shipped AdamO uses d_t, so it is only approximately
# two-model AdamW. The project's OvershootAdamW(exact=True) is the control that must stay exact.

# %%
show(ov.check_adamo_approximation(figure="overshoot-adamo-approximation.png"))
