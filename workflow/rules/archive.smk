"""Stage archive: the results, the report and the paper as one verifiable .tar.gz (the last job of `all`; alone:
`snakemake archive`, `make archive`)."""

rule archive:
    """The archived artifact (experiments/archive.py): configs, protocols, every run's config, summary and metrics,
    tables, figures, verdicts, the ledger, and the report and paper where built, with MANIFEST.sha256. Check a copy
    with `python -m experiments.archive verify FILE`."""
    input:
        RESULTS,
        rules.paper.output,
        rules.html_report.output,
        metadata=absolute(["CITATION.cff", ".zenodo.json", "LICENSE", "requirements.lock"]),
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
