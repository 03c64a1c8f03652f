"""SAM over a base optimizer (``sam``: heavy-ball SGD, ``sam-adamw``: AdamW) against its definition.

The reference is built from the definition with torch's own optimizers, on the flat float64 vector of
``NoisyProblem``: per batch k, g = ∇f_k(w); ε = ρ g/(‖g‖ + 1e-12) with the global L2 norm; g̃ = ∇f_k(w + ε);
then ``torch.optim.SGD`` / ``torch.optim.AdamW`` steps from w with gradient g̃. The package's SAM runs on the
same point as three tensors in two param groups (so the norm must be global). Each negative control is a
plausible mistake fed to the same comparison, which must reject it.
"""

import copy
import pickle

import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook, register_optimizer_step_pre_hook

import optimizers
from optimizer_problems import (NoisyProblem, assert_different_trajectory, assert_same_trajectory, flat,
                                single_threaded_torch)  # noqa: F401 (autouse fixture)

STEPS = 30
RHO = 0.2

# registry name -> (hyperparameters, the torch base optimizer with the same ones but ρ)
BASES = {
    "sam": (dict(lr=0.05, momentum=0.9, weight_decay=0.05),
            lambda params, **h: torch.optim.SGD(params, **h)),
    "sam-adamw": (dict(lr=0.02, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.05),
                  lambda params, **h: torch.optim.AdamW(params, **h)),
}
TORCH_CLASSES = {"sam": torch.optim.SGD, "sam-adamw": torch.optim.AdamW}
SCHEDULERS = {
    "constant": None,
    "cosine": lambda optimizer: torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=STEPS, eta_min=1e-3),
    "step": lambda optimizer: torch.optim.lr_scheduler.StepLR(optimizer, step_size=7, gamma=0.5),
}


def two_groups(params):
    return [{"params": params[:1]}, {"params": params[1:]}]


def write_gradient(params, problem, gradient):
    for param, piece in zip(params, torch.split(gradient, problem.sizes)):
        param.grad = piece.reshape(param.shape).clone()


def global_ascent(problem, g, rho):
    return rho * g / (g.norm() + 1e-12)


def per_parameter_ascent(problem, g, rho):
    """Mistake: each tensor normalised by its own norm."""
    return torch.cat([rho * piece / (piece.norm() + 1e-12) for piece in torch.split(g, problem.sizes)])


def reference(name, problem, rho=RHO, steps=STEPS, scheduler="constant", ascent=global_ascent,
              gradient_at_ascent=True, step_from_ascent=False):
    """The definition, with a torch base optimizer on w; the flags switch on a mistake each:
    ``gradient_at_ascent=False`` steps with g instead of g̃, ``step_from_ascent=True`` forgets to go back
    to w before the base step."""
    hparams, base = BASES[name]
    params = problem.parameters()
    optimizer = base(params, **hparams)
    schedule = SCHEDULERS[scheduler] and SCHEDULERS[scheduler](optimizer)
    rows = []
    for k in range(steps):
        w = flat(params)
        g = problem.grad(w, k)
        shifted = w + ascent(problem, g, rho)
        write_gradient(params, problem, problem.grad(shifted, k) if gradient_at_ascent else g)
        if step_from_ascent:
            with torch.no_grad():
                for param, piece in zip(params, torch.split(shifted, problem.sizes)):
                    param.copy_(piece.reshape(param.shape))
        optimizer.step()
        if schedule is not None:
            schedule.step()
        rows.append(flat(params))
    return torch.stack(rows)


def package(name, problem, rho=RHO, steps=STEPS, scheduler="constant", api="registry"):
    """The package's SAM through the registry or through ``SAM(params, torch class, …)``."""
    hparams, _ = BASES[name]
    params = problem.parameters()
    if api == "registry":
        optimizer = optimizers.create(name, two_groups(params), rho=rho, **hparams)
    else:
        optimizer = optimizers.SAM(two_groups(params), TORCH_CLASSES[name], rho=rho, **hparams)
    schedule = SCHEDULERS[scheduler] and SCHEDULERS[scheduler](optimizer)
    rows = []
    for k in range(steps):
        optimizer.step(problem.closure(params, k))
        if schedule is not None:
            schedule.step()
        rows.append(flat(params))
    return torch.stack(rows)


@pytest.mark.parametrize("api", ["registry", "torch-class"])
@pytest.mark.parametrize("scheduler", list(SCHEDULERS))
@pytest.mark.parametrize("name", list(BASES))
def test_sam_is_the_definition_with_torch_base_optimizers(name, scheduler, api):
    problem = NoisyProblem()
    expected = reference(name, problem, scheduler=scheduler)
    assert_same_trajectory(package(name, problem, scheduler=scheduler, api=api), expected)


MISTAKES = {
    "gradient-at-w": dict(gradient_at_ascent=False),
    "per-parameter-norm": dict(ascent=per_parameter_ascent),
    "step-from-ascent-point": dict(step_from_ascent=True),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
@pytest.mark.parametrize("name", list(BASES))
def test_negative_control_plausible_mistakes_are_refuted(name, mistake):
    """The comparison above would catch each mistake: its reference is not within tolerance."""
    problem = NoisyProblem()
    actual = package(name, problem, scheduler="cosine")
    assert_same_trajectory(actual, reference(name, problem, scheduler="cosine"))
    assert_different_trajectory(actual, reference(name, problem, scheduler="cosine", **MISTAKES[mistake]))


@pytest.mark.parametrize("name", list(BASES))
def test_zero_rho_is_the_base_optimizer_bit_for_bit(name):
    hparams, base = BASES[name]
    problem = NoisyProblem()
    params = problem.parameters()
    expected = base(params, **hparams)
    rows = []
    for k in range(STEPS):
        expected.step(problem.closure(params, k))
        rows.append(flat(params))
    assert torch.equal(package(name, problem, rho=0.0), torch.stack(rows))
    assert_different_trajectory(package(name, problem, rho=RHO), torch.stack(rows))


@pytest.mark.parametrize("name", list(BASES))
def test_state_dict_round_trip_with_a_scheduler_continues_bitwise(name):
    problem, first, then = NoisyProblem(), 8, 9
    hparams, _ = BASES[name]

    def build(params):
        optimizer = optimizers.create(name, two_groups(params), rho=RHO, **hparams)
        return optimizer, torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=first + then)

    def steps(optimizer, schedule, params, start, count):
        rows = []
        for k in range(start, start + count):
            optimizer.step(problem.closure(params, k))
            schedule.step()
            rows.append(flat(params))
        return torch.stack(rows)

    params = problem.parameters()
    optimizer, schedule = build(params)
    steps(optimizer, schedule, params, 0, first)
    saved = copy.deepcopy((optimizer.state_dict(), schedule.state_dict(), [p.detach() for p in params]))
    uninterrupted = steps(optimizer, schedule, params, first, then)

    fresh = problem.parameters(start=torch.cat([p.reshape(-1) for p in saved[2]]))
    resumed_optimizer, resumed_schedule = build(fresh)
    resumed_optimizer.load_state_dict(saved[0])
    resumed_schedule.load_state_dict(saved[1])
    assert resumed_optimizer.state is resumed_optimizer.base_optimizer.state
    assert resumed_optimizer.param_groups is resumed_optimizer.base_optimizer.param_groups
    assert torch.equal(steps(resumed_optimizer, resumed_schedule, fresh, first, then), uninterrupted)


@pytest.mark.parametrize("name", list(BASES))
def test_added_param_group_gets_the_base_defaults_and_rho(name):
    """A group added later is a group of the base optimizer: the same run as one given at construction."""
    hparams, _ = BASES[name]
    problem = NoisyProblem()
    params = problem.parameters()
    optimizer = optimizers.create(name, params[:1], rho=RHO, **hparams)
    optimizer.add_param_group({"params": params[1:]})
    assert optimizer.param_groups[1].keys() == optimizer.param_groups[0].keys()
    rows = []
    for k in range(10):
        optimizer.step(problem.closure(params, k))
        rows.append(flat(params))
    assert torch.equal(torch.stack(rows), package(name, problem, steps=10))
    with pytest.raises(ValueError, match=r"rho=-1 is out of range: allowed \[0, inf"):
        optimizer.add_param_group({"params": [torch.nn.Parameter(torch.zeros(2))], "rho": -1})


def test_a_callable_base_works_like_the_class():
    problem = NoisyProblem()
    hparams, _ = BASES["sam-adamw"]
    params = problem.parameters()
    optimizer = optimizers.SAM(two_groups(params), lambda p, **kw: torch.optim.AdamW(p, **kw), rho=RHO, **hparams)
    rows = []
    for k in range(10):
        optimizer.step(problem.closure(params, k))
        rows.append(flat(params))
    assert torch.equal(torch.stack(rows), package("sam-adamw", problem, steps=10, api="torch-class"))


def test_bad_bases_and_rho_are_refused_by_name():
    params = [torch.nn.Parameter(torch.zeros(3))]
    with pytest.raises(TypeError, match="base_optimizer='sgd' is not callable"):
        optimizers.SAM(params, "sgd", lr=0.1)
    with pytest.raises(TypeError, match="returned list; allowed: a torch.optim.Optimizer"):
        optimizers.SAM(params, lambda p, **kw: list(p), lr=0.1)
    other = [torch.nn.Parameter(torch.zeros(3))]
    with pytest.raises(ValueError, match="does not optimize the parameters it was given"):
        optimizers.SAM(params, lambda p, **kw: torch.optim.SGD(other, **kw), lr=0.1)
    with pytest.raises(ValueError, match=r"rho=-0.5 is out of range: allowed \[0, inf"):
        optimizers.SAM(params, torch.optim.SGD, rho=-0.5, lr=0.1)
    with pytest.raises(ValueError, match=r"betas\[0\]=1.0 is out of range"):  # the registry base validates
        optimizers.create("sam-adamw", params, betas=(1.0, 0.999))


def test_registry_entries_say_what_the_base_is():
    for name, base in (("sam", "torch.optim.SGD"), ("sam-adamw", "torch.optim.AdamW")):
        entry = optimizers.info(name)
        assert base in entry.paper and "SAM" in entry.paper
        assert (entry.gradient_evaluations, entry.needs_closure, entry.stores_shifted_weights) == (2, True, False)
        assert entry.defaults["rho"] == 0.05
    assert optimizers.info("sam").defaults == dict(lr=None, momentum=0.9, weight_decay=0.0, foreach=None, rho=0.05,
                                                   max_grad_norm=None)
    assert optimizers.info("sam-adamw").defaults == dict(
        lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, foreach=None, rho=0.05, max_grad_norm=None)


def copied_by_pickle(objects):
    return pickle.loads(pickle.dumps(objects))


COPIERS = {"deepcopy": copy.deepcopy, "pickle": copied_by_pickle}


def steps_taken(optimizer, params, problem, start, count):
    rows = []
    for k in range(start, start + count):
        optimizer.step(problem.closure(params, k))
        rows.append(flat(params))
    return torch.stack(rows)


def assert_equal_state_dicts(first, second):
    assert first["param_groups"] == second["param_groups"]
    assert first["state"].keys() == second["state"].keys()
    for index, entries in first["state"].items():
        assert entries.keys() == second["state"][index].keys()
        assert all(torch.equal(torch.as_tensor(value), torch.as_tensor(second["state"][index][key]))
                   for key, value in entries.items())


@pytest.mark.filterwarnings("ignore:SAM.step.closure. recomputes")  # a copy's first step warns of the copied .grad
@pytest.mark.parametrize("copier", list(COPIERS))
@pytest.mark.parametrize("name", list(BASES))
def test_a_copy_steps_bitwise_like_the_original_and_takes_new_param_groups(name, copier):
    """deepcopy / pickle of (parameters, SAM) mid-run: an equal optimizer whose next steps, after the same
    ``add_param_group`` on both, are the original's bit for bit (the new group stepped by the base)."""
    hparams, _ = BASES[name]
    problem = NoisyProblem()
    params = problem.parameters()
    optimizer = optimizers.SAM(params[:2], TORCH_CLASSES[name], rho=RHO, **hparams)
    steps_taken(optimizer, params, problem, 0, 4)
    copied_params, copied = COPIERS[copier]((params, optimizer))
    assert copied.param_groups is copied.base_optimizer.param_groups and copied.state is copied.base_optimizer.state
    assert_equal_state_dicts(copied.state_dict(), optimizer.state_dict())
    for each_params, each in ((params, optimizer), (copied_params, copied)):
        each.add_param_group({"params": each_params[2:], "lr": 0.01})
    expected = steps_taken(optimizer, params, problem, 4, 6)
    assert torch.equal(steps_taken(copied, copied_params, problem, 4, 6), expected)
    assert not torch.equal(expected[-1][-5:], expected[0][-5:])  # the added group moves
    assert_equal_state_dicts(copied.state_dict(), optimizer.state_dict())


def test_state_dict_hooks_registered_on_sam_fire_once():
    problem = NoisyProblem()
    params = problem.parameters()
    optimizer = optimizers.create("sam", two_groups(params), rho=RHO, lr=0.05)
    optimizer.step(problem.closure(params, 0))
    calls = []
    optimizer.register_state_dict_pre_hook(lambda opt: calls.append("state_dict pre"))
    optimizer.register_state_dict_post_hook(lambda opt, state: calls.append("state_dict post"))
    optimizer.register_load_state_dict_pre_hook(lambda opt, state: calls.append("load pre"))
    optimizer.register_load_state_dict_post_hook(lambda opt: calls.append("load post"))
    optimizer.load_state_dict(optimizer.state_dict())
    assert calls == ["state_dict pre", "state_dict post", "load pre", "load post"]
    assert optimizer.state is optimizer.base_optimizer.state
    assert optimizer.param_groups is optimizer.base_optimizer.param_groups


def test_step_hooks_fire_once_per_sam_step_with_sam_as_the_optimizer():
    """Global hooks (register_optimizer_step_*_hook) and SAM's own: once per SAM.step,
    never for the base step inside it."""
    problem = NoisyProblem()
    params = problem.parameters()
    optimizer = optimizers.create("sam", two_groups(params), rho=RHO, lr=0.05)
    seen = []
    handles = [register_optimizer_step_pre_hook(lambda opt, a, kw: seen.append(("pre", opt))),
               register_optimizer_step_post_hook(lambda opt, a, kw: seen.append(("post", opt))),
               optimizer.register_step_pre_hook(lambda opt, a, kw: seen.append(("own pre", opt)))]
    try:
        steps_taken(optimizer, params, problem, 0, 3)
    finally:
        for handle in handles:
            handle.remove()
    assert seen == [("pre", optimizer), ("own pre", optimizer), ("post", optimizer)] * 3
