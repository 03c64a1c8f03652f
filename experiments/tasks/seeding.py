"""Everything that turns a run seed into a choice: model initialisation and which examples are used.

Model weights are drawn inside ``initialised_with_seed`` so the caller's global RNG is left untouched. Subsets are
drawn from numpy generators keyed on ``(seed, purpose)`` so that choosing the training subset and initialising the
model are independent streams.
"""

import contextlib

import numpy as np
import torch

# Evaluation subsets are drawn with this seed, not the run seed, so every run is scored on the same examples.
EVALUATION_SEED = 0
# Distinct stream keys so that e.g. the training subset and the evaluation subset never share random numbers.
TRAIN_SUBSET_STREAM = 1
EVAL_SUBSET_STREAM = 2


@contextlib.contextmanager
def initialised_with_seed(seed: int):
    """Run the body with torch's CPU RNG seeded by ``seed``, restoring the previous RNG state afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def subsample_indices(population: int, size: int | None, seed: int, stream: int) -> np.ndarray:
    """``size`` distinct indices out of ``range(population)``, sorted; all of them when ``size`` is None."""
    if size is None:
        return np.arange(population)
    if size > population:
        raise ValueError(f"asked for {size} examples but only {population} are available")
    chosen = np.random.default_rng([seed, stream]).choice(population, size=size, replace=False)
    return np.sort(chosen)


def k_shot_indices(labels: np.ndarray, k: int, seed: int, stream: int) -> np.ndarray:
    """``k`` indices per class present in ``labels``, sorted; errors if a class has fewer than ``k`` examples."""
    rng = np.random.default_rng([seed, stream])
    chosen = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) < k:
            raise ValueError(f"k_shot={k} but class {label!r} has only {len(members)} examples")
        chosen.append(rng.choice(members, size=k, replace=False))
    return np.sort(np.concatenate(chosen))


def fixed_evaluation_indices(population: int, at_most: int | None) -> np.ndarray:
    """At most ``at_most`` indices (all when None), the same for every run seed."""
    size = None if at_most is None else min(at_most, population)
    return subsample_indices(population, size, EVALUATION_SEED, EVAL_SUBSET_STREAM)
