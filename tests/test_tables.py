"""Tests of experiments.tables and experiments.atomic: the CSV keeps every number, Markdown and LaTeX carry
the caption and protocol hash, LaTeX is ASCII and compiles, and a failed write leaves the old file intact."""

import math
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from experiments import atomic, tables

HASH = "0123456789abcdef" * 4


def example() -> pd.DataFrame:
    return pd.DataFrame({
        "method": ["sgdo-5", "cm_β|0.9"],
        "accuracy ± CI": [tables.format_ci(0.87141, 0.8622, 0.8804), tables.format_ci(0.9, math.nan, math.nan)],
        "steps to target": [100, 250],
        "γ": [1 / 3, math.nan],
    })


def test_write_table_writes_three_files(tmp_path):
    paths = tables.write_table(example(), tmp_path / "sub" / "table1", caption="Final accuracy, η = 0.1.",
                               protocol_sha256=HASH)
    assert [path.name for path in paths] == ["table1.csv", "table1.md", "table1.tex"]
    assert all(path.is_file() for path in paths)
    assert not list((tmp_path / "sub").glob(".*")), "temporary files left behind"

    raw = pd.read_csv(paths[0])
    assert raw["γ"][0] == 1 / 3 and math.isnan(raw["γ"][1])  # full precision, not the 4 digits shown
    assert list(raw["protocol_sha256"]) == [HASH, HASH] and list(raw["steps to target"]) == [100, 250]

    text = paths[1].read_text(encoding="utf-8")
    assert "| cm_β\\|0.9 " in text and "0.3333" in text and "0.333333" not in text
    assert "0.871 [0.862, 0.880]" in text and "0.900 [—, —]" in text
    assert text.index("Final accuracy, η = 0.1.") > text.index("| sgdo-5") and f"Protocol SHA-256: `{HASH}`" in text

    latex = paths[2].read_text(encoding="utf-8")
    for rule in (r"\toprule", r"\midrule", r"\bottomrule"):
        assert latex.count(rule) == 1, rule
    assert r"cm\_$\beta$\textbar{}0.9" in latex and r"accuracy $\pm$ CI" in latex and "& ---" in latex
    source = (tmp_path / "sub" / "table1").as_posix()
    caption = rf"Final accuracy, $\eta$ = 0.1. Protocol SHA-256: \texttt{{{HASH}}}.\tablesource{{{source}}}"
    assert rf"\caption{{{caption}}}" in latex
    # the paper's hooks: no-ops unless the including document defines them first
    assert latex.splitlines()[1] == r"\providecommand{\fitwidth}[1]{#1}\providecommand{\tablesource}[1]{}"
    assert latex.count(r"\fitwidth{\begin{tabular}") == 1 and latex.count(r"\end{tabular}}") == 1
    assert all(ord(character) < 128 for character in latex)


def test_plain_pandas_latex_would_not_be_ascii():
    """Negative control for the ASCII check above: pandas alone leaves ±, β and γ in the LaTeX."""
    assert not all(ord(character) < 128 for character in example().to_latex(index=False))


def test_without_protocol_hash_and_with_a_named_index(tmp_path):
    frame = pd.DataFrame({"final": [0.5, 0.25]}, index=pd.Index(["a", "b"], name="method"))
    csv, markdown, latex = tables.write_table(frame, tmp_path / "t", caption="Caption.", float_format="{:.2f}")
    assert csv.read_text().splitlines() == ["method,final", "a,0.5", "b,0.25"]
    assert "| method   |   final |" in markdown.read_text() and "0.50" in markdown.read_text()
    assert "SHA-256" not in markdown.read_text() + latex.read_text()


def test_format_ci():
    assert tables.format_ci(0.87141, 0.8622, 0.8804) == "0.871 [0.862, 0.880]"
    assert tables.format_ci(12.5, 11.0, 14.25, digits=1) == "12.5 [11.0, 14.2]"
    assert tables.format_ci(math.nan, math.nan, math.nan) == "— [—, —]"
    assert tables.format_cell(np.float32(0.5)) == "0.5" and tables.format_cell(None) == "—"
    assert tables.format_cell(np.int64(7)) == "7" and tables.format_cell(True) == "True"


@pytest.mark.system
@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_latex_table_compiles(tmp_path):
    tables.write_table(example(), tmp_path / "table1", caption="Final accuracy, η = 0.1.", protocol_sha256=HASH)
    (tmp_path / "main.tex").write_text(
        "\\documentclass{article}\\usepackage{booktabs}\\begin{document}\\input{table1}\\end{document}\n")
    result = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "main.tex"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = atomic.write_text(tmp_path / "a" / "b.txt", "old\n")

    def fail(file):
        file.write(b"half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        atomic.replace_atomically(path, fail)
    assert path.read_text() == "old\n" and sorted(p.name for p in path.parent.iterdir()) == ["b.txt"]
    atomic.write_json(path, {"b": 1, "a": [1.5]})
    assert path.read_text() == '{\n  "a": [\n    1.5\n  ],\n  "b": 1\n}\n'


def test_figures_are_saved_as_pdf_and_png_reproducibly(tmp_path):
    import matplotlib.pyplot as pyplot

    from experiments import figures

    figure, axes = figures.new_figure(ncols=2)
    assert len(axes) == 2 and tuple(figure.get_size_inches()) == (2 * figures.COLUMN_WIDTH, figures.ROW_HEIGHT)
    axes[0].plot([0, 1, 2], [1.0, 0.5, 0.2])
    axes[1].set_title("γ = 0.1")
    pdf, png = figures.save(figure, tmp_path / "curves")
    assert (pdf.name, png.name) == ("curves.pdf", "curves.png")
    assert pdf.read_bytes().startswith(b"%PDF") and png.read_bytes().startswith(b"\x89PNG")
    first = pdf.read_bytes()
    figures.save(figure, tmp_path / "curves")
    assert pdf.read_bytes() == first, "the PDF changed between two saves of one figure"
    assert not pyplot.get_fignums() and not list(tmp_path.glob(".*"))
