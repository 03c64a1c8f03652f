"""The one registry of tasks: name -> recipe (declared options + builder), looked up lazily.

Family modules are imported only when one of their tasks is created, so listing tasks or building a scikit-learn
task never imports ``transformers``.
"""

import dataclasses
import importlib
from collections.abc import Callable

from experiments.tasks.base import Task
from experiments.tasks.options import resolve_options


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How to build one task: ``build(seed=..., data_root=..., **options) -> Task`` and its declared options."""

    build: Callable[..., Task]
    options: dict


# Task name -> module whose ``RECIPES`` dict holds it.
_FAMILY_OF_TASK = {
    "digits-mlp": "experiments.tasks.sklearn_bundled",
    "diabetes-mlp": "experiments.tasks.sklearn_bundled",
    "mnist5k-mlp": "experiments.tasks.mnist5k",
    "mnist5k-vae": "experiments.tasks.mnist5k",
    "fmnist-mlp": "experiments.tasks.fashion_mnist",
    "fmnist-2c2d": "experiments.tasks.fashion_mnist",
    "fmnist-resnet": "experiments.tasks.fashion_mnist",
    "fmnist-vae": "experiments.tasks.fashion_mnist",
    "cifar10-3c3d": "experiments.tasks.cifar",
    "cifar10-resnet18": "experiments.tasks.cifar",
    "cifar10-resnet32": "experiments.tasks.cifar",
    "cifar100-resnet18": "experiments.tasks.cifar",
    "cifar100-resnet50": "experiments.tasks.cifar",
    "cifar100-wrn16-4": "experiments.tasks.cifar",
    "cifar100-wrn28-10": "experiments.tasks.cifar",
    "imagenet-resnet50": "experiments.tasks.imagenet",
    "rt-minilm": "experiments.tasks.rotten_tomatoes",
    "sst2-roberta": "experiments.tasks.few_shot_glue",
    "sst5-roberta": "experiments.tasks.few_shot_glue",
    "snli-roberta": "experiments.tasks.few_shot_glue",
    "mnli-roberta": "experiments.tasks.few_shot_glue",
    "rte-roberta": "experiments.tasks.few_shot_glue",
    "trec-roberta": "experiments.tasks.few_shot_glue",
    "qqp-gpt2": "experiments.tasks.qqp",
}


def available() -> list[str]:
    """Names of all registered tasks, sorted."""
    return sorted(_FAMILY_OF_TASK)


def family_module(name: str) -> str:
    """The module that builds task ``name`` (not imported here)."""
    if name not in _FAMILY_OF_TASK:
        raise ValueError(f"task: unknown value {name!r}; allowed: {available()}")
    return _FAMILY_OF_TASK[name]


def missing_system_data(name: str) -> str | None:
    """Why task ``name`` cannot read its data from its default location, when that data comes from ``make
    system-deps`` (the family module's ``SYSTEM_DATA``: the directory a Debian package installs, and how to get it);
    None when it is there or the task's data comes from elsewhere."""
    system_data = getattr(importlib.import_module(family_module(name)), "SYSTEM_DATA", None)
    if system_data is None or system_data[0].is_dir():
        return None
    directory, how_to_get = system_data
    return f"{directory} is missing; {how_to_get}"


def recipe(name: str) -> Recipe:
    """The recipe of task ``name``; ValueError naming the allowed tasks if it is unknown."""
    return importlib.import_module(family_module(name)).RECIPES[name]


def create(name: str, *, seed: int, data_root: str | None = None, **options) -> Task:
    """Build task ``name`` for run ``seed``; ``data_root`` overrides where its files are read from.

    Options are validated and data paths checked before any data is loaded or any model is built.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r}")
    chosen = recipe(name)
    resolved = resolve_options(name, chosen.options, options)
    return chosen.build(seed=seed, data_root=data_root, **resolved)
