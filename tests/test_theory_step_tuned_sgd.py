"""Barzilai–Borwein and Step-Tuned SGD ledger claims: the registered entries, and for every claim a
plausible mistake that its check refutes: a wrong BB exponent (symbolic and as a step rule), a wrong
curvature prediction, a step too large, gradient ascent, the decay switched off, and batches that
change within an iteration."""

import pytest

from optimizer_problems import single_threaded_torch  # noqa: F401 (autouse fixture)
from optimizers.step_tuned_sgd import StepTunedSGD
from theory import step_tuned_sgd as bb
from theory import ledger, report
from theory.step_tuned_sgd import ss, sy

ROSENBROCK_LR = bb.PROBLEMS["noisy Rosenbrock"][1]


@pytest.fixture(autouse=True)
def figures_in_tmp(tmp_path):
    """Figures of the registered claims go to the test's temporary folder."""
    report.set_figures_dir(tmp_path / "figures")


def assert_figure_saved(entry, name):
    assert entry.evidence["figure"] == name and report.figure_path(name).is_file()


@pytest.mark.parametrize("claim_id", ("bb.local-quadratic", "bb.quadratic-convergence", "stsgd.curvature",
                                      "stsgd.critical-set"))
def test_claim_entry_is_valid_and_verified(claim_id):
    entry = ledger.run(ledger.REGISTRY[claim_id])
    assert entry.verdict == "verified", entry
    if claim_id != "bb.local-quadratic":
        assert_figure_saved(entry, claim_id.replace(".", "-") + ".png")


@pytest.mark.refutes("bb.local-quadratic")
def test_bb1_with_wrong_exponent_is_refuted():
    outcome = bb.check_local_quadratic(bb1=ss / sy**2)
    assert outcome.verdict == "refuted" and not outcome.evidence["symbolic_match"]["BB1"]


@pytest.mark.refutes("bb.quadratic-convergence")
def test_wrong_exponent_step_rule_does_not_converge():
    def wrong(s, y):
        return float(s @ s / (s @ y) ** 2)

    assert bb.check_quadratic_convergence(step_rule=wrong, conditions=(10.0, 100.0), seeds=(0,)).verdict == "refuted"


@pytest.mark.refutes("stsgd.curvature")
def test_wrong_curvature_prediction_is_refuted():
    def inverse_square(curvature, min_step, max_step, nu):
        raw = curvature**-2 if curvature > 0 else nu
        return min(max(raw, min_step), max_step)

    assert bb.check_curvature(prediction=inverse_square).verdict == "refuted"


class AscentStepTunedSGD(StepTunedSGD):
    """The sign mistake θ ← θ + s∇J: every gradient is negated before the optimizer reads it."""

    def step(self, closure):
        def ascending():
            loss = closure()
            for group in self.param_groups:
                for param in group["params"]:
                    param.grad.neg_()
            return loss

        return super().step(ascending)


class UndecayedStepTunedSGD(StepTunedSGD):
    """The Robbins–Monro decay forgotten: every step uses α itself (lr rescaled by (k+1)^{1/2+δ})."""

    def __init__(self, params, lr, **hyper):
        super().__init__(params, lr=lr, **hyper)
        self.scale = lr

    def step(self, closure):
        group = self.param_groups[0]
        group["lr"] = self.scale * (group.get("iteration", 0) + 1) ** (0.5 + group["delta"])
        return super().step(closure)


def test_critical_set_counts_a_diverged_run_as_refuted():
    problems = {"noisy Rosenbrock": (bb.NoisyRosenbrock, 10 * ROSENBROCK_LR)}
    outcome = bb.check_critical_set(problems=problems, seeds=(0, 1, 2))
    assert outcome.verdict == "refuted"
    assert outcome.evidence["results"]["noisy Rosenbrock"]["diverged_seeds"] == [0, 1, 2]


@pytest.mark.refutes("stsgd.critical-set")
def test_critical_set_refutes_gradient_ascent():
    """Ascent does not diverge within 200 iterations here; the norm rises and the late slope's CI lies above 0."""
    problems = {"tanh regression": bb.PROBLEMS["tanh regression"]}
    outcome = bb.check_critical_set(AscentStepTunedSGD, problems=problems, seeds=(0, 1, 2), iterations=200)
    assert outcome.verdict == "refuted" and outcome.evidence["results"]["tanh regression"]["late_slope_ci95"][0] > 0


def test_critical_set_refutes_the_decay_switched_off():
    """At the tuned α a constant step is unstable on the regression: every run diverges."""
    problems = {"tanh regression": bb.PROBLEMS["tanh regression"]}
    outcome = bb.check_critical_set(UndecayedStepTunedSGD, problems=problems)
    assert outcome.verdict == "refuted"
    assert outcome.evidence["results"]["tanh regression"]["diverged_seeds"] == list(bb.CRITICAL_SET_SEEDS)


def test_critical_set_does_not_verify_a_stable_constant_step():
    """A constant step small enough to be stable (α/2) settles at a noise floor: the late slope's CI
    straddles 0, which the rule calls inconclusive (a floor and a slow decrease differ only by a rate,
    which the claim lacks)."""
    problems = {"noisy Rosenbrock": (bb.NoisyRosenbrock, ROSENBROCK_LR / 2)}
    outcome = bb.check_critical_set(UndecayedStepTunedSGD, problems=problems)
    low, high = outcome.evidence["results"]["noisy Rosenbrock"]["late_slope_ci95"]
    assert outcome.verdict == "inconclusive" and low < 0 < high, outcome.key_number


def test_curvature_tracking_entry_and_figure():
    entry = ledger.run(ledger.REGISTRY["stsgd.curvature-tracking"])
    assert entry.verdict == "refuted", entry
    assert_figure_saved(entry, "stsgd-curvature-tracking.png")


def test_curvature_tracking_verifies_the_same_batch_estimate_without_averaging():
    outcome = bb.check_curvature_tracking(beta=0.0)
    assert outcome.verdict == "verified", outcome.key_number


@pytest.mark.refutes("stsgd.curvature-tracking")
def test_curvature_tracking_refutes_a_new_batch_per_evaluation():
    """The closure mistake: it draws a batch on every call, so the two gradients of an iteration
    come from different batches and their difference carries the batch noise."""
    def new_batch_closure(optimizer, problem):
        def closure():
            optimizer.zero_grad()
            loss = problem.batch_loss(problem.sample_batch())
            loss.backward()
            return loss

        return closure

    assert bb.check_curvature_tracking(beta=0.0, make_closure=new_batch_closure).verdict == "refuted"
