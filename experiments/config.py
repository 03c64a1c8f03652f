"""The run configuration: every setting of one training run, its default, and its validation.

A run is a pure function of its ``RunConfig`` (plus the hardware it runs on). The configuration comes from
``--config run.yaml`` with command-line flags laid over it; optimizer hyperparameters are given under their
constructor names (``--momentum 0.9 --betas 0.9,0.999``). Every bad value stops the run before any compute with a
``ConfigError`` that names the field, the value and what is allowed.
"""

import argparse
import dataclasses
import inspect
import json
import math
import os
import re

import torch
import yaml

import optimizers
from experiments import tasks


@dataclasses.dataclass
class RunConfig:
    task: str = "digits-mlp"  # a name from experiments.tasks.available()
    task_options: dict = dataclasses.field(default_factory=dict)  # task sizes, e.g. {width: 64}
    data_root: str | None = None  # where the task reads its files; None: the task's default
    optimizer: str = "sgdm"  # a name from optimizers.available()
    lr: float = 0.1  # peak learning rate
    hyperparameters: dict = dataclasses.field(default_factory=dict)  # other optimizer constructor arguments
    schedule: str = "constant"  # constant | cosine (decays to 0 at the last step) | multistep (see milestones)
    milestones: list = dataclasses.field(default_factory=list)  # multistep: steps after which the lr is decayed
    decay_factor: float = 0.1  # multistep: the lr is multiplied by this at each milestone
    warmup_steps: int = 0  # the lr ramps linearly from 0 to the schedule's over these first steps
    seed: int = 0  # model initialisation, data order, augmentation
    steps: int = 1000  # optimizer steps (one step may take several gradient evaluations)
    svag: int = 1  # SVAG factor ℓ: ℓ > 1 takes c₁g(B₁) + c₂g(B₂) of two batches (experiments/svag.py)
    batch_size: int = 128  # global batch size, split evenly across processes
    eval_every: int = 100  # steps between evaluations; also evaluated at step 0 and at the end
    eval_batch_size: int = 1024  # examples per evaluation forward pass
    train_eval_size: int = 0  # the first n training examples are also evaluated, as split "train"; 0: not
    checkpoint_every: int = 500  # steps between checkpoints; also checkpointed at the end
    target: float | None = None  # value of the task's target_metric whose first crossing is reported
    target_split: str | None = None  # eval set watched for target and best metrics; None: the task's first
    batch_norm_batches: int = 20  # training batches to re-estimate BatchNorm statistics at base weights
    dtype: str = "float32"  # float32 | float64 (float64 for exactness checks)
    autocast: str = "none"  # none | bfloat16: forward passes under torch.autocast (weights and state stay in dtype)
    device: str = "auto"  # auto (cuda if available) | cpu | cuda
    data_workers: int = 0  # DataLoader worker processes for loading data (never changes results)


SCHEDULES = ("constant", "cosine", "multistep")
DTYPES = ("float32", "float64")
AUTOCASTS = ("none", "bfloat16")  # float16 would need a GradScaler, which the closure methods refuse
DEVICES = ("auto", "cpu", "cuda")
TEXT_FIELDS = ("task", "optimizer", "schedule", "dtype", "autocast", "device", "data_root", "target_split")
FIELDS = {field.name: field for field in dataclasses.fields(RunConfig)}


class ConfigError(ValueError):
    """A user error in the run configuration; the message names the field, the value and what is allowed."""


def parse_value(text: str):
    """A command-line value as YAML would read it, with ``a,b`` as a tuple and ``1e-3`` as a float."""
    if "," in text:
        return tuple(parse_value(part) for part in text.split(","))
    value = yaml.safe_load(text)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        allow_abbrev=False,  # an abbreviation could swallow an optimizer hyperparameter flag
        prog="python -m experiments.train",
        description="Train one task with one optimizer; writes config.json, metrics.jsonl, checkpoint.pt, "
        "train.log and summary.json into --out. Optimizer hyperparameters are passed under their constructor "
        "names, e.g. --momentum 0.9 --overshoot 5 --betas 0.9,0.999.",
    )
    parser.add_argument("--out", required=True, help="run directory (created; a finished run is not redone)")
    parser.add_argument("--config", help="YAML file of RunConfig fields; flags override it")
    parser.add_argument("--restart-if-changed", action="store_true",
                        help="if --out holds a run of another config, delete its files and start over "
                        "(default: refuse); the pipeline uses this when the protocol changes")
    parser.add_argument("--task-option", action="append", default=[], metavar="NAME=VALUE",
                        help="task option, repeatable (e.g. --task-option width=64)")
    comments = dict(re.findall(r"^    (\w+): .*?  # (.+)$", inspect.getsource(RunConfig), re.MULTILINE))
    for name, field in FIELDS.items():
        if name in ("task_options", "hyperparameters"):
            continue
        default = field.default_factory() if field.default is dataclasses.MISSING else field.default
        parser.add_argument("--" + name.replace("_", "-"), dest=name, default=argparse.SUPPRESS,
                            help=f"{comments[name]} (default: {default!r})")
    return parser


def resolve(argv: list[str] | None) -> tuple[RunConfig, argparse.Namespace]:
    """The validated configuration, and the arguments that are not part of it (``out``, ``restart_if_changed``)."""
    parser = argument_parser()
    arguments, extra = parser.parse_known_args(argv)
    given = {name: text for name, text in vars(arguments).items() if name in FIELDS}
    values = read_config_file(arguments.config) if arguments.config else {}
    values.update({name: text if name in TEXT_FIELDS else parse_value(text) for name, text in given.items()})
    values["task_options"] = {**values.get("task_options", {}), **parse_pairs(arguments.task_option)}
    values["hyperparameters"] = {**values.get("hyperparameters", {}), **parse_flags(extra)}
    return validate(values), arguments


def read_config_file(path: str) -> dict:
    if not os.path.isfile(path):
        raise ConfigError(f"config={path!r}: no such file; allowed: a YAML file of RunConfig fields")
    try:
        with open(path) as file:
            values = yaml.safe_load(file) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"config={path!r} is not valid YAML: {error}") from None
    if not isinstance(values, dict):
        raise ConfigError(f"config={path!r} must hold a mapping of RunConfig fields, got {type(values).__name__}")
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise ConfigError(f"config={path!r}: unknown field {unknown[0]!r}; allowed: {', '.join(FIELDS)}")
    for name in ("task_options", "hyperparameters"):
        if not isinstance(values.get(name, {}), dict):
            raise ConfigError(f"{name}={values[name]!r} is not allowed; allowed: a mapping of NAME: VALUE")
    return values


def parse_pairs(pairs: list[str]) -> dict:
    """``["width=64"]`` -> ``{"width": 64}``."""
    options = {}
    for pair in pairs:
        name, equals, text = pair.partition("=")
        if not equals or not name:
            raise ConfigError(f"task_option={pair!r} is malformed; allowed: NAME=VALUE, e.g. width=64")
        options[name] = parse_value(text)
    return options


def parse_flags(extra: list[str]) -> dict:
    """``["--momentum", "0.9", "--weight-decay=0"]`` -> ``{"momentum": 0.9, "weight_decay": 0}``."""
    hyperparameters, position = {}, 0
    while position < len(extra):
        flag = extra[position]
        if not flag.startswith("--") or len(flag) == 2:
            raise ConfigError(f"argument {flag!r} is not understood; allowed: --NAME VALUE pairs")
        name, equals, text = flag[2:].partition("=")
        if not equals:
            if position + 1 >= len(extra):
                raise ConfigError(f"hyperparameter {name!r} has no value; allowed: --{name} VALUE")
            text, position = extra[position + 1], position + 1
        hyperparameters[name.replace("-", "_")] = parse_value(text)
        position += 1
    return hyperparameters


def validate(values: dict) -> RunConfig:
    """Check every field's type and range, and that the optimizer accepts its hyperparameters."""
    config = RunConfig()
    for name, value in values.items():
        setattr(config, name, value)
    config.task = choice("task", config.task, tasks.available())
    config.optimizer = choice("optimizer", config.optimizer, optimizers.available())
    config.schedule = choice("schedule", config.schedule, SCHEDULES)
    config.dtype = choice("dtype", config.dtype, DTYPES)
    config.autocast = choice("autocast", config.autocast, AUTOCASTS)
    if config.autocast != "none" and config.dtype != "float32":
        raise ConfigError(f"autocast={config.autocast!r} with dtype={config.dtype!r} is not allowed; allowed: "
                          "autocast with dtype float32 (mixed precision keeps float32 weights), or autocast none")
    config.device = choice("device", config.device, DEVICES)
    config.lr = number("lr", config.lr, minimum=0.0)
    config.seed = integer("seed", config.seed, minimum=0)
    for name in ("steps", "batch_size", "eval_every", "eval_batch_size", "checkpoint_every"):
        setattr(config, name, integer(name, getattr(config, name), minimum=1))
    config.batch_norm_batches = integer("batch_norm_batches", config.batch_norm_batches, minimum=1)
    config.train_eval_size = integer("train_eval_size", config.train_eval_size, minimum=0)
    config.svag = integer("svag", config.svag, minimum=1)
    check_schedule(config)
    config.data_workers = integer("data_workers", config.data_workers, minimum=0)
    if config.target is not None:
        config.target = number("target", config.target)
    if config.data_root is not None and not os.path.isdir(str(config.data_root)):
        raise ConfigError(f"data_root={config.data_root!r} is not a directory; allowed: an existing directory "
                          "holding the task's data, or none for the task's default")
    if config.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device='cuda' but no CUDA device is visible; allowed here: auto, cpu")
    config.hyperparameters = json.loads(json.dumps(  # tuples become lists, as config.json reads them back
        {name: parse_value(value) if isinstance(value, str) else value
         for name, value in config.hyperparameters.items()}))
    check_optimizer(config)
    return config


def check_schedule(config: RunConfig) -> None:
    """Warm-up within the run; milestones (strictly increasing steps >= 1) exactly when the schedule is multistep."""
    config.warmup_steps = integer("warmup_steps", config.warmup_steps, minimum=0)
    if config.warmup_steps > config.steps:
        raise ConfigError(f"warmup_steps={config.warmup_steps} is not allowed; allowed: an integer from 0 to "
                          f"steps={config.steps}")
    config.decay_factor = number("decay_factor", config.decay_factor, minimum=0.0)
    if not 0 < config.decay_factor <= 1:
        raise ConfigError(f"decay_factor={config.decay_factor!r} is not allowed; allowed: a number in (0, 1]")
    milestones = config.milestones
    if isinstance(milestones, int | float) and not isinstance(milestones, bool):
        milestones = [milestones]  # one milestone on the command line reads as a number
    if not isinstance(milestones, list | tuple):
        raise ConfigError(f"milestones={milestones!r} is not allowed; allowed: a list of steps, e.g. 100,200")
    milestones = [integer(f"milestones[{index}]", value, minimum=1) for index, value in enumerate(milestones)]
    if any(later <= earlier for earlier, later in zip(milestones, milestones[1:])):
        raise ConfigError(f"milestones={milestones!r} is not allowed; allowed: strictly increasing steps")
    if config.schedule == "multistep" and not milestones:
        raise ConfigError("milestones=[] is not allowed with schedule='multistep'; allowed: at least one step")
    if config.schedule != "multistep" and milestones:
        raise ConfigError(f"milestones={milestones!r} is not allowed with schedule={config.schedule!r}; allowed: "
                          "none (milestones belong to schedule multistep)")
    config.milestones = milestones


def check_optimizer(config: RunConfig) -> None:
    """Build the optimizer on one dummy parameter so its own range checks run before any compute."""
    allowed = sorted(set(optimizers.info(config.optimizer).defaults) - {"lr"})
    for name, value in config.hyperparameters.items():
        if name not in allowed:
            raise ConfigError(f"{name}={value!r} is not a hyperparameter of optimizer {config.optimizer!r}; "
                              f"allowed: {', '.join(allowed)}")
    try:
        optimizers.create(config.optimizer, [torch.zeros(1, requires_grad=True)], lr=config.lr,
                          **config.hyperparameters)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"optimizer {config.optimizer!r}: {error}") from None


def choice(name: str, value, allowed) -> str:
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not allowed; allowed: {', '.join(allowed)}")
    return value


def number(name: str, value, minimum: float = -math.inf) -> float:
    try:
        result = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        result = math.nan
    if not math.isfinite(result) or result < minimum:
        allowed = f"a finite number >= {minimum:g}" if minimum > -math.inf else "a finite number"
        raise ConfigError(f"{name}={value!r} is not allowed; allowed: {allowed}")
    return result


def integer(name: str, value, minimum: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name}={value!r} is not allowed; allowed: an integer >= {minimum}")
    return value


def build_task(config: RunConfig):
    """The task of ``config``; its option and data-path errors become ``ConfigError``."""
    try:
        task = tasks.create(config.task, seed=config.seed, data_root=config.data_root, **config.task_options)
    except (ValueError, TypeError, FileNotFoundError) as error:  # the message names the option or the path
        message = str(error)
        raise ConfigError(message if message.startswith("task") else f"task={config.task!r}: {message}") from None
    if config.target_split is not None and config.target_split not in task.eval_sets:
        raise ConfigError(f"target_split={config.target_split!r} is not an eval set of task {config.task!r}; "
                          f"allowed: {', '.join(task.eval_sets)}")
    if config.train_eval_size:  # un-augmented examples (the harness augments batches); fixed for a given seed
        size = min(config.train_eval_size, len(task.train_set))
        task.eval_sets["train"] = torch.utils.data.Subset(task.train_set, range(size))
    return task
