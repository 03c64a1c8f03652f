"""The claims ledger: every checked claim of the five papers ends as one entry here.

A claim is a function decorated with ``@claim(id=..., paper=..., statement=..., kind=...)`` that
returns ``Outcome(verdict, evidence, key_number)``. ``run(claim)`` times one and returns its
ledger entry::

    {"id", "paper", "claim", "kind": "symbolic" | "numerical",
     "verdict": "verified" | "refuted" | "inconclusive", "evidence": {...}, "key_number": str,
     "seconds": float}
"""

import dataclasses
import time
from collections.abc import Callable

VERDICTS = ("verified", "refuted", "inconclusive")
KINDS = ("symbolic", "numerical")


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a check found: its verdict, the numbers behind it, and the one number a table shows."""

    verdict: str
    evidence: dict
    key_number: str

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict={self.verdict!r} is not one of {VERDICTS}")


@dataclasses.dataclass(frozen=True)
class Claim:
    id: str
    paper: str
    statement: str
    kind: str
    check: Callable[[], Outcome]


REGISTRY: dict[str, Claim] = {}


def claim(*, id: str, paper: str, statement: str, kind: str):
    """Register the decorated zero-argument function as the check of claim ``id``."""
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not one of {KINDS}")

    def register(check: Callable[[], Outcome]) -> Callable[[], Outcome]:
        if id in REGISTRY:
            raise ValueError(f"claim id {id!r} is registered twice")
        REGISTRY[id] = Claim(id, paper, statement, kind, check)
        return check

    return register


def run(entry: Claim) -> dict:
    """Run one claim's check and return its ledger entry."""
    start = time.perf_counter()
    outcome = entry.check()
    return {
        "id": entry.id,
        "paper": entry.paper,
        "claim": entry.statement,
        "kind": entry.kind,
        "verdict": outcome.verdict,
        "evidence": outcome.evidence,
        "key_number": outcome.key_number,
        "seconds": round(time.perf_counter() - start, 3),
    }
