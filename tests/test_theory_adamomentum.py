"""AdaMomentum ledger claims: valid entries, 'refuted' for a wrong noise-scale prediction, and a
positive control (AMSGrad, Reddi et al.'s fix) that the Reddi check accepts as converging."""

import pytest
import sympy as sp
import torch

from optimizer_problems import single_threaded_torch  # noqa: F401 (autouse fixture)
from theory import adamomentum, ledger, report
from theory.adamomentum import beta1


@pytest.fixture(autouse=True)
def figures_in_tmp(tmp_path):
    """Figures of the registered claims go to the test's temporary folder."""
    report.set_figures_dir(tmp_path / "figures")


def assert_figure_saved(entry, name):
    assert entry["evidence"]["figure"] == name and report.figure_path(name).is_file()


def test_noise_scale_claim_is_verified():
    entry = ledger.run(ledger.REGISTRY["adamomentum.noise-scale"])
    assert entry["verdict"] == "verified", entry
    assert_figure_saved(entry, "adamomentum-noise-scale.png")


def test_reddi_claim_entry_is_valid_and_adam_fails_the_theorem_1_construction():
    entry = ledger.run(ledger.REGISTRY["adamomentum.reddi-counterexample"])
    assert entry["verdict"] in ledger.VERDICTS and entry["key_number"]
    theorem_1 = next(iter(entry["evidence"]["results"].values()))
    assert theorem_1["Adam"]["final_x"] == 1.0
    assert_figure_saved(entry, "adamomentum-reddi-counterexample.png")


def test_inverted_noise_ratio_is_refuted():
    wrong = sp.sqrt((1 - beta1) / (1 + beta1))
    assert adamomentum.check_noise_scale(predicted_ratio=wrong).verdict == "refuted"


def test_amsgrad_converges_on_the_counterexample():
    def amsgrad(params, betas):
        return torch.optim.Adam(params, lr=adamomentum.REDDI_LR, betas=betas, amsgrad=True)

    assert adamomentum.check_reddi_counterexample(make_candidate=amsgrad, candidate_name="AMSGrad").verdict == "verified"
