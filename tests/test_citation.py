"""The citation metadata: CITATION.cff is valid CFF 1.2.0 (cffconvert, from its own tool environment: it needs
jsonschema<4, which requirements.lock cannot hold), a broken copy is rejected, .zenodo.json is a Zenodo deposit that
agrees with it and with pyproject.toml, and the archive carries both with the licence."""

import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from experiments import archive

ROOT = Path(__file__).resolve().parents[1]
CFFCONVERT = ROOT / ".tools" / "cffconvert" / "bin" / "cffconvert"
needs_cffconvert = pytest.mark.skipif(
    not CFFCONVERT.is_file(), reason="cffconvert tool environment .tools/cffconvert absent: run make setup")

# Zenodo's legacy deposit API (developers.zenodo.org, "Deposit metadata"): the allowed values of the fields we use.
ZENODO_UPLOAD_TYPES = {"publication", "poster", "presentation", "dataset", "image", "video", "software", "lesson",
                       "physicalobject", "other"}
ZENODO_ACCESS_RIGHTS = {"open", "embargoed", "restricted", "closed"}
ZENODO_REQUIRED = {"upload_type", "publication_date", "title", "creators", "description", "access_right"}
ZENODO_RELATIONS = {
    "isCitedBy", "cites", "isSupplementTo", "isSupplementedBy", "isContinuedBy", "continues", "isDescribedBy",
    "describes", "hasMetadata", "isMetadataFor", "isNewVersionOf", "isPreviousVersionOf", "isPartOf", "hasPart",
    "isReferencedBy", "references", "isDocumentedBy", "documents", "isCompiledBy", "compiles", "isVariantFormOf",
    "isOriginalFormof", "isIdenticalTo", "isAlternateIdentifier", "isReviewedBy", "reviews", "isDerivedFrom",
    "isSourceOf", "requires", "isRequiredBy", "isObsoletedBy", "obsoletes",
}
ARXIV = re.compile(r"^arXiv:\d{4}\.\d{4,5}$")


def citation() -> dict:
    return yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))


def zenodo() -> dict:
    return json.loads((ROOT / ".zenodo.json").read_text(encoding="utf-8"))


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(CFFCONVERT), "--validate", "-i", str(path)], check=False, capture_output=True,
                          text=True, timeout=60)


@needs_cffconvert
def test_citation_file_is_valid_cff():
    result = validate(ROOT / "CITATION.cff")
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert "valid according to schema version 1.2.0" in result.stdout


def without_message(metadata):
    del metadata["message"]


def with_bad_date(metadata):
    metadata["date-released"] = "2026-13-02"


def with_bad_type(metadata):
    metadata["type"] = "program"


def with_bad_license(metadata):
    metadata["license"] = "MIT-like"


def with_reference_without_authors(metadata):
    del metadata["references"][0]["authors"]


@needs_cffconvert
@pytest.mark.parametrize("change, complaint", [
    (without_message, "'message' is a required property"),
    (with_bad_date, "2026-13-02"),
    (with_bad_type, "'program' is not one of"),
    (with_bad_license, "'MIT-like'"),
    (with_reference_without_authors, "'authors' is a required property"),
])
def test_a_broken_citation_file_is_rejected(tmp_path, change, complaint):
    """Negative control: the same file, written back through yaml, passes; with one required field dropped or one
    value made invalid it fails, for that reason."""
    unchanged, broken = citation(), citation()
    (tmp_path / "unchanged.cff").write_text(yaml.safe_dump(unchanged, allow_unicode=True, sort_keys=False))
    assert validate(tmp_path / "unchanged.cff").returncode == 0
    change(broken)
    (tmp_path / "CITATION.cff").write_text(yaml.safe_dump(broken, allow_unicode=True, sort_keys=False))
    result = validate(tmp_path / "CITATION.cff")
    assert result.returncode != 0
    assert complaint in result.stdout + result.stderr


def test_title_version_license_and_authors_agree_with_pyproject():
    cff, deposit, package = citation(), zenodo(), project()
    title = f"{package['name']}: {package['description'].rstrip('.')}"
    assert cff["title"] == deposit["title"] == title
    assert str(cff["version"]) == deposit["version"] == package["version"]
    assert cff["license"] == deposit["license"] == package["license"]["text"] == "MIT"
    assert [author["name"] for author in cff["authors"]] == [creator["name"] for creator in deposit["creators"]]
    assert cff["type"] == deposit["upload_type"] == "software"
    assert str(cff["date-released"]) == deposit["publication_date"]
    assert cff["keywords"] == deposit["keywords"]
    assert " ".join(cff["abstract"].split()) == deposit["description"]


def cff_identifiers() -> set[tuple[str, str]]:
    """(scheme, identifier) of every reference in CITATION.cff: arXiv ids and DOIs."""
    found = set()
    for reference in citation()["references"]:
        found |= {("arxiv", item["value"]) for item in reference.get("identifiers", []) if ARXIV.match(item["value"])}
        if "doi" in reference:
            found.add(("doi", reference["doi"]))
    return found


def test_every_reference_is_in_both_files():
    references = citation()["references"]
    zenodo_identifiers = {(item["scheme"], item["identifier"]) for item in zenodo()["related_identifiers"]}
    assert cff_identifiers() == zenodo_identifiers
    assert len(references) == 5
    for reference in references:  # each paper by its arXiv id, linked as arxiv.org gives it
        arxiv = [item["value"] for item in reference["identifiers"] if ARXIV.match(item["value"])]
        assert len(arxiv) == 1, reference["title"]
        assert reference["url"] == f"https://arxiv.org/abs/{arxiv[0].removeprefix('arXiv:')}"


def test_zenodo_metadata_has_the_required_keys_with_allowed_values():
    deposit = zenodo()
    assert ZENODO_REQUIRED <= set(deposit), f"missing: {sorted(ZENODO_REQUIRED - set(deposit))}"
    assert deposit["upload_type"] in ZENODO_UPLOAD_TYPES
    assert deposit["access_right"] in ZENODO_ACCESS_RIGHTS
    assert deposit["access_right"] != "open" or deposit.get("license"), "open access needs a licence"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", deposit["publication_date"])
    assert deposit["creators"] and all(creator.get("name", "").strip() for creator in deposit["creators"])
    assert deposit["title"].strip() and deposit["description"].strip()
    for related in deposit["related_identifiers"]:
        assert related["relation"] in ZENODO_RELATIONS, related
        assert related["scheme"] in {"arxiv", "doi"}, related
        assert ARXIV.match(related["identifier"]) if related["scheme"] == "arxiv" else \
            re.fullmatch(r"10\.\d{4,9}/\S+", related["identifier"]), related
    assert "python -m experiments.archive verify" in deposit["notes"]


def test_license_file_is_mit_for_the_authors():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n")
    assert f"Copyright (c) 2026 {citation()['authors'][0]['name']}" in text


def test_the_archive_carries_the_citation_metadata_and_licence(tmp_path):
    for name in ("CITATION.cff", ".zenodo.json", "LICENSE"):
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    (tmp_path / ".zenodo.json.123.tmp").write_text("half-written")  # a temporary file stays out
    assert archive.archived_files(tmp_path) == [".zenodo.json", "CITATION.cff", "LICENSE"]
    packed = archive.pack(tmp_path / "archive.tar.gz", tmp_path)
    assert archive.verify(packed) == 4  # the three files and COMMIT
