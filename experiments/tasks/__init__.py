"""Tasks (data + model + loss + metric) for every experiment, from one registry.

    >>> from experiments import tasks
    >>> task = tasks.create("digits-mlp", seed=10)

See ``experiments/tasks/README.md`` for the table of tasks, their data sources, licences, sizes and splits.
"""

from experiments.tasks.base import Task
from experiments.tasks.registry import available, create, missing_system_data

__all__ = ["Task", "available", "create", "missing_system_data"]
