"""Readers for labelled text files: GLUE-style TSV with a header row, and JSON Lines.

GLUE TSVs are not CSV-quoted (a sentence may hold a bare ``"``), so they are read with ``QUOTE_NONE``.
"""

import csv
import json
from pathlib import Path

TABLE_SUFFIXES = (".tsv", ".jsonl")


def read_table(path: Path) -> list[dict[str, str]]:
    """One dict per example, keyed by the header (TSV) or the JSON object's fields (JSONL)."""
    if path.suffix == ".tsv":
        with open(path, encoding="utf-8", newline="") as stream:
            return list(csv.DictReader(stream, delimiter="\t", quoting=csv.QUOTE_NONE))
    if path.suffix == ".jsonl":
        with open(path, encoding="utf-8") as stream:
            return [{key: str(value) for key, value in json.loads(line).items()} for line in stream if line.strip()]
    raise ValueError(f"{path}: expected a .tsv or .jsonl file")


def find_table(directory: Path, stem: str) -> Path:
    """``<directory>/<stem>.tsv`` if present, else ``<stem>.jsonl`` (which may not exist)."""
    tsv = directory / f"{stem}.tsv"
    return tsv if tsv.exists() else directory / f"{stem}.jsonl"
