"""The paper's PDF: the generated numbers and tables (experiments.paper_numbers), then latexmk, then a check of the log.

    python -m experiments.paper_build --source paper --out paper/build --log logs/paper.log

runs from the pipeline's working directory (the project root, or the folder ``--directory`` names), where
``results/`` is: ``paper/paper.tex`` names every table and figure by its path under ``results/`` and its generated
parts as ``generated/...`` (TeX searches the working directory, then ``--out``), and the bibliography as
``references`` (BibTeX searches the source folder), so a smoke run under ``.smoke/`` reads its own results only.
A table or figure the protocol did not produce is a visible placeholder and a "Missing result file" warning.
``SOURCE_DATE_EPOCH`` (the commit's time) and ``FORCE_SOURCE_DATE`` make the PDF a function of its inputs.

Without latexmk (``make system-deps`` installs it) the generated parts are still written and one line says that
the PDF was skipped and how to get it. The log check lists every undefined reference or citation (the build then
fails: the text would show ``??``), every overfull box wider than ``OVERFULL_LIMIT_PT`` (a table or line running
into the margin) and every result file the protocol did not produce (both warnings), in
``paper/build/latex-problems.txt`` and one line on the terminal.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from experiments import paper_numbers, sources

JOBNAME = "paper"
OVERFULL_LIMIT_PT = 10.0
SKIPPED = "paper: PDF skipped (latexmk not found); the tables, figures and numbers are written; `make system-deps` " \
          "(root) installs LaTeX"
UNDEFINED = re.compile(r"^(LaTeX|Package natbib) Warning: (Reference|Citation) `([^']+)' .*undefined", re.MULTILINE)
OVERFULL = re.compile(r"^Overfull \\[hv]box \(([0-9.]+)pt too (?:wide|high)\)[^\n]*", re.MULTILINE)
MISSING = re.compile(r"^Package inertia Warning: (Missing result file \S+)", re.MULTILINE)  # paper.tex's placeholders


def log_problems(log_text: str, limit_pt: float = OVERFULL_LIMIT_PT) -> tuple[list[str], list[str]]:
    """(undefined references and citations, overfull boxes wider than ``limit_pt`` and result files the protocol
    did not produce) in a LaTeX log."""
    undefined = sorted({f"undefined {kind.lower()} {name}" for _, kind, name in UNDEFINED.findall(log_text)})
    overfull = [match.group(0) for match in OVERFULL.finditer(log_text) if float(match.group(1)) > limit_pt]
    missing = sorted(set(MISSING.findall(log_text)))
    return undefined, overfull + missing


def commit_time(root: Path) -> str:
    """The commit's time in seconds since the epoch (``git log -1 --format=%ct``), 0 outside git."""
    try:
        done = subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=root, capture_output=True, text=True,
                              check=True)
    except (OSError, subprocess.CalledProcessError):
        return "0"
    return done.stdout.strip() or "0"


def latexmk(source: Path, out: Path, log) -> int:
    """Build ``out/paper.pdf`` from ``source/paper.tex``; latexmk's output goes to ``log``."""
    # Only the working directory and --out for TeX (a result missing here must not be found in another checkout's
    # results/), the source folder for BibTeX; a final empty entry: then the default path.
    environment = {**os.environ, "TEXINPUTS": os.pathsep.join([".", str(out), ""]),
                   "BIBINPUTS": os.pathsep.join([str(source.resolve()), ""]), "FORCE_SOURCE_DATE": "1",
                   "SOURCE_DATE_EPOCH": commit_time(sources.ROOT)}
    command = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
               f"-outdir={out}", f"-jobname={JOBNAME}", str(source / "paper.tex")]
    return subprocess.run(command, env=environment, stdout=log, stderr=subprocess.STDOUT).returncode


def build(source: Path, results: Path, out: Path, log_path: Path) -> int:
    paper_numbers.write(results, out / "generated")
    if shutil.which("latexmk") is None:
        print(SKIPPED)
        return 0
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        status = latexmk(source, out, log)
    latex_log = out / f"{JOBNAME}.log"
    if status != 0:
        print(f"paper: latexmk failed (exit {status}); see {log_path} and {latex_log}", file=sys.stderr)
        return 1
    undefined, overfull = log_problems(latex_log.read_text(errors="replace"))
    (out / "latex-problems.txt").write_text("".join(f"{line}\n" for line in undefined + overfull))
    if undefined:
        print(f"paper: {len(undefined)} undefined reference(s) or citation(s), first: {undefined[0]}; see "
              f"{out / 'latex-problems.txt'}", file=sys.stderr)
        return 1
    pdf = out / f"{JOBNAME}.pdf"
    warning = f"; {len(overfull)} overfull box(es) > {OVERFULL_LIMIT_PT:g} pt or missing result file(s), see " \
              f"{out / 'latex-problems.txt'}"
    print(f"paper: wrote {pdf} ({pdf.stat().st_size / 1e6:.1f} MB){warning if overfull else ''}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.paper_build", description=__doc__.split("\n")[0])
    parser.add_argument("--source", default=str(sources.ROOT / "paper"), help="folder of paper.tex")
    parser.add_argument("--results", default="results", help="the pipeline's results folder")
    parser.add_argument("--out", default="paper/build", help="folder for paper.pdf and generated/")
    parser.add_argument("--log", default="logs/paper.log", help="latexmk's output")
    arguments = parser.parse_args(argv)
    return build(Path(arguments.source), Path(arguments.results), Path(arguments.out), Path(arguments.log))


if __name__ == "__main__":
    raise SystemExit(main())
