"""Momentum-SAM ledger claims: valid entries, and 'refuted' for a nonzero ρ and for the wrong sign
of the Nesterov perturbation."""

import pytest
import torch

from optimizer_problems import single_threaded_torch  # noqa: F401 (autouse fixture)
from theory import ledger, msam


@pytest.mark.parametrize("claim_id", ("msam.rho-zero", "msam.nesterov"))
def test_equivalence_claims_are_verified(claim_id):
    entry = ledger.run(ledger.REGISTRY[claim_id])
    assert entry["verdict"] == "verified", entry
    assert entry["key_number"]


def test_perturbation_sign_check_returns_a_valid_outcome_on_a_short_run():
    setting = dict(msam.SIGN_SETTING, epochs=1, seeds=(0,))
    outcome = msam.check_perturbation_sign(setting)
    assert outcome.verdict in ledger.VERDICTS
    run = outcome.evidence["runs"]["seed 0"]
    assert 0 <= run["negative_cosine_fraction"] <= 1
    assert run["MSAM −v"]["top_hessian_eigenvalue"] > 0


def test_nonzero_rho_is_not_sgdm():
    assert msam.check_rho_zero(rho=0.05).verdict == "refuted"


def test_plus_v_perturbation_is_not_nesterov():
    assert msam.check_nesterov(sign=-1.0).verdict == "refuted"


def test_top_hessian_eigenvalue_matches_the_dense_hessian():
    data = msam.load_digits_split()
    model = torch.nn.Sequential(torch.nn.Linear(64, 3), torch.nn.Tanh(), torch.nn.Linear(3, 10)).double()
    params = list(model.parameters())

    def loss(*tensors):
        hidden = torch.tanh(data.train_inputs @ tensors[0].T + tensors[1])
        return torch.nn.functional.cross_entropy(hidden @ tensors[2].T + tensors[3], data.train_labels)

    blocks = torch.autograd.functional.hessian(loss, tuple(p.detach() for p in params))
    sizes = [p.numel() for p in params]
    dense = torch.cat([torch.cat([blocks[i][j].reshape(sizes[i], sizes[j]) for j in range(4)], 1)
                       for i in range(4)])
    expected = torch.linalg.eigvalsh(dense).max().item()
    assert msam.top_hessian_eigenvalue(model, data) == pytest.approx(expected, rel=1e-3)
