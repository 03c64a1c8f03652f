"""AdaMomentum ledger claims: valid entries, 'refuted' for a wrong noise-scale prediction, and a
positive control (AMSGrad, Reddi et al.'s fix) that the Reddi check accepts as converging."""

import sympy as sp
import torch

from optimizer_problems import single_threaded_torch  # noqa: F401 (autouse fixture)
from theory import adamomentum, ledger
from theory.adamomentum import beta1


def test_noise_scale_claim_is_verified():
    entry = ledger.run(ledger.REGISTRY["adamomentum.noise-scale"])
    assert entry["verdict"] == "verified", entry


def test_reddi_claim_entry_is_valid_and_adam_fails_the_theorem_1_construction():
    entry = ledger.run(ledger.REGISTRY["adamomentum.reddi-counterexample"])
    assert entry["verdict"] in ledger.VERDICTS and entry["key_number"]
    theorem_1 = next(iter(entry["evidence"]["results"].values()))
    assert theorem_1["Adam"]["final_x"] == 1.0


def test_inverted_noise_ratio_is_refuted():
    wrong = sp.sqrt((1 - beta1) / (1 + beta1))
    assert adamomentum.check_noise_scale(predicted_ratio=wrong).verdict == "refuted"


def test_amsgrad_converges_on_the_counterexample():
    def amsgrad(params, betas):
        return torch.optim.Adam(params, lr=adamomentum.REDDI_LR, betas=betas, amsgrad=True)

    assert adamomentum.check_reddi_counterexample(make_candidate=amsgrad, candidate_name="AMSGrad").verdict == "verified"
