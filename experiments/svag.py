"""SVAG, the Stochastic Variance Amplified Gradient (Li, Malladi & Arora 2021, "On the Validity of Modeling SGD
with Stochastic Differential Equations", NeurIPS 2021, arXiv 2102.12470), as used in "On the Marginal Value of
Momentum for Small Learning Rate SGD" (Wang, Malladi, Wang, Lyu & Li, ICLR 2024, arXiv 2307.15196), Def. 5.1.

With factor ℓ ≥ 1, each step draws two independent minibatches B₁, B₂ and takes the gradient

    g = c₁ g(B₁) + c₂ g(B₂),    c₁ = (1 + √(2ℓ−1))/2,    c₂ = (1 − √(2ℓ−1))/2.

c₁ + c₂ = 1, so E[g] is the full-batch gradient, as for one batch; c₁² + c₂² = (1 + (2ℓ−1))/2 = ℓ, so for
independent batches Cov[g] = ℓ·Σ, with Σ the covariance of one minibatch gradient. Run with learning rate η/ℓ for
ℓ times as many steps, SGD then follows the same SDE as with (η, ℓ = 1) and converges to it as ℓ → ∞ (the
protocol, ``experiments.protocol``, does that scaling; this module only forms the gradient). ℓ = 1 is plain SGD
on one batch (c₁ = 1, c₂ = 0); then only one batch is drawn.

The gradient is formed as the backward of c₁ L(B₁) + c₂ L(B₂), with L the task's mean loss over a batch: two
forward passes, so BatchNorm normalises each batch on its own and never mixes them.

The harness (``experiments.train``) takes B₁, B₂ as two consecutive batches of its seeded data order, so an epoch
holds half as many steps. Within an epoch the batches are drawn without replacement, hence disjoint: with N
training examples, batch size b and per-example gradient variance σ² (divisor N), Var g(B) = σ²(N−b)/(b(N−1)) and
Cov(g(B₁), g(B₂)) = −σ²/(N−1), so Cov[g] = ℓ·Var g(B) + (ℓ−1)σ²/(N−1): ℓ times the one-batch covariance up to the
relative excess (ℓ−1)b/(ℓ(N−b)) < b/(N−b) (2.3% for b = 32 of N = 1437; 0.6% for b = 64 of N = 10,000).
"""

import math

import torch


def coefficients(ell: int) -> tuple[float, float]:
    """(c₁, c₂) = ((1 + √(2ℓ−1))/2, (1 − √(2ℓ−1))/2)."""
    root = math.sqrt(2 * ell - 1)
    return (1 + root) / 2, (1 - root) / 2


def batches_per_step(ell: int) -> int:
    """Minibatches drawn, and gradients evaluated, per gradient of the optimizer: 1 for ℓ = 1, else 2."""
    return 1 if ell == 1 else 2


def objective(losses: list[torch.Tensor], ell: int) -> torch.Tensor:
    """The scalar whose gradient is the SVAG gradient: L(B₁) itself for ℓ = 1 (one loss), else c₁ L(B₁) + c₂ L(B₂)
    (two losses, of independent batches)."""
    if len(losses) != batches_per_step(ell):
        raise ValueError(f"SVAG with ell={ell} takes {batches_per_step(ell)} batch losses, got {len(losses)}")
    if ell == 1:
        return losses[0]
    first, second = coefficients(ell)
    return first * losses[0] + second * losses[1]
