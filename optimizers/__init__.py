"""Exact ``torch.optim`` implementations of the methods the five papers propose, plus baselines.

    >>> import optimizers
    >>> opt = optimizers.create("overshoot-sgd", model.parameters(), lr=0.01, overshoot=5.0)
    >>> with opt.base_weights():   # evaluate / checkpoint the base, not the shifted, weights
    ...     evaluate(model)

Every optimizer's docstring holds its update equations, momentum convention and defaults. ``optimizers.integrations``
(imported on demand) evaluates, saves and averages at the base weights in Hugging Face's ``Trainer``, Lightning and
``torch.optim.swa_utils``.
"""

from .adamomentum import AdaMomentum
from .msam import MSAM
from .msam_adamw import MSAMAdamW
from .overshoot_adamw import OvershootAdamW
from .overshoot_sgd import OvershootSGD
from .registry import OptimizerInfo, available, create, info
from .sam import SAM
from .step_tuned_sgd import StepTunedSGD

__all__ = ["AdaMomentum", "MSAM", "MSAMAdamW", "OvershootAdamW", "OvershootSGD", "SAM",
           "StepTunedSGD", "OptimizerInfo", "available", "create", "info"]
