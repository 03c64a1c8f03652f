"""The whole pipeline on the smoke protocol, in a copy of the repository: every experiment's rules, tables, figures
and verdicts are made; a second invocation finds nothing to do; the archive of the results verifies; and an edited
source file reruns exactly what runs it (a theory module: the ledger; an optimizer: the arms that use it, their
report and the ledger, whose checks run it; a report: that report)."""

import csv
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from experiments import paper_build

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


EXPERIMENTS = ("overshoot", "marginal-momentum/vision", "marginal-momentum/finetune", "marginal-momentum/svag", "msam",
               "step-tuned-sgd", "adamomentum", "leaderboard")
needs_fashion_mnist = pytest.mark.skipif(not FASHION_MNIST.is_dir(),
                                         reason="needs Fashion-MNIST: run `make system-deps`")
needs_latex = pytest.mark.skipif(shutil.which("latexmk") is None or shutil.which("pdftotext") is None,
                                 reason="needs LaTeX and pdftotext: run `make system-deps`")
# What every result feeds: an edit that reruns a ledger or report job reruns these after it, and nothing else.
DOWNSTREAM = {"paper", "html_report", "archive"}


@pytest.fixture(scope="module")
def smoke_root(tmp_path_factory) -> Path:
    """A project copy after one smoke run of the whole pipeline, shared by this module's tests."""
    root = project_copy(tmp_path_factory.mktemp("smoke") / "inertia")
    finished = snakemake(root)
    assert finished.returncode == 0, finished.stderr[-5000:]
    return root


@pytest.fixture(scope="module")
def smoke_report(smoke_root) -> Path:
    """results/report.html of the smoke run (built by the run itself where rule all names it)."""
    built = subprocess.run([sys.executable, "-m", "snakemake", "results/report.html", "--cores", "2", "--configfile",
                            "config/smoke.yaml"], cwd=smoke_root, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-3000:]
    return smoke_root / "results/report.html"


@pytest.mark.slow
@pytest.mark.system
@needs_fashion_mnist
def test_smoke_pipeline_makes_every_report_then_reruns_only_what_an_edit_affects(smoke_root):
    root = smoke_root
    for experiment in EXPERIMENTS:
        folder = root / "results" / experiment
        assert (folder / "verdict.md").stat().st_size > 0, experiment
        assert list((folder / "tables").glob("*.tex")) and list((folder / "figures").glob("*.png")), experiment
        assert (root / "benchmarks/output" / experiment / "report.tsv").exists()
    assert (root / "results/theory/claims.json").exists()
    assert pending(root) == set()

    # rule all ends with the archive; it verifies, and a copy with one byte changed does not
    verified = subprocess.run([sys.executable, "-m", "experiments.archive", "verify", "results/inertia-archive.tar.gz"],
                              cwd=root, capture_output=True, text=True, timeout=120)
    assert verified.returncode == 0, verified.stderr
    data = bytearray((root / "results/inertia-archive.tar.gz").read_bytes())
    data[len(data) // 2] ^= 1
    (root / "tampered.tar.gz").write_bytes(bytes(data))
    rejected = subprocess.run([sys.executable, "-m", "experiments.archive", "verify", "tampered.tar.gz"], cwd=root,
                              capture_output=True, text=True, timeout=120)
    assert rejected.returncode == 1 and rejected.stderr.startswith("archive rejected: ")
    assert len(rejected.stderr.strip().splitlines()) == 1
    (root / "tampered.tar.gz").unlink()

    assert {rule for rule, _ in plan_after_editing(root, "theory/marginal_momentum.py")} == \
        {"theory", "theory_pages"} | DOWNSTREAM

    plan = plan_after_editing(root, "optimizers/overshoot_sgd.py")
    assert {output for rule, output in plan if rule in ("arm", "arm_group")} == {  # smoke: grouped jobs
        "results/overshoot/jobs/all.json", "results/leaderboard/jobs/all.json"}
    reports = {output for rule, output in plan if rule == "report"}
    assert reports and {output.split("/")[1] for output in reports} == {"overshoot", "leaderboard"}
    assert {rule for rule, _ in plan} - DOWNSTREAM <= {"arm", "arm_group", "report", "report_pages", "theory",
                                                      "theory_pages"}  # the ledger's checks run them too

    # SAM's base optimizers are reached through a closure in the registry: an edit of SAM reruns both SAMs, the speed
    # job that times SAM, and nothing of MSAM's own arm.
    plan = {output for _, output in plan_after_editing(root, "optimizers/sam.py")}
    assert {"results/msam/arms/fmnist-resnet/sam.json", "results/msam/speed.json",
            "results/leaderboard/jobs/all.json"} <= plan
    assert "results/msam/arms/fmnist-resnet/msam.json" not in plan

    plan = plan_after_editing(root, "experiments/reports/marginal_momentum.py")
    assert {rule for rule, _ in plan} == {"report", "report_pages"} | DOWNSTREAM
    assert {output.split("/")[2] for rule, output in plan if rule == "report"} == {"vision", "finetune", "svag"}
    assert pending(root) == set()  # restored files: nothing to do again


@pytest.mark.slow
@pytest.mark.system
@needs_fashion_mnist
def test_smoke_report_is_one_self_contained_page_of_every_experiment(smoke_root, smoke_report):
    page = smoke_report.read_text()
    assert page.lstrip().lower().startswith("<!doctype html>") and "Snakemake Report" in page
    assert not re.search(r"""<(?:script|link|img)[^>]+(?:src|href)=["']?(?:https?:)?//""", page)  # nothing fetched
    categories = json.loads(re.search(r"var categories = (.*);", page).group(1))
    assert set(categories) == {*EXPERIMENTS, "theory", "environment"}
    for experiment in EXPERIMENTS:
        assert set(categories[experiment]) == {"figures", "tables", "verdict", "protocol"}, experiment
        figures = (smoke_root / "results" / experiment).glob("figures/*.png")
        on_disk = {str(path.relative_to(smoke_root)) for path in figures}
        assert set(categories[experiment]["figures"]) == on_disk, experiment  # every figure, this run's own
    assert "of experiment <strong>overshoot</strong>" in page  # a figure's caption (workflow/report/figures.rst)
    assert "The claims ledger" in page and "The software behind these results" in page
    log = (smoke_root / "logs/report.log").read_text()
    assert "Report created." in log and "Job stats" not in log  # the nested reporter planned and ran no job


@pytest.mark.slow
@pytest.mark.system
@needs_fashion_mnist
@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Chromium: run `make system-deps`")
def test_smoke_report_renders_in_headless_chromium(smoke_report, tmp_path):
    screenshot = tmp_path / "report.png"
    subprocess.run(["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000",
                    "--virtual-time-budget=10000", f"--screenshot={screenshot}", smoke_report.as_uri()],
                   capture_output=True, timeout=120, check=True)
    dom = subprocess.run(["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
                          "--dump-dom", smoke_report.as_uri()], capture_output=True, text=True, timeout=120, check=True)
    assert screenshot.stat().st_size > 20_000  # a rendered page, not a blank one
    assert re.search(r'<div id="app">\s*<div', dom.stdout)  # the report's scripts ran and drew the page


@pytest.mark.slow
@pytest.mark.system
@needs_fashion_mnist
@needs_latex
def test_smoke_paper_builds_cleanly_and_its_text_follows_a_changed_result(smoke_root, tmp_path):
    """The PDF of the smoke run: no undefined reference and no box over 10 pt in its log; then one result file
    changed (a ledger verdict flipped, in a copy of the results) changes the macros and so the PDF's text."""
    build = smoke_root / "paper/build"
    assert (build / "paper.pdf").stat().st_size > 100_000
    assert (build / "latex-problems.txt").read_text() == ""
    assert paper_build.log_problems((build / "paper.log").read_text(errors="replace")) == ([], [])

    def text_of(pdf: Path) -> str:
        done = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True)
        return " ".join(done.stdout.split())

    claims = json.loads((smoke_root / "results/theory/claims.json").read_text())
    counts = {verdict: sum(entry["verdict"] == verdict for entry in claims) for verdict in ("verified", "refuted")}
    before = text_of(build / "paper.pdf")
    assert f"({counts['verified']} verified, {counts['refuted']} refuted" in before

    copy = tmp_path / "copy"
    shutil.copytree(smoke_root / "results", copy / "results", ignore=shutil.ignore_patterns("runs"))
    flipped = next(entry for entry in claims if entry["verdict"] == "verified")
    changed = [{**entry, "verdict": "refuted"} if entry is flipped else entry for entry in claims]
    (copy / "results/theory/claims.json").write_text(json.dumps(changed))
    rebuilt = subprocess.run([sys.executable, "-m", "experiments.paper_build", "--source", str(smoke_root / "paper"),
                              "--results", "results", "--out", "paper/build", "--log", "paper.log"], cwd=copy,
                             capture_output=True, text=True, timeout=300)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    after = text_of(copy / "paper/build/paper.pdf")
    assert f"({counts['verified'] - 1} verified, {counts['refuted'] + 1} refuted" in after
    assert flipped["id"] in after.split("Refuted:")[1].split(". A refuted claim")[0]
