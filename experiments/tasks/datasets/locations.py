"""Where dataset files live, and the clear error raised when they are missing.

Relative defaults are under the repository's ``data/`` directory (git-ignored); a task's ``data_root`` argument
replaces the default directory of that dataset.
"""

from pathlib import Path

REPOSITORY_DATA = Path(__file__).resolve().parents[3] / "data"


def dataset_directory(data_root: str | None, default: Path) -> Path:
    """``data_root`` if given, else the dataset's default directory."""
    return Path(data_root) if data_root is not None else default


def require_paths(paths: list[Path], how_to_get: str) -> None:
    """Raise FileNotFoundError naming every missing path and how to obtain the data."""
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        raise FileNotFoundError(f"missing data file(s): {', '.join(missing)}. To get them: {how_to_get}")
