"""``update_averaged_model`` averages the base weights (SWA and EMA of ``torch.optim.swa_utils``), for every
optimizer that stores shifted weights; the naive ``averaged.update_parameters(model)`` averages the shifted ones."""

import pytest
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

import optimizers
from optimizer_problems import SENSIBLE, NoisyProblem, assert_different_trajectory, assert_same_trajectory, flat
from optimizer_problems import single_threaded_torch  # noqa: F401 (autouse fixture)
from optimizers.integrations import update_averaged_model

SHIFTED = [name for name in optimizers.available() if optimizers.info(name).stores_shifted_weights]
STEPS, DECAY = 8, 0.8


class Holder(torch.nn.Module):
    """The problem's parameter tensors as a module, for ``AveragedModel``."""

    def __init__(self, params):
        super().__init__()
        self.params = torch.nn.ParameterList(params)


def averages(name, kind, helper: bool):
    """(averaged weights, hand-computed average of the base weights, of the stored weights) after STEPS steps."""
    problem = NoisyProblem()
    model = Holder(problem.parameters())
    params = list(model.params)
    optimizer = optimizers.create(name, params, **SENSIBLE[name])
    averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(DECAY) if kind == "ema" else None)
    by_hand = {"base": None, "stored": None}
    for k in range(STEPS):
        optimizer.step(problem.closure(params, k))
        with optimizer.base_weights():
            base = flat(params)
        for key, value in (("base", base), ("stored", flat(params))):
            if by_hand[key] is None:  # AveragedModel copies the first model it sees, for SWA and EMA alike
                by_hand[key] = value
            elif kind == "ema":
                by_hand[key] = DECAY * by_hand[key] + (1 - DECAY) * value
            else:
                by_hand[key] = by_hand[key] + (value - by_hand[key]) / (k + 1)
        if helper:
            update_averaged_model(averaged, model, optimizer)
        else:
            averaged.update_parameters(model)
    return flat(averaged.module.params), by_hand["base"], by_hand["stored"]


@pytest.mark.parametrize("kind", ["swa", "ema"])
@pytest.mark.parametrize("name", SHIFTED)
def test_averaged_model_holds_the_average_of_base_weights(name, kind):
    result, base, stored = averages(name, kind, helper=True)
    assert_same_trajectory(result, base)
    assert_different_trajectory(result, stored)


@pytest.mark.parametrize("kind", ["swa", "ema"])
@pytest.mark.parametrize("name", SHIFTED)
def test_naive_update_averages_the_shifted_weights(name, kind):
    result, base, stored = averages(name, kind, helper=False)
    assert_same_trajectory(result, stored)
    assert_different_trajectory(result, base)
