"""SVAG (experiments/svag.py): the harness's gradient is c₁g(B₁) + c₂g(B₂) of the step's two batches; ℓ = 1 is the
plain harness; the oracle has the full-batch mean and ℓ times the one-batch covariance. Each check has a negative
control that a plausible mistake (swapped coefficients, √ℓ for √(2ℓ−1)) fails."""

import math

import pytest
import torch

from experiments import distributed, run_directory, svag, train
from experiments.config import validate
from experiments.tasks import create as create_task

ELL = 4
TINY = {"task": "digits-mlp", "task_options": {"width": 8, "train_size": 256}, "batch_size": 16,
        "dtype": "float64", "seed": 3}


def trained_weights(directory) -> dict:
    return run_directory.load_checkpoint(directory / "checkpoint.pt")["model"]


def first_batches(config, count: int) -> list:
    task = create_task(config.task, seed=config.seed, **config.task_options)
    batches = train.training_batches(task, config, distributed.this_process(), 0)
    return [next(batches) for _ in range(count)]


def gradient(task, inputs, targets) -> list[torch.Tensor]:
    task.model.zero_grad()
    task.loss(task.model(inputs.double()), targets).backward()
    return [parameter.grad.clone() for parameter in task.model.parameters()]


def hand_built_step(config, coefficients) -> list[torch.Tensor]:
    """w − lr·(c₁g(B₁) + c₂g(B₂)) at the initial weights, with the harness's first two batches."""
    task = create_task(config.task, seed=config.seed, **config.task_options)
    task.model.double()
    (x1, y1), (x2, y2) = first_batches(config, 2)
    first, second = gradient(task, x1, y1), gradient(task, x2, y2)
    return [(parameter - config.lr * (coefficients[0] * g1 + coefficients[1] * g2)).detach()
            for parameter, g1, g2 in zip(task.model.parameters(), first, second)]


def relative_error(actual: list[torch.Tensor], expected: list[torch.Tensor]) -> float:
    difference = math.sqrt(sum((a - e).pow(2).sum().item() for a, e in zip(actual, expected)))
    return difference / math.sqrt(sum(e.pow(2).sum().item() for e in expected))


def test_coefficients_sum_to_one_and_their_squares_to_ell():
    for ell in (1, 2, 4, 16):
        first, second = svag.coefficients(ell)
        assert first + second == pytest.approx(1, abs=1e-15)
        assert first**2 + second**2 == pytest.approx(ell, rel=1e-15)


def test_harness_gradient_is_c1_g1_plus_c2_g2_of_two_consecutive_batches(tmp_path):
    config = validate({**TINY, "optimizer": "sgd", "lr": 0.5, "svag": ELL, "steps": 1, "eval_every": 1,
                       "checkpoint_every": 1})
    summary = train.run(config, str(tmp_path))
    assert summary["gradient_evaluations_per_step"] == 2 and summary["gradient_evaluations"] == 2
    weights = list(trained_weights(tmp_path).values())
    first, second = svag.coefficients(ELL)
    root = math.sqrt(ELL)
    assert relative_error(weights, hand_built_step(config, (first, second))) < 1e-12
    # Negative controls: the batches' coefficients swapped, or √ℓ where √(2ℓ−1) belongs.
    assert relative_error(weights, hand_built_step(config, (second, first))) > 1e-3
    assert relative_error(weights, hand_built_step(config, ((1 + root) / 2, (1 - root) / 2))) > 1e-3


def test_closure_methods_re_evaluate_the_same_two_batches(tmp_path):
    """SAM under SVAG: the ascent and the descent gradient both of c₁L(B₁) + c₂L(B₂); two steps, because the
    second step's batches are the third and fourth."""
    values = {**TINY, "optimizer": "sam", "lr": 0.5, "hyperparameters": {"momentum": 0.0, "rho": 0.05},
              "svag": ELL, "steps": 2, "eval_every": 2, "checkpoint_every": 2}
    train.run(validate(values), str(tmp_path / "run"))
    task = create_task(TINY["task"], seed=TINY["seed"], **TINY["task_options"])
    task.model.double()
    batches = first_batches(validate(values), 4)
    first, second = svag.coefficients(ELL)
    parameters = list(task.model.parameters())
    for (x1, y1), (x2, y2) in (batches[:2], batches[2:]):
        def svag_gradient():
            g1, g2 = gradient(task, x1, y1), gradient(task, x2, y2)
            return [first * a + second * b for a, b in zip(g1, g2)]

        ascent = svag_gradient()
        scale = 0.05 / math.sqrt(sum(g.pow(2).sum().item() for g in ascent))
        with torch.no_grad():
            for parameter, g in zip(parameters, ascent):
                parameter.add_(g, alpha=scale)
        descent = svag_gradient()
        with torch.no_grad():
            for parameter, g_ascent, g in zip(parameters, ascent, descent):
                parameter.sub_(g_ascent, alpha=scale).sub_(g, alpha=0.5)
    expected = [parameter.detach() for parameter in parameters]
    summary = run_directory.read_json(tmp_path / "run" / "summary.json")
    assert summary["gradient_evaluations_per_step"] == 4  # SAM's two, each on two batches
    assert relative_error(list(trained_weights(tmp_path / "run").values()), expected) < 1e-12


def test_ell_1_is_the_plain_harness_bitwise(tmp_path):
    """svag = 1 against a hand-written loop of plain minibatch SGD with momentum over the harness's data order."""
    config = validate({**TINY, "dtype": "float32", "optimizer": "sgdm", "lr": 0.1, "svag": 1, "steps": 12,
                       "eval_every": 12, "checkpoint_every": 12})
    summary = train.run(config, str(tmp_path))
    assert summary["gradient_evaluations_per_step"] == 1
    task = create_task(config.task, seed=config.seed, **config.task_options)
    optimizer = torch.optim.SGD(task.model.parameters(), lr=0.1, momentum=0.9)
    for inputs, targets in first_batches(config, 12):
        optimizer.zero_grad(set_to_none=True)
        task.loss(task.model(inputs), targets).backward()
        optimizer.step()
    harness = trained_weights(tmp_path)
    assert all(torch.equal(harness[name], value) for name, value in task.model.state_dict().items())
    losses = [record["loss"] for record in run_directory.read_metrics(tmp_path / "metrics.jsonl")
              if record["kind"] == "train"]
    assert len(losses) == 12


def oracle_moments(coefficients, ell, replicas: int, seed: int = 0):
    """Monte Carlo mean and covariance of the SVAG gradient of least squares L(w) = mean (xᵀw − y)²/2 at a fixed w,
    batches of 4 drawn independently with replacement, formed through ``svag.objective`` (replicas vectorised:
    each replica has its own copy of w, so one backward gives every replica's gradient)."""
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(200, 3, generator=generator, dtype=torch.float64)
    targets = inputs @ torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64) + torch.randn(
        200, generator=generator, dtype=torch.float64)
    point = torch.tensor([0.3, 0.1, -0.4], dtype=torch.float64)
    weights = point.repeat(replicas, 1).requires_grad_()

    def batch_loss():
        batch = torch.randint(len(inputs), (replicas, 4), generator=generator)
        residual = (inputs[batch] * weights[:, None, :]).sum(-1) - targets[batch]
        return residual.pow(2).mean(-1) / 2  # one loss per replica

    if coefficients == svag.coefficients(ell):  # the module's own objective
        objective = svag.objective([batch_loss() for _ in range(svag.batches_per_step(ell))], ell)
    else:  # a control: the same form with other coefficients
        objective = coefficients[0] * batch_loss() + coefficients[1] * batch_loss()
    objective.sum().backward()
    samples = weights.grad
    per_example = inputs * (inputs @ point - targets)[:, None]
    full_batch = per_example.mean(0)
    one_batch_covariance = torch.cov(per_example.T, correction=0) / 4  # of a mean of 4 draws with replacement
    return samples.mean(0), torch.cov(samples.T), full_batch, one_batch_covariance


REPLICAS = 100_000
COVARIANCE_TOLERANCE = 0.03
"""Relative error allowed on the trace and every entry scale of the covariance: the Monte Carlo standard error of a
variance from 10⁵ draws is about √(2/10⁵)·(kurtosis factor) ≈ 0.5-1%, so 3% is several standard errors."""


def moments_match(coefficients, ell) -> bool:
    mean, covariance, full_batch, one_batch = oracle_moments(coefficients, ell, REPLICAS)
    expected = ell * one_batch
    standard_error = (expected.diagonal() / REPLICAS).sqrt()
    mean_ok = bool(((mean - full_batch).abs() <= 5 * standard_error).all())
    scale = expected.diagonal().sqrt()
    entries_ok = bool(((covariance - expected).abs() <= COVARIANCE_TOLERANCE * torch.outer(scale, scale)).all())
    trace_ok = abs(covariance.trace() / expected.trace() - 1) <= COVARIANCE_TOLERANCE
    return mean_ok and entries_ok and trace_ok


def test_oracle_has_the_full_batch_mean_and_ell_times_the_one_batch_covariance():
    assert moments_match(svag.coefficients(ELL), ELL)
    assert moments_match(svag.coefficients(1), 1)
    # Negative control: √ℓ instead of √(2ℓ−1) gives covariance (1 + ℓ)/2 times, not ℓ times, the one-batch one.
    # (Swapped coefficients would pass: the two batches are exchangeable; the harness test above catches that.)
    root = math.sqrt(ELL)
    assert not moments_match(((1 + root) / 2, (1 - root) / 2), ELL)
