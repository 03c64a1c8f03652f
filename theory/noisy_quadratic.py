"""SGD and SGD with momentum on quadratics: the exact algebra (sympy) and a batched simulator (torch).

Serves paper 2 (Wang, Malladi, Wang, Lyu, Li; "On the Marginal Value of Momentum for Small Learning
Rate SGD", arXiv 2307.15196). On one eigen-direction of a quadratic, f = h x²/2, with additive gradient
noise, g = h x + σ ξ (ξ ~ N(0, 1) i.i.d.), PyTorch-form SGDM with lr γ and momentum β,

    b_{k+1} = β b_k + g_k,    x_{k+1} = x_k − γ b_{k+1},

is the linear system s_{k+1} = A s_k + B ξ_k in the state s = (x, b) with

    A = [[1 − γh, −γβ], [h, β]],    B = σ (−γ, 1)ᵀ.

SGD (lr η) is the one-dimensional system x_{k+1} = (1 − ηh) x_k − ησ ξ_k. Everything here follows
from A and B: the stationary covariance solves the discrete Lyapunov equation P = A P Aᵀ + B Bᵀ,
stability means spectral radius ρ(A) < 1, and with σ = 0 the contraction rate is ρ(A).
"""

import dataclasses

import sympy as sp
import torch

ETA, GAMMA, BETA, H, SIGMA = sp.symbols("eta gamma beta h sigma", positive=True)
MU, L, KAPPA = sp.symbols("mu L kappa", positive=True)
_ABOVE_ONE = sp.Symbol("d", positive=True)
SYMBOLS = {str(s): s for s in (ETA, GAMMA, BETA, H, SIGMA, MU, L, KAPPA)}


def parse(formula: str) -> sp.Expr:
    """A formula string in this module's symbols (eta, gamma, beta, h, sigma, mu, L, kappa)."""
    return sp.sympify(formula, locals=SYMBOLS)


def is_identity(left: sp.Expr, right: sp.Expr) -> bool:
    """Whether ``left − right`` simplifies to 0 (positive symbols, so square roots simplify)."""
    return sp.simplify(sp.radsimp(left - right)) == 0


# ---------------------------------------------------------------------------------------------
# Linear systems
# ---------------------------------------------------------------------------------------------

def sgd_system(lr=ETA, h=H, sigma=SIGMA) -> tuple[sp.Matrix, sp.Matrix]:
    """(A, B) of SGD on the noisy quadratic: x_{k+1} = (1 − ηh) x_k − ησ ξ_k."""
    return sp.Matrix([[1 - lr * h]]), sp.Matrix([[-lr * sigma]])


def sgdm_system(lr=GAMMA, beta=BETA, h=H, sigma=SIGMA) -> tuple[sp.Matrix, sp.Matrix]:
    """(A, B) of PyTorch-form SGDM on the noisy quadratic, state s = (x, b) (see module docstring)."""
    return sp.Matrix([[1 - lr * h, -lr * beta], [h, beta]]), sp.Matrix([[-lr * sigma], [sigma]])


def stationary_covariance(A: sp.Matrix, B: sp.Matrix) -> sp.Matrix:
    """The symmetric P with P = A P Aᵀ + B Bᵀ (the stationary covariance of s_{k+1} = A s_k + B ξ_k
    when ρ(A) < 1), solved as a linear system in the n(n+1)/2 entries of P."""
    n = A.shape[0]
    entries = {(i, j): sp.Symbol(f"p_{i}{j}") for i in range(n) for j in range(i, n)}
    P = sp.Matrix(n, n, lambda i, j: entries[(min(i, j), max(i, j))])
    residual = A * P * A.T + B * B.T - P
    equations = [residual[i, j] for (i, j) in entries]
    solution = sp.solve(equations, list(entries.values()), dict=True)[0]
    return P.subs(solution).applyfunc(sp.factor)


def sgd_stationary_variance() -> sp.Expr:
    """Var x of SGD at stationarity: η²σ²/(1 − (1 − ηh)²) = ησ²/(h(2 − ηh))."""
    return sp.factor(stationary_covariance(*sgd_system())[0, 0])


def sgdm_stationary_variance() -> sp.Expr:
    """Var x of PyTorch-form SGDM at stationarity, the (x, x) entry of the Lyapunov solution."""
    return sp.factor(stationary_covariance(*sgdm_system())[0, 0])


def matched_variance_ratio() -> sp.Expr:
    """Var_SGDM(γ, β) / Var_SGD(η) at the matched lr η = γ/(1 − β), as a function of γ, β, h."""
    return sp.factor(sp.simplify(sgdm_stationary_variance() / sgd_stationary_variance().subs(ETA, GAMMA / (1 - BETA))))


def taylor_coefficients(expression: sp.Expr, symbol: sp.Symbol, order: int) -> list[sp.Expr]:
    """The factored coefficients c₀, …, c_order of ``expression`` = Σ c_k symbol^k + O(symbol^{order+1})."""
    return [sp.factor(sp.simplify(sp.diff(expression, symbol, k).subs(symbol, 0) / sp.factorial(k)))
            for k in range(order + 1)]


def stability_limit(A: sp.Matrix, lr: sp.Symbol) -> sp.Expr:
    """The largest lr with ρ(A) < 1, for a system whose characteristic polynomial p has degree ≤ 2.

    Jury's conditions for z² + a₁z + a₀ are p(1) > 0, p(−1) > 0 and |a₀| < 1 (for degree 1, z + a₀:
    p(1) > 0 and p(−1) > 0). For the systems here p(1) = lr·h > 0 and a₀ = β < 1 for every lr > 0,
    so the limit is the positive root of p(−1) = 0: an eigenvalue leaves the unit disc through −1.
    Raises if that root is not unique, i.e. if the system is not of this kind.
    """
    z = sp.Symbol("z")
    polynomial = A.charpoly(z).as_expr()
    roots = [root for root in sp.solve(polynomial.subs(z, -1), lr) if root.is_positive is not False]
    if len(roots) != 1:
        raise ValueError(f"expected one positive root of p(-1) in {lr}, got {roots}")
    return sp.simplify(roots[0])


def spectral_radius(A: sp.Matrix, values: dict) -> float:
    """ρ(A) at numeric parameter values (float64 eigenvalues)."""
    numeric = torch.tensor([[float(entry.subs(values)) for entry in row] for row in A.tolist()], dtype=torch.float64)
    return torch.linalg.eigvals(numeric).abs().max().item()


# ---------------------------------------------------------------------------------------------
# Deterministic strongly convex quadratics: gradient descent and heavy ball
# ---------------------------------------------------------------------------------------------

def in_condition_number(expr: sp.Expr) -> sp.Expr:
    """``expr`` with L = κμ, simplified knowing κ ≥ 1 (via κ = (1 + d)², d > 0, which removes the
    absolute values that sympy keeps for κ < 1)."""
    in_d = sp.simplify(expr.subs(L, KAPPA * MU).subs(KAPPA, (1 + _ABOVE_ONE) ** 2))
    return sp.simplify(in_d.subs(_ABOVE_ONE, sp.sqrt(KAPPA) - 1))


def gradient_descent_optimal_rate() -> sp.Expr:
    """GD on eigenvalues in [μ, L] contracts at max(|1 − ημ|, |1 − ηL|), minimised at η = 2/(L + μ)
    where both ends equal (L − μ)/(L + μ) = (κ − 1)/(κ + 1), κ = L/μ."""
    lr = 2 / (L + MU)
    ends = (sp.Abs(1 - lr * MU), sp.Abs(1 - lr * L))
    if not is_identity(*ends):
        raise ArithmeticError("the two ends of the spectrum do not balance at lr = 2/(L + mu)")
    return in_condition_number(ends[0])


def heavy_ball_optimal_parameters() -> tuple[sp.Expr, sp.Expr]:
    """Polyak's heavy-ball tuning for eigenvalues in [μ, L]:
    γ = 4/(√L + √μ)², β = ((√L − √μ)/(√L + √μ))²."""
    return 4 / (sp.sqrt(L) + sp.sqrt(MU)) ** 2, ((sp.sqrt(L) - sp.sqrt(MU)) / (sp.sqrt(L) + sp.sqrt(MU))) ** 2


def heavy_ball_optimal_rate() -> sp.Expr:
    """ρ of heavy ball at Polyak's tuning, derived: the eigenvalues of A(λ) solve
    z² − (1 + β − γλ) z + β = 0, whose discriminant D(λ) = (1 + β − γλ)² − 4β is a convex quadratic
    in λ. If D(μ) = D(L) = 0 then D ≤ 0 on [μ, L], every root is complex or double with |z|² = β,
    and ρ = √β = (√κ − 1)/(√κ + 1). The two zeros are checked symbolically."""
    gamma, beta = heavy_ball_optimal_parameters()
    lam = sp.Symbol("lambda", positive=True)
    discriminant = (1 + beta - gamma * lam) ** 2 - 4 * beta
    for end in (MU, L):
        if not is_identity(discriminant.subs(lam, end), 0):
            raise ArithmeticError(f"the discriminant does not vanish at lambda = {end}")
    return in_condition_number(sp.sqrt(beta))


# ---------------------------------------------------------------------------------------------
# Monte-Carlo: many chains as one tensor
# ---------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Chains:
    """Per-chain time averages of x² after burn-in, shape (points, chains); one row per parameter point."""

    mean_square: torch.Tensor


def simulate_mean_square(lr: torch.Tensor, beta: torch.Tensor, h: torch.Tensor, sigma: torch.Tensor, *,
                         n_chains: int, burn_in: int, n_steps: int, seed: int) -> Chains:
    """Run PyTorch-form SGDM (β = 0 is SGD) on the noisy quadratic for every parameter point at once.

    The parameters are 1-D tensors of equal length (one entry per point); chains start at
    x = b = 0, discard ``burn_in`` steps and average x² over the next ``n_steps``. Chains are
    independent, so their time averages are i.i.d. samples of an unbiased estimate of the stationary
    E x² (= Var x, the stationary mean is 0) once the burn-in has forgotten the start.
    """
    generator = torch.Generator().manual_seed(seed)
    lr, beta, h, sigma = (torch.as_tensor(v, dtype=torch.float64)[:, None] for v in (lr, beta, h, sigma))
    x = torch.zeros(lr.shape[0], n_chains, dtype=torch.float64)
    buffer, total = torch.zeros_like(x), torch.zeros_like(x)
    for step in range(burn_in + n_steps):
        noise = torch.randn(x.shape, generator=generator, dtype=torch.float64)
        buffer = beta * buffer + h * x + sigma * noise
        x = x - lr * buffer
        if step >= burn_in:
            total += x * x
    return Chains(mean_square=total / n_steps)
