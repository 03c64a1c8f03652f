"""The training jobs of every experiment: one job per arm (workload x method) tunes and evaluates it in one process
(or, for an experiment with ``jobs: per-method`` or ``per-experiment``, one job per method or one for all its arms),
and the speed job. A training job's resources ``gpu`` (per node) and ``nodes``, set by the profile, say how each run
is started: in the job's process, or as torchrun processes on its GPUs and nodes (``experiments.launch``).

A job's inputs are the code it runs — the harness, its optimizer's modules, its task's family module — and, for an
arm that reuses another arm's chosen point, that arm's result. Its protocol (the arm as JSON) is a parameter, so a
changed budget, grid or seed list reruns that arm only. An interrupted job resumes its runs from their checkpoints.
"""

rule protocol:
    """The experiment's protocol section and its SHA-256, as the reports read it."""
    output:
        "results/{experiment}/protocol.json",
    params:
        section=lambda wildcards: EXPERIMENTS[wildcards.experiment].section,
        sha256=lambda wildcards: EXPERIMENTS[wildcards.experiment].sha256,
    log:
        "logs/{experiment}/protocol.log",
    conda:
        ENVIRONMENT
    run:
        from experiments import atomic

        atomic.write_json(output[0], {**params.section, "protocol_sha256": params.sha256})


rule arm:
    """Tuning runs on the tuning seeds, then the chosen point on the evaluation seeds; each run in its own folder."""
    input:
        unpack(arm_inputs),
    output:
        "results/{experiment}/arms/{workload}/{method}.json",
    params:
        spec=lambda wildcards: json.dumps(the_arm(wildcards).as_json(), sort_keys=True),
        reuse=lambda wildcards, input: f"--reuse {input.reused[0]}" if input.reused else "",
        python=PYTHON,
        runs="results/{experiment}/runs",
        data_workers=lambda wildcards, threads: threads - 1,  # the job's other threads load data
        gpus=lambda wildcards, resources: resources.get("gpu", 0),  # > 1: each run as torchrun processes
        nodes=lambda wildcards, resources: resources.get("nodes", 1),  # > 1: through srun (the SLURM profile)
    log:
        "logs/{experiment}/arms/{workload}/{method}.log",
    benchmark:
        "benchmarks/output/{experiment}/arms/{workload}/{method}.tsv"
    threads: 1
    priority: reusers
    conda:
        ENVIRONMENT
    shell:
        "OMP_NUM_THREADS={threads} {params.python} -m experiments.arm --spec {params.spec:q} {params.reuse} "
        "--runs {params.runs} --data-workers {params.data_workers} --gpus {params.gpus} --nodes {params.nodes} "
        "--out {output} > {log} 2>&1"


rule arm_group:
    """The arms of one grouped job (a method's, or the experiment's): each tuned and evaluated as by rule arm, in one
    process."""
    input:
        code=lambda wildcards: arm_code(group_arms(wildcards)),
    output:
        "results/{experiment}/jobs/{group}.json",
    params:
        spec=lambda wildcards: json.dumps([arm.as_json() for arm in group_arms(wildcards)], sort_keys=True),
        python=PYTHON,
        runs="results/{experiment}/runs",
        data_workers=lambda wildcards, threads: threads - 1,
        gpus=lambda wildcards, resources: resources.get("gpu", 0),
        nodes=lambda wildcards, resources: resources.get("nodes", 1),
    log:
        "logs/{experiment}/jobs/{group}.log",
    benchmark:
        "benchmarks/output/{experiment}/jobs/{group}.tsv"
    threads: 1
    priority: group_size
    conda:
        ENVIRONMENT
    shell:
        "OMP_NUM_THREADS={threads} {params.python} -m experiments.arm --spec {params.spec:q} "
        "--runs {params.runs} --data-workers {params.data_workers} --gpus {params.gpus} --nodes {params.nodes} "
        "--out {output} > {log} 2>&1"


rule speed:
    """The time of one training step of every method on one workload, all measured in this one job (interleaved
    repeats), normalised to the baseline's: the MSAM paper's "Speed" column."""
    input:
        speed_inputs,
    output:
        "results/{experiment}/speed.json",
    params:
        spec=lambda wildcards: json.dumps(SPEEDS[wildcards.experiment], sort_keys=True),
        python=PYTHON,
    log:
        "logs/{experiment}/speed.log",
    benchmark:
        "benchmarks/output/{experiment}/speed.tsv"
    threads: 1
    conda:
        ENVIRONMENT
    shell:
        "OMP_NUM_THREADS={threads} {params.python} -m experiments.speed --spec {params.spec:q} --out {output} "
        "> {log} 2>&1"
