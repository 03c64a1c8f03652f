"""Stage archive: the results as one verifiable .tar.gz (not part of `all`: `snakemake archive`, `make archive`)."""

rule archive:
    """The archived artifact (experiments/archive.py): configs, protocols, every run's config, summary and metrics,
    tables, figures, verdicts, the ledger, and the report and paper where built, with MANIFEST.sha256. Check a copy
    with `python -m experiments.archive verify FILE`."""
    input:
        rules.all.input,
        code=absolute(sources.closure(["experiments.archive"])),
    output:
        "results/inertia-archive.tar.gz",
    params:
        python=PYTHON,
    log:
        "logs/archive.log",
    conda:
        ENVIRONMENT
    shell:
        "{params.python} -m experiments.archive pack --out {output} > {log} 2>&1"
