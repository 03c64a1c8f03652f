"""The experiments' protocols: tasks, methods, search spaces, budgets, seeds and analysis, frozen as data before any
run, checked before any compute, and expanded into arms.

An experiment (``config["experiments"][name]``, schema in ``workflow/schemas/config.schema.yaml``) is::

    seeds:     {tuning: [...], evaluation: [...]}        disjoint; tuning picks a setting, evaluation reports it
    methods:   {label: {optimizer: <registry name>, hyperparameters: {fixed constructor arguments}}}
    workloads: - name, task, options, data_root          the task and its sizes
                 steps, batch_size, schedule, ...         the budget, the same for every method
                 hyperparameters                          fixed for every method here, over the methods' own
                 svag                                     SVAG factor ℓ (1: plain minibatch gradients)
                 search: {label: {axis: {values, factor}}}  the methods run on this workload and their grids,
                         or {label: {reuse: {workload, method}}}  that arm's chosen point instead of a search
    analysis:  {...}                                      read by the experiment's report only

An *arm* is one (workload, method): one pipeline job (or, with ``jobs: per-method`` / ``per-experiment``, one
per method / one for the experiment) tunes it (every grid point on every tuning seed; the best
median final metric wins) and evaluates the chosen point on the evaluation seeds. Grid axes:

    lr                  the learning rate itself
    effective_lr        η = lr/(1−β): lr = η(1−β), so SGD (β = 0) and SGDM compared on one η grid are matched
    one_minus_momentum  1 − β on a log scale (momentum = 1 − value)
    weight_decay, rho   that hyperparameter itself (rho: the SAM / MSAM radius)

An arm with ``reuse`` takes the chosen point of another arm and may search further axes that are not learning rates
on top of it (the MSAM paper: lr and weight decay tuned for SGD, then only ρ for SAM and MSAM).

A workload's ``budget_unit`` says what ``steps`` (and the evaluation, checkpoint and warm-up intervals) count:
``steps`` (default), or ``gradient-evaluations``, where a method costing e gradient evaluations per step (SAM,
Step-Tuned SGD: 2) runs steps/e steps, so every method gets the same number of gradient evaluations.
``train_eval_size`` n > 0 also evaluates the first n training examples (split ``train``); ``hessian`` {count,
examples, tolerance} computes the top eigenvalues of the training loss at the end of every evaluation run
(``experiments.hessian``).

A grid with more than one value must be log-spaced as declared: successive values × ``factor``, with at least 3
points per decade (factor ≤ 10^(1/3)) spanning at least 1.5 decades. Under SVAG (ℓ > 1) the protocol scales the
learning rate by 1/ℓ and the steps, evaluation and checkpoint intervals, warm-up and milestones by ℓ (Li, Malladi &
Arora 2021): the run covers the same "time" ηk. Every error names the field, the value and what is allowed.
"""

import dataclasses
import hashlib
import itertools
import json
import math
from types import SimpleNamespace

from experiments.axes import AXES, LEARNING_RATE_AXES

BUDGET_UNITS = ("steps", "gradient-evaluations")
MIN_POINTS_PER_DECADE = 3
MIN_DECADES = 1.5
RELATIVE_TOLERANCE = 1e-6

# Experiment -> the report that turns its arms into tables, figures and verdict.md: (module, arguments).
REPORTS = {
    "overshoot": ("experiments.reports.overshoot", []),
    "marginal-momentum/vision": ("experiments.reports.marginal_momentum", ["vision"]),
    "marginal-momentum/finetune": ("experiments.reports.marginal_momentum", ["finetune"]),
    "marginal-momentum/svag": ("experiments.reports.marginal_momentum", ["svag"]),
    "msam": ("experiments.reports.msam", []),
    "step-tuned-sgd": ("experiments.reports.step_tuned_sgd", []),
    "adamomentum": ("experiments.reports.adamomentum", []),
    "leaderboard": ("experiments.reports.leaderboard", []),
}


class ProtocolError(ValueError):
    """A bad protocol; the message is one line naming the field, the value and what is allowed."""


@dataclasses.dataclass(frozen=True)
class Arm:
    """One (workload, method) of an experiment, with everything its job needs."""

    experiment: str
    workload: str
    method: str
    optimizer: str
    hyperparameters: dict  # fixed constructor arguments (the grid may set lr and momentum)
    task: str
    options: dict
    data_root: str | None
    budget: dict  # steps, batch_size, schedule, eval_every, checkpoint_every, svag, budget_unit, [warmup_steps,
    #               milestones, train_eval_size]
    axes: dict  # axis -> grid values (with reuse: the axes searched on top of the reused point)
    reuse: dict | None  # {"workload", "method"} whose chosen point this arm takes
    tuning_seeds: list
    evaluation_seeds: list
    hessian: dict | None = None  # {count, examples, tolerance}: top Hessian eigenvalues after each evaluation run

    @property
    def points(self) -> list[dict]:
        """Every grid point, as {axis: value}, in grid order."""
        return [dict(zip(self.axes, values)) for values in itertools.product(*self.axes.values())]

    @property
    def tuned(self) -> bool:
        return len(self.points) > 1

    def as_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Experiment:
    name: str
    section: dict  # the protocol as given (after schema defaults)
    sha256: str
    arms: list

    def job_groups(self) -> dict[str, list[Arm]] | None:
        """The arms each pipeline job runs in one process: None for one job per arm (``jobs: per-arm``), else
        {method: its arms on every workload} (``per-method``) or {"all": every arm} (``per-experiment``)."""
        jobs = self.section.get("jobs", "per-arm")
        if jobs == "per-arm":
            return None
        if jobs == "per-experiment":
            return {"all": list(self.arms)}
        return {method: [arm for arm in self.arms if arm.method == method]
                for method in dict.fromkeys(arm.method for arm in self.arms)}

    def arm(self, workload: str, method: str) -> Arm:
        return next(arm for arm in self.arms if (arm.workload, arm.method) == (workload, method))


def sha256(section: dict) -> str:
    """SHA-256 of the protocol section in canonical JSON (sorted keys, no whitespace)."""
    return hashlib.sha256(json.dumps(section, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def load(config: dict) -> dict[str, Experiment]:
    """Every experiment of the pipeline config, validated; ProtocolError on the first problem."""
    experiments = config.get("experiments") or {}
    for name in experiments:
        if name not in REPORTS:
            raise ProtocolError(f"experiments.{name}: unknown experiment; allowed: {', '.join(REPORTS)}")
    return {name: _experiment(name, section) for name, section in experiments.items()}


def without_missing_system_data(experiments: dict[str, Experiment]) -> tuple[dict[str, Experiment], list[str]]:
    """The experiments without the arms whose task reads, from its default location, data that only
    ``make system-deps`` installs and that is absent here; an experiment left with no arm is dropped. Also returns one
    line per skipped (experiment, task), saying what is missing and how to get it."""
    from experiments import tasks

    kept, skipped = {}, []
    for name, experiment in experiments.items():
        arms = []
        for arm in experiment.arms:
            reason = tasks.missing_system_data(arm.task) if arm.data_root is None else None
            if reason is None:
                arms.append(arm)
            elif (line := f"skipping {name} on task {arm.task}: {reason}") not in skipped:
                skipped.append(line)
        if arms:
            kept[name] = dataclasses.replace(experiment, arms=arms)
    return kept, skipped


def _experiment(name: str, section: dict) -> Experiment:
    where = f"experiments.{name}"
    seeds = section["seeds"]
    if not seeds["evaluation"]:
        raise ProtocolError(f"{where}.seeds.evaluation=[] is not allowed; allowed: at least one seed")
    shared = sorted(set(seeds["tuning"]) & set(seeds["evaluation"]))
    if shared:
        raise ProtocolError(f"{where}.seeds: seed {shared[0]} is both a tuning and an evaluation seed; allowed: "
                            "disjoint lists")
    methods = section["methods"]
    for label, method in methods.items():
        _check_method(f"{where}.methods.{label}", method)
    names = [workload["name"] for workload in section["workloads"]]
    for position, workload in enumerate(section["workloads"]):
        if names.count(workload["name"]) > 1:
            raise ProtocolError(f"{where}.workloads[{position}].name={workload['name']!r} appears twice; "
                                "allowed: distinct names")
    arms = [_arm(name, f"{where}.workloads[{position}]", workload, label, methods, seeds)
            for position, workload in enumerate(section["workloads"]) for label in workload["search"]]
    for arm in arms:
        if arm.tuned and not seeds["tuning"]:
            raise ProtocolError(f"{where}.seeds.tuning=[] is not allowed: arm {arm.workload}/{arm.method} searches "
                                f"{len(arm.points)} points; allowed: at least one tuning seed")
        if arm.reuse is not None:
            if section.get("jobs", "per-arm") != "per-arm":
                raise ProtocolError(f"{where}.workloads.{arm.workload}.search.{arm.method}.reuse is not allowed with "
                                    f"jobs: {section['jobs']}; allowed: a search of its own (or jobs: per-arm)")
            _check_reuse(where, arm, arms)
        _check_optimizer_accepts(f"{where}.workloads.{arm.workload}.search.{arm.method}", arm)
    return Experiment(name, section, sha256(section), arms)


def _check_method(where: str, method: dict) -> None:
    import optimizers

    if method["optimizer"] not in optimizers.available():
        raise ProtocolError(f"{where}.optimizer={method['optimizer']!r} is not allowed; allowed: "
                            f"{', '.join(optimizers.available())}")
    allowed = sorted(set(optimizers.info(method["optimizer"]).defaults) - {"lr"})
    for name, value in method["hyperparameters"].items():
        if name not in allowed:
            raise ProtocolError(f"{where}.hyperparameters.{name}={value!r} is not a hyperparameter of "
                                f"{method['optimizer']!r}; allowed: {', '.join(allowed)}")


def _arm(experiment: str, where: str, workload: dict, label: str, methods: dict, seeds: dict) -> Arm:
    import optimizers
    from experiments import tasks

    if workload["task"] not in tasks.available():
        raise ProtocolError(f"{where}.task={workload['task']!r} is not allowed; allowed: "
                            f"{', '.join(tasks.available())}")
    if label not in methods:
        raise ProtocolError(f"{where}.search.{label}: unknown method; allowed: {', '.join(methods)}")
    search = dict(workload["search"][label])
    reuse = search.pop("reuse", None)
    axes = {axis: _grid(f"{where}.search.{label}.{axis}", axis, grid) for axis, grid in search.items()}
    chosen_rates = [axis for axis in axes if axis in LEARNING_RATE_AXES]
    if reuse is None and len(chosen_rates) != 1:
        raise ProtocolError(f"{where}.search.{label}={sorted(axes)} is not allowed; allowed: exactly one of "
                            f"{', '.join(LEARNING_RATE_AXES)} (or a reuse of another arm's point)")
    if reuse is not None and chosen_rates:
        raise ProtocolError(f"{where}.search.{label}.{chosen_rates[0]} is not allowed with reuse (the reused point "
                            f"sets the learning rate); allowed: {', '.join(a for a in AXES if a not in LEARNING_RATE_AXES)}")
    method = methods[label]
    if "effective_lr" in axes and not _has_momentum(method["optimizer"]):
        raise ProtocolError(f"{where}.search.{label}.effective_lr is not allowed for optimizer "
                            f"{method['optimizer']!r}; allowed: optimizers with a momentum coefficient, or sgd")
    for axis in axes:
        if axis in ("weight_decay", "rho") and axis not in optimizers.info(method["optimizer"]).defaults:
            raise ProtocolError(f"{where}.search.{label}.{axis} is not a hyperparameter of optimizer "
                                f"{method['optimizer']!r}; allowed: {', '.join(_axes_of(method['optimizer']))}")
    budget = {key: workload[key] for key in ("steps", "batch_size", "schedule", "eval_every", "checkpoint_every",
                                             "svag", "budget_unit", "warmup_steps", "milestones", "train_eval_size")
              if key in workload}
    _check_budget(where, budget, method["optimizer"])
    hyperparameters = {**method["hyperparameters"], **workload.get("hyperparameters", {})}
    _check_method(f"{where}.hyperparameters", {"optimizer": method["optimizer"], "hyperparameters": hyperparameters})
    return Arm(experiment, workload["name"], label, method["optimizer"], hyperparameters,
               workload["task"], dict(workload["options"]), workload["data_root"], budget, axes, reuse,
               list(seeds["tuning"]), list(seeds["evaluation"]), _hessian(workload.get("hessian"), label))


def _hessian(spec: dict | None, label: str) -> dict | None:
    """The workload's Hessian request for method ``label``: None unless it is among ``methods`` (all if absent)."""
    if spec is None or label not in spec.get("methods", [label]):
        return None
    return {key: value for key, value in spec.items() if key != "methods"}


def _axes_of(optimizer: str) -> list[str]:
    """The grid axes that ``optimizer`` takes."""
    import optimizers

    defaults = optimizers.info(optimizer).defaults
    return [axis for axis in AXES if axis == "lr" or (axis in ("effective_lr", "one_minus_momentum") and
                                                      _has_momentum(optimizer)) or axis in defaults]


def steps_per_budget_step(optimizer: str, budget: dict) -> int:
    """How many of the workload's ``steps`` one optimizer step uses: its gradient evaluations per step under
    ``budget_unit: gradient-evaluations``, else 1."""
    import optimizers

    if budget.get("budget_unit", "steps") == "steps":
        return 1
    return optimizers.info(optimizer).gradient_evaluations


def _check_budget(where: str, budget: dict, optimizer: str) -> None:
    """Under ``gradient-evaluations`` the intervals must divide by the method's evaluations per step."""
    cost = steps_per_budget_step(optimizer, budget)
    for key in ("steps", "eval_every", "checkpoint_every", "warmup_steps"):
        if key in budget and budget[key] % cost:
            raise ProtocolError(f"{where}.{key}={budget[key]} is not allowed with budget_unit "
                                f"{budget['budget_unit']!r} and optimizer {optimizer!r} ({cost} gradient evaluations "
                                f"per step); allowed: a multiple of {cost}")
    for milestone in budget.get("milestones", []):
        if milestone % cost:
            raise ProtocolError(f"{where}.milestones={budget['milestones']} is not allowed with budget_unit "
                                f"{budget['budget_unit']!r} and optimizer {optimizer!r}; allowed: multiples of {cost}")


def _grid(where: str, axis: str, grid: dict) -> list[float]:
    if axis not in AXES:
        raise ProtocolError(f"{where}: unknown axis; allowed: {', '.join(AXES)}")
    values = [float(value) for value in grid["values"]]
    if any(not math.isfinite(value) or value <= 0 for value in values):
        raise ProtocolError(f"{where}.values={grid['values']} is not allowed; allowed: positive numbers")
    if axis == "one_minus_momentum" and max(values) >= 1:
        raise ProtocolError(f"{where}.values={grid['values']} is not allowed; allowed: values in (0, 1)")
    if len(values) == 1:
        return values
    factor = grid.get("factor")
    if factor is None:
        raise ProtocolError(f"{where}.factor is missing; allowed: the ratio of successive values of a log grid")
    ratios = [later / earlier for earlier, later in zip(values, values[1:])]
    for position, ratio in enumerate(ratios, start=1):
        if not math.isclose(ratio, factor, rel_tol=RELATIVE_TOLERANCE):
            raise ProtocolError(f"{where}.values={grid['values']} is not log-spaced by factor {factor} (value "
                                f"{position} is {ratio:.6g}x the one before); allowed: successive values x {factor}")
    if factor > 10 ** (1 / MIN_POINTS_PER_DECADE) * (1 + RELATIVE_TOLERANCE):
        raise ProtocolError(f"{where}.factor={factor} gives {1 / math.log10(factor):.2f} points per decade; allowed: "
                            f"at most {10 ** (1 / MIN_POINTS_PER_DECADE):.4f} (>= {MIN_POINTS_PER_DECADE} per decade)")
    decades = math.log10(values[-1] / values[0])
    if decades < MIN_DECADES - RELATIVE_TOLERANCE:
        raise ProtocolError(f"{where}.values={grid['values']} spans {decades:.2f} decades; allowed: at least "
                            f"{MIN_DECADES}")
    return values


def _has_momentum(optimizer: str) -> bool:
    import optimizers

    return optimizer == "sgd" or "momentum" in optimizers.info(optimizer).defaults


def _check_reuse(where: str, arm: Arm, arms: list) -> None:
    target = [other for other in arms if (other.workload, other.method) == (arm.reuse["workload"],
                                                                            arm.reuse["method"])]
    if not target or target[0].reuse is not None:
        raise ProtocolError(f"{where}.workloads.{arm.workload}.search.{arm.method}.reuse={arm.reuse} is not "
                            "allowed; allowed: a (workload, method) of this experiment that has its own search")


def _check_optimizer_accepts(where: str, arm: Arm) -> None:
    """Build the optimizer at the grid's extremes so its own range checks run now, before any job."""
    from experiments.config import ConfigError, check_optimizer

    points = arm.points if arm.axes else [{}]
    for point in (points[0], points[-1]):
        values = setting(arm, point if set(point) & set(LEARNING_RATE_AXES) else {"lr": 1.0, **point})
        try:
            check_optimizer(SimpleNamespace(optimizer=arm.optimizer, lr=values.pop("lr"), hyperparameters=values))
        except ConfigError as error:
            raise ProtocolError(f"{where}: {error}") from None


def setting(arm: Arm, point: dict) -> dict:
    """The optimizer's constructor arguments (lr first) at grid ``point``, with the SVAG 1/ℓ learning-rate scale."""
    import optimizers

    hyperparameters = dict(arm.hyperparameters)
    if "one_minus_momentum" in point:
        hyperparameters["momentum"] = 1.0 - point["one_minus_momentum"]
    for axis in ("weight_decay", "rho"):
        if axis in point:
            hyperparameters[axis] = point[axis]
    if "lr" in point:
        lr = point["lr"]
    else:
        momentum = hyperparameters.get("momentum", optimizers.info(arm.optimizer).defaults.get("momentum", 0.0))
        lr = point["effective_lr"] * (1.0 - (momentum or 0.0))
    return {"lr": lr / arm.budget.get("svag", 1), **hyperparameters}


def run_values(arm: Arm, point: dict, seed: int) -> dict:
    """The RunConfig fields of one run of ``arm`` at ``point`` with ``seed``."""
    ell = arm.budget.get("svag", 1)
    hyperparameters = setting(arm, point)
    values = {"task": arm.task, "task_options": arm.options, "data_root": arm.data_root,
              "optimizer": arm.optimizer, "lr": hyperparameters.pop("lr"), "hyperparameters": hyperparameters,
              "seed": seed, "batch_size": arm.budget["batch_size"], "schedule": arm.budget["schedule"]}
    cost = steps_per_budget_step(arm.optimizer, arm.budget)
    for key in ("steps", "eval_every", "checkpoint_every", "warmup_steps"):
        if key in arm.budget:
            values[key] = arm.budget[key] * ell // cost
    if "milestones" in arm.budget:
        values["milestones"] = [milestone * ell // cost for milestone in arm.budget["milestones"]]
    if arm.budget.get("train_eval_size"):
        values["train_eval_size"] = arm.budget["train_eval_size"]
    if ell != 1:
        values["svag"] = ell
    return values


def point_name(point: dict) -> str:
    """A run-directory name for a grid point, e.g. ``effective_lr0.05``."""
    return "-".join(f"{axis}{value:g}" for axis, value in point.items()) or "reused"


def speed_spec(experiment: Experiment) -> dict | None:
    """The job that times one training step of every method on one workload (``analysis.speed``: workload,
    repeats, steps, warmup; the baseline is ``analysis.baseline``), for ``experiments.speed``; None without one.
    Each method at its first grid point; where that has no learning rate (it reuses another arm's), at the first
    learning rate of the baseline's grid: the time of a step does not depend on these values."""
    speed = experiment.section["analysis"].get("speed")
    if speed is None:
        return None
    where = f"experiments.{experiment.name}.analysis.speed"
    arms = [arm for arm in experiment.arms if arm.workload == speed["workload"]]
    baseline = experiment.section["analysis"].get("baseline")
    if not arms or baseline not in [arm.method for arm in arms]:
        raise ProtocolError(f"{where}: workload {speed['workload']!r} with baseline {baseline!r} is not allowed; "
                            f"allowed: a workload of this experiment on which the baseline runs")
    first_lr = {"lr": setting(experiment.arm(speed["workload"], baseline), experiment.arm(
        speed["workload"], baseline).points[0])["lr"]}
    methods = {}
    for arm in arms:
        point = arm.points[0] if arm.axes else {}
        methods[arm.method] = {"optimizer": arm.optimizer, "setting": setting(
            arm, point if set(point) & set(LEARNING_RATE_AXES) else {**point, **first_lr})}
    return {"task": arms[0].task, "options": arms[0].options, "data_root": arms[0].data_root,
            "batch_size": arms[0].budget["batch_size"], "baseline": baseline, "repeats": speed["repeats"],
            "steps": speed["steps"], "warmup": speed["warmup"], "seed": 0, "methods": methods}
