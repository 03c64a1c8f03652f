"""Stage theory: the claims ledger (symbolic derivations and cheap simulations of the five papers' claims)."""

rule theory:
    """Every claim checked by derivation or simulation, as JSON, Markdown, LaTeX and figures."""
    input:
        THEORY_SOURCES,
    output:
        multiext("results/theory/claims", ".json", ".md", ".tex"),
        report(directory("results/theory/figures"), patterns=["{figure}.png"], caption="../report/theory_figures.rst",
               category="theory", subcategory="figures", labels={"figure": "{figure}"}),
    params:
        python=PYTHON,
    log:
        "logs/theory/theory.log",
    benchmark:
        "benchmarks/output/theory/theory.tsv"
    threads: 1
    priority: 50  # one ~70 s job with no inputs to wait for: started first, it is never the run's last job
    conda:
        ENVIRONMENT
    shell:
        "{params.python} -m theory --out results/theory --threads {threads} > {log} 2>&1"
