"""What every report test shares: the report's inputs written as the pipeline writes them, and the check that every
table (CSV, Markdown with the protocol's SHA-256, LaTeX) and figure (PDF, PNG) exists."""

import json


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
