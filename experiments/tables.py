"""The one place that turns results into tables: a pandas DataFrame becomes CSV, Markdown and LaTeX.

Serves every experiment report and the claims ledger. ``write_table(frame, "results/x/table1", caption=...)``
writes ``table1.csv`` (every number at full precision, for re-analysis), ``table1.md`` (formatted, with the
caption under it) and ``table1.tex`` (a booktabs ``table``: the including document needs
``\\usepackage{booktabs}``), each atomically. When the table comes from a frozen protocol its SHA-256 is recorded
in all three: a ``protocol_sha256`` column in the CSV, a line under the Markdown table, the LaTeX caption.
"""

import math
import numbers
import os
from pathlib import Path

import pandas as pd

from experiments import atomic

MISSING = "\N{EM DASH}"  # how a missing number (None, NaN: e.g. a target never reached) is shown

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
}
_LATEX_UNICODE = {
    "α": r"$\alpha$", "β": r"$\beta$", "γ": r"$\gamma$", "δ": r"$\delta$", "ε": r"$\varepsilon$",
    "η": r"$\eta$", "θ": r"$\theta$", "κ": r"$\kappa$", "λ": r"$\lambda$", "μ": r"$\mu$",
    "ν": r"$\nu$", "ξ": r"$\xi$", "π": r"$\pi$", "ρ": r"$\rho$", "σ": r"$\sigma$", "τ": r"$\tau$",
    "φ": r"$\varphi$", "ψ": r"$\psi$", "ω": r"$\omega$", "Γ": r"$\Gamma$", "Δ": r"$\Delta$",
    "Θ": r"$\Theta$", "Λ": r"$\Lambda$", "Σ": r"$\Sigma$", "Φ": r"$\Phi$", "Ω": r"$\Omega$",
    "ℓ": r"$\ell$", "∇": r"$\nabla$", "∂": r"$\partial$", "√": r"$\surd$", "∞": r"$\infty$",
    "≤": r"$\leq$", "≥": r"$\geq$", "≈": r"$\approx$", "≠": r"$\neq$", "≪": r"$\ll$", "≫": r"$\gg$",
    "→": r"$\to$", "←": r"$\leftarrow$", "↔": r"$\leftrightarrow$", "⇒": r"$\Rightarrow$",
    "±": r"$\pm$", "×": r"$\times$", "·": r"$\cdot$", "−": "-", "–": "--", "—": "---",
    "∈": r"$\in$", "∉": r"$\notin$", "⊙": r"$\odot$", "∘": r"$\circ$", "‖": r"$\|$",
    "ᵀ": r"$^{\top}$", "²": r"$^{2}$", "³": r"$^{3}$", "⁻": r"$^{-}$", "¹": r"$^{1}$",
    "⁴": r"$^{4}$", "½": r"$\frac{1}{2}$", "′": r"$'$", "̄": "", "̃": "", "̂": "",
    "‘": "`", "’": "'", "“": "``", "”": "''", "…": r"\ldots{}", "°": r"$^{\circ}$",
    "∑": r"$\sum$", "∏": r"$\prod$", "∫": r"$\int$", "⟨": r"$\langle$", "⟩": r"$\rangle$",
    "ϕ": r"$\phi$", "χ": r"$\chi$", "ζ": r"$\zeta$", "ℝ": r"$\mathbb{R}$",
}


def latex_escape(text) -> str:
    """Escape ``text`` for LaTeX: special characters get their commands, the Greek letters and math symbols
    the project's tables use become inline math, whitespace runs become one space, and any other non-ASCII
    character is replaced by ``?`` so the fragment compiles with plain pdflatex."""
    pieces = []
    for character in " ".join(str(text).split()):
        if character in _LATEX_SPECIAL:
            piece = _LATEX_SPECIAL[character]
        elif character in _LATEX_UNICODE:
            piece = _LATEX_UNICODE[character]
        else:
            piece = character if ord(character) < 128 else "?"
        if pieces and _is_math(pieces[-1]) and _is_math(piece):  # one math group: "$\eta\to$", not "$\eta$$\to$"
            pieces[-1] = pieces[-1][:-1] + piece[1:]
        else:
            pieces.append(piece)
    return "".join(pieces)


def _is_math(piece: str) -> bool:
    return len(piece) > 1 and piece.startswith("$") and piece.endswith("$")


def format_ci(mean: float, low: float, high: float, digits: int = 3) -> str:
    """``"0.871 [0.862, 0.880]"``: a mean and its interval with ``digits`` decimals; a NaN shows as —."""

    def number(value: float) -> str:
        return MISSING if value is None or math.isnan(value) else f"{value:.{digits}f}"

    return f"{number(mean)} [{number(low)}, {number(high)}]"


def format_cell(value, float_format: str = "{:.4g}") -> str:
    """One table cell as text: floats through ``float_format``, None and NaN as —, anything else ``str``."""
    if value is None or value is pd.NA or (isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral)
                                           and math.isnan(value)):
        return MISSING
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        return float_format.format(value)
    return str(value)


def _columns(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with a named index turned into columns (an unnamed one, e.g. 0..n−1, is dropped)."""
    named = any(name is not None for name in frame.index.names)
    return frame.reset_index(drop=not named)


def _numeric(frame: pd.DataFrame) -> list[bool]:
    return [pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype) for dtype in frame.dtypes]


def markdown(frame: pd.DataFrame, *, caption: str, protocol_sha256: str | None = None,
             float_format: str = "{:.4g}") -> str:
    """The frame as a GitHub Markdown table (numbers right-aligned, ``|`` escaped, line breaks flattened), the
    caption as a paragraph under it, then the protocol's SHA-256 when given."""

    def cell(value) -> str:
        return " ".join(format_cell(value, float_format).split()).replace("|", "\\|")

    table = _columns(frame)
    cells = table.map(cell)
    cells.columns = [cell(name) for name in table.columns]
    text = cells.to_markdown(index=False, disable_numparse=True,
                             colalign=["right" if numeric else "left" for numeric in _numeric(table)])
    text += f"\n\n{caption}\n"
    if protocol_sha256:
        text += f"\nProtocol SHA-256: `{protocol_sha256}`\n"
    return text


def latex(frame: pd.DataFrame, *, caption: str, protocol_sha256: str | None = None, float_format: str = "{:.4g}",
          label: str | None = None, column_format: str | None = None, longtable: bool = False,
          escape: bool = True, source: str | None = None) -> str:
    """The frame as a booktabs LaTeX table (``\\toprule``/``\\midrule``/``\\bottomrule``) with the caption (and
    the protocol's SHA-256) in ``\\caption``; a ``longtable`` if asked, which breaks across pages and repeats its
    heading. With ``escape`` every cell and heading goes through ``latex_escape``; without, the cells are taken
    to be LaTeX already (the caller escaped them). Default columns: numbers ``r``, the rest ``l``; a
    ``column_format`` with ``>{...}`` column types needs the array package. The first line, a comment, names
    the packages the including document needs.

    Two hooks let a document that includes many tables present them alike, and are no-ops elsewhere (defined with
    ``\\providecommand``): ``\\fitwidth{<tabular>}`` around a plain tabular (the paper scales a table wider than
    the text down to its width) and, with ``source`` (the table's path without suffix), ``\\tablesource{source}``
    at the end of the caption (the paper names there the rule and file the table came from)."""
    table = _columns(frame)
    if escape:
        cells = table.map(lambda value: latex_escape(format_cell(value, float_format)))
        cells.columns = [latex_escape(name) for name in table.columns]
    else:
        cells = table.map(lambda value: format_cell(value, float_format))
    if column_format is None:
        column_format = "".join("r" if numeric else "l" for numeric in _numeric(table))
    full_caption = latex_escape(caption)
    if protocol_sha256:
        full_caption += rf" Protocol SHA-256: \texttt{{{latex_escape(protocol_sha256)}}}."
    if source is not None:
        full_caption += rf"\tablesource{{{source}}}"
    needs = ", ".join(["booktabs"] + ["longtable"] * longtable + ["array"] * (">{" in column_format))
    body = cells.to_latex(index=False, escape=False, caption=full_caption, label=label,
                          column_format=column_format, longtable=longtable)
    if not longtable:
        body = body.replace(r"\begin{tabular}", r"\fitwidth{\begin{tabular}")
        body = body.replace(r"\end{tabular}", r"\end{tabular}}")
    return (f"% Written by the pipeline; do not edit by hand. Needs \\usepackage{{{needs}}}.\n"
            + r"\providecommand{\fitwidth}[1]{#1}\providecommand{\tablesource}[1]{}" + "\n" + body)


def write_table(frame: pd.DataFrame, stem: str | os.PathLike, *, caption: str, protocol_sha256: str | None = None,
                float_format: str = "{:.4g}") -> list[Path]:
    """Write ``stem.csv`` (raw numbers; a ``protocol_sha256`` column when given), ``stem.md`` and ``stem.tex``
    (formatted with ``float_format``, see ``markdown`` and ``latex``), each atomically; return the three paths."""
    stem = Path(stem)
    raw = _columns(frame)
    if protocol_sha256:
        raw = raw.assign(protocol_sha256=protocol_sha256)
    return [
        atomic.write_text(stem.with_name(stem.name + ".csv"), raw.to_csv(index=False, lineterminator="\n")),
        atomic.write_text(stem.with_name(stem.name + ".md"),
                          markdown(frame, caption=caption, protocol_sha256=protocol_sha256, float_format=float_format)),
        atomic.write_text(stem.with_name(stem.name + ".tex"),
                          latex(frame, caption=caption, protocol_sha256=protocol_sha256, float_format=float_format,
                                label=f"tab:{stem.name}", source=stem.as_posix())),
    ]
