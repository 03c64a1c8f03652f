"""Rule html_report (results/report.html) and its HTML views, without running the pipeline: the nested reporter's
command, and the pages of Markdown, JSON and the environment. The report built from the smoke run, and its rendering
in headless Chromium, are in test_pipeline."""

import json
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
PAGES = REPOSITORY / "workflow/scripts/report_pages.py"


def test_report_rule_runs_the_nested_reporter_on_this_runs_directory_and_config_without_a_lock(tmp_path):
    planned = subprocess.run([sys.executable, "-m", "snakemake", "results/report.html", "-n", "-p", "--cores", "1",
                              "--directory", str(tmp_path), "--configfile", "config/smoke.yaml"],
                             cwd=REPOSITORY, capture_output=True, text=True, timeout=300)
    assert planned.returncode == 0, planned.stderr[-3000:]
    command = next(line for line in planned.stdout.splitlines() if " -m snakemake " in line)
    words = command.split()
    assert words[words.index("--directory") + 1] == str(tmp_path)
    assert words[words.index("--configfile") + 1] == str(REPOSITORY / "config/smoke.yaml")
    assert words[words.index("--snakefile") + 1] == str(REPOSITORY / "Snakefile")
    assert "--nolock" in words and words[words.index("--report") + 1] == "results/report.html"
    targets = words[words.index("snakemake") + 1: words.index("--snakefile")]
    assert "results/overshoot/pages/verdict.html" in targets and "results/environment.html" in targets
    assert "results/theory/claims.md" in targets
    assert not [target for target in targets if "report.html" in target or "archive" in target or "paper" in target]


def test_markdown_and_json_become_self_contained_pages_with_their_source_attached(tmp_path):
    (tmp_path / "verdict.md").write_text("# Verdict\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n**supports**\n")
    (tmp_path / "protocol.json").write_text(json.dumps({"seeds": [0, 1], "protocol_sha256": "abc"}))
    for arguments in (["markdown", "verdict.md", "--out-dir", "pages"], ["json", "protocol.json", "--out", "p.html"]):
        subprocess.run([sys.executable, str(PAGES), *arguments], cwd=tmp_path, check=True)
    verdict = (tmp_path / "pages/verdict.html").read_text()
    assert "<table>" in verdict and "<td>2</td>" in verdict and "<strong>supports</strong>" in verdict
    assert 'download="verdict.md" href="data:text/plain;charset=utf-8;base64,' in verdict
    assert "protocol_sha256" in (tmp_path / "p.html").read_text()
    assert "http" not in verdict  # nothing to fetch


def test_environment_names_python_torch_and_every_pin_that_differs_from_the_lock(tmp_path):
    (tmp_path / "requirements.lock").write_text("torch==0.0.1\n# a comment\nnot-installed-anywhere==1.0\n")
    subprocess.run([sys.executable, str(PAGES), "environment", "--lock", "requirements.lock", "--json", "env.json",
                    "--html", "env.html"], cwd=tmp_path, check=True, timeout=120)
    facts = json.loads((tmp_path / "env.json").read_text())
    assert facts["python"] == sys.version.split()[0] and facts["torch"]["threads"] >= 1
    assert set(facts["lock"]["differences"]) == {"torch", "not-installed-anywhere"}
    assert facts["lock"]["differences"]["not-installed-anywhere"]["installed"] is None
    assert "snakemake" in facts["installed"] and "torch" in (tmp_path / "env.html").read_text()
