"""inertia: what five papers claim about momentum and step sizes in SGD, checked by derivation and training.

    snakemake --cores all                                    theory ledger + a CPU sweep on real data (< 30 min, 2 cores)
    snakemake --cores all --configfile config/smoke.yaml     the whole DAG on tiny sizes (< 3 min)
    snakemake --workflow-profile profiles/full               the papers' scale on one multi-GPU machine
    snakemake --workflow-profile profiles/slurm              the papers' scale through SLURM
    snakemake -n                                             the plan, without running it

The protocol (tasks, optimizers, learning-rate grids, seeds, budgets) is config/config.yaml, validated by
workflow/schemas/config.schema.yaml; machine settings (cores, GPUs, partitions) live only in profiles/.
Outputs go to results/<stage>/, logs to logs/<stage>/, per-job timings to benchmarks/output/<stage>/.
"""

import sys

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")

PYTHON = sys.executable  # the interpreter running snakemake: the project's environment


include: "workflow/rules/theory.smk"
include: "workflow/rules/sweep.smk"


rule all:
    input:
        rules.theory.output,
        rules.sweep_table.output,
