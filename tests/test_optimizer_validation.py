"""Bad hyperparameters stop construction with a ValueError naming the argument, its value and the
allowed range; parameterised over the registry wherever a method has the hyperparameter."""

import math
import re

import pytest
import torch

import optimizers
from optimizer_problems import SENSIBLE, single_threaded_torch  # noqa: F401 (autouse fixture)

NAMES = optimizers.available()

# hyperparameter -> [(bad value, the name the message must use, the value it must show, range)];
# unbounded ranges are matched without their closing bracket (see test_infinite_values_are_refused).
BAD_VALUES = {
    "lr": [(-0.1, "lr", "-0.1", "[0, inf"), (math.nan, "lr", "nan", "[0, inf")],
    "momentum": [(-0.1, "momentum", "-0.1", "[0, 1)"), (1.0, "momentum", "1.0", "[0, 1)")],
    "betas": [((1.0, 0.999), "betas[0]", "1.0", "[0, 1)"),
              ((0.9, -0.1), "betas[1]", "-0.1", "[0, 1)"),
              ((0.9, 1.5), "betas[1]", "1.5", "[0, 1)")],
    "eps": [(0.0, "eps", "0.0", "(0, inf"), (-1e-8, "eps", "-1e-08", "(0, inf")],
    "weight_decay": [(-0.01, "weight_decay", "-0.01", "[0, inf")],
    "rho": [(-0.1, "rho", "-0.1", "[0, inf")],
    "max_grad_norm": [(0.0, "max_grad_norm", "0.0", "(0, inf"), (-1.0, "max_grad_norm", "-1.0", "(0, inf")],
    "overshoot": [(-1.0, "overshoot", "-1.0", "[0, inf")],
    "overshoot_delay": [(-1, "overshoot_delay", "-1", "integers >= 0"),
                        (1.5, "overshoot_delay", "1.5", "integers >= 0")],
    "alpha": [(1.0, "alpha", "1.0", "[0, 1)")],
    "nu": [(0.0, "nu", "0.0", "(0, inf")],
    "beta": [(1.0, "beta", "1.0", "[0, 1)"), (-0.5, "beta", "-0.5", "[0, 1)")],
    "min_step": [(0.0, "min_step", "0.0", "(0, inf")],
    "max_step": [(-1.0, "max_step", "-1.0", "(0, inf")],
    "delta": [(-0.1, "delta", "-0.1", "[0, inf")],
}
# Nesterov needs strictly positive momentum.
RANGE_OVERRIDES = {("nag", "momentum"): "(0, 1)"}

CASES = [(name, hparam, *bad) for name in NAMES for hparam in optimizers.info(name).defaults
         if hparam in BAD_VALUES for bad in BAD_VALUES[hparam]]


def parameters():
    return [torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))]


def test_every_validated_hyperparameter_of_the_registry_is_covered():
    """Each numeric hyperparameter of every method is exercised by at least one bad value."""
    unchecked = {(name, hparam) for name in NAMES for hparam, default in
                 optimizers.info(name).defaults.items()
                 if hparam not in BAD_VALUES and hparam not in ("foreach", "fused", "exact")}
    assert not unchecked


@pytest.mark.parametrize("name,hparam,value,shown_name,shown_value,allowed", CASES,
                         ids=[f"{c[0]}-{c[1]}={c[2]}" for c in CASES])
def test_bad_hyperparameter_raises_a_value_error_that_names_it(name, hparam, value, shown_name,
                                                                shown_value, allowed):
    allowed = RANGE_OVERRIDES.get((name, hparam), allowed)
    with pytest.raises(ValueError) as error:
        optimizers.create(name, parameters(), **{**SENSIBLE[name], hparam: value})
    message = str(error.value)
    assert f"{shown_name}={shown_value}" in message
    assert allowed in message


@pytest.mark.parametrize("name", NAMES)
def test_a_non_numeric_lr_is_refused(name):
    with pytest.raises(ValueError, match=re.escape("lr='fast' is not a number")):
        optimizers.create(name, parameters(), **{**SENSIBLE[name], "lr": "fast"})


@pytest.mark.parametrize("name,kwargs,expected", [
    ("overshoot-sgd", dict(lr=0.1, momentum=0.0, overshoot=1.0),
     "overshoot=1.0 needs momentum > 0 (got momentum=0"),
    ("msam", dict(lr=0.1, momentum=0.0, rho=0.3), "rho=0.3 needs momentum > 0 (got momentum=0"),
    ("overshoot-adamw", dict(betas=(0.0, 0.999), overshoot=1.0),
     "overshoot=1.0 needs betas[0] > 0 (got 0"),
])
def test_a_shift_without_momentum_is_refused(name, kwargs, expected):
    with pytest.raises(ValueError, match=re.escape(expected)):
        optimizers.create(name, parameters(), **kwargs)


@pytest.mark.parametrize("name,kwargs", [
    ("overshoot-sgd", dict(lr=0.1, momentum=0.0, overshoot=0.0)),
    ("msam", dict(lr=0.1, momentum=0.0, rho=0.0)),
    ("overshoot-adamw", dict(betas=(0.0, 0.999), overshoot=0.0)),
    ("step-tuned-sgd", dict(lr=0.1, min_step=1.0, max_step=1.0)),
])
def test_boundary_values_that_are_allowed(name, kwargs):
    optimizers.create(name, parameters(), **kwargs)


def test_min_step_above_max_step_is_refused():
    with pytest.raises(ValueError) as error:
        optimizers.create("step-tuned-sgd", parameters(), lr=0.1, min_step=2.0, max_step=1.0)
    message = str(error.value)
    assert "max_step=1.0" in message and "min_step=2.0" in message and "allowed" in message


@pytest.mark.parametrize("name", NAMES)
def test_unknown_hyperparameter_is_refused_by_name(name):
    with pytest.raises(ValueError) as error:
        optimizers.create(name, parameters(), **SENSIBLE[name], nesterof=True)
    message = str(error.value)
    assert "nesterof=True" in message and repr(name) in message
    assert "allowed: " + ", ".join(sorted(optimizers.info(name).defaults)) in message


def test_unknown_optimizer_is_refused_with_the_registered_names():
    with pytest.raises(ValueError) as error:
        optimizers.create("adamm", parameters(), lr=0.1)
    message = str(error.value)
    assert "optimizer='adamm'" in message
    assert all(name in message for name in NAMES)
    with pytest.raises(ValueError, match="optimizer='adamm'"):
        optimizers.info("adamm")


def test_infinite_values_are_refused():
    """lr = inf (or weight_decay = inf) can only produce inf/NaN weights; the range of a
    non-negative hyperparameter is [0, inf), so construction must refuse it."""
    accepted = []
    for name in NAMES:
        for hparam in ("lr", "weight_decay"):
            try:
                optimizers.create(name, parameters(), **{**SENSIBLE[name], hparam: math.inf})
            except ValueError as error:
                assert f"{hparam}=inf" in str(error)
            else:
                accepted.append(f"{name}: {hparam}=inf")
    assert not accepted, "accepted infinite hyperparameters: " + "; ".join(accepted)
