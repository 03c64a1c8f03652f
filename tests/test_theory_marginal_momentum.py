"""Tests of theory/marginal_momentum.py and theory/marginal_momentum_horizons.py (paper 2, marginal value of
momentum) and their helpers.

Each check must say 'verified' with the paper's prediction and implementation, and 'refuted' when
handed a wrong formula, a wrong slope or a perturbed implementation (negative controls), so that no
verdict is fixed in advance. Sizes are cut down through the checks' parameters to keep the file fast.
"""

import math

import numpy as np
import pytest
import sympy as sp
import torch

from theory import ledger, marginal_momentum, report
from theory import marginal_momentum_horizons as horizons
from theory import noisy_quadratic as nq
from theory.weak_error import bootstrap_interval, loglog_slope, svag_coefficients

MOMENTUM_CLAIMS = ("momentum.ema-equivalence", "momentum.nqm-stationary", "momentum.short-horizon", "momentum.short-horizon-bound",
                   "momentum.long-horizon", "momentum.heavy-ball", "momentum.large-lr", "momentum.svag")


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Many small tensor operations: one thread is much faster on a shared 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def figures_in_tmp(tmp_path):
    report.set_figures_dir(tmp_path / "figures")


def wrong_matched_lr(lr, beta):
    """The classic slip: the SGD lr used unchanged as the PyTorch-form SGDM lr (1/(1 − β) too large)."""
    return lr


SMALL_NQM = dict(n_chains=512, burn_in=200, n_steps=500)
SMALL_SHORT = dict(alphas=(0.5,), lrs=(0.02, 0.01, 0.005), n_chains=2 ** 12, n_groups=64, n_resamples=500)
SMALL_LONG = dict(lrs=(0.1, 0.05, 0.025), n_chains=256, n_groups=32, n_resamples=500)
SMALL_SVAG = dict(ells=(1, 4), n_replicas=16, base_steps=60, n_resamples=500)


# ---------------------------------------------------------------------------------------------
# Registration and the full claims
# ---------------------------------------------------------------------------------------------

def test_all_momentum_claims_are_registered():
    assert set(MOMENTUM_CLAIMS) <= set(ledger.REGISTRY)
    assert all(ledger.REGISTRY[claim_id].paper == marginal_momentum.PAPER for claim_id in MOMENTUM_CLAIMS)


@pytest.mark.parametrize("claim_id", ["momentum.ema-equivalence", "momentum.heavy-ball", "momentum.long-horizon"])
def test_claim_returns_a_valid_entry(claim_id):
    """The cheaper claims run at full size here; the others are run by the CLI and by the ledger."""
    entry = ledger.run(ledger.REGISTRY[claim_id])
    assert entry.verdict == "verified", entry.key_number
    assert isinstance(entry.key_number, str) and entry.key_number
    report.ledger_json([entry])  # evidence is JSON-serialisable


# ---------------------------------------------------------------------------------------------
# marginal_momentum.ema-equivalence
# ---------------------------------------------------------------------------------------------

@pytest.mark.refutes("momentum.ema-equivalence")
def test_ema_equivalence_refuted_when_ema_lr_is_not_rescaled():
    outcome = marginal_momentum.check_ema_equivalence(ema_lr=lambda lr, beta: lr, n_symbolic_steps=3, n_numeric_steps=50)
    assert outcome.verdict == "refuted"
    assert not any(outcome.evidence["symbolic_identity_by_step"])


# ---------------------------------------------------------------------------------------------
# marginal_momentum.nqm-stationary
# ---------------------------------------------------------------------------------------------

def test_nqm_derived_forms():
    assert nq.is_identity(nq.sgd_stationary_variance(), nq.parse(marginal_momentum.SGD_STATIONARY_VARIANCE))
    assert nq.is_identity(nq.sgdm_stationary_variance(), nq.parse(marginal_momentum.SGDM_STATIONARY_VARIANCE))
    first_order = sp.series(nq.matched_variance_ratio(), nq.GAMMA, 0, 2).removeO()
    assert nq.is_identity(first_order, 1 - nq.BETA * nq.GAMMA * nq.H / (1 - nq.BETA ** 2))


def test_nqm_verified_with_true_formulas():
    assert marginal_momentum.check_nqm_stationary(**SMALL_NQM).verdict == "verified"


@pytest.mark.refutes("momentum.nqm-stationary")
@pytest.mark.parametrize("wrong", [
    dict(sgd_variance="eta*sigma**2/(2*h)"),                                 # leading order only
    dict(sgdm_variance="gamma*sigma**2/(h*(1 - beta)*(2 - gamma*h/(1 - beta)))"),  # SGD's form at γ/(1−β)
    dict(sgd_limit="1/h"),
    dict(sgdm_limit="2/(h*(1 - beta))"),
])
def test_nqm_refuted_with_wrong_formula(wrong):
    assert marginal_momentum.check_nqm_stationary(**wrong, **SMALL_NQM).verdict == "refuted"


def test_nqm_monte_carlo_alone_refutes_a_wrong_variance():
    """Independently of the algebra, the simulation catches an O(ηh) error in a stated variance."""
    outcome = marginal_momentum.check_nqm_stationary(sgd_variance="eta*sigma**2/(2*h)", **SMALL_NQM)
    covered = {(p["lr"], p["beta"]): p["covered"] for p in outcome.evidence["monte_carlo"]}
    assert not covered[(1.0, 0.0)] and not covered[(1.9, 0.0)]


# ---------------------------------------------------------------------------------------------
# marginal_momentum.short-horizon
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("reading", ["bound", "strictly-faster"])
def test_short_horizon_verified_with_the_matched_lr(reading):
    outcome = horizons.check_short_horizon(reading=reading, **SMALL_SHORT)
    assert outcome.verdict == "verified", outcome.key_number


@pytest.mark.refutes("momentum.short-horizon", "momentum.short-horizon-bound")
@pytest.mark.parametrize("reading", ["bound", "strictly-faster"])
def test_short_horizon_refuted_when_the_sgdm_lr_is_not_matched(reading):
    """The plausible slip γ = η instead of η(1 − β): the two methods then follow different SDEs, the weak distance
    stops shrinking with η, and both readings must say refuted."""
    outcome = horizons.check_short_horizon(matched_lr=wrong_matched_lr, reading=reading, **SMALL_SHORT)
    assert outcome.verdict == "refuted", outcome.key_number


# ---------------------------------------------------------------------------------------------
# marginal_momentum.large-lr
# ---------------------------------------------------------------------------------------------

SMALL_LARGE_LR = dict(n_steps=600, n_chains=8)


def test_large_lr_verified_with_the_matched_lr():
    outcome = marginal_momentum.check_large_lr(**SMALL_LARGE_LR)
    assert outcome.verdict == "verified", outcome.key_number


@pytest.mark.refutes("momentum.large-lr")
def test_large_lr_refuted_when_the_sgdm_lr_is_not_matched():
    """γ = η instead of η(1 − β): SGDM then runs 1/(1 − β) = 10x hotter and diverges too inside the window."""
    outcome = marginal_momentum.check_large_lr(matched_lr=wrong_matched_lr, **SMALL_LARGE_LR)
    assert outcome.verdict == "refuted", outcome.key_number
    assert any(point["inside_window"] and point["sgdm_diverged"] for point in outcome.evidence["points"])


def test_loglog_slope_recovers_power_law():
    x = np.array([0.1, 0.05, 0.025])
    assert loglog_slope(x, 3 * x ** 0.75) == pytest.approx(0.75)


def test_bootstrap_interval_covers_known_mean():
    sample = np.random.default_rng(0).normal(2.0, 1.0, size=400)
    interval = bootstrap_interval([sample], lambda s: s[0].mean(axis=1), confidence=0.99, n_resamples=500, seed=0)
    assert interval.covers(2.0) and interval.high - interval.low < 0.4


# ---------------------------------------------------------------------------------------------
# marginal_momentum.long-horizon
# ---------------------------------------------------------------------------------------------

def test_long_horizon_verified_small():
    outcome = horizons.check_long_horizon(**SMALL_LONG)
    assert outcome.verdict == "verified", outcome.key_number


@pytest.mark.refutes("momentum.long-horizon")
@pytest.mark.parametrize("matched_lr", [wrong_matched_lr, lambda lr, beta: 2 * lr * (1 - beta)])
def test_long_horizon_refuted_with_unmatched_lr(matched_lr):
    outcome = horizons.check_long_horizon(matched_lr=matched_lr, **SMALL_LONG)
    assert outcome.verdict == "refuted", outcome.key_number


# ---------------------------------------------------------------------------------------------
# marginal_momentum.heavy-ball
# ---------------------------------------------------------------------------------------------

@pytest.mark.refutes("momentum.heavy-ball")
@pytest.mark.parametrize("wrong", [
    dict(heavy_ball_rate="(kappa - 1)/(kappa + 1)"),   # no acceleration
    dict(gradient_descent_rate="(sqrt(kappa) - 1)/(sqrt(kappa) + 1)"),
    dict(small_lr_speedup=10.0),                        # "momentum's advantage survives small lr"
    dict(matched_lr=wrong_matched_lr),
])
def test_heavy_ball_refuted(wrong):
    assert marginal_momentum.check_heavy_ball(**wrong, n_steps=400).verdict == "refuted"


def test_heavy_ball_rates_derived():
    assert nq.is_identity(nq.heavy_ball_optimal_rate(), nq.parse(marginal_momentum.HEAVY_BALL_RATE))
    assert nq.is_identity(nq.gradient_descent_optimal_rate(), nq.parse(marginal_momentum.GRADIENT_DESCENT_RATE))
    assert marginal_momentum.heavy_ball_mode_radius(0.3, 0.0, np.array([1.0, 5.0])) == pytest.approx(0.7)  # max |1 − ηλ|


# ---------------------------------------------------------------------------------------------
# marginal_momentum.svag
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("ell", [1, 2, 8])
def test_svag_coefficients_keep_mean_and_amplify_variance(ell):
    first, second = svag_coefficients(ell)
    assert first + second == pytest.approx(1.0)
    assert first ** 2 + second ** 2 == pytest.approx(ell)


def test_svag_verified_small():
    outcome = horizons.check_svag(**SMALL_SVAG)
    assert outcome.verdict == "verified", outcome.key_number


@pytest.mark.refutes("momentum.svag")
def test_svag_refuted_with_unmatched_lr():
    outcome = horizons.check_svag(matched_lr=wrong_matched_lr, **SMALL_SVAG)
    assert outcome.verdict == "refuted", outcome.key_number


# ---------------------------------------------------------------------------------------------
# report helpers used by the checks
# ---------------------------------------------------------------------------------------------

def test_to_jsonable_handles_numpy_sympy_and_nan():
    value = report.to_jsonable({"a": np.float64(1.5), "b": np.arange(2), "c": sp.Symbol("x"), "d": math.nan})
    assert value == {"a": 1.5, "b": [0, 1], "c": "x", "d": "nan"}


def test_latex_escape():
    assert report.latex_escape("a_b & 50% η→0 $x") == r"a\_b \& 50\% $\eta\to$0 \$x"
