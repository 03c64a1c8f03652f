"""The two descriptions of the software stack (pip lock, conda environment) must agree."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def lock_pins() -> set[str]:
    lines = (ROOT / "requirements.lock").read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def environment_pins() -> set[str]:
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in environment["dependencies"] if isinstance(d, dict)]
    assert len(pip_sections) == 1, "environment.yml needs exactly one pip section"
    return set(pip_sections[0])


def test_every_pin_is_exact():
    loose = [pin for pin in lock_pins() if "==" not in pin]
    assert not loose, f"requirements.lock has unpinned lines: {loose}"


def test_torch_is_the_cpu_build_version():
    assert "torch==2.13.0" in lock_pins()


def test_conda_environment_matches_the_lock():
    lock, environment = lock_pins(), environment_pins()
    assert lock - environment == set(), f"in requirements.lock only: {sorted(lock - environment)}"
    assert environment - lock == set(), f"in environment.yml only: {sorted(environment - lock)}"


def test_conda_environment_is_python_311():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in environment["dependencies"]
