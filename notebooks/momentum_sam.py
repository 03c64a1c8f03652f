# %% [markdown]
# # Momentum-SAM: NAG's look-ahead turned around
#
# Becker, Altrock, Risse (arXiv 2401.12033) take the gradient at w − ρv/‖v‖. This notebook walks
# through the checks in `theory/msam.py` on a small MLP on scikit-learn's digits; no logic of its own.

# %%
import torch
from IPython.display import Image, display

from theory import msam, report

torch.set_num_threads(1)


def show(outcome):
    """Print the verdict and key number and display the figure the check saved."""
    print(f"{outcome.verdict}: {outcome.key_number}")
    if "figure" in outcome.evidence:
        display(Image(filename=str(report.figure_path(outcome.evidence["figure"]))))

# %% [markdown]
# ## 1. Special cases: ρ = 0 is SGDM, ρ_t = ημ‖v_t‖ is Nesterov
# Both store the shifted weights; with shift scale ρ_t/‖v_t‖ = ημ MSAM's update is PyTorch's
# Nesterov step. The same shift with the opposite sign is not.

# %%
for outcome in (msam.rho_zero(), msam.nesterov(), msam.check_nesterov(sign=-1.0)):
    print(f"{outcome.verdict:9s} {outcome.key_number}")

# %% [markdown]
# ## 2. Does the next batch's gradient point against the momentum, and does the sign matter?
# The paper's reason for perturbing along −v: cos(v_{t−1}, g_t) < 0 for most of training. Here it
# depends on the learning rate, i.e. on how far each step overshoots (left: SGDM runs at the
# verdict's lr and at the other lrs of the grid). Right: top Hessian eigenvalue of the full training
# loss (Lanczos on Hessian-vector products) after SGDM, MSAM (−v) and the flipped perturbation (+v).
# Reduced to 2 seeds here (the ledger runs 3).

# %%
show(msam.check_perturbation_sign(dict(msam.SIGN_SETTING, seeds=(0, 1)), figure="msam-perturbation-sign.png"))
