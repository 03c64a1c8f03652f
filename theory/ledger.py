"""The claims ledger: every checked claim of the five papers ends as one ``Entry`` here.

A claim is a function decorated with ``@claim(id=..., paper=..., statement=..., kind=..., source=..., rule=...)``
that returns ``Outcome(verdict, evidence, key_number)``. ``rule`` is the decision rule, as text, fixed before the
check runs: what makes the verdict 'verified', 'refuted' or 'inconclusive'. ``source`` says whose statement is
checked:

* ``paper``: the paper states it (a theorem, an equation, a reported property of its method);
* ``derived``: our derivation from the paper's definitions (a consequence it does not state);
* ``background``: a textbook result the paper relies on;
* ``implementation``: a property of our code (e.g. that an optimizer equals its defining recursion).

``run(claim)`` times one check and returns its ``Entry``; a check that raises gives an 'inconclusive' entry
whose evidence holds the traceback (``Entry.raised``). ``Entry.as_json()`` is one element of ``claims.json``,
whose format ``theory/claims.schema.json`` fixes.
"""

import dataclasses
import time
import traceback
from collections.abc import Callable
from pathlib import Path

VERDICTS = ("verified", "refuted", "inconclusive")
KINDS = ("symbolic", "numerical")
SOURCES = ("paper", "derived", "background", "implementation")
SCHEMA = Path(__file__).with_name("claims.schema.json")


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
    source: str
    rule: str
    check: Callable[[], Outcome]


@dataclasses.dataclass(frozen=True)
class Entry:
    """One line of the ledger: the claim as registered, and what its check found."""

    id: str
    paper: str
    claim: str
    kind: str
    source: str
    rule: str
    verdict: str
    evidence: dict
    key_number: str
    seconds: float

    @property
    def raised(self) -> bool:
        """Whether the check raised instead of returning an ``Outcome``."""
        return "traceback" in self.evidence

    def as_json(self) -> dict:
        return dataclasses.asdict(self)


REGISTRY: dict[str, Claim] = {}


def claim(*, id: str, paper: str, statement: str, kind: str, source: str, rule: str):
    """Register the decorated zero-argument function as the check of claim ``id``."""
    for name, value, allowed in (("kind", kind, KINDS), ("source", source, SOURCES)):
        if value not in allowed:
            raise ValueError(f"claim {id!r}: {name}={value!r} is not one of {allowed}")
    if not rule.strip():
        raise ValueError(f"claim {id!r}: rule is empty; state the decision rule before the check runs")

    def register(check: Callable[[], Outcome]) -> Callable[[], Outcome]:
        if id in REGISTRY:
            raise ValueError(f"claim id {id!r} is registered twice")
        REGISTRY[id] = Claim(id, paper, statement, kind, source, rule, check)
        return check

    return register


def run(registered: Claim) -> Entry:
    """Run one claim's check and return its entry ('inconclusive', with the traceback, if the check raises)."""
    start = time.perf_counter()
    try:
        outcome = registered.check()
    except Exception:
        outcome = Outcome("inconclusive", {"traceback": traceback.format_exc()}, "check raised an exception")
    return Entry(id=registered.id, paper=registered.paper, claim=registered.statement, kind=registered.kind,
                 source=registered.source, rule=registered.rule, verdict=outcome.verdict, evidence=outcome.evidence,
                 key_number=outcome.key_number, seconds=round(time.perf_counter() - start, 3))
