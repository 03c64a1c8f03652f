"""Writers for the claims ledger: claims.json, claims.md, claims.tex and the figures the checks save.

Serves every paper's claims. Every file is written through ``experiments.atomic`` (a temporary file in the same
folder, then ``os.replace``), so a reader never sees half a table; the Markdown and LaTeX tables are built by
``experiments.tables``, the project's one table writer. Figures go to the folder set with ``set_figures_dir``
(the runner sets ``DIR/figures``); until then a fresh temporary folder is used, so checks called from tests or
notebooks can save figures without a runner.
"""

import json
import math
import os
import tempfile
from pathlib import Path

import pandas as pd

from experiments import atomic, tables
from experiments.tables import latex_escape
from theory.ledger import Entry

_figures_dir: Path | None = None

TABLE_COLUMNS = ("id", "paper", "claim", "source", "rule", "verdict", "key_number")
TABLE_HEADINGS = ("ID", "Paper", "Claim", "Source", "Decision rule", "Verdict", "Key number")


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------

def set_figures_dir(path: str | os.PathLike) -> Path:
    """Send the figures that checks save from now on to ``path`` (created if missing)."""
    global _figures_dir
    _figures_dir = Path(path)
    _figures_dir.mkdir(parents=True, exist_ok=True)
    return _figures_dir


def figures_dir() -> Path:
    """The folder figures are saved to; a new temporary folder if the runner has set none."""
    if _figures_dir is None:
        return set_figures_dir(tempfile.mkdtemp(prefix="theory-figures-"))
    return _figures_dir


def figure_path(name: str) -> Path:
    """Where the figure called ``name`` (a file name such as ``"momentum-svag.png"``) is saved."""
    return figures_dir() / name


def save_figure(figure, name: str) -> str:
    """Save a matplotlib ``Figure`` as ``figure_path(name)`` atomically and return ``name``.

    Checks build figures with ``matplotlib.figure.Figure`` (no pyplot), so saving works under any
    backend and leaves no global figure state behind.
    """
    path = figure_path(name)
    atomic.replace_atomically(path, lambda file: figure.savefig(file, format=path.suffix[1:], dpi=120,
                                                               bbox_inches="tight"))
    return name


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------

def to_jsonable(value):
    """Turn evidence into plain JSON: numpy/torch scalars and arrays to numbers and lists, other
    objects (sympy expressions, paths) to strings, and non-finite floats to the strings
    ``"nan"``, ``"inf"``, ``"-inf"`` (strict JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(item) for item in value]
    if hasattr(value, "tolist") and not isinstance(value, str):  # numpy and torch, scalar or array
        return to_jsonable(value.tolist())
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return str(value)


def ledger_json(entries: list[Entry]) -> str:
    """``claims.json``: the entries as a JSON array (its schema: ``theory/claims.schema.json``)."""
    return json.dumps(to_jsonable([entry.as_json() for entry in entries]), indent=2, ensure_ascii=False,
                      allow_nan=False) + "\n"


CAPTION = ("The claims ledger, written by python -m theory: each claim, whose statement it is (paper, derived, "
           "background, implementation), the decision rule fixed before the check ran, its verdict and its key "
           "number.")


def _ledger_frame(entries: list[Entry], identifier, text) -> pd.DataFrame:
    """One row per claim with the ``TABLE_HEADINGS`` columns: ``identifier(id)`` and ``text(cell)``."""
    rows = [[identifier(entry.id)] + [text(getattr(entry, column)) for column in TABLE_COLUMNS[1:]]
            for entry in entries]
    return pd.DataFrame(rows, columns=list(TABLE_HEADINGS))


def markdown_table(entries: list[Entry]) -> str:
    """The ledger as a GitHub Markdown table (ids as code; ``|`` escaped and line breaks flattened by
    ``experiments.tables.markdown``) under a heading, with the caption under it."""
    frame = _ledger_frame(entries, lambda claim_id: f"`{claim_id}`", str)
    return "# Claims ledger\n\n" + tables.markdown(frame, caption=CAPTION)


def latex_table(entries: list[Entry], source: str | None = None) -> str:
    """The ledger as a booktabs ``longtable`` fragment for ``\\input`` (the including document needs
    ``\\usepackage{booktabs, longtable, array}``; a plain ``tabular`` of this height cannot break across pages).
    Cells are ragged-right paragraphs, ids may break after '.' and '-', and the heading repeats on every page;
    ``source`` (the file's path without suffix) goes to the caption's ``\\tablesource`` hook (``tables.latex``)."""

    def breakable_id(claim_id: str) -> str:
        escaped = latex_escape(claim_id).replace(".", r".\allowbreak{}").replace("-", r"-\allowbreak{}")
        return rf"\texttt{{{escaped}}}"

    def breakable_text(text: str) -> str:  # Var_SGDM/Var_SGD(β), torch.optim.SGD(nesterov=True): no spaces
        escaped = latex_escape(text).replace(r"\_", r"\_\allowbreak{}")
        for character in "/.(=":
            escaped = escaped.replace(character, character + r"\allowbreak{}")
        return escaped

    frame = _ledger_frame(entries, breakable_id, breakable_text)
    widths = (0.12, 0.09, 0.19, 0.08, 0.21, 0.08, 0.13)
    # \hspace{0pt}: TeX hyphenates no paragraph's first word, and a cell is one paragraph ("implementation")
    column_format = "".join(rf">{{\raggedright\arraybackslash\hspace{{0pt}}}}p{{{width:.2f}\linewidth}}"
                            for width in widths)
    comment, hooks, table = tables.latex(frame, caption=CAPTION, column_format=column_format, longtable=True,
                                         escape=False, label="tab:claims", source=source).split("\n", 2)
    return "\n".join([comment, hooks, r"\begingroup\footnotesize\setlength{\tabcolsep}{3pt}", table + r"\endgroup", ""])


def write_ledger(entries: list[Entry], out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write ``claims.json``, ``claims.md`` and ``claims.tex`` under ``out_dir``; return their paths."""
    out_dir = Path(out_dir)
    return {
        "json": atomic.write_text(out_dir / "claims.json", ledger_json(entries)),
        "markdown": atomic.write_text(out_dir / "claims.md", markdown_table(entries)),
        "latex": atomic.write_text(out_dir / "claims.tex",
                                   latex_table(entries, source=(out_dir / "claims").as_posix())),
    }
