"""What the rules share — the validated protocols and the source files each piece of code runs.

A bad protocol stops here, at `snakemake -n`, with one line naming the field, the value and what is allowed. Arms
whose data only `make system-deps` installs are skipped, by name, when it is absent.
"""

import json
import os
import shlex
import sys

from experiments import protocol, sources

try:
    EXPERIMENTS, SKIPPED = protocol.without_missing_system_data(protocol.load(config))
except protocol.ProtocolError as error:
    sys.exit(f"bad protocol: {error}")
for line in SKIPPED:  # e.g. Fashion-MNIST before `make system-deps`: the rest still runs
    print(line, file=sys.stderr)



def absolute(paths):
    """Project source files as absolute paths, so rules find them whatever --directory says."""
    return sorted(str(sources.ROOT / path) for path in paths)


def results(experiment, *parts):
    return os.path.join("results", experiment, *parts)


def arm_result(arm):
    return results(arm.experiment, "arms", arm.workload, f"{arm.method}.json")


def arm_results(experiment):
    """Every arm's result JSON of ``experiment`` (with grouped jobs, one JSON per job holding its arms)."""
    groups = EXPERIMENTS[experiment].job_groups()
    if groups is not None:
        return [results(experiment, "jobs", f"{group}.json") for group in groups]
    return [arm_result(arm) for arm in EXPERIMENTS[experiment].arms]


HARNESS_SOURCES = sources.harness_sources("experiments.arm")


def the_arm(wildcards):
    return EXPERIMENTS[wildcards.experiment].arm(wildcards.workload, wildcards.method)


def arm_code(arms):
    """The harness, the arms' optimizer modules and their tasks' family modules."""
    code = list(HARNESS_SOURCES)
    for arm in arms:
        code += sources.optimizer_sources(arm.optimizer) + sources.task_sources(arm.task)
    return absolute(set(code))


def reusers(wildcards):
    """How many arms take this arm's chosen point: its job's priority, so that they are not left waiting at the
    end of the run (the MSAM experiment's SGDM arm heads a chain of three)."""
    arm = the_arm(wildcards)
    return sum(other.reuse == {"workload": arm.workload, "method": arm.method}
               for other in EXPERIMENTS[arm.experiment].arms)


def group_size(wildcards):
    """How many arms a grouped job runs: its priority, so that the longest jobs start first and no core idles
    through a long last job (the leaderboard's one job holds 60 arms)."""
    return len(group_arms(wildcards))


def arm_inputs(wildcards):
    arm = the_arm(wildcards)
    reused = [results(arm.experiment, "arms", arm.reuse["workload"], f"{arm.reuse['method']}.json")] if arm.reuse else []
    return {"code": arm_code([arm]), "reused": reused}


def group_arms(wildcards):
    return EXPERIMENTS[wildcards.experiment].job_groups()[wildcards.group]


try:
    SPEEDS = {name: spec for name, experiment in EXPERIMENTS.items()
              if (spec := protocol.speed_spec(experiment)) is not None}
except protocol.ProtocolError as error:
    sys.exit(f"bad protocol: {error}")
SPEED_SOURCES = sources.harness_sources("experiments.speed")


def speed_inputs(wildcards):
    spec = SPEEDS[wildcards.experiment]
    code = list(SPEED_SOURCES) + sources.task_sources(spec["task"])
    for method in spec["methods"].values():
        code += sources.optimizer_sources(method["optimizer"])
    return absolute(set(code))


def report_inputs(wildcards):
    report_module, _ = protocol.REPORTS[wildcards.experiment]
    speed = [results(wildcards.experiment, "speed.json")] if wildcards.experiment in SPEEDS else []
    return {"code": absolute(sources.closure([report_module])), "protocol": results(wildcards.experiment, "protocol.json"),
            "arms": arm_results(wildcards.experiment), "speed": speed}


def report_command(wildcards, input):
    report_module, arguments = protocol.REPORTS[wildcards.experiment]
    speed = [f"--speed {input.speed[0]}"] if input.speed else []
    return " ".join(["-m", report_module, *arguments, *speed])


THEORY_SOURCES = absolute(sources.closure(sorted(f"theory.{path.stem}" for path in
                                                 (sources.ROOT / "theory").glob("*.py"))))


PAGES_SCRIPT = absolute(["workflow/scripts/report_pages.py"])[0]  # rule html_report's HTML views


def reported_files():
    """Every file or folder that results/report.html shows, experiment by experiment, then the ledger and
    the environment."""
    files = []
    for experiment in EXPERIMENTS:
        files += [results(experiment, "figures"), *expand(rules.report_pages.output, experiment=experiment)]
    return files + [*rules.theory.output, *rules.theory_pages.output, rules.environment.output.html]


def nested_arguments():
    """The config files and --config values of this run, for rule html_report's nested reporter."""
    arguments = []
    if workflow.overwrite_configfiles:
        arguments += ["--configfile", *map(str, workflow.overwrite_configfiles)]
    if workflow.config_settings.config_args:
        arguments += ["--config", *workflow.config_settings.config_args]
    return " ".join(map(shlex.quote, arguments))
