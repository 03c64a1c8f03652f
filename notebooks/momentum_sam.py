# %% [markdown]
# # Momentum-SAM: NAG's look-ahead turned around
#
# Becker, Altrock, Risse (arXiv 2401.12033) take the gradient at w − ρv/‖v‖. This notebook walks
# through the checks in `theory/msam.py` on a small MLP on scikit-learn's digits; no logic of its own.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from theory import msam

torch.set_num_threads(1)

# %% [markdown]
# ## 1. Special cases: ρ = 0 is SGDM, ρ_t = ημ‖v_t‖ is Nesterov
# Both store the shifted weights; with shift scale ρ_t/‖v_t‖ = ημ MSAM's update is PyTorch's
# Nesterov step. The same shift with the opposite sign is not.

# %%
for outcome in (msam.rho_zero(), msam.nesterov(), msam.check_nesterov(sign=-1.0)):
    print(f"{outcome.verdict:9s} {outcome.key_number}")

# %% [markdown]
# ## 2. Does the next batch's gradient point against the momentum?
# The paper's reason for perturbing along −v: cos(v_{t−1}, g_t) < 0 for most of training. Here it
# depends on the learning rate, i.e. on how far each step overshoots.

# %%
data = msam.load_digits_split()
fig, axis = plt.subplots(figsize=(7, 3.5))
for lr in msam.COSINE_LEARNING_RATES:
    cosines = msam.momentum_gradient_cosines(data, seed=0, lr=lr, momentum=0.9, epochs=8)
    running = np.convolve(cosines, np.ones(25) / 25, mode="valid")
    axis.plot(running, label=f"lr {lr:g}: {100 * np.mean(cosines < 0):.0f} % negative")
axis.axhline(0, color="gray", lw=0.5)
axis.set(xlabel="step", ylabel="cos(v_{t−1}, g_t), 25-step mean")
axis.legend();

# %% [markdown]
# ## 3. Sharpness after training: −v (MSAM), +v (flipped) and SGDM
# Top Hessian eigenvalue of the full training loss by Lanczos on Hessian-vector products.

# %%
outcome = msam.check_perturbation_sign(dict(msam.SIGN_SETTING, seeds=(0, 1)))
names = ("SGDM", "MSAM −v", "flipped +v")
values = np.array([[run[name]["top_hessian_eigenvalue"] for name in names]
                   for run in outcome.evidence["runs"].values()])
plt.bar(names, values.mean(0), yerr=values.std(0), capsize=4)
plt.ylabel("top Hessian eigenvalue")
outcome.verdict, outcome.key_number
