"""Each experiment's report: its tables (CSV, Markdown, booktabs LaTeX), figures (PDF, PNG) and verdict.md.

The report reads every arm's result and the protocol (results/<experiment>/protocol.json, which carries the SHA-256
that every table records). Its inputs are the report's own code, so editing a plotting script reruns only the
reports, and editing the analysis block of a protocol reruns only its report.
"""


rule report:
    input:
        unpack(report_inputs),
    output:
        verdict="results/{experiment}/verdict.md",
        verdicts="results/{experiment}/verdict.json",
        tables=directory("results/{experiment}/tables"),
        figures=report(directory("results/{experiment}/figures"), patterns=["{figure}.png"],
                       caption="../report/figures.rst", category="{experiment}", subcategory="figures",
                       labels={"figure": "{figure}"}),
    params:
        command=report_command,
        python=PYTHON,
    log:
        "logs/{experiment}/report.log",
    benchmark:
        "benchmarks/output/{experiment}/report.tsv"
    conda:
        ENVIRONMENT
    shell:
        "{params.python} {params.command} --protocol {input.protocol} --arms {input.arms} "
        "--out results/{wildcards.experiment} > {log} 2>&1"
