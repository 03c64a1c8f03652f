"""The torch.compile-fused path of OvershootAdamW equals its reference and multi-tensor paths."""

import pytest
import torch

import optimizers
from optimizers import fused_kernels
from optimizer_problems import (NoisyProblem, assert_different_trajectory,
                                      assert_same_trajectory, cosine_schedule, run,
                                      single_threaded_torch)  # noqa: F401  (autouse fixture)

pytestmark = pytest.mark.slow  # the first call compiles (~10 s per dtype)

SETTINGS = {
    "plain": dict(lr=0.03, overshoot=3.0, weight_decay=0.0),
    "decay-and-delay": dict(lr=0.03, overshoot=5.0, overshoot_delay=4, weight_decay=0.05),
}


def trajectories(path: str, exact: bool, setting: dict, steps: int = 60, dtype=torch.float64):
    problem = NoisyProblem(seed=3)
    params = problem.parameters(dtype=dtype)
    paths = {"reference": dict(foreach=False), "foreach": dict(foreach=True), "fused": dict(fused=True)}
    optimizer = optimizers.OvershootAdamW(params, exact=exact, **setting, **paths[path])
    schedule = cosine_schedule(setting["lr"], steps, floor=setting["lr"] / 10)
    return run(optimizer, params, problem, steps, lr_schedule=schedule, base=True)


@pytest.mark.parametrize("exact", [True, False], ids=["exact", "official"])
@pytest.mark.parametrize("setting", SETTINGS, ids=list(SETTINGS))
def test_fused_path_equals_reference_and_foreach(exact, setting):
    stored, base = trajectories("fused", exact, SETTINGS[setting])
    for path in ("reference", "foreach"):
        reference_stored, reference_base = trajectories(path, exact, SETTINGS[setting])
        assert_same_trajectory(stored, reference_stored)
        assert_same_trajectory(base, reference_base)


def test_fused_path_in_float32_stays_close():
    stored, _ = trajectories("fused", True, SETTINGS["decay-and-delay"], dtype=torch.float32)
    reference, _ = trajectories("reference", True, SETTINGS["decay-and-delay"], dtype=torch.float32)
    assert_same_trajectory(stored, reference, tolerance=1e-5)


def test_negative_control_exact_and_official_fused_paths_differ():
    exact, _ = trajectories("fused", True, SETTINGS["plain"])
    official, _ = trajectories("fused", False, SETTINGS["plain"])
    assert_different_trajectory(exact, official)


def test_failed_compilation_warns_and_runs_the_kernel_eagerly(monkeypatch):
    def broken_compile(function, **options):
        def compiled(*args):
            raise RuntimeError("no C++ compiler")
        return compiled

    monkeypatch.setattr(torch, "compile", broken_compile)
    monkeypatch.setattr(fused_kernels, "_compiled", {})
    with pytest.warns(RuntimeWarning, match="running it eagerly"):
        stored, _ = trajectories("fused", True, SETTINGS["decay-and-delay"])
    reference, _ = trajectories("reference", True, SETTINGS["decay-and-delay"])
    assert_same_trajectory(stored, reference)


def test_registry_exposes_fused():
    assert optimizers.info("overshoot-adamw").defaults["fused"] is False
