"""The one registry of optimizers: names, constructors, defaults and per-method costs."""

import dataclasses
import inspect
from collections.abc import Callable

import torch

from . import hyperparameters
from .adamomentum import AdaMomentum
from .msam import MSAM
from .msam_adamw import MSAMAdamW
from .overshoot_adamw import OvershootAdamW
from .overshoot_sgd import OvershootSGD
from .sam import SAM
from .step_tuned_sgd import StepTunedSGD
from .torch_baselines import SGD, Adam, AdamW, NAdam, RMSprop


@dataclasses.dataclass(frozen=True)
class OptimizerInfo:
    """What the harness and the tables need to know about one method."""

    name: str
    constructor: Callable[..., torch.optim.Optimizer]
    paper: str
    gradient_evaluations: int
    needs_closure: bool
    stores_shifted_weights: bool
    defaults: dict

    def create(self, params, **hparams) -> torch.optim.Optimizer:
        unknown = sorted(set(hparams) - set(self.defaults))
        if unknown:
            raise ValueError(f"{unknown[0]}={hparams[unknown[0]]!r} is not a hyperparameter of "
                             f"{self.name!r}; allowed: {', '.join(sorted(self.defaults))}")
        return self.constructor(params, **hparams)


def _sgd(params, lr: float, weight_decay: float = 0.0, *, foreach: bool | None = None):
    """Plain SGD."""
    return SGD(params, lr=hyperparameters.non_negative("lr", lr), momentum=0.0,
               weight_decay=hyperparameters.non_negative("weight_decay", weight_decay),
               foreach=foreach)


def _sgdm(params, lr: float, momentum: float = 0.9, weight_decay: float = 0.0, *,
          foreach: bool | None = None):
    """Heavy-ball SGD, PyTorch form: b = βb + g, θ −= ηb."""
    return SGD(params, lr=hyperparameters.non_negative("lr", lr),
               momentum=hyperparameters.momentum_coefficient("momentum", momentum),
               weight_decay=hyperparameters.non_negative("weight_decay", weight_decay),
               foreach=foreach)


def _nag(params, lr: float, momentum: float = 0.9, weight_decay: float = 0.0, *,
         foreach: bool | None = None):
    """Nesterov SGD, PyTorch form: b = βb + g, θ −= η(g + βb)."""
    return SGD(params, lr=hyperparameters.non_negative("lr", lr),
               momentum=hyperparameters.check_range("momentum", momentum, low=0.0, high=1.0,
                                                    low_open=True, high_open=True),
               weight_decay=hyperparameters.non_negative("weight_decay", weight_decay),
               nesterov=True, foreach=foreach)


def _adam(params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
          weight_decay: float = 0.0, *, foreach: bool | None = None):
    """Adam with coupled L2 weight decay, as torch.optim.Adam."""
    return Adam(params, lr=hyperparameters.non_negative("lr", lr),
                betas=hyperparameters.betas_pair("betas", betas),
                eps=hyperparameters.positive("eps", eps),
                weight_decay=hyperparameters.non_negative("weight_decay", weight_decay),
                foreach=foreach)


def _adamw(params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
           weight_decay: float = 0.01, *, foreach: bool | None = None):
    """AdamW (decoupled weight decay), as torch.optim.AdamW."""
    return AdamW(params, lr=hyperparameters.non_negative("lr", lr),
                 betas=hyperparameters.betas_pair("betas", betas),
                 eps=hyperparameters.positive("eps", eps),
                 weight_decay=hyperparameters.non_negative("weight_decay", weight_decay),
                 foreach=foreach)


def _nadam(params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0, *,
           foreach: bool | None = None):
    """NAdam as the Overshoot paper's baseline: torch.optim.NAdam with momentum_decay = 0 (its μ schedule off) and
    decoupled (AdamW-style) weight decay. torch's Nesterov coefficient is μ_t = β1·(1 − ½·0.96^(t·momentum_decay)),
    so here it is the constant μ = β1/2; per step t (from 1)::

        w ← w(1 − ηλ);   m ← β1 m + (1−β1) g;   v ← β2 v + (1−β2) g²;   d = √(v/(1−β2^t)) + ε
        w ← w − η(1−μ)/(1−μ^t)·g/d − ημ/(1−μ^(t+1))·m/d

    (torch keeps the product μ^t in float32.) That the Overshoot repository passes exactly these two arguments is
    the issue's reading of its baseline; its code was not available to check."""
    return NAdam(params, lr=hyperparameters.non_negative("lr", lr),
                 betas=hyperparameters.betas_pair("betas", betas),
                 eps=hyperparameters.positive("eps", eps),
                 weight_decay=hyperparameters.non_negative("weight_decay", weight_decay),
                 momentum_decay=0.0, decoupled_weight_decay=True, foreach=foreach)


def _rmsprop(params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
             momentum: float = 0.0, weight_decay: float = 0.0, *, foreach: bool | None = None):
    """RMSprop, as torch.optim.RMSprop."""
    return RMSprop(params, lr=hyperparameters.non_negative("lr", lr),
                   alpha=hyperparameters.momentum_coefficient("alpha", alpha),
                   eps=hyperparameters.positive("eps", eps),
                   momentum=hyperparameters.momentum_coefficient("momentum", momentum),
                   weight_decay=hyperparameters.non_negative("weight_decay", weight_decay),
                   foreach=foreach)


def _sam_over(base: Callable[..., torch.optim.Optimizer]) -> Callable[..., SAM]:
    """The registry constructor of SAM whose base step is registry constructor ``base`` (which validates the
    base's hyperparameters): ``base``'s hyperparameters, keyword-only, plus ``rho`` (ρ ≥ 0, default 0.05) and
    ``max_grad_norm`` (None, or c > 0 to clip each gradient evaluation)."""

    def constructor(params, *, rho: float = 0.05, max_grad_norm: float | None = None, **hparams) -> SAM:
        return SAM(params, base, rho=rho, max_grad_norm=max_grad_norm, **hparams)

    signature = inspect.signature(base)
    keyword = inspect.Parameter.KEYWORD_ONLY
    hyperparameter_list = [p.replace(kind=keyword) for name, p in signature.parameters.items() if name != "params"]
    constructor.__signature__ = signature.replace(parameters=[
        signature.parameters["params"], *hyperparameter_list,
        inspect.Parameter("rho", keyword, default=0.05, annotation=float),
        inspect.Parameter("max_grad_norm", keyword, default=None, annotation=float | None)], return_annotation=SAM)
    constructor.__name__ = constructor.__qualname__ = f"sam_over{base.__name__}"
    constructor.__doc__ = f"SAM (ρ, default 0.05) whose base step is: {base.__doc__}"
    return constructor


def _defaults(constructor) -> dict:
    """Constructor hyperparameters with their defaults (None where a value is required)."""
    signature = inspect.signature(constructor)
    return {name: (None if p.default is inspect.Parameter.empty else p.default)
            for name, p in signature.parameters.items() if name != "params"}


def _info(name, constructor, paper, evaluations=1, closure=False, shifted=False) -> OptimizerInfo:
    return OptimizerInfo(name, constructor, paper, evaluations, closure, shifted,
                         _defaults(constructor))


OVERSHOOT = "Kopal et al. 2025, Overshoot (arXiv 2501.09556)"
MSAM_PAPER = "Becker, Altrock, Risse 2024, Momentum-SAM (arXiv 2401.12033)"
SAM_PAPER = "Foret et al. 2021, SAM (arXiv 2010.01412)"

REGISTRY: dict[str, OptimizerInfo] = {info.name: info for info in [
    _info("sgd", _sgd, "baseline (torch.optim.SGD)"),
    _info("sgdm", _sgdm, "baseline (torch.optim.SGD, momentum)"),
    _info("nag", _nag, "baseline (torch.optim.SGD, nesterov=True)"),
    _info("adam", _adam, "baseline (torch.optim.Adam)"),
    _info("adamw", _adamw, "baseline (torch.optim.AdamW)"),
    _info("nadam", _nadam, "baseline (torch.optim.NAdam, momentum_decay=0 so μ = β1/2, decoupled weight decay; "
          "the Overshoot paper's)"),
    _info("rmsprop", _rmsprop, "baseline (torch.optim.RMSprop)"),
    _info("overshoot-sgd", OvershootSGD, OVERSHOOT, shifted=True),
    _info("overshoot-adamw", OvershootAdamW, OVERSHOOT, shifted=True),
    _info("adamomentum", AdaMomentum, "Wang et al. 2021, AdaMomentum (arXiv 2106.11514)"),
    _info("step-tuned-sgd", StepTunedSGD,
          "Castera et al. 2022, Step-Tuned SGD (arXiv 2103.03570)", evaluations=2, closure=True),
    _info("msam", MSAM, MSAM_PAPER, shifted=True),
    _info("msam-adamw", MSAMAdamW, MSAM_PAPER, shifted=True),
    _info("sam", _sam_over(_sgdm), f"{SAM_PAPER}; base step heavy-ball SGD (torch.optim.SGD, momentum), "
          "the MSAM paper's baseline", evaluations=2, closure=True),
    _info("sam-adamw", _sam_over(_adamw), f"{SAM_PAPER}; base step torch.optim.AdamW, MSAM-AdamW's baseline",
          evaluations=2, closure=True),
]}


def available() -> list[str]:
    """The registered optimizer names."""
    return list(REGISTRY)


def info(name: str) -> OptimizerInfo:
    """The registry entry of ``name``; ValueError naming the allowed names otherwise."""
    if name not in REGISTRY:
        raise ValueError(f"optimizer={name!r} is not registered; allowed: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def create(name: str, params, **hparams) -> torch.optim.Optimizer:
    """Build optimizer ``name`` over ``params`` with the given hyperparameters."""
    return info(name).create(params, **hparams)
