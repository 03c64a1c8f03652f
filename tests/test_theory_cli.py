"""Tests of the ledger runner ``python -m theory``: its outputs, their format, and its errors."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from theory import ledger, report

REPOSITORY = Path(__file__).resolve().parents[1]
ENTRY_KEYS = {"id", "paper", "claim", "kind", "verdict", "evidence", "key_number", "seconds"}


def run_theory(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "theory", *arguments], cwd=REPOSITORY, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def ledger_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ledger")
    result = run_theory("--out", str(out), "--only", "momentum.ema-equivalence")
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_writes_the_outputs(ledger_dir):
    for name in ("claims.json", "claims.md", "claims.tex", "ledger.log"):
        assert (ledger_dir / name).is_file() and (ledger_dir / name).stat().st_size > 0, name
    assert (ledger_dir / "figures").is_dir()
    assert not list(ledger_dir.glob(".*")), "temporary files left behind"


def test_json_entries(ledger_dir):
    entries = json.loads((ledger_dir / "claims.json").read_text(encoding="utf-8"))
    assert [entry["id"] for entry in entries] == ["momentum.ema-equivalence"]
    entry = entries[0]
    assert set(entry) == ENTRY_KEYS
    assert entry["verdict"] in ledger.VERDICTS and entry["kind"] in ledger.KINDS
    assert isinstance(entry["evidence"], dict) and isinstance(entry["seconds"], float)


def test_progress_and_log_name_the_claim(ledger_dir):
    log = (ledger_dir / "ledger.log").read_text(encoding="utf-8")
    assert "momentum.ema-equivalence" in log and "verified" in log


def test_markdown_and_latex_tables(ledger_dir):
    markdown = (ledger_dir / "claims.md").read_text(encoding="utf-8")
    assert "| `momentum.ema-equivalence` |" in markdown
    latex = (ledger_dir / "claims.tex").read_text(encoding="utf-8")
    assert latex.count(r"\begin{longtable}") == 1 and latex.count(r"\end{longtable}") == 1
    assert r"\texttt{momentum.\allowbreak{}ema-\allowbreak{}equivalence}" in latex
    assert all(ord(character) < 128 for character in latex), "non-ASCII left in the LaTeX fragment"


@pytest.mark.system
@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_latex_fragment_compiles(ledger_dir, tmp_path):
    (tmp_path / "claims.tex").write_text((ledger_dir / "claims.tex").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "main.tex").write_text(
        "\\documentclass{article}\\usepackage{booktabs,longtable,array}\\begin{document}\\input{claims}"
        "\\end{document}\n")
    result = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "main.tex"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]


def test_every_registered_statement_escapes_to_latex():
    """Each character of every claim text must map to LaTeX (no '?' fallbacks in the table)."""
    from theory.__main__ import import_claim_modules

    import_claim_modules()
    for entry in ledger.REGISTRY.values():
        for text in (entry.id, entry.paper, entry.statement):
            unmapped = {c for c in text if ord(c) > 127 and report.latex_escape(c) == "?"}
            assert not unmapped, f"{entry.id}: no LaTeX for {sorted(unmapped)}"


def test_unknown_claim_id_is_an_error(tmp_path):
    result = run_theory("--out", str(tmp_path), "--only", "no.such-claim")
    assert result.returncode != 0 and "no.such-claim" in result.stderr
