"""Gradient clipping for the methods whose ``step(closure)`` evaluates the gradients itself (SAM, Step-Tuned SGD).

``loss.backward(); clip_grad_norm_(...); optimizer.step(closure)`` clips gradients that the closure then
replaces, so clipping has to happen at each evaluation: ``max_grad_norm=c`` must be, bit for bit, the same
optimizer without it driven by a closure that calls ``torch.nn.utils.clip_grad_norm_(parameters, c)`` after
writing the gradients (on ``NoisyProblem``, float64, two param groups so the norm must be global). The negative
controls (no clipping; clipping only the first evaluation) must be rejected by the same comparison. The
clip-before-step pattern must warn once per optimizer; the usual closure pattern must never warn. A deepcopy or
pickle of an optimizer keeps ``max_grad_norm`` and steps like the original, bit for bit.
"""

import copy
import math
import pickle
import warnings

import pytest
import torch

import optimizers
from optimizer_problems import (NoisyProblem, assert_different_trajectory, assert_same_trajectory, flat,
                                single_threaded_torch)  # noqa: F401 (autouse fixture)

STEPS = 12
MAX_NORM = 0.3  # below the gradient norms of NoisyProblem along these runs, so clipping acts at every step

METHODS = {
    "sam": lambda groups, **extra: optimizers.SAM(groups, torch.optim.SGD, rho=0.2, lr=0.05, momentum=0.9,
                                                  weight_decay=0.05, **extra),
    "step-tuned-sgd": lambda groups, **extra: optimizers.StepTunedSGD(groups, lr=0.3, weight_decay=0.05, **extra),
}
WARNING = r"step\(closure\) recomputes the gradients"


def two_groups(params):
    return [{"params": params[:1]}, {"params": params[1:]}]


def clipping_closure(problem, params, k, clipped_evaluations):
    """The problem's closure followed by clip_grad_norm_ on its first ``clipped_evaluations`` calls."""
    evaluate, calls = problem.closure(params, k), []

    def closure():
        loss = evaluate()
        calls.append(k)
        if len(calls) <= clipped_evaluations:
            torch.nn.utils.clip_grad_norm_(params, MAX_NORM)
        return loss

    return closure


def trajectory(name, problem, clipped_evaluations=0, **extra):
    params = problem.parameters()
    optimizer = METHODS[name](two_groups(params), **extra)
    rows = []
    for k in range(STEPS):
        assert flat([problem.grad(flat(params), k)]).norm() > MAX_NORM
        optimizer.step(clipping_closure(problem, params, k, clipped_evaluations))
        rows.append(flat(params))
    return torch.stack(rows)


@pytest.mark.parametrize("name", list(METHODS))
def test_max_grad_norm_is_clip_grad_norm_after_each_evaluation_of_the_closure(name):
    problem = NoisyProblem()
    clipped_inside = trajectory(name, problem, clipped_evaluations=2)
    assert torch.equal(trajectory(name, problem, max_grad_norm=MAX_NORM), clipped_inside)
    assert_different_trajectory(trajectory(name, problem), clipped_inside)
    assert_different_trajectory(trajectory(name, problem, clipped_evaluations=1), clipped_inside)
    assert_same_trajectory(trajectory(name, problem, max_grad_norm=1e6), trajectory(name, problem))


@pytest.mark.parametrize("value", [0.0, -1.0, math.nan])
@pytest.mark.parametrize("name", list(METHODS))
def test_a_bad_max_grad_norm_is_refused_by_name(name, value):
    params = NoisyProblem().parameters()
    with pytest.raises(ValueError, match=rf"max_grad_norm={value!r} is out of range: allowed \(0, inf"):
        METHODS[name](params, max_grad_norm=value)


def linear_model():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1).double()
    inputs = torch.randn(16, 3, dtype=torch.float64)
    return model, inputs, inputs.sum(dim=1, keepdim=True).sin()


def batch_loss(model, inputs, targets):
    return torch.nn.functional.mse_loss(model(inputs), targets)


def usual_closure(optimizer, model, inputs, targets):
    def closure():
        optimizer.zero_grad()
        loss = batch_loss(model, inputs, targets)
        loss.backward()
        return loss
    return closure


def recomputation_warnings(record):
    return [w for w in record if issubclass(w.category, RuntimeWarning) and "recomputes the gradients" in
            str(w.message)]


@pytest.mark.parametrize("name", list(METHODS))
def test_clipping_before_step_warns_once(name):
    model, inputs, targets = linear_model()
    optimizer = METHODS[name](model.parameters())
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for _ in range(3):
            optimizer.zero_grad()
            batch_loss(model, inputs, targets).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_NORM)
            optimizer.step(usual_closure(optimizer, model, inputs, targets))
    assert len(recomputation_warnings(record)) == 1
    message = str(recomputation_warnings(record)[0].message)
    assert "max_grad_norm" in message and "clip inside the closure" in message


@pytest.mark.parametrize("zero_grad_before_step", [None, "set_to_none", "zeros"])
@pytest.mark.parametrize("name", list(METHODS))
def test_the_usual_closure_pattern_never_warns(name, zero_grad_before_step):
    model, inputs, targets = linear_model()
    optimizer = METHODS[name](model.parameters())
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for _ in range(4):
            if zero_grad_before_step is not None:
                optimizer.zero_grad(set_to_none=zero_grad_before_step == "set_to_none")
            optimizer.step(usual_closure(optimizer, model, inputs, targets))
    assert recomputation_warnings(record) == []


@pytest.mark.parametrize("name", list(METHODS))
def test_gradients_present_at_the_first_step_count_as_changed(name):
    model, inputs, targets = linear_model()
    optimizer = METHODS[name](model.parameters())
    batch_loss(model, inputs, targets).backward()
    with pytest.warns(RuntimeWarning, match=WARNING):
        optimizer.step(usual_closure(optimizer, model, inputs, targets))


@pytest.mark.filterwarnings("ignore:.*step.closure. recomputes")  # a copy's first step warns of the copied .grad
@pytest.mark.parametrize("copier", ["deepcopy", "pickle"])
@pytest.mark.parametrize("name", list(METHODS))
def test_a_copy_keeps_max_grad_norm_and_steps_bitwise_like_the_original(name, copier):
    problem = NoisyProblem()
    params = problem.parameters()
    optimizer = METHODS[name](two_groups(params), max_grad_norm=MAX_NORM)
    for k in range(3):
        optimizer.step(problem.closure(params, k))
    copy_of = copy.deepcopy if copier == "deepcopy" else lambda objects: pickle.loads(pickle.dumps(objects))
    copied_params, copied = copy_of((params, optimizer))
    assert copied.max_grad_norm == MAX_NORM
    for k in range(3, 6):
        optimizer.step(problem.closure(params, k))
        copied.step(problem.closure(copied_params, k))
        assert torch.equal(flat(copied_params), flat(params))
