"""Range checks for optimizer hyperparameters, shared by every optimizer in the package.

A bad value stops construction with a ``ValueError`` that names the argument, its value and the
allowed range, so a wrong configuration fails before any compute.
"""

import math

import torch


def check_range(
    name: str,
    value: float,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``float(value)`` if it lies in the interval, else raise ``ValueError``.

    The interval is ``[low, high]``, with an end excluded when its ``*_open`` flag is set.
    """
    if isinstance(value, bool):
        raise ValueError(f"{name}={value!r} is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r} is not a number") from None
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    below = number <= low if low_open else number < low
    above = number >= high if high_open else number > high
    if math.isnan(number) or below or above:
        raise ValueError(f"{name}={value!r} is out of range: allowed {interval}")
    return number


def non_negative(name: str, value: float) -> float:
    """``value`` in [0, inf): learning rates, weight decay, overshoot, rho."""
    return check_range(name, value, low=0.0, high_open=True)


def learning_rate(name: str, value: float | torch.Tensor) -> float | torch.Tensor:
    """``value`` in [0, inf), kept as a tensor where it is one (a 1-element tensor becomes 0-dim), as torch's
    optimizers keep it: schedulers then update it in place, and ``torch.compile(optimizer.step)`` sees data,
    not a constant."""
    number = non_negative(name, value.item() if isinstance(value, torch.Tensor) and value.numel() == 1 else value)
    return value.detach().reshape(()) if isinstance(value, torch.Tensor) else number


def positive(name: str, value: float) -> float:
    """``value`` in (0, inf): epsilons and step bounds."""
    return check_range(name, value, low=0.0, low_open=True, high_open=True)


def momentum_coefficient(name: str, value: float) -> float:
    """``value`` in [0, 1): momentum and EMA coefficients."""
    return check_range(name, value, low=0.0, high=1.0, high_open=True)


def betas_pair(name: str, value: tuple[float, float]) -> tuple[float, float]:
    """A pair of EMA coefficients, each in [0, 1)."""
    try:
        first, second = value
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r} must be a pair (beta1, beta2)") from None
    return (momentum_coefficient(f"{name}[0]", first), momentum_coefficient(f"{name}[1]", second))
