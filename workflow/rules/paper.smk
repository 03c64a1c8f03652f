"""Stage paper: paper/build/paper.pdf from the results (experiments/paper_build.py), with its generated numbers and
tables under paper/build/generated/. Without LaTeX the generated parts are still written, and the job says in one
line that the PDF was skipped and how to get it."""


rule paper:
    """The paper: every number in its text a macro written from the results, every table and figure a file of a
    rule (its caption names which), then latexmk and a check of its log (undefined references fail the job)."""
    input:
        ledger=rules.theory.output,
        verdicts=expand("results/{experiment}/verdict.json", experiment=EXPERIMENTS),
        tables=expand("results/{experiment}/tables", experiment=EXPERIMENTS),
        figures=expand("results/{experiment}/figures", experiment=EXPERIMENTS),
        source=absolute(["paper/paper.tex", "paper/references.bib"]),
        code=absolute(sources.closure(["experiments.paper_build"])),
    output:
        directory("paper/build"),
    params:
        python=PYTHON,
        source=lambda wildcards, input: os.path.dirname(input.source[0]),
    log:
        "logs/paper.log",
    benchmark:
        "benchmarks/output/paper.tsv"
    conda:
        ENVIRONMENT
    shell:
        "{params.python} -m experiments.paper_build --source {params.source:q} --results results --out {output:q} "
        "--log {log:q}"
