"""The archived artifact: one ``.tar.gz`` of what a reader needs to check the results, with a digest manifest.

    python -m experiments.archive pack --out results/inertia-archive.tar.gz     (rule archive; make archive)
    python -m experiments.archive verify results/inertia-archive.tar.gz

**Contents** (under one top folder ``inertia/``). From the checkout: the citation metadata and licence
(``CITATION.cff``, ``.zenodo.json``, ``LICENSE``), the configs (``config/*.yaml``) and ``requirements.lock``. From
the pipeline's working directory (the project root, or the folder ``--directory`` names, e.g. ``.smoke``): every
experiment's ``protocol.json``, every run's ``config.json``, ``summary.json`` and ``metrics.jsonl`` (checkpoints are
left out: they are large and rebuilt by the runs), the experiments' tables, figures, ``verdict.md`` and
``verdict.json``, the arm and job JSONs, the theory ledger (``results/theory``: claims and figures), the software
environment (``results/environment.json``), the report (``results/report.html``) and the paper
(``paper/build/paper.pdf`` and its generated tables and numbers) where they have been built. And ``COMMIT`` (the
git commit the results came from, ``-dirty`` if the tree had changes). ``MANIFEST.sha256`` lists
``<sha256>  <path>`` for every other member, as ``sha256sum -c`` reads it.

The archive is a pure function of those files: members sorted by path, mode 0644, owner 0, mtime 0, and a gzip
header without a time stamp, so packing the same results twice gives the same bytes.

**Verification** reads the archive without extracting anything. It refuses, naming the member, an archive with a
member that is not a regular file (links, devices, folders are never written by ``pack``), an absolute path, a
``..`` component, a member twice, or no manifest; then it checks that the manifest lists exactly the other members,
each with its digest. The first problem found is the one line printed, with exit status 1.
"""

import argparse
import collections
import gzip
import hashlib
import io
import subprocess
import sys
import tarfile
from pathlib import Path, PurePosixPath

from experiments import atomic
from experiments.sources import ROOT
TOP = "inertia"
MANIFEST = "MANIFEST.sha256"
COMMIT = "COMMIT"
PROJECT_PATTERNS = ("CITATION.cff", ".zenodo.json", "LICENSE", "config/*.yaml", "requirements.lock")  # the checkout's
OUTPUT_PATTERNS = (  # the pipeline's, under its working directory (the project root, or --directory)
    "results/**/protocol.json", "results/**/verdict.md", "results/**/verdict.json", "results/**/tables/*",
    "results/**/figures/*", "results/**/arms/**/*.json", "results/**/jobs/*.json", "results/**/speed.json",
    "results/**/runs/**/config.json", "results/**/runs/**/summary.json", "results/**/runs/**/metrics.jsonl",
    "results/theory/claims.*", "results/theory/figures/*", "results/environment.json", "results/report.html",
    "paper/build/paper.pdf", "paper/build/generated/*",
)


class ArchiveError(ValueError):
    """An archive that fails verification; the message names the member and what is wrong with it."""


def _matches(base: Path, patterns: tuple[str, ...]) -> dict[str, Path]:
    """``{relative POSIX path: file}`` of ``patterns`` under ``base``; temporary files (names starting with ``.``)
    are skipped unless a pattern names them exactly (``.zenodo.json``)."""
    found = {path for pattern in patterns for path in base.glob(pattern)
             if path.is_file() and (not path.name.startswith(".") or path.relative_to(base).as_posix() == pattern)}
    return {path.relative_to(base).as_posix(): path for path in found}


def archived_sources(root: Path = ROOT, workdir: Path | None = None) -> dict[str, Path]:
    """The files the archive holds, by member path: ``PROJECT_PATTERNS`` from the checkout ``root``,
    ``OUTPUT_PATTERNS`` from the pipeline's working directory ``workdir`` (``root`` when not given)."""
    return {**_matches(root, PROJECT_PATTERNS), **_matches(root if workdir is None else workdir, OUTPUT_PATTERNS)}


def archived_files(root: Path = ROOT, workdir: Path | None = None) -> list[str]:
    """The member paths of ``archived_sources``, sorted."""
    return sorted(archived_sources(root, workdir))


def commit_of(root: Path = ROOT) -> str:
    """``git rev-parse HEAD`` of ``root``, with ``-dirty`` if tracked files have changes; ``unknown`` outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.stdout.strip() + ("-dirty" if status.stdout.strip() else "")


def manifest_text(members: dict[str, bytes]) -> str:
    """``sha256sum`` lines for ``members`` (path → content), sorted by path."""
    return "".join(f"{hashlib.sha256(data).hexdigest()}  {path}\n" for path, data in sorted(members.items()))


def tar_gz(members: dict[str, bytes]) -> bytes:
    """A deterministic gzip-compressed tar of ``members`` (path → content) under ``TOP``."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed:
        with tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for path, data in sorted(members.items()):
                info = tarfile.TarInfo(f"{TOP}/{path}")
                info.size, info.mode, info.mtime = len(data), 0o644, 0
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def pack(out: Path, root: Path = ROOT, workdir: Path | None = None) -> Path:
    """Write the archive of the checkout ``root`` and the results under ``workdir`` (``root`` when not given) to
    ``out`` (atomically) and return its path."""
    members = {path: file.read_bytes() for path, file in sorted(archived_sources(root, workdir).items())}
    members[COMMIT] = (commit_of(root) + "\n").encode()
    members[MANIFEST] = manifest_text(members).encode()
    return atomic.replace_atomically(out, lambda file: file.write(tar_gz(members)))


def member_path(member: tarfile.TarInfo) -> str:
    """The member's path below ``TOP``, or ``ArchiveError`` if it is not a plain file at a safe relative path."""
    name = member.name
    parts = PurePosixPath(name).parts
    if PurePosixPath(name).is_absolute():
        raise ArchiveError(f"{name}: absolute path")
    if ".." in parts:
        raise ArchiveError(f"{name}: '..' in the path")
    if not member.isreg():
        raise ArchiveError(f"{name}: not a regular file ({'link' if member.issym() or member.islnk() else 'type'} "
                           f"{member.type!r})")
    if len(parts) < 2 or parts[0] != TOP:
        raise ArchiveError(f"{name}: outside the top folder {TOP}/")
    return PurePosixPath(*parts[1:]).as_posix()


def verify(archive: Path) -> int:
    """Check ``archive`` as the module docstring says; return the number of files whose digest matched, or raise
    ``ArchiveError`` naming the first problem."""
    try:
        tar = tarfile.open(archive, mode="r:gz")
    except (OSError, tarfile.TarError, EOFError) as error:
        raise ArchiveError(f"{archive}: not a readable .tar.gz ({error})") from None
    with tar:
        try:
            members = tar.getmembers()
        except (OSError, tarfile.TarError, EOFError) as error:
            raise ArchiveError(f"{archive}: damaged ({error})") from None
        paths = [member_path(member) for member in members]  # every member checked before any is read
        duplicates = sorted(path for path, count in collections.Counter(paths).items() if count > 1)
        if duplicates:
            raise ArchiveError(f"{duplicates[0]}: stored more than once")
        if MANIFEST not in paths:
            raise ArchiveError(f"{MANIFEST}: missing")
        contents = {path: tar.extractfile(member).read() for path, member in zip(paths, members)}
    listed = {}
    for line in contents.pop(MANIFEST).decode().splitlines():
        digest, _, path = line.partition("  ")
        listed[path] = digest
    missing, unlisted = sorted(set(listed) - set(contents)), sorted(set(contents) - set(listed))
    if missing:
        raise ArchiveError(f"{missing[0]}: listed in {MANIFEST} but missing")
    if unlisted:
        raise ArchiveError(f"{unlisted[0]}: not listed in {MANIFEST}")
    for path, data in sorted(contents.items()):
        if hashlib.sha256(data).hexdigest() != listed[path]:
            raise ArchiveError(f"{path}: SHA-256 differs from {MANIFEST}")
    return len(contents)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.archive", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    packing = commands.add_parser("pack", help="write the archive of this checkout and its results")
    packing.add_argument("--out", required=True, type=Path)
    packing.add_argument("--directory", default=Path("."), type=Path,
                         help="the pipeline's working directory, where results/ and paper/build/ are (default: .)")
    checking = commands.add_parser("verify", help="check an archive's manifest and members")
    checking.add_argument("archive", type=Path)
    arguments = parser.parse_args(argv)
    if arguments.command == "pack":
        path = pack(arguments.out, workdir=arguments.directory)
        count = len(archived_files(workdir=arguments.directory))
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, {count} files + {COMMIT})")
        return 0
    try:
        count = verify(arguments.archive)
    except ArchiveError as error:
        print(f"archive rejected: {error}", file=sys.stderr)
        return 1
    print(f"{arguments.archive}: {count} files, every SHA-256 as in {MANIFEST}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
