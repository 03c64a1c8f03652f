"""Momentum-SAM ledger claims. Each claim id is run with a plausible mistake that must come out
'refuted' (negative controls): a nonzero ρ, the wrong sign of the Nesterov perturbation, the cosine
taken with the momentum after the update, the two perturbation signs swapped, and the cosine taken
before the update."""

import pytest
import torch

from optimizer_problems import single_threaded_torch  # noqa: F401 (autouse fixture)
from theory import ledger, msam

MSAM_CLAIMS = ("msam.rho-zero", "msam.nesterov", "msam.perturbation-sign", "msam.cosine-after-update")


def test_all_msam_claims_are_registered():
    assert set(MSAM_CLAIMS) <= set(ledger.REGISTRY)
    assert all(ledger.REGISTRY[claim_id].paper == msam.PAPER for claim_id in MSAM_CLAIMS)


@pytest.mark.parametrize("claim_id", ("msam.rho-zero", "msam.nesterov"))
def test_equivalence_claims_are_verified(claim_id):
    entry = ledger.run(ledger.REGISTRY[claim_id])
    assert entry.verdict == "verified", entry
    assert entry.key_number


@pytest.mark.refutes("msam.rho-zero")
def test_nonzero_rho_is_not_sgdm():
    """msam.rho-zero: MSAM with ρ = 0.05 must not pass as SGD with momentum."""
    assert msam.check_rho_zero(rho=0.05).verdict == "refuted"


@pytest.mark.refutes("msam.nesterov")
def test_plus_v_perturbation_is_not_nesterov():
    """msam.nesterov: ρ_t = −ημ‖v_t‖ (the look-ahead on the wrong side) must not pass as Nesterov."""
    assert msam.check_nesterov(sign=-1.0).verdict == "refuted"


def test_perturbation_sign_cosine_and_accuracy_parts_support_the_paper():
    """msam.perturbation-sign with the right vector and signs: the two parts the controls below must
    flip. (The sharpness part is the ledger's finding, not asserted here.)"""
    parts = msam.check_perturbation_sign().evidence["parts"]
    assert (parts["cosine"], parts["test_accuracy"]) == ("supports", "supports")


def test_perturbation_sign_with_the_updated_momentum_is_refuted():
    """msam.perturbation-sign: an off-by-one slip, the cosine taken with the buffer after the step
    (v_t, which already contains g_t) instead of v_{t−1}, makes the cosine part contradict."""
    outcome = msam.check_perturbation_sign(momentum_vector="updated")
    assert outcome.evidence["parts"]["cosine"] == "contradicts"
    assert outcome.verdict == "refuted"


@pytest.mark.refutes("msam.perturbation-sign")
def test_perturbation_sign_with_the_signs_swapped_is_refuted():
    """msam.perturbation-sign: the method judged as −v actually perturbing along +v (and the flipped
    one along −v) makes the test-accuracy part contradict."""
    outcome = msam.check_perturbation_sign(perturbed_class=msam.FlippedMSAM, flipped_class=msam.MSAM)
    assert outcome.evidence["parts"]["test_accuracy"] == "contradicts"
    assert outcome.verdict == "refuted"


@pytest.mark.refutes("msam.cosine-after-update")
def test_cosine_after_update_is_positive_and_before_it_is_not():
    """msam.cosine-after-update: cos(v_t, g_t) is judged positive, and the control, the same rule
    applied to cos(v_{t−1}, g_t) (before the update), must be refuted."""
    assert msam.check_cosine_after_update().verdict == "verified"
    assert msam.check_cosine_after_update(momentum_vector="previous").verdict == "refuted"


def test_judge_and_verdict_of():
    assert [msam.judge(interval, 0.5) for interval in ((0.6, 0.55, 0.7), (0.4, 0.3, 0.45), (0.5, 0.4, 0.6))] == [
        "supports", "contradicts", "undecided"]
    assert msam.verdict_of({"a": "supports", "b": "supports"}) == "verified"
    assert msam.verdict_of({"a": "supports", "b": "contradicts", "c": "undecided"}) == "refuted"
    assert msam.verdict_of({"a": "supports", "b": "undecided"}) == "inconclusive"


def test_trajectory_records_base_weights_and_the_matched_point():
    """For MSAM the recorded weights are the base weights (w̃ + ρv/‖v‖), so a model built from the last
    row reproduces the recorded training loss; the matched index is the first at or below the level."""
    data = msam.load_digits_split()
    run = msam.train_trajectory(lambda params: msam.MSAM(params, lr=0.2, momentum=0.9, rho=0.5), data, 0, 1)
    assert run.steps[0] == 0 and run.steps[-1] == 45 and len(run.steps) == len(run.weights)
    model = msam.model_with_weights(run.weights[-1])
    with torch.no_grad():
        loss = torch.nn.functional.cross_entropy(model(data.train_inputs), data.train_labels)
    assert float(loss) == pytest.approx(run.train_losses[-1], rel=1e-12)
    level = float(run.train_losses[len(run.train_losses) // 2])
    index = run.first_at_or_below(level)
    assert run.train_losses[index] <= level and all(run.train_losses[:index] > level)


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
