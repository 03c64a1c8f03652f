"""What the rules share — the validated protocols and the source files each piece of code runs.

A bad protocol stops here, at `snakemake -n`, with one line naming the field, the value and what is allowed. Arms
whose data only `make system-deps` installs are skipped, by name, when it is absent.
"""

import json
import os
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
    """Every arm's result JSON of ``experiment``."""
    return [arm_result(arm) for arm in EXPERIMENTS[experiment].arms]


HARNESS_SOURCES = sources.harness_sources("experiments.arm")


def the_arm(wildcards):
    return EXPERIMENTS[wildcards.experiment].arm(wildcards.workload, wildcards.method)


def arm_inputs(wildcards):
    arm = the_arm(wildcards)
    code = HARNESS_SOURCES + sources.optimizer_sources(arm.optimizer) + sources.task_sources(arm.task)
    reused = [results(arm.experiment, "arms", arm.reuse["workload"], f"{arm.reuse['method']}.json")] if arm.reuse else []
    return {"code": absolute(set(code)), "reused": reused}


def report_inputs(wildcards):
    report_module, _ = protocol.REPORTS[wildcards.experiment]
    return {"code": absolute(sources.closure([report_module])), "protocol": results(wildcards.experiment, "protocol.json"),
            "arms": arm_results(wildcards.experiment)}


def report_command(wildcards):
    report_module, arguments = protocol.REPORTS[wildcards.experiment]
    return " ".join(["-m", report_module, *arguments])


THEORY_SOURCES = absolute(sources.closure(sorted(f"theory.{path.stem}" for path in
                                                 (sources.ROOT / "theory").glob("*.py"))))
