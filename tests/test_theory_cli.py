"""Tests of the ledger runner ``python -m theory``: its outputs, their format, and its errors."""

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from theory import ledger, report

REPOSITORY = Path(__file__).resolve().parents[1]
ENTRY_KEYS = {"id", "paper", "claim", "kind", "source", "rule", "verdict", "evidence", "key_number", "seconds"}


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
    assert entry["source"] == "background" and entry["rule"].startswith("Verified iff")
    assert isinstance(entry["evidence"], dict) and isinstance(entry["seconds"], float)


def test_claims_json_is_valid_against_its_schema(ledger_dir):
    import jsonschema

    schema = json.loads(ledger.SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    entries = json.loads((ledger_dir / "claims.json").read_text(encoding="utf-8"))
    assert not list(validator.iter_errors(entries))
    for field, bad in (("verdict", "plausible"), ("source", "folklore"), ("rule", ""), ("seconds", -1)):
        errors = list(validator.iter_errors([{**entries[0], field: bad}]))
        assert [list(error.path) for error in errors] == [[0, field]], field
    without_rule = {key: value for key, value in entries[0].items() if key != "rule"}
    assert [error.validator for error in validator.iter_errors([without_rule])] == ["required"]


def test_every_claim_states_its_source_and_rule():
    from theory.__main__ import import_claim_modules

    import_claim_modules()
    for registered in ledger.REGISTRY.values():
        assert registered.source in ledger.SOURCES and registered.rule.strip(), registered.id
        assert any(word in registered.rule.lower() for word in ("verified", "refuted")), registered.id


def refuted_controls() -> dict[str, list[str]]:
    """Claim id → the tests marked ``@pytest.mark.refutes(id, ...)`` in tests/test_theory_*.py (read statically)."""
    controls: dict[str, list[str]] = {}
    for path in sorted((REPOSITORY / "tests").glob("test_theory_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef):
                continue
            for decorator in node.decorator_list:
                if (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)
                        and decorator.func.attr == "refutes"):
                    assert "refuted" in ast.unparse(node), f"{path.name}::{node.name} never checks for 'refuted'"
                    for argument in decorator.args:
                        controls.setdefault(argument.value, []).append(f"{path.name}::{node.name}")
    return controls


def test_every_claim_has_a_negative_control_that_is_refuted():
    """Each registered claim id names at least one test in which a wrong variant (formula, sign, lr or
    implementation) handed to its check comes out refuted; and no marker names an unknown id."""
    from theory.__main__ import import_claim_modules

    import_claim_modules()
    controls = refuted_controls()
    assert sorted(set(ledger.REGISTRY) - set(controls)) == []
    assert sorted(set(controls) - set(ledger.REGISTRY)) == []


def test_a_claim_without_a_rule_or_with_an_unknown_source_is_not_registered():
    with pytest.raises(ValueError, match="rule is empty"):
        ledger.claim(id="x.y", paper="p", statement="s", kind="numerical", source="paper", rule=" ")
    with pytest.raises(ValueError, match="source='folklore'"):
        ledger.claim(id="x.y", paper="p", statement="s", kind="numerical", source="folklore", rule="r")


def test_a_check_that_raises_gives_an_inconclusive_entry_with_its_traceback():
    def broken():
        raise RuntimeError("boom")

    entry = ledger.run(ledger.Claim("x.broken", "p", "s", "numerical", "implementation", "Verified iff ...", broken))
    assert entry.verdict == "inconclusive" and entry.raised and "RuntimeError: boom" in entry.evidence["traceback"]


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
        for text in (entry.id, entry.paper, entry.statement, entry.rule):
            unmapped = {c for c in text if ord(c) > 127 and report.latex_escape(c) == "?"}
            assert not unmapped, f"{entry.id}: no LaTeX for {sorted(unmapped)}"


def test_unknown_claim_id_is_an_error(tmp_path):
    result = run_theory("--out", str(tmp_path), "--only", "no.such-claim")
    assert result.returncode != 0 and "no.such-claim" in result.stderr
