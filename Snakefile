"""inertia: what five papers claim about momentum and step sizes in SGD, checked by derivation and training.

    snakemake --cores all                                    the ledger and every experiment on CPU (< 30 min, 2 cores)
    snakemake --cores all --configfile config/smoke.yaml     the whole DAG on tiny sizes (< 3 min)
    snakemake --workflow-profile profiles/full               the papers' scale on one multi-GPU machine
    snakemake --workflow-profile profiles/slurm              the papers' scale through SLURM
    snakemake -n                                             the plan, without running it

The protocol (per experiment: seeds, methods, workloads, search spaces, analysis) is config/config.yaml, checked by
workflow/schemas/config.schema.yaml and experiments/protocol.py before anything runs; machine settings (cores,
GPUs, partitions) live only in profiles/. Outputs go to results/<experiment>/, logs to logs/<experiment>/, per-job
timings to benchmarks/output/<experiment>/. Every rule declares the code it runs (experiments/sources.py), so an
edited module reruns what it affects and nothing else.
"""

import os
import sys

from snakemake.utils import min_version, validate

min_version("9.0")
sys.path.insert(0, workflow.basedir)  # this checkout's packages, even where another copy is installed


configfile: os.path.join(workflow.basedir, "config/config.yaml")  # also under --directory


validate(config, "workflow/schemas/config.schema.yaml")

PYTHON = sys.executable  # the interpreter running snakemake: the project's environment
ENVIRONMENT = "../../environment.yml"  # the same pins, for --use-conda (paths are relative to the rule files)


include: "workflow/rules/common.smk"


wildcard_constraints:
    experiment="|".join(EXPERIMENTS) or "(?!)",
    workload="[^/]+",
    method="[^/]+",
    group="[^/]+",


include: "workflow/rules/theory.smk"
include: "workflow/rules/arms.smk"
include: "workflow/rules/reports.smk"
include: "workflow/rules/html_report.smk"
include: "workflow/rules/paper.smk"


localrules:  # CPU-only, minutes at most: run by the main Snakemake, never submitted to a cluster (profiles/slurm)
    protocol,
    theory,
    report,
    environment,
    report_pages,
    theory_pages,
    paper,
    archive,


RESULTS = [*rules.theory.output, *expand("results/{experiment}/verdict.md", experiment=EXPERIMENTS)]


rule all:
    input:
        RESULTS,
        rules.paper.output,
        rules.html_report.output,
        "results/inertia-archive.tar.gz",  # rule archive, below: it packs all of the above


include: "workflow/rules/archive.smk"
