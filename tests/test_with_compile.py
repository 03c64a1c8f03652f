"""``torch.compile(optimizer.step)``: the compiled step equals the eager one, and how often it recompiles.

A user compiles the step (as torch's tutorial on compiled optimizers does) and runs a learning-rate schedule. The
compiled run must give the eager run's weights (stored and base) to float rounding under the schedule — a wrong
graph would be silent. torch's own AdamW compiles once for the whole schedule (float lrs become symbolic after the
first change); the package's optimizers still specialise on the lr and on the applied shift (Python-level
bucketing by float value, ``optimizers/tensor_lists.by_value``) and so compile one graph per distinct lr: issue 11 item 7, kept
here as a strict xfail that turns into a failure the day it is fixed. (torch's compiled AdamW itself is not the
eager one to float64 rounding — 4.5e-7 relative on this problem, cause not investigated — so it is used only for
its graph count.)
"""

import functools

import pytest
import torch
import torch._dynamo
from torch._dynamo.utils import counters

import optimizers
from optimizer_problems import SENSIBLE, assert_same_trajectory

STEPS = 5
PACKAGE = ["overshoot-sgd", "overshoot-adamw", "msam", "msam-adamw", "adamomentum"]


def model_and_batch():
    generator = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)).double()
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn(param.shape, generator=generator, dtype=torch.float64))
    return model, torch.randn(8, 4, generator=generator, dtype=torch.float64)


@functools.cache
def run(name: str, compiled: bool):
    """(stored weights, base weights, graphs compiled) after each of STEPS cosine-scheduled steps."""
    torch._dynamo.reset()
    counters.clear()
    model, batch = model_and_batch()
    optimizer = optimizers.create(name, model.parameters(), **SENSIBLE[name])
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=STEPS)
    step = torch.compile(optimizer.step) if compiled else optimizer.step
    stored, bases = [], []
    for _ in range(STEPS):
        optimizer.zero_grad()
        model(batch).pow(2).mean().backward()
        step()
        scheduler.step()
        stored.append(torch.cat([p.detach().reshape(-1) for p in model.parameters()]))
        with optimizer.base_weights():
            bases.append(torch.cat([p.detach().reshape(-1) for p in model.parameters()]))
    return torch.stack(stored), torch.stack(bases), counters["stats"]["unique_graphs"]


@pytest.mark.parametrize("name", PACKAGE)
def test_compiled_step_equals_eager_step_under_a_schedule(name):
    stored, base, _ = run(name, compiled=True)
    eager_stored, eager_base, _ = run(name, compiled=False)
    assert_same_trajectory(stored, eager_stored)
    assert_same_trajectory(base, eager_base)


def test_torch_adamw_compiles_once_for_the_whole_schedule():
    """The bar the package's optimizers are held to: a changing float lr does not recompile torch's AdamW."""
    assert run("adamw", compiled=True)[2] <= 2


@pytest.mark.xfail(strict=True, reason="issue 11 item 7: one graph per lr (lr and applied shift are specialised)")
@pytest.mark.parametrize("name", PACKAGE)
def test_package_optimizers_do_not_recompile_when_the_lr_changes(name):
    assert run(name, compiled=True)[2] <= 2
