"""Stage html report: results/report.html, Snakemake's own self-contained report of every figure, table, verdict,
protocol, the claims ledger and the software environment, each with its caption (workflow/report/*.rst).

The reporter shows images, PDFs and HTML inline and offers other files as downloads, so the Markdown and JSON
outputs get HTML views first (workflow/scripts/report_pages.py). Rule html_report runs the reporter nested
(`snakemake --report`) on the same Snakefile, working directory and config files as this run: the reporter only
reads files and metadata, so it needs no lock and runs no job; its targets are the reported files themselves, never
the report, the paper or the archive.
"""

report: "../report/workflow.rst"


localrules:
    html_report,


rule environment:
    """The software behind the results: Python, the platform, torch's version and threads, every installed
    distribution, and each difference from requirements.lock."""
    input:
        lock=os.path.join(workflow.basedir, "requirements.lock"),
        code=PAGES_SCRIPT,
    output:
        json="results/environment.json",
        html=report("results/environment.html", caption="../report/environment.rst", category="environment",
                    labels={"page": "software versions"}),
    params:
        python=PYTHON,
    log:
        "logs/environment.log",
    conda:
        ENVIRONMENT
    shell:
        "{params.python} {input.code} environment --lock {input.lock} --json {output.json} --html {output.html} "
        "> {log} 2>&1"


rule report_pages:
    """An experiment's verdict, tables and protocol as HTML pages for the report."""
    input:
        verdict="results/{experiment}/verdict.md",
        tables="results/{experiment}/tables",
        protocol="results/{experiment}/protocol.json",
        code=PAGES_SCRIPT,
    output:
        verdict=report("results/{experiment}/pages/verdict.html", caption="../report/verdict.rst",
                       category="{experiment}", subcategory="verdict", labels={"page": "verdict"}),
        protocol=report("results/{experiment}/pages/protocol.html", caption="../report/protocol.rst",
                        category="{experiment}", subcategory="protocol", labels={"page": "protocol"}),
        tables=report(directory("results/{experiment}/pages/tables"), patterns=["{table}.html"],
                      caption="../report/tables.rst", category="{experiment}", subcategory="tables",
                      labels={"table": "{table}"}),
    params:
        python=PYTHON,
    log:
        "logs/{experiment}/report_pages.log",
    conda:
        ENVIRONMENT
    shell:
        "({params.python} {input.code} markdown {input.verdict} --out-dir results/{wildcards.experiment}/pages && "
        "{params.python} {input.code} markdown {input.tables}/*.md --out-dir {output.tables} && "
        "{params.python} {input.code} json {input.protocol} --out {output.protocol}) > {log} 2>&1"


rule theory_pages:
    """The claims ledger as an HTML page for the report."""
    input:
        ledger="results/theory/claims.md",
        code=PAGES_SCRIPT,
    output:
        report("results/theory/pages/claims.html", caption="../report/theory_claims.rst", category="theory",
               subcategory="ledger", labels={"page": "claims ledger"}),
    params:
        python=PYTHON,
    log:
        "logs/theory/theory_pages.log",
    conda:
        ENVIRONMENT
    shell:
        "{params.python} {input.code} markdown {input.ledger} --out-dir results/theory/pages > {log} 2>&1"


rule html_report:
    """Snakemake's HTML report of everything above, built by the reporter run nested on this run's files."""
    input:
        reported_files(),
    output:
        "results/report.html",
    params:
        python=PYTHON,
        snakefile=workflow.main_snakefile,
        directory=lambda wildcards: os.getcwd(),  # the working directory of this run (--directory)
        configuration=nested_arguments(),
    log:
        "logs/report.log",
    conda:
        ENVIRONMENT
    shell:
        # Targets first: --configfile and --config take every word after them.
        "{params.python} -m snakemake {input:q} --snakefile {params.snakefile:q} --directory {params.directory:q} "
        "--report {output:q} --nolock --workflow-profile none {params.configuration} > {log} 2>&1"
