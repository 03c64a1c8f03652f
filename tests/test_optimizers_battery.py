"""One generic test battery run over every registered optimizer (the torch.optim OptimizerInfo idea).

Every name in ``optimizers.available()`` goes through the same checks: registry metadata,
state_dict round trips, param groups, parameters without gradients, reference path == fast path,
dtypes, progress on a convex problem, sparse gradients, ``base_weights()`` and lr schedulers.
A new registry entry fails ``test_every_registered_optimizer_has_test_settings`` until it is given
settings in ``optimizer_problems.SENSIBLE`` / ``STRESSED``.
"""

import copy
import io

import pytest
import torch

import optimizers
from optimizer_problems import (SENSIBLE, STRESSED, NoisyProblem, assert_same_trajectory,
                                base_flat, cosine_schedule, flat, logistic_regression_data,
                                mismatch, run, single_threaded_torch)  # noqa: F401 (autouse fixture)

NAMES = optimizers.available()
SHIFTED = [name for name in NAMES if optimizers.info(name).stores_shifted_weights]
# Methods with a global scalar coupling the groups (a norm or a step-size estimate over all
# parameters): a group does not follow what it would alone.
GLOBAL_COUPLING = {"msam", "msam-adamw", "sam", "sam-adamw", "step-tuned-sgd"}
TORCH_BASELINES = (torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW, torch.optim.RMSprop)


def make(name, params, **overrides):
    return optimizers.create(name, params, **{**SENSIBLE[name], **overrides})


def two_groups(params, **second_group):
    return [{"params": params[:1]}, {"params": params[1:], **second_group}]


def test_every_registered_optimizer_has_test_settings():
    assert set(NAMES) == set(SENSIBLE) == set(STRESSED)
    assert GLOBAL_COUPLING <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_registry_metadata_matches_the_optimizer(name):
    entry = optimizers.info(name)
    problem = NoisyProblem()
    params = problem.parameters()
    optimizer = make(name, params)
    assert isinstance(optimizer, torch.optim.Optimizer)
    assert getattr(optimizer, "stores_shifted_weights", False) == entry.stores_shifted_weights
    assert set(SENSIBLE[name]) <= set(entry.defaults)
    calls = []
    inner = problem.closure(params, 0)

    def counting_closure():
        calls.append(1)
        return inner()

    loss = optimizer.step(counting_closure)
    assert len(calls) == entry.gradient_evaluations
    assert loss == pytest.approx(problem.loss(problem.start, 0), rel=1e-12)
    if entry.needs_closure:
        with pytest.raises(RuntimeError, match="closure"):
            optimizer.step()
    else:
        problem.closure(params, 1)()
        optimizer.step()  # gradients already in .grad


# --- state_dict round trip ---------------------------------------------------------------------

def _save_by_copy(state_dict):
    return copy.deepcopy(state_dict)


def _save_by_bytes(state_dict):
    buffer = io.BytesIO()
    torch.save(state_dict, buffer)
    buffer.seek(0)
    return torch.load(buffer)


@pytest.mark.parametrize("save", [_save_by_copy, _save_by_bytes], ids=["deepcopy", "torch.save"])
@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip_continues_bitwise(name, save):
    problem, first, then = NoisyProblem(), 6, 7
    hparams = STRESSED[name]
    params = problem.parameters()
    optimizer = optimizers.create(name, two_groups(params, lr=hparams["lr"] / 2), **hparams)
    run(optimizer, params, problem, first)
    saved_state = save(optimizer.state_dict())
    saved_params = [p.detach().clone() for p in params]
    continued, continued_base = run(optimizer, params, problem, then, first=first, base=True)

    fresh = problem.parameters(start=torch.zeros(problem.dim))
    with torch.no_grad():
        for param, value in zip(fresh, saved_params):
            param.copy_(value)
    resumed_optimizer = optimizers.create(name, two_groups(fresh), **hparams)
    resumed_optimizer.load_state_dict(saved_state)
    resumed, resumed_base = run(resumed_optimizer, fresh, problem, then, first=first, base=True)
    assert torch.equal(resumed, continued)
    assert torch.equal(resumed_base, continued_base)
    assert resumed_optimizer.param_groups[1]["lr"] == hparams["lr"] / 2


# --- param groups --------------------------------------------------------------------------

def _joint_closure(problems, param_lists, k):
    closures = [p.closure(params, k) for p, params in zip(problems, param_lists)]
    return lambda: sum(c() for c in closures)


@pytest.mark.parametrize("name", [n for n in NAMES if n not in GLOBAL_COUPLING])
def test_each_param_group_follows_what_it_would_alone(name):
    """Two independent problems in two groups with different lr == each optimized alone."""
    problems = [NoisyProblem(seed=1), NoisyProblem(seed=2, shapes=((6, 4),))]
    lrs = [SENSIBLE[name]["lr"], SENSIBLE[name]["lr"] / 3]
    joint = [p.parameters() for p in problems]
    optimizer = make(name, [{"params": joint[0], "lr": lrs[0]}, {"params": joint[1], "lr": lrs[1]}])
    for k in range(12):
        optimizer.step(_joint_closure(problems, joint, k))
    for problem, params, lr in zip(problems, joint, lrs):
        alone = problem.parameters()
        alone_optimizer = make(name, alone, lr=lr)
        alone_trajectory = run(alone_optimizer, alone, problem, 12)
        assert torch.equal(flat(params), alone_trajectory[-1])
        assert torch.equal(base_flat(optimizer, params), base_flat(alone_optimizer, alone))


@pytest.mark.parametrize("name", NAMES)
def test_splitting_into_groups_with_equal_settings_changes_nothing(name):
    problem = NoisyProblem()
    params = problem.parameters()
    split, split_base = run(make(name, two_groups(params)), params, problem, 15, base=True)
    params = problem.parameters()
    whole, whole_base = run(make(name, params), params, problem, 15, base=True)
    assert_same_trajectory(split, whole)
    assert_same_trajectory(split_base, whole_base)


@pytest.mark.parametrize("name", NAMES)
def test_group_with_zero_lr_keeps_its_base_weights(name):
    problem = NoisyProblem()
    params = problem.parameters()
    optimizer = make(name, two_groups(params, lr=0.0))
    stored, base = run(optimizer, params, problem, 10, base=True)
    frozen = slice(problem.sizes[0], None)
    start = problem.start[frozen].expand_as(base[:, frozen])
    if optimizers.info(name).stores_shifted_weights:
        assert_same_trajectory(base[:, frozen], start)
    else:
        assert torch.equal(stored[:, frozen], start)
    assert mismatch(base[-1, : problem.sizes[0]], problem.start[: problem.sizes[0]]) > 1e-3


# --- parameters without gradients ------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_parameters_without_gradient_are_skipped(name):
    problem = NoisyProblem()
    params = problem.parameters()
    unused = torch.nn.Parameter(torch.randn(3, 2, dtype=torch.float64))
    before = unused.detach().clone()
    optimizer = make(name, [{"params": params + [unused]}], **STRESSED[name])
    run(optimizer, params, problem, 5)
    assert unused.grad is None
    assert torch.equal(unused, before)
    assert not optimizer.state.get(unused)
    with optimizer.base_weights():
        assert torch.equal(unused, before)
    assert torch.equal(unused, before)


@pytest.mark.parametrize("name", [n for n in NAMES if n not in GLOBAL_COUPLING])
def test_parameter_whose_first_gradient_comes_late_starts_fresh(name):
    """Two independent problems in one group; the second gets no gradient before step 5. From
    then on it must follow a fresh run of the method on it alone (as torch.optim does: step
    counts, bias corrections and buffers are per parameter)."""
    problems, late, steps = [NoisyProblem(seed=1), NoisyProblem(seed=2, shapes=((6, 4),))], 5, 12
    joint = [p.parameters() for p in problems]
    optimizer = make(name, joint[0] + joint[1], **STRESSED[name])
    for k in range(steps):
        _joint_closure(problems, joint, k)()
        if k < late:
            for param in joint[1]:
                param.grad = None
        optimizer.step()  # gradients already in .grad (no closure-only method here)
    alone = problems[1].parameters()
    alone_optimizer = make(name, alone, **STRESSED[name])
    alone_trajectory = run(alone_optimizer, alone, problems[1], steps - late, first=late)
    assert_same_trajectory(flat(joint[1]), alone_trajectory[-1])
    assert_same_trajectory(base_flat(optimizer, joint[1]), base_flat(alone_optimizer, alone))


@pytest.mark.parametrize("name", NAMES)
def test_parameter_that_stops_getting_gradients_keeps_its_weights(name):
    """A parameter whose gradient is None from step 6 on is not updated: its stored weights and
    its base weights stay what they were, also while lr (and so any shift) keeps changing."""
    problem, stop, steps = NoisyProblem(), 6, 14
    params = problem.parameters()
    hparams = STRESSED[name]
    optimizer = make(name, params, **hparams)
    schedule = cosine_schedule(hparams["lr"], steps, floor=hparams["lr"] / 10)
    frozen = slice(problem.sizes[0] + problem.sizes[1], None)
    stored, base = [], []
    for k in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = schedule[k]
        closure = problem.closure(params, k)

        def closure_without_last(closure=closure):
            loss = closure()
            if k >= stop:
                params[2].grad = None
            return loss

        optimizer.step(closure_without_last)
        stored.append(flat(params)[frozen])
        base.append(base_flat(optimizer, params)[frozen])
    assert torch.equal(torch.stack(stored[stop:]), stored[stop - 1].expand(steps - stop, -1))
    assert_same_trajectory(torch.stack(base[stop:]), base[stop - 1].expand(steps - stop, -1))


# --- reference path == fast path -------------------------------------------------------------

FOREACH_CASES = [(name, STRESSED[name]) for name in NAMES] + [
    ("overshoot-adamw", dict(STRESSED["overshoot-adamw"], exact=False)),
    ("overshoot-sgd", dict(lr=0.03, momentum=0.5, overshoot=0.0)),
    ("msam", dict(STRESSED["msam"], rho=0.0)),
]


@pytest.mark.parametrize("name,hparams", FOREACH_CASES,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(FOREACH_CASES)])
def test_reference_path_equals_fast_path(name, hparams):
    """foreach=False (per-parameter loop) vs foreach=True, float64, 60 steps, two groups,
    under a cosine lr schedule (so consecutive steps use different lrs)."""
    problem, steps = NoisyProblem(), 60
    schedule = cosine_schedule(hparams["lr"], steps, floor=hparams["lr"] / 10)
    trajectories = []
    for foreach in (False, True):
        params = problem.parameters()
        optimizer = optimizers.create(name, two_groups(params), foreach=foreach, **hparams)
        trajectories.append(run(optimizer, params, problem, steps, lr_schedule=schedule, base=True))
    (loop, loop_base), (fast, fast_base) = trajectories
    assert_same_trajectory(fast, loop)
    assert_same_trajectory(fast_base, loop_base)


# --- dtypes and progress -----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
@pytest.mark.parametrize("name", NAMES)
def test_dtypes_run_finite_and_make_progress(name, dtype):
    problem = NoisyProblem()
    params = problem.parameters(dtype)
    optimizer = make(name, params)
    run(optimizer, params, problem, 40)
    assert all(p.dtype == dtype for p in params)
    for state in optimizer.state.values():
        for value in state.values():
            if torch.is_tensor(value) and value.is_floating_point() and value.dim() > 0:
                assert value.dtype == dtype
    final = base_flat(optimizer, params)
    assert torch.isfinite(final).all()
    start_loss = problem.loss(flat(problem.parameters(dtype)))
    assert problem.loss(final) < 0.7 * start_loss


@pytest.mark.parametrize("name", NAMES)
def test_loss_falls_on_logistic_regression(name):
    inputs, targets = logistic_regression_data()
    torch.manual_seed(0)
    model = torch.nn.Linear(inputs.shape[1], 1).double()
    optimizer = make(name, model.parameters())

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(inputs).squeeze(1),
                                                                    targets)
        loss.backward()
        return loss

    def base_loss():
        with torch.no_grad(), optimizer.base_weights():
            return float(torch.nn.functional.binary_cross_entropy_with_logits(
                model(inputs).squeeze(1), targets))

    start = base_loss()
    for _ in range(100):
        optimizer.step(closure)
    assert base_loss() < 0.5 * start


# --- sparse gradients ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_sparse_gradients_are_refused_clearly(name):
    embedding = torch.nn.Embedding(10, 3, sparse=True)
    optimizer = make(name, embedding.parameters())
    if isinstance(optimizer, TORCH_BASELINES):
        pytest.skip("torch.optim baseline: sparse handling is torch's own")

    def closure():
        optimizer.zero_grad()
        loss = embedding(torch.tensor([1, 2, 2])).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="sparse"):
        optimizer.step(closure)


# --- base weights -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_base_weights_restores_training_weights_bitwise(name):
    problem = NoisyProblem()
    params = problem.parameters()
    optimizer = make(name, two_groups(params), **STRESSED[name])
    run(optimizer, params, problem, 6)
    training = flat(params)
    with optimizer.base_weights():
        inside = flat(params)
    assert torch.equal(flat(params), training)
    if optimizers.info(name).stores_shifted_weights:
        assert mismatch(inside, training) > 1e-6
    else:
        assert torch.equal(inside, training)
    with pytest.raises(KeyError), optimizer.base_weights():
        raise KeyError("an evaluation that fails")
    assert torch.equal(flat(params), training)
    after = run(optimizer, params, problem, 6, first=6)

    params = problem.parameters()
    undisturbed = run(make(name, two_groups(params), **STRESSED[name]), params, problem, 12)
    assert torch.equal(after, undisturbed[6:])


@pytest.mark.parametrize("name", SHIFTED)
def test_step_inside_base_weights_raises(name):
    problem = NoisyProblem()
    params = problem.parameters()
    optimizer = make(name, params)
    run(optimizer, params, problem, 2)
    with optimizer.base_weights():
        with pytest.raises(RuntimeError, match="base_weights"):
            optimizer.step(problem.closure(params, 2))
    run(optimizer, params, problem, 1, first=2)


@pytest.mark.parametrize("name", SHIFTED)
def test_nested_base_weights_does_not_shift_twice(name):
    """An evaluation helper that enters base_weights() inside another base_weights() block (e.g.
    evaluate() called from a checkpoint routine) must still see the base weights, or be refused."""
    problem = NoisyProblem()
    params = problem.parameters()
    optimizer = make(name, params)
    run(optimizer, params, problem, 5)
    training = flat(params)
    with optimizer.base_weights():
        outer = flat(params)
        try:
            with optimizer.base_weights():
                inner = flat(params)
        except RuntimeError:
            inner = outer
        assert torch.equal(inner, outer), f"inner block deviates by {mismatch(inner, outer):.2e}"
        assert torch.equal(flat(params), outer)
        with pytest.raises(RuntimeError, match="base_weights"):  # still inside the outer block
            optimizer.step(problem.closure(params, 5))
    assert torch.equal(flat(params), training)


# --- learning-rate schedulers -------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_cosine_scheduler_sets_the_lr_read_at_each_step(name):
    problem, steps = NoisyProblem(), 12
    params = problem.parameters()
    optimizer = make(name, two_groups(params, lr=SENSIBLE[name]["lr"] / 2))
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    seen, stored = [], []
    for k in range(steps):
        seen.append([group["lr"] for group in optimizer.param_groups])
        optimizer.step(problem.closure(params, k))
        scheduler.step()
        stored.append(flat(params))
    assert seen[0] != seen[-1] and seen[-1][0] < 0.1 * seen[0][0]

    params = problem.parameters()
    optimizer = make(name, two_groups(params, lr=SENSIBLE[name]["lr"] / 2))
    replayed = []
    for k in range(steps):
        for group, lr in zip(optimizer.param_groups, seen[k]):
            group["lr"] = lr
        optimizer.step(problem.closure(params, k))
        replayed.append(flat(params))
    assert torch.equal(torch.stack(stored), torch.stack(replayed))

    params = problem.parameters()
    constant = run(make(name, two_groups(params, lr=SENSIBLE[name]["lr"] / 2)), params, problem,
                   steps)
    assert mismatch(torch.stack(stored), constant) > 1e-6
