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
# The paper's reason for perturbing along −v: cos(v_{t−1}, g_t) < 0 for most of training, so −v is
# an ascent direction. Its consequences: perturbing along +v lowers test accuracy and, by the
# paper's flatness argument, gives a sharper solution. Each part is a 95 % interval over 8 seeds
# (left: the cosines along SGDM; middle: top Hessian eigenvalue of the full training loss, taken
# where each run first reaches the same training loss, the lowest level all −v and +v runs reach; right:
# test accuracy after the same number of steps). The last line shows where along training each
# run (−v, +v) is when it reaches the matched loss.

# %%
outcome = msam.perturbation_sign()
show(outcome)
print("parts:", outcome.evidence["parts"])
print("fraction of cos < 0 at other lrs (seed 0):", outcome.evidence["negative_cosine_fraction_by_lr_seed0"])
print("step at which each run reaches L*:", {seed: (run["−v"]["matched_step"], run["+v"]["matched_step"])
                                             for seed, run in outcome.evidence["per_seed"].items()})

# %% [markdown]
# ## 3. Is the cosine positive after the update?
# Once v has absorbed g_t, v_t = μ v_{t−1} + g_t, its cosine with g_t is positive (the paper's
# appendix A.3.2: just under 0.5 at μ = 0.9). If v_{t−1} were orthogonal to g_t and the gradients
# uncorrelated with equal norms, it would be √(1 − μ²) ≈ 0.44. The same rule applied to the cosine
# before the update is the control.

# %%
show(msam.cosine_after_update())
print(msam.check_cosine_after_update(momentum_vector="previous").key_number)
