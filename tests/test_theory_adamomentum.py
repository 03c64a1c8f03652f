"""AdaMomentum ledger claims: each check says 'refuted' when handed a plausible mistake (a wrong formula, a step
size that does not decay, an AMSGrad max left on, a wrong rate), and the registered claims give complete entries."""

import numpy as np
import pytest
import sympy as sp

from optimizer_problems import single_threaded_torch  # noqa: F401 (autouse fixture)
from theory import adamomentum, ledger, report
from theory.adamomentum import beta1

ADAMOMENTUM_CLAIMS = ("adamomentum.noise-scale", "adamomentum.reddi-counterexample", "adamomentum.reddi-without-max",
                      "adamomentum.nonconvex")


@pytest.fixture(autouse=True)
def figures_in_tmp(tmp_path):
    """Figures of the registered claims go to the test's temporary folder."""
    report.set_figures_dir(tmp_path / "figures")


def assert_figure_saved(entry, name):
    assert entry.evidence["figure"] == name and report.figure_path(name).is_file()


def constant_schedule(alpha, t):
    """α_t = α: the α/√t decay dropped (a scheduler that was never stepped)."""
    return alpha + 0 * np.asarray(t, dtype=np.float64)


def test_all_adamomentum_claims_are_registered():
    assert set(ADAMOMENTUM_CLAIMS) <= set(ledger.REGISTRY)


# ---------------------------------------------------------------------------------------------
# adamomentum.noise-scale
# ---------------------------------------------------------------------------------------------

def test_noise_scale_claim_is_verified():
    entry = ledger.run(ledger.REGISTRY["adamomentum.noise-scale"])
    assert entry.verdict == "verified", entry
    assert_figure_saved(entry, "adamomentum-noise-scale.png")


@pytest.mark.refutes("adamomentum.noise-scale")
def test_inverted_noise_ratio_is_refuted():
    wrong = sp.sqrt((1 - beta1) / (1 + beta1))
    assert adamomentum.check_noise_scale(predicted_ratio=wrong).verdict == "refuted"


# ---------------------------------------------------------------------------------------------
# adamomentum.reddi-counterexample and adamomentum.reddi-without-max
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("claim_id, figure", [("adamomentum.reddi-counterexample", "adamomentum-reddi-counterexample.png"),
                                              ("adamomentum.reddi-without-max", "adamomentum-reddi-without-max.png")])
def test_reddi_claim_entries_report_every_alpha(claim_id, figure):
    entry = ledger.run(ledger.REGISTRY[claim_id])
    assert not entry.raised, entry.evidence
    rows = entry.evidence["candidate"]
    assert [row["alpha"] for row in rows] == list(adamomentum.REDDI_ALPHAS)
    assert {row["growth"] for row in rows} <= {"sublinear", "linear", "unresolved"}
    assert_figure_saved(entry, figure)
    report.ledger_json([entry])  # evidence is JSON-serialisable


def test_at_beta1_zero_the_implementation_steps_like_adam():
    """Reddi et al.'s Theorem 1 construction (β1 = 0): AdaMomentum is Adam up to where ε sits."""
    adamomentum_steps = adamomentum.reddi_run(adamomentum.adamomentum_directions, "theorem-1")[0]
    adam_steps = adamomentum.reddi_run(adamomentum.adam_directions, "theorem-1")[0]
    assert np.abs(adamomentum_steps - adam_steps).max() < 1e-6


def test_reference_recursion_without_max_matches_the_implementation():
    """The control differs from the project's AdaMomentum by the max alone."""
    directions, second_moments = adamomentum.reddi_run(adamomentum.adamomentum_directions, "synthetic")
    reference = adamomentum.adamomentum_reference(adamomentum.reddi_gradients("synthetic"), (0.9, 0.99),
                                                  amsgrad_max=False)
    np.testing.assert_allclose(reference[0], directions, rtol=1e-9)
    np.testing.assert_allclose(reference[1], second_moments, rtol=1e-9)


def test_regret_growth_classes():
    period, horizons = 7, np.arange(1, 257) * 7
    assert adamomentum.regret_growth(3.0 * horizons, period)["growth"] == "linear"
    assert adamomentum.regret_growth(3.0 * np.sqrt(horizons), period)["growth"] == "sublinear"
    assert adamomentum.regret_growth(-np.ones(256), period)["growth"] == "sublinear"
    assert adamomentum.regret_growth(3.0 * horizons**0.82, period)["growth"] == "unresolved"


def test_convex_check_verifies_the_max_variant():
    """Positive control: with the max the assumption holds and the regret is sublinear."""
    outcome = adamomentum.check_reddi_counterexample(adamomentum.adamomentum_max_directions)
    assert outcome.verdict == "verified", outcome.key_number
    assert outcome.evidence["assumption_holds"]


@pytest.mark.refutes("adamomentum.reddi-counterexample")
def test_convex_check_refutes_a_max_variant_whose_step_size_does_not_decay():
    """The α/√t decay dropped: α/√v̂ still never increases (the max), but the regret is linear."""
    outcome = adamomentum.check_reddi_counterexample(adamomentum.adamomentum_max_directions,
                                                     schedule=constant_schedule)
    assert outcome.verdict == "refuted", outcome.key_number
    assert outcome.evidence["assumption_holds"]


def test_convex_check_does_not_refute_outside_the_assumption():
    """The same dropped decay without the max: v̂ falls, α_t/√v̂_t rises, so the theorem does not speak."""
    def plain_reference(gradients, betas):
        return adamomentum.adamomentum_reference(gradients, betas, amsgrad_max=False)

    outcome = adamomentum.check_reddi_counterexample(plain_reference, schedule=constant_schedule)
    assert not outcome.evidence["assumption_holds"]
    assert "linear" in adamomentum.growth_at(outcome.evidence["candidate"], outcome.evidence["resolved_alphas"])
    assert outcome.verdict == "inconclusive", outcome.key_number


@pytest.mark.refutes("adamomentum.reddi-without-max")
def test_without_max_check_refutes_an_implementation_that_keeps_the_max():
    """An AdaMomentum whose AMSGrad option was left on converges, so it does not fail like Adam."""
    outcome = adamomentum.check_reddi_without_max(adamomentum.adamomentum_max_directions)
    assert outcome.verdict == "refuted", outcome.key_number


# ---------------------------------------------------------------------------------------------
# adamomentum.nonconvex
# ---------------------------------------------------------------------------------------------

def test_nonconvex_claim_entry():
    entry = ledger.run(ledger.REGISTRY["adamomentum.nonconvex"])
    assert not entry.raised, entry.evidence
    slope = entry.evidence["slope"]
    assert slope["low"] <= slope["estimate"] <= slope["high"]
    assert_figure_saved(entry, "adamomentum-nonconvex.png")
    report.ledger_json([entry])


@pytest.mark.refutes("adamomentum.nonconvex")
def test_nonconvex_check_refutes_a_step_size_that_does_not_decay():
    """With α_t = α the gradient norm stalls at the noise floor instead of decaying like log T/√T."""
    assert adamomentum.check_nonconvex(schedule=constant_schedule).verdict == "refuted"


def test_nonconvex_check_refutes_the_deterministic_rate():
    """O(1/T), the rate of deterministic gradient descent, is not what noisy gradients give."""
    assert adamomentum.check_nonconvex(predicted_rate=lambda horizons: 1.0 / horizons).verdict == "refuted"
