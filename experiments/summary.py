"""The summary of one run (summary.json): its outcome, final and best metrics, cost in gradient evaluations, the
step at which it reached its target, and its timing; and ``Progress``, what the run accumulates towards it and
saves in every checkpoint.
"""

import dataclasses

from experiments.config import RunConfig


@dataclasses.dataclass
class Progress:
    """Everything about the run so far that the summary needs; saved in each checkpoint."""

    step: int = 0  # optimizer steps done
    last_loss: float | None = None  # training loss of the last step
    last_evaluation: dict = dataclasses.field(default_factory=dict)  # "split/metric" -> value
    best: dict = dataclasses.field(default_factory=dict)  # "split/metric" -> {"value", "step"}
    target_step: int | None = None  # first evaluated step at which the target was reached
    diverged_step: int | None = None  # step whose loss was NaN or Inf
    metrics_bytes: int = 0  # length of metrics.jsonl at this point
    wall_seconds: float = 0.0  # elapsed time, summed over resumed processes
    training_seconds: float = 0.0  # time inside optimizer steps


def target_key(task, config: RunConfig) -> str:
    """The "split/metric" the target, the best values and the tables watch."""
    return f"{config.target_split or next(iter(task.eval_sets))}/{task.target_metric}"


def summarize(progress: Progress, config: RunConfig, task, per_step: int, process) -> dict:
    """The content of summary.json; ``per_step``: gradient evaluations per optimizer step (the optimizer's, times 2
    under SVAG)."""
    diverged = progress.diverged_step is not None
    return {
        "task": config.task, "optimizer": config.optimizer, "lr": config.lr, "seed": config.seed,
        "hyperparameters": config.hyperparameters, "svag": config.svag, "train_examples": len(task.train_set),
        "status": "diverged" if diverged else "finished",
        "diverged": diverged, "diverged_step": progress.diverged_step,
        "steps": progress.step, "gradient_evaluations_per_step": per_step,
        "gradient_evaluations": progress.step * per_step,
        "final_train_loss": progress.last_loss,
        "metric": target_key(task, config), "higher_is_better": task.higher_is_better,  # what tables rank by
        "final": None if diverged else progress.last_evaluation,
        "best": progress.best,
        "target": None if config.target is None else {
            "metric": target_key(task, config), "value": config.target, "steps": progress.target_step,
            "gradient_evaluations": None if progress.target_step is None else progress.target_step * per_step},
        "processes": process.world_size,
        "timing": {  # differs between runs; everything else is bit-identical
            "wall_seconds": progress.wall_seconds, "training_seconds": progress.training_seconds,
            "steps_per_second": progress.step / max(progress.training_seconds, 1e-9),
            "examples_per_second": progress.step * config.batch_size / max(progress.training_seconds, 1e-9)},
    }
