"""What SLURM adds per job, and how big the full profile's DAG is (issue 12's two scale-out numbers).

    sudo .venv/bin/python benchmarks/slurm_overhead.py              # root: slurmd runs the jobs as root here
    sudo .venv/bin/python benchmarks/slurm_overhead.py --jobs 50 --dag-repeats 5

Scheduling overhead: a single-node SLURM is brought up in a temporary directory (``tests/local_slurm.py``, the
cluster of the SLURM test; ``make system-deps`` installs it), and ``--jobs`` one-line batch jobs are submitted one
after another, each once the one before has started. A job's overhead is the time from just before its ``sbatch``
to the first line of its script (the job writes ``time.time()``), so it counts submission, scheduling, the launch
of the batch step and the shell's start; the median, minimum and maximum are printed. The cluster is stopped
afterwards, leaving no daemon.

DAG: ``snakemake -n`` with ``--workflow-profile profiles/slurm`` (the full profile), ``--dag-repeats`` times; the
number of jobs (all, and those the profile submits to SLURM rather than running locally) and the wall time of the
dry run, which is Snakemake's start-up, parsing and DAG building. This part needs neither root nor SLURM.
"""

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the local cluster lives with the test that uses it

from local_slurm import local_slurm, missing_programs  # noqa: E402

DRY_RUN = [sys.executable, "-m", "snakemake", "-n", "--workflow-profile", "profiles/slurm", "--slurm-no-account"]
POLL_SECONDS = 0.005


def scheduling_overheads(jobs: int, folder: Path) -> list[float]:
    """Seconds from before ``sbatch`` to the start of the job's script, for ``jobs`` jobs submitted in turn."""
    overheads = []
    with local_slurm(folder / "slurm") as cluster:
        for index in range(jobs):
            started = folder / f"started-{index}"
            submitted = time.time()
            cluster.run("sbatch", "--quiet", f"--output={folder / f'job-{index}.out'}",
                        f"--wrap={sys.executable} -c 'import time; print(time.time())' > {started}.tmp && "
                        f"mv {started}.tmp {started}")
            while not started.exists():
                time.sleep(POLL_SECONDS)
            overheads.append(float(started.read_text()) - submitted)
    return overheads


def dag_sizes(repeats: int) -> tuple[int, int, list[float]]:
    """Jobs in the full profile's DAG, those of them that go to SLURM, and the dry run's wall seconds."""
    seconds, output = [], ""
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run(DRY_RUN, cwd=ROOT, capture_output=True, text=True, check=True)
        seconds.append(time.perf_counter() - started)
        output = done.stdout + done.stderr
    counts = {rule: int(count) for rule, count in re.findall(r"^(\w+)\s+(\d+)$", output, re.MULTILINE)}
    total = counts.pop("total")
    local = local_rules([ROOT / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))])
    return total, sum(count for rule, count in counts.items() if rule not in local and rule != "all"), seconds


def local_rules(paths: list[Path]) -> set[str]:
    """The rules named in the ``localrules:`` blocks of the workflow files (comments dropped)."""
    blocks = [block for path in paths
              for block in re.findall(r"^localrules:(.*?)(?:\n\s*\n|\Z)", path.read_text(), re.MULTILINE | re.DOTALL)]
    return {name.strip() for block in blocks for line in block.splitlines()
            for name in line.split("#")[0].split(",") if name.strip()}


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f} s (min {min(values):.2f}, max {max(values):.2f}, n={len(values)})"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=20, help="batch jobs to submit (default 20; 0: skip)")
    parser.add_argument("--dag-repeats", type=int, default=3, help="dry runs of the full profile (default 3; 0: skip)")
    arguments = parser.parse_args(argv)
    if arguments.dag_repeats:
        total, submitted, seconds = dag_sizes(arguments.dag_repeats)
        print(f"full profile DAG: {total} jobs, {submitted} of them SLURM jobs; snakemake -n {summary(seconds)}")
    if arguments.jobs:
        missing = missing_programs()
        if missing:
            print(f"scheduling overhead: skipped, needs {', '.join(missing)} (run `make system-deps`)")
            return 1
        with tempfile.TemporaryDirectory() as folder:
            overheads = scheduling_overheads(arguments.jobs, Path(folder))
        print(f"SLURM scheduling overhead per job (sbatch to the job's first line): {summary(overheads)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
