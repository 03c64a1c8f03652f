"""Weak-error estimators: SGD and SGDM driven by common noise, many chains as one batch tensor.

Serves paper 2 (Wang et al., "On the Marginal Value of Momentum for Small Learning Rate SGD",
arXiv 2307.15196), whose theorems say that SGD (lr η) and SGDM at the matched lr are weak
approximations of each other: |E φ(x_k) − E φ(y_k)| is small for smooth test functions φ. Here:

* ``run_coupled`` runs both methods on one noise sequence (common random numbers), so the per-chain
  difference φ(x_k) − φ(y_k) has a far smaller variance than two independent runs would give;
* ``svag_oracle`` is the stochastic variance amplified gradient of Li, Malladi and Arora (2021);
* ``group_means`` and ``bootstrap_interval`` turn per-chain values into i.i.d. group means and a
  ``scipy.stats.bootstrap`` confidence interval of any statistic of them;
* ``loglog_slope`` is the least-squares slope that the rate checks bootstrap.
"""

import dataclasses
import math
from collections.abc import Callable, Sequence

import numpy as np
import scipy.stats
import torch

from experiments.svag import coefficients as svag_coefficients  # the harness's SVAG weights, one definition

StochasticGradient = Callable[[torch.Tensor, object], torch.Tensor]
"""g(x, ξ): the gradient at the batch of iterates x (chains in the leading dimension) under noise ξ."""
NoiseDraw = Callable[[torch.Generator], object]
"""Draws the noise ξ_k of one step for every chain."""


@dataclasses.dataclass(frozen=True)
class CoupledRun:
    """Final iterates of both methods and what ``observe`` returned along the way."""

    sgd: torch.Tensor
    sgdm: torch.Tensor
    observations: list


def run_coupled(stochastic_gradient: StochasticGradient, draw_noise: NoiseDraw, start: torch.Tensor, *,
                lr: float, momentum_lr: float, beta: float, n_steps: int, seed: int,
                observe: Callable[[torch.Tensor, torch.Tensor], object] | None = None,
                observe_every: int = 0) -> CoupledRun:
    """SGD and PyTorch-form SGDM from the same ``start``, fed the same noise ξ_k at every step::

        SGD:   x_{k+1} = x_k − η g(x_k, ξ_k)
        SGDM:  b_{k+1} = β b_k + g(y_k, ξ_k),   y_{k+1} = y_k − γ b_{k+1},   b_0 = 0

    with η = ``lr`` and γ = ``momentum_lr``; the matched pair of paper 2 is γ = η(1 − β) (the
    EMA form m = (1 − β) b with lr η). ``start`` holds every chain (leading dimension), so one call
    is the whole Monte-Carlo ensemble. ``observe(x, y)`` is recorded at step 0 and after every
    ``observe_every`` steps (0: never).
    """
    generator = torch.Generator().manual_seed(seed)
    x, y = start.clone(), start.clone()
    buffer = torch.zeros_like(start)
    observations = [observe(x, y)] if observe and observe_every else []
    for step in range(1, n_steps + 1):
        noise = draw_noise(generator)
        x = x - lr * stochastic_gradient(x, noise)
        buffer = beta * buffer + stochastic_gradient(y, noise)
        y = y - momentum_lr * buffer
        if observe and observe_every and step % observe_every == 0:
            observations.append(observe(x, y))
    return CoupledRun(sgd=x, sgdm=y, observations=observations)


def svag_oracle(stochastic_gradient: StochasticGradient, draw_noise: NoiseDraw,
                ell: int) -> tuple[StochasticGradient, NoiseDraw]:
    """SVAG with factor ℓ (Li, Malladi, Arora 2021): the combination c₁g(x, ξ₁) + c₂g(x, ξ₂) of two
    independent draws. Run with lr η/ℓ for ℓ times as many steps, its SDE limit is that of the
    original oracle at lr η, while the per-step curvature effects shrink like 1/ℓ. ℓ = 1 is the
    original oracle (c₂ = 0, one draw)."""
    if ell == 1:
        return stochastic_gradient, draw_noise
    first, second = svag_coefficients(ell)

    def amplified_gradient(x: torch.Tensor, noise: tuple) -> torch.Tensor:
        return first * stochastic_gradient(x, noise[0]) + second * stochastic_gradient(x, noise[1])

    def draw_two(generator: torch.Generator) -> tuple:
        return draw_noise(generator), draw_noise(generator)

    return amplified_gradient, draw_two


def group_means(per_chain: torch.Tensor, n_groups: int) -> np.ndarray:
    """Means of ``n_groups`` equal consecutive groups of chains (leading dimension), as float64 numpy.
    Chains are i.i.d., so the group means are too, and bootstrapping them is cheap."""
    if per_chain.shape[0] % n_groups:
        raise ValueError(f"{per_chain.shape[0]} chains do not split into {n_groups} equal groups")
    grouped = per_chain.reshape(n_groups, -1, *per_chain.shape[1:])
    return grouped.mean(dim=1).double().numpy()


@dataclasses.dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float

    def covers(self, value: float) -> bool:
        return self.low <= value <= self.high


def bootstrap_interval(samples: Sequence[np.ndarray], statistic: Callable[[list[np.ndarray]], np.ndarray], *,
                       confidence: float, n_resamples: int, seed: int) -> Interval:
    """A BCa bootstrap interval (``scipy.stats.bootstrap``) of ``statistic`` over independent samples.

    ``samples[i]`` has shape (n_i, ...): n_i i.i.d. observations (e.g. group means), each may be an
    array. Each sample is resampled along its first axis independently of the others. ``statistic``
    gets a list with one array per sample, of shape (batch, n_i, ...) (batch may be 1 for some samples:
    it must broadcast), and returns shape (batch,).
    Resampling row indices lets an observation be an array, which scipy's own batching does not allow.
    """
    samples = [np.asarray(sample, dtype=np.float64) for sample in samples]

    def on_indices(*indices, axis=-1):
        rows = [sample[np.asarray(index, dtype=np.int64)] for sample, index in zip(samples, indices)]
        batch_shape = np.broadcast_shapes(*(np.shape(index)[:-1] for index in indices))
        return statistic([row if np.ndim(index) > 1 else row[None] for row, index in zip(rows, indices)]).reshape(
            batch_shape)

    result = scipy.stats.bootstrap(
        tuple(np.arange(len(sample), dtype=np.float64) for sample in samples), on_indices,
        n_resamples=n_resamples, batch=max(1, 200_000 // max(sample.size for sample in samples)),
        vectorized=True, confidence_level=confidence, method="BCa", rng=np.random.default_rng(seed))
    estimate = float(statistic([sample[None] for sample in samples])[0])
    return Interval(estimate, float(result.confidence_interval.low), float(result.confidence_interval.high))


def loglog_slope(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares slope of log y against log x along the last axis (y may carry batch axes)."""
    log_x = np.log(np.asarray(x, dtype=np.float64))
    centred = log_x - log_x.mean()
    log_y = np.log(y)
    return (log_y * centred).sum(axis=-1) / (centred * centred).sum()
