"""Stage theory: the claims ledger (symbolic derivations and cheap simulations of the five papers' claims)."""


rule theory:
    """Every claim checked by derivation or simulation, as JSON, Markdown, LaTeX and figures."""
    output:
        multiext("results/theory/claims", ".json", ".md", ".tex"),
        directory("results/theory/figures"),
    log:
        "logs/theory/theory.log",
    benchmark:
        "benchmarks/output/theory/theory.tsv"
    threads: 1
    shell:
        "{PYTHON} -m theory --out results/theory --threads {threads} > {log} 2>&1"
