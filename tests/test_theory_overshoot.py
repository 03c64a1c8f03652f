"""Overshoot ledger claims: each registered claim returns a valid 'verified' entry, and each kind of
check says 'refuted' when fed a wrong formula, a wrong special-case value or a perturbed
implementation."""

import pytest

from optimizer_problems import single_threaded_torch  # noqa: F401 (autouse fixture)
from theory import ledger, overshoot, report
from theory.overshoot import beta, gamma


@pytest.fixture(autouse=True)
def figures_in_tmp(tmp_path):
    """Figures of the registered claims go to the test's temporary folder."""
    report.set_figures_dir(tmp_path / "figures")


def assert_figure_saved(entry, name):
    assert entry.evidence["figure"] == name and report.figure_path(name).is_file()


CLAIMS = ("overshoot.efficient-form", "overshoot.nesterov", "overshoot.qhm", "overshoot.sgd-point",
          "overshoot.schedule-deviation", "overshoot.adamo-approximation")


@pytest.mark.parametrize("claim_id", CLAIMS)
def test_claim_entry_is_valid_and_verified(claim_id):
    entry = ledger.run(ledger.REGISTRY[claim_id])
    assert entry.verdict == "verified", entry
    assert entry.kind in ledger.KINDS and entry.key_number and entry.evidence
    if claim_id in ("overshoot.schedule-deviation", "overshoot.adamo-approximation"):
        assert_figure_saved(entry, claim_id.replace(".", "-") + ".png")


@pytest.mark.refutes("overshoot.efficient-form")
def test_wrong_buffer_coefficient_is_refuted():
    outcome = overshoot.check_efficient_form(buffer_coefficient=1 + gamma + gamma / beta)
    assert outcome.verdict == "refuted"
    assert outcome.evidence["symbolic_mismatch_at_steps"] == list(range(1, overshoot.SYMBOLIC_STEPS + 1))


def test_perturbed_efficient_implementation_is_refuted():
    def perturbed(problem, lrs, momentum, overshoot_factor):
        return overshoot.official_efficient_sgdo(
            problem, lrs, momentum, overshoot_factor,
            buffer_coefficient=1 + overshoot_factor + overshoot_factor / momentum)

    assert overshoot.check_efficient_form(implementation=perturbed).verdict == "refuted"


def test_official_efficient_form_passes_as_an_implementation_at_constant_lr():
    assert overshoot.check_efficient_form(implementation=overshoot.official_efficient_sgdo).verdict == "verified"


@pytest.mark.refutes("overshoot.nesterov")
def test_wrong_nesterov_overshoot_is_refuted():
    assert overshoot.check_nesterov(overshoot_for_nesterov=beta**2).verdict == "refuted"


@pytest.mark.refutes("overshoot.qhm")
def test_wrong_qhm_nu_is_refuted():
    assert overshoot.check_qhm(nu=1 - gamma * (1 - beta)).verdict == "refuted"


@pytest.mark.refutes("overshoot.sgd-point")
def test_wrong_sgd_point_is_refuted():
    assert overshoot.check_sgd_point(overshoot_for_sgd=1 / (1 - beta)).verdict == "refuted"


@pytest.mark.refutes("overshoot.schedule-deviation")
def test_an_exact_official_form_refutes_the_drift_claim():
    exact = overshoot.two_model_sgd
    assert overshoot.check_schedule_deviation(official=exact).verdict == "refuted"


@pytest.mark.refutes("overshoot.adamo-approximation")
def test_an_exact_official_adamo_refutes_the_approximation_claim():
    assert overshoot.check_adamo_approximation(official=overshoot.two_model_adam).verdict == "refuted"
