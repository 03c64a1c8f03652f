"""Run the claims ledger: ``python -m theory --out DIR [--only ID ...] [--threads N]``.

Imports the theory modules (each registers its claims with ``theory.ledger.claim``),
runs the selected claims in registration order, prints one progress line per claim and writes
``DIR/claims.json``, ``DIR/claims.md``, ``DIR/claims.tex``, ``DIR/figures/`` and ``DIR/ledger.log``.
A check that raises is recorded as ``inconclusive`` with its traceback, the other claims still run,
and the exit status is 1.
"""

import argparse
import importlib
import logging
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import threadpoolctl  # noqa: E402
import torch  # noqa: E402  (after the backend is fixed)

from theory import ledger, report  # noqa: E402

CLAIM_MODULES = (
    "theory.marginal_momentum",
    "theory.marginal_momentum_horizons",
    "theory.step_tuned_sgd",
    "theory.overshoot",
    "theory.msam",
    "theory.adamomentum",
)
"""The modules that register claims (importing one registers its claims with ``theory.ledger.claim``)."""

DEFAULT_THREADS = 1
"""The checks run many small vectorised torch operations; on the shared 2-core machine intra-op
threading made them up to 20x slower (threads wait for each other), so one thread is the default.
The same count limits the BLAS behind numpy and scipy: the order of floating-point reductions
depends on it, and a few checks (BB on ill-conditioned quadratics) amplify the last bits, so the
ledger is bitwise reproducible for a given thread count, whatever OMP_NUM_THREADS says."""

log = logging.getLogger("theory")


def import_claim_modules() -> list[str]:
    """Import every claim module and return their names; one that fails to import raises: a broken check must not
    silently drop out of the ledger."""
    for name in CLAIM_MODULES:
        importlib.import_module(name)
    return list(CLAIM_MODULES)


def select_claims(only: list[str] | None) -> list[ledger.Claim]:
    """The registered claims in registration order, restricted to ``only`` when given."""
    if not only:
        return list(ledger.REGISTRY.values())
    unknown = [claim_id for claim_id in only if claim_id not in ledger.REGISTRY]
    if unknown:
        known = ", ".join(ledger.REGISTRY)
        raise SystemExit(f"unknown claim id(s): {', '.join(unknown)}; registered: {known}")
    return [ledger.REGISTRY[claim_id] for claim_id in only]


def configure_logging(log_path: Path) -> None:
    log.setLevel(logging.INFO)
    log.handlers.clear()
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    for handler in (logging.StreamHandler(sys.stdout), logging.FileHandler(log_path, mode="w", encoding="utf-8")):
        handler.setFormatter(formatter)
        log.addHandler(handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m theory", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--only", nargs="+", metavar="ID", help="run only these claim ids")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="torch intra-op threads")
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    configure_logging(args.out / "ledger.log")
    torch.set_num_threads(args.threads)
    threadpoolctl.threadpool_limits(args.threads)
    report.set_figures_dir(args.out / "figures")
    modules = import_claim_modules()
    claims = select_claims(args.only)
    log.info("modules: %s; running %d claim(s) with %d torch thread(s)", ", ".join(modules), len(claims), args.threads)

    entries = []
    start = time.perf_counter()
    for registered in claims:
        entry = ledger.run(registered)
        entries.append(entry)
        if entry.raised:
            log.error("claim %s raised:\n%s", entry.id, entry.evidence["traceback"])
        log.info("%-36s %-12s %7.2f s  %s", entry.id, entry.verdict, entry.seconds, entry.key_number)
    paths = report.write_ledger(entries, args.out)
    counts = {verdict: sum(entry.verdict == verdict for entry in entries) for verdict in ledger.VERDICTS}
    log.info("done in %.1f s: %s; wrote %s", time.perf_counter() - start,
             ", ".join(f"{n} {verdict}" for verdict, n in counts.items()),
             ", ".join(str(path) for path in paths.values()))
    return 1 if any(entry.raised for entry in entries) else 0


if __name__ == "__main__":
    sys.exit(main())
