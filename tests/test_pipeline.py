"""The whole pipeline on the smoke protocol, in a copy of the repository: every experiment's rules, tables, figures
and verdicts are made; a second invocation finds nothing to do; the archive of the results verifies; and an edited
source file reruns exactly what runs it (a theory module: the ledger; an optimizer: the arms that use it, their
report and the ledger, whose checks run it; a report: that report)."""

import csv
import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


def project_copy(destination: Path) -> Path:
    """The project's files (tracked, or new and not ignored) in ``destination``, with the installed data linked."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPOSITORY,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (REPOSITORY / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPOSITORY / name, destination / name)
    (destination / "data").symlink_to(REPOSITORY / "data")
    return destination


def snakemake(root: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", "config/smoke.yaml",
                           *arguments], cwd=root, capture_output=True, text=True)


def pending(root: Path) -> set[tuple[str, str]]:
    """(rule, output) of every output the pipeline would make now (``snakemake --summary``: plan column)."""
    finished = snakemake(root, "--summary")
    assert finished.returncode == 0, finished.stderr[-3000:]
    rows = csv.DictReader(io.StringIO(finished.stdout[finished.stdout.index("output_file"):]), delimiter="\t")
    return {(row["rule"], row["output_file"]) for row in rows if row["plan"] != "no update"}


def plan_after_editing(root: Path, name: str) -> set[tuple[str, str]]:
    """The plan once ``name`` is edited (a comment added: Snakemake compares contents, not only times), with the
    file restored afterwards."""
    path = root / name
    original = path.read_text()
    path.write_text(original + "\n# edited\n")
    try:
        return pending(root)
    finally:
        path.write_text(original)


@pytest.mark.slow
@pytest.mark.system
@pytest.mark.skipif(not FASHION_MNIST.is_dir(), reason="needs Fashion-MNIST: run `make system-deps`")
def test_smoke_pipeline_makes_every_report_then_reruns_only_what_an_edit_affects(tmp_path):
    root = project_copy(tmp_path / "inertia")
    finished = snakemake(root)
    assert finished.returncode == 0, finished.stderr[-5000:]
    for experiment in ("overshoot", "marginal-momentum/vision", "marginal-momentum/finetune",
                       "marginal-momentum/svag", "msam", "step-tuned-sgd", "adamomentum", "leaderboard"):
        folder = root / "results" / experiment
        assert (folder / "verdict.md").stat().st_size > 0, experiment
        assert list((folder / "tables").glob("*.tex")) and list((folder / "figures").glob("*.png")), experiment
        assert (root / "benchmarks/output" / experiment / "report.tsv").exists()
    assert (root / "results/theory/claims.json").exists()
    assert pending(root) == set()

    # The target goes first: --configfile takes every word after it as a config file.
    packed = subprocess.run([sys.executable, "-m", "snakemake", "archive", "--cores", "2", "--configfile",
                             "config/smoke.yaml"], cwd=root, capture_output=True, text=True)
    assert packed.returncode == 0, packed.stderr[-3000:]
    verified = subprocess.run([sys.executable, "-m", "experiments.archive", "verify", "results/inertia-archive.tar.gz"],
                              cwd=root, capture_output=True, text=True, timeout=120)
    assert verified.returncode == 0, verified.stderr

    assert {rule for rule, _ in plan_after_editing(root, "theory/marginal_momentum.py")} == {"theory"}

    plan = plan_after_editing(root, "optimizers/overshoot_sgd.py")
    assert {output for rule, output in plan if rule in ("arm", "arm_group")} == {  # smoke: grouped jobs
        "results/overshoot/jobs/all.json", "results/leaderboard/jobs/all.json"}
    reports = {output for rule, output in plan if rule == "report"}
    assert reports and {output.split("/")[1] for output in reports} == {"overshoot", "leaderboard"}
    assert {rule for rule, _ in plan} <= {"arm", "arm_group", "report", "theory"}  # the ledger's checks run them too

    # SAM's base optimizers are reached through a closure in the registry: an edit of SAM reruns both SAMs, the speed
    # job that times SAM, and nothing of MSAM's own arm.
    plan = {output for _, output in plan_after_editing(root, "optimizers/sam.py")}
    assert {"results/msam/arms/fmnist-resnet/sam.json", "results/msam/speed.json",
            "results/leaderboard/jobs/all.json"} <= plan
    assert "results/msam/arms/fmnist-resnet/msam.json" not in plan

    plan = plan_after_editing(root, "experiments/reports/marginal_momentum.py")
    assert {rule for rule, _ in plan} == {"report"}
    assert {output.split("/")[2] for rule, output in plan if rule == "report"} == {"vision", "finetune", "svag"}
    assert pending(root) == set()  # restored files: nothing to do again
