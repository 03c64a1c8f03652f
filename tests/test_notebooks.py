"""Every notebook under notebooks/ executes, and stays identical to its jupytext "py:percent" pair.

The .py file is the one to edit and review; the .ipynb is generated from it with
``jupytext --to ipynb`` and stored without outputs. Execution uses nbclient with the ``python3`` kernel
from the repository root, so notebooks import the project's packages as the ledger does.
"""

from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

REPOSITORY = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPOSITORY / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 300


def cell_contents(notebook) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_executes(path):
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                   resources={"metadata": {"path": str(REPOSITORY)}}).execute()
    errors = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.get("outputs", []) if output.output_type == "error"]
    assert not errors


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_matches_its_py_pair(path):
    pair = path.with_suffix(".py")
    assert pair.is_file(), f"{path.name} has no jupytext pair {pair.name}"
    stored = nbformat.read(path, as_version=4)
    assert cell_contents(stored) == cell_contents(jupytext.read(pair, fmt="py:percent")), (
        f"{path.name} and {pair.name} differ: run `jupytext --to ipynb {pair.relative_to(REPOSITORY)}`")
    with_outputs = [index for index, cell in enumerate(stored.cells)
                    if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)]
    assert not with_outputs, f"{path.name} is stored with outputs in cells {with_outputs}"
