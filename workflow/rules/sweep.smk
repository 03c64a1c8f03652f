"""Stage sweep: every optimizer x task x learning rate x seed of config["sweep"], and its summary table.

A run directory is results/sweep/runs/<task>/<optimizer>/lr<lr>/seed<seed>/ (see experiments/run_directory.py).
An interrupted job resumes from its checkpoint when the pipeline runs again; when the protocol of a run changes,
its old files are replaced (--restart-if-changed).
"""

import shlex

SWEEP = config["sweep"]
WORKLOADS = {workload["task"]: workload for workload in SWEEP["tasks"]}
if len(WORKLOADS) != len(SWEEP["tasks"]):
    raise ValueError("config sweep.tasks: each task may appear only once")
RUN = "results/sweep/runs/{task}/{optimizer}/lr{lr}/seed{seed}"


wildcard_constraints:
    task="[^/]+",
    optimizer="[^/]+",
    lr="[^/]+",
    seed=r"\d+",


def sweep_summaries():
    return [
        f"{RUN}/summary.json".format(task=task, optimizer=optimizer, lr=repr(float(lr)), seed=seed)
        for task, workload in WORKLOADS.items()
        for optimizer, space in workload["optimizers"].items()
        for lr in space["learning_rates"]
        for seed in SWEEP["seeds"]
    ]


def train_arguments(wildcards):
    """The command-line flags of one run: the task's budget, the optimizer's fixed hyperparameters, lr, seed."""
    workload = WORKLOADS[wildcards.task]
    flags = {"task": wildcards.task, "optimizer": wildcards.optimizer, "lr": wildcards.lr, "seed": wildcards.seed}
    flags.update({key: workload[key] for key in ("steps", "batch_size", "schedule", "eval_every", "checkpoint_every")})
    flags.update({key: workload[key] for key in ("target", "data_root") if workload.get(key) is not None})
    flags.update(workload["optimizers"][wildcards.optimizer].get("hyperparameters", {}))
    arguments = [f"--{name.replace('_', '-')} {format_value(value)}" for name, value in flags.items()]
    arguments += [f"--task-option {name}={format_value(value)}" for name, value in workload["options"].items()]
    return " ".join(arguments)


def launcher(wildcards, resources):
    """A run on several GPUs (resource gpu > 1, set in the profile) goes through torchrun, data parallel."""
    gpus = int(resources.get("gpu", 0))
    if gpus > 1:
        return f"{PYTHON} -m torch.distributed.run --standalone --nproc-per-node {gpus}"
    return PYTHON


def format_value(value):
    """A config value as one shell word: lists as a,b (how experiments.train reads pairs such as betas)."""
    return shlex.quote(",".join(map(str, value)) if isinstance(value, list) else str(value))


rule sweep_run:
    """One training run (resumable; a finished run is not redone)."""
    output:
        f"{RUN}/summary.json",
    params:
        launcher=launcher,
        arguments=train_arguments,
        data_workers=lambda wildcards, threads: threads - 1,  # the job's other threads load data
        out=RUN,
    log:
        "logs/sweep/{task}/{optimizer}/lr{lr}/seed{seed}.log",
    benchmark:
        "benchmarks/output/sweep/{task}/{optimizer}/lr{lr}/seed{seed}.tsv"
    threads: 1
    shell:
        "OMP_NUM_THREADS={threads} {params.launcher} -m experiments.train {params.arguments} "
        "--data-workers {params.data_workers} --out {params.out} --restart-if-changed > {log} 2>&1"


rule sweep_table:
    """The summary table over seeds: final and best metric, steps to target, divergences."""
    input:
        sweep_summaries(),
    output:
        multiext("results/sweep/summary", ".csv", ".md", ".tex"),
    log:
        "logs/sweep/summary.log",
    benchmark:
        "benchmarks/output/sweep/summary.tsv"
    shell:
        "{PYTHON} -m experiments.sweep_table {input} --out results/sweep/summary > {log} 2>&1"
