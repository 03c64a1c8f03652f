"""What every report test shares: the report's inputs written as the pipeline writes them, the check that every
table (CSV, Markdown with the protocol's SHA-256, LaTeX) and figure (PDF, PNG) exists, and the check of verdict.json's
shape and of its agreement with verdict.md."""

import json
import math
import re

from experiments.reports import common

# Every verdict word a report uses: the shared three, Overshoot's own, the leaderboard's "findings only".
VERDICT_WORDS = {common.SUPPORTS, common.CONTRADICTS, common.UNDECIDED, "supported", "contradicted", common.NO_VERDICT}


def write_inputs(tmp_path, protocol: dict, arms: dict, *, speed: dict | None = None,
                 per_method: bool = False) -> list[str]:
    """The protocol, the arm JSONs (one file per arm, or with ``per_method`` one JSON list per method, as the
    leaderboard's jobs write them) and the speed JSON under ``tmp_path``; returns the report's arguments."""
    (tmp_path / "protocol.json").write_text(json.dumps(protocol))
    files = {}
    for (workload, method), value in arms.items():
        if per_method:
            files.setdefault(tmp_path / "jobs" / f"{method}.json", []).append(value)
        else:
            files[tmp_path / "arms" / workload / f"{method}.json"] = value
    for path, value in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    extra = []
    if speed is not None:
        (tmp_path / "speed.json").write_text(json.dumps(speed))
        extra = ["--speed", str(tmp_path / "speed.json")]
    return ["--protocol", str(tmp_path / "protocol.json"), "--arms", *map(str, files), "--out", str(tmp_path / "out"),
            *extra]


def assert_files(out, tables, figures, sha: str) -> str:
    """Every table as CSV, Markdown (recording ``sha``) and LaTeX, every figure as PDF and PNG; returns verdict.md."""
    for stem in tables:
        for extension in ("csv", "md", "tex"):
            assert (out / "tables" / f"{stem}.{extension}").stat().st_size > 0, (stem, extension)
        assert sha in (out / "tables" / f"{stem}.md").read_text()
    for stem in figures:
        for extension in ("pdf", "png"):
            assert (out / "figures" / f"{stem}.{extension}").stat().st_size > 1000, (stem, extension)
    return (out / "verdict.md").read_text()


def assert_verdict_json(out, experiment: str, claims, overall: str | None = None, printed: str | None = None) -> dict:
    """verdict.json next to verdict.md, of the fixed shape, for ``experiment``, with exactly the claim names
    ``claims``; its overall verdict is verdict.md's ("**Overall: …**", Overshoot's "**Verdict: …**"), or ``overall``
    where verdict.md states none; among the paths the CLI ``printed``, if given. Returns its content."""
    if printed is not None:
        assert str(out / "verdict.json") in printed.splitlines()
    record = json.loads((out / "verdict.json").read_text())
    assert set(record) == {"experiment", "overall", "claims", "numbers"}
    assert record["experiment"] == experiment
    assert set(record["claims"]) == set(claims)
    assert all(common.CLAIM_NAME.fullmatch(name) for name in record["claims"]), record["claims"]
    assert {record["overall"], *record["claims"].values()} <= VERDICT_WORDS, record
    assert all(common.NUMBER_NAME.fullmatch(name) for name in record["numbers"]), record["numbers"]
    assert all(value is None or (isinstance(value, float) and math.isfinite(value))
               for value in record["numbers"].values()), record["numbers"]
    stated = re.search(r"\*\*(?:Overall|Verdict): (.+?)\.?\*\*", (out / "verdict.md").read_text())
    assert stated is not None or overall is not None, "verdict.md states no overall verdict: pass the expected one"
    assert record["overall"] == (overall if stated is None else stated.group(1))
    if overall is not None:
        assert record["overall"] == overall
    return record
