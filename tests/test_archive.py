"""The archive (experiments/archive.py): deterministic packing, and verification that rejects, naming the member,
a changed byte, a missing or unlisted file, an unsafe path or a link, without extracting anything."""

import io
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from experiments import archive

REPOSITORY = Path(__file__).resolve().parents[1]
RUN = "results/demo/runs/w/m/evaluation/lr0.1/seed0"


@pytest.fixture
def project(tmp_path) -> Path:
    """A project tree with one file of each archived kind, and a checkpoint, which the archive leaves out."""
    root = tmp_path / "project"
    files = {"config/config.yaml": "experiments: {}\n", "requirements.lock": "torch==2.13.0\n",
             "results/demo/protocol.json": "{}", "results/demo/verdict.md": "# verdict\n",
             "results/demo/tables/steps.csv": "a,b\n1,2\n", "results/demo/figures/curve.png": "\x89PNG",
             "results/demo/arms/w/m.json": "{}", f"{RUN}/config.json": "{}", f"{RUN}/summary.json": "{}",
             f"{RUN}/metrics.jsonl": "{}\n", f"{RUN}/checkpoint.pt": "weights", "results/theory/claims.json": "[]",
             "results/demo/tables/.steps.csv.123.tmp": "half-written"}
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def members_of(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as tar:
        return {member.name.split("/", 1)[1]: tar.extractfile(member).read() for member in tar.getmembers()}


def rewritten(source: Path, target: Path, change) -> Path:
    """The archive ``source`` with ``change(members)`` applied to its path → bytes map, repacked."""
    members = members_of(source)
    change(members)
    target.write_bytes(archive.tar_gz(members))
    return target


def test_pack_holds_the_results_and_verifies(project, tmp_path):
    packed = archive.pack(tmp_path / "a.tar.gz", project)
    members = members_of(packed)
    assert f"{RUN}/metrics.jsonl" in members and "results/demo/tables/steps.csv" in members
    assert f"{RUN}/checkpoint.pt" not in members and not any("/." in path for path in members)
    assert set(members) == set(archive.archived_files(project)) | {archive.COMMIT, archive.MANIFEST}
    assert archive.verify(packed) == len(members) - 1


def test_results_come_from_the_working_directory_and_the_configs_from_the_checkout(project, tmp_path):
    """``snakemake --directory .smoke``: the archive holds that folder's results, not the project root's."""
    workdir = tmp_path / "smoke"
    (workdir / "results/demo").mkdir(parents=True)
    (workdir / "results/demo/verdict.md").write_text("# the smoke verdict\n")
    members = members_of(archive.pack(tmp_path / "a.tar.gz", project, workdir))
    assert members["results/demo/verdict.md"] == b"# the smoke verdict\n"
    assert "results/demo/protocol.json" not in members  # the root's results stay out
    assert members["config/config.yaml"] == b"experiments: {}\n" and "requirements.lock" in members


def test_packing_twice_gives_the_same_bytes(project, tmp_path):
    assert archive.pack(tmp_path / "a.tar.gz", project).read_bytes() == \
        archive.pack(tmp_path / "b.tar.gz", project).read_bytes()


def test_one_changed_byte_of_a_member_is_named(project, tmp_path):
    packed = archive.pack(tmp_path / "a.tar.gz", project)

    def flip(members):
        data = bytearray(members["results/demo/tables/steps.csv"])
        data[0] ^= 1
        members["results/demo/tables/steps.csv"] = bytes(data)

    with pytest.raises(archive.ArchiveError, match=r"^results/demo/tables/steps.csv: SHA-256 differs"):
        archive.verify(rewritten(packed, tmp_path / "b.tar.gz", flip))


def test_one_changed_byte_of_the_file_is_rejected(project, tmp_path):
    data = bytearray(archive.pack(tmp_path / "a.tar.gz", project).read_bytes())
    data[len(data) // 2] ^= 1
    (tmp_path / "b.tar.gz").write_bytes(bytes(data))
    with pytest.raises(archive.ArchiveError):
        archive.verify(tmp_path / "b.tar.gz")


@pytest.mark.parametrize("change, message", [
    (lambda members: members.pop(f"{RUN}/summary.json"), f"{RUN}/summary.json: listed in MANIFEST.sha256 but missing"),
    (lambda members: members.update({"extra.txt": b"x"}), "extra.txt: not listed in MANIFEST.sha256"),
    (lambda members: members.pop(archive.MANIFEST), "MANIFEST.sha256: missing"),
])
def test_a_missing_or_unlisted_file_is_named(project, tmp_path, change, message):
    packed = archive.pack(tmp_path / "a.tar.gz", project)
    with pytest.raises(archive.ArchiveError, match=f"^{message}"):
        archive.verify(rewritten(packed, tmp_path / "b.tar.gz", change))


@pytest.mark.parametrize("name, kind, message", [
    ("/etc/passwd", tarfile.REGTYPE, "absolute path"),
    ("inertia/../../escape.txt", tarfile.REGTYPE, "'..' in the path"),
    ("inertia/results/link", tarfile.SYMTYPE, "not a regular file"),
    ("inertia/results/hard", tarfile.LNKTYPE, "not a regular file"),
])
def test_unsafe_members_are_refused_and_nothing_is_extracted(project, tmp_path, monkeypatch, name, kind, message):
    packed = archive.pack(tmp_path / "a.tar.gz", project)
    unsafe = tmp_path / "unsafe.tar.gz"
    with tarfile.open(packed, "r:gz") as source, tarfile.open(unsafe, "w:gz") as target:
        for member in source.getmembers():
            target.addfile(member, source.extractfile(member))
        info = tarfile.TarInfo(name)
        info.type, info.linkname = kind, "/etc/passwd"
        target.addfile(info, io.BytesIO(b"") if kind == tarfile.REGTYPE else None)
    monkeypatch.chdir(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(archive.ArchiveError, match=f"^{name}: {message}"):
        archive.verify(unsafe)
    assert sorted(tmp_path.rglob("*")) == before


def test_verify_command_prints_one_line_and_exits_1_on_a_bad_archive(project, tmp_path):
    packed = archive.pack(tmp_path / "a.tar.gz", project)
    damaged = rewritten(packed, tmp_path / "b.tar.gz", lambda members: members.pop("requirements.lock"))
    command = [sys.executable, "-m", "experiments.archive", "verify"]
    good = subprocess.run([*command, str(packed)], cwd=REPOSITORY, capture_output=True, text=True, timeout=60)
    bad = subprocess.run([*command, str(damaged)], cwd=REPOSITORY, capture_output=True, text=True, timeout=60)
    assert good.returncode == 0 and "every SHA-256 as in MANIFEST.sha256" in good.stdout
    assert bad.returncode == 1 and bad.stderr.strip().splitlines() == [
        "archive rejected: requirements.lock: listed in MANIFEST.sha256 but missing"]
