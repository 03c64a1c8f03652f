"""Writers for the claims ledger: claims.json, claims.md, claims.tex and the figures the checks save.

Serves every paper's claims. Every file is written atomically (a temporary file in the same folder,
then ``os.replace``), so a reader never sees half a table. Figures go to the folder set with
``set_figures_dir`` (the runner sets ``DIR/figures``); until then a fresh temporary folder is used,
so checks called from tests or notebooks can save figures without a runner.
"""

import json
import math
import os
import tempfile
from pathlib import Path

_figures_dir: Path | None = None

TABLE_COLUMNS = ("id", "paper", "claim", "verdict", "key_number")
TABLE_HEADINGS = ("ID", "Paper", "Claim", "Verdict", "Key number")


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
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(descriptor)
    try:
        figure.savefig(temporary, dpi=120, bbox_inches="tight")
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return name


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------

def write_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return path


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


def ledger_json(entries: list[dict]) -> str:
    return json.dumps(to_jsonable(entries), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def markdown_table(entries: list[dict]) -> str:
    """The ledger as a GitHub Markdown table (``|`` escaped, line breaks flattened)."""

    def cell(text) -> str:
        return " ".join(str(text).split()).replace("|", "\\|")

    lines = ["| " + " | ".join(TABLE_HEADINGS) + " |", "|" + "---|" * len(TABLE_HEADINGS)]
    for entry in entries:
        row = [f"`{entry['id']}`"] + [cell(entry[column]) for column in TABLE_COLUMNS[1:]]
        lines.append("| " + " | ".join(row) + " |")
    return "# Claims ledger\n\n" + "\n".join(lines) + "\n"


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
    """Escape ``text`` for LaTeX: special characters get their commands, the Greek letters and
    math symbols the ledger uses become inline math, and any other non-ASCII character is
    replaced by ``?`` so the fragment compiles with plain pdflatex."""
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


def latex_table(entries: list[dict]) -> str:
    """The ledger as a ``longtable`` fragment for ``\\input`` (the including document needs
    ``\\usepackage{longtable}``; a plain ``tabular`` of this height cannot break across pages).
    Cells are ragged-right paragraphs (rows end in ``\\tabularnewline``, which ``\\raggedright``
    leaves alone), ids may break after '.' and '-', and the heading repeats on every page."""

    def cells(row: list[str]) -> str:
        return " & ".join(rf"\raggedright {cell}" for cell in row) + r" \tabularnewline"

    def breakable_id(claim_id: str) -> str:
        escaped = latex_escape(claim_id).replace(".", r".\allowbreak{}").replace("-", r"-\allowbreak{}")
        return rf"\texttt{{{escaped}}}"

    heading = cells([rf"\textbf{{{heading}}}" for heading in TABLE_HEADINGS])
    lines = [
        "% Claims ledger, written by `python -m theory`; do not edit by hand. Needs \\usepackage{longtable}.",
        r"\begingroup\small\setlength{\tabcolsep}{4pt}",
        r"\begin{longtable}{p{0.18\linewidth}p{0.14\linewidth}p{0.26\linewidth}p{0.10\linewidth}p{0.20\linewidth}}",
        r"\hline", heading, r"\hline", r"\endfirsthead",
        r"\hline", heading, r"\hline", r"\endhead",
        r"\hline", r"\endfoot",
    ]
    for entry in entries:
        lines.append(cells([breakable_id(entry["id"])] + [latex_escape(entry[column]) for column in TABLE_COLUMNS[1:]]))
    lines += [r"\end{longtable}", r"\endgroup"]
    return "\n".join(lines) + "\n"


def write_ledger(entries: list[dict], out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write ``claims.json``, ``claims.md`` and ``claims.tex`` under ``out_dir``; return their paths."""
    out_dir = Path(out_dir)
    return {
        "json": write_atomic(out_dir / "claims.json", ledger_json(entries)),
        "markdown": write_atomic(out_dir / "claims.md", markdown_table(entries)),
        "latex": write_atomic(out_dir / "claims.tex", latex_table(entries)),
    }
