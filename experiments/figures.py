"""The experiment reports' figures: one look (seaborn's whitegrid theme at paper scale) and one way to save.

    figure, axes = figures.new_figure(ncols=2)
    axes[0].plot(steps, accuracy)
    figures.save(figure, "results/overshoot/figures/curves")   # curves.pdf (for the paper) and curves.png

Figures are ``matplotlib.figure.Figure`` objects, not pyplot ones, so nothing is registered with pyplot's figure
manager, any backend (Agg included) works, and a figure is freed when it goes out of scope. Files are written
through ``experiments.atomic``; the PDF carries no creation date, so the same figure gives the same bytes.
"""

import os
from pathlib import Path

import seaborn
from matplotlib.figure import Figure

from experiments import atomic

DPI = 150
COLUMN_WIDTH = 3.4  # inches per subplot column: about one column of a two-column paper
ROW_HEIGHT = 2.6    # inches per subplot row


def new_figure(ncols: int = 1, nrows: int = 1, width: float | None = None, height: float | None = None):
    """A ``Figure`` of ``nrows`` × ``ncols`` subplots (constrained layout) and its axes (one ``Axes`` for 1 × 1,
    else an array, as ``Figure.subplots`` squeezes them). The default size is ``COLUMN_WIDTH`` per column and
    ``ROW_HEIGHT`` per row.

    Applies seaborn's theme (style ``whitegrid``, context ``paper``) to matplotlib's rcParams: a process-wide
    setting, set here rather than in a context manager because titles, legends and tick labels read the rc
    parameters when they are made and drawn, after this function returns.
    """
    seaborn.set_theme(style="whitegrid", context="paper")
    figure = Figure(figsize=(width or COLUMN_WIDTH * ncols, height or ROW_HEIGHT * nrows), layout="constrained")
    return figure, figure.subplots(nrows=nrows, ncols=ncols)


def save(figure: Figure, stem: str | os.PathLike) -> list[Path]:
    """Save ``figure`` as ``stem.pdf`` and ``stem.png`` (``DPI``, tight bounding box), each atomically; return
    the two paths."""
    stem = Path(stem)
    paths = []
    for extension, metadata in (("pdf", {"CreationDate": None}), ("png", None)):
        paths.append(atomic.replace_atomically(
            stem.with_name(f"{stem.name}.{extension}"),
            lambda file: figure.savefig(file, format=extension, dpi=DPI, bbox_inches="tight", metadata=metadata)))
    return paths
