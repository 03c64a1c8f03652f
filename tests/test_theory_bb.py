"""Barzilai–Borwein and Step-Tuned SGD ledger claims: valid entries, and 'refuted' for a wrong BB
exponent (symbolic and as a step rule) and a wrong curvature prediction."""

import pytest

from optimizer_problems import single_threaded_torch  # noqa: F401 (autouse fixture)
from theory import barzilai_borwein as bb
from theory import ledger, report
from theory.barzilai_borwein import ss, sy


@pytest.fixture(autouse=True)
def figures_in_tmp(tmp_path):
    """Figures of the registered claims go to the test's temporary folder."""
    report.set_figures_dir(tmp_path / "figures")


def assert_figure_saved(entry, name):
    assert entry["evidence"]["figure"] == name and report.figure_path(name).is_file()


@pytest.mark.parametrize("claim_id", ("bb.local-quadratic", "bb.quadratic-convergence", "stsgd.curvature"))
def test_claim_entry_is_valid_and_verified(claim_id):
    entry = ledger.run(ledger.REGISTRY[claim_id])
    assert entry["verdict"] == "verified", entry
    if claim_id != "bb.local-quadratic":
        assert_figure_saved(entry, claim_id.replace(".", "-") + ".png")


def test_critical_set_check_returns_a_valid_outcome_on_a_short_run():
    outcome = bb.check_critical_set(seeds=(0, 1), iterations=100, every=10)
    assert outcome.verdict in ledger.VERDICTS and outcome.key_number


def test_bb1_with_wrong_exponent_is_refuted():
    outcome = bb.check_local_quadratic(bb1=ss / sy**2)
    assert outcome.verdict == "refuted" and not outcome.evidence["symbolic_match"]["BB1"]


def test_wrong_exponent_step_rule_does_not_converge():
    def wrong(s, y):
        return float(s @ s / (s @ y) ** 2)

    assert bb.check_quadratic_convergence(step_rule=wrong, conditions=(10.0, 100.0), seeds=(0,)).verdict == "refuted"


def test_wrong_curvature_prediction_is_refuted():
    def inverse_square(curvature, min_step, max_step, nu):
        raw = curvature**-2 if curvature > 0 else nu
        return min(max(raw, min_step), max_step)

    assert bb.check_curvature(prediction=inverse_square).verdict == "refuted"
