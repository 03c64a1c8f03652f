"""The torch.compile-fused paths (``fused=True``) equal the reference and multi-tensor paths."""

import pytest
import torch

import optimizers
from optimizers import fused_kernels
from optimizer_problems import (NoisyProblem, assert_different_trajectory, assert_same_trajectory,
                                cosine_schedule, run, single_threaded_torch)  # noqa: F401

pytestmark = pytest.mark.slow  # the first call of each kernel compiles it (~5-10 s per dtype)

# Every optional term on: weight decay, overshoot delay, and a cosine lr schedule in ``trajectories``.
SETTINGS = {
    "overshoot-sgd": dict(lr=0.03, momentum=0.9, overshoot=3.0, weight_decay=0.05),
    "overshoot-adamw": dict(lr=0.03, overshoot=5.0, overshoot_delay=4, weight_decay=0.05),
    "overshoot-adamw-official": dict(lr=0.03, overshoot=5.0, overshoot_delay=4, weight_decay=0.05,
                                     exact=False),
    "overshoot-adamw-no-decay": dict(lr=0.03, overshoot=3.0, weight_decay=0.0),
}
FUSED = [name for name in optimizers.available() if "fused" in optimizers.info(name).defaults]


def trajectories(case: str, path: str, steps: int = 60, dtype=torch.float64, **changes):
    name = case.split("-official")[0].split("-no-decay")[0]
    setting = dict(SETTINGS[case], **changes)
    problem = NoisyProblem(seed=3)
    params = problem.parameters(dtype=dtype)
    paths = {"reference": dict(foreach=False), "foreach": dict(foreach=True), "fused": dict(fused=True)}
    optimizer = optimizers.create(name, params, **setting, **paths[path])
    schedule = cosine_schedule(setting["lr"], steps, floor=setting["lr"] / 10)
    return run(optimizer, params, problem, steps, lr_schedule=schedule, base=True)


def test_the_fused_methods():
    """MSAM has no fused path: its global norm needs every buffer before any weight moves, and
    two compiled calls per tensor measured slower than its multi-tensor path."""
    assert set(FUSED) == {"overshoot-sgd", "overshoot-adamw"}


@pytest.mark.parametrize("case", SETTINGS)
def test_fused_path_equals_reference_and_foreach(case):
    stored, base = trajectories(case, "fused")
    for path in ("reference", "foreach"):
        reference_stored, reference_base = trajectories(case, path)
        assert_same_trajectory(stored, reference_stored)
        assert_same_trajectory(base, reference_base)


@pytest.mark.parametrize("case", ["overshoot-sgd", "overshoot-adamw"])
def test_fused_path_in_float32_stays_close(case):
    stored, _ = trajectories(case, "fused", dtype=torch.float32)
    reference, _ = trajectories(case, "reference", dtype=torch.float32)
    assert_same_trajectory(stored, reference, tolerance=1e-5)


@pytest.mark.parametrize("case,change", [("overshoot-adamw", dict(exact=False)),
                                         ("overshoot-sgd", dict(overshoot=0.9))])
def test_negative_control_a_different_setting_differs(case, change):
    assert_different_trajectory(trajectories(case, "fused")[0],
                                trajectories(case, "fused", **change)[0])


def test_failed_compilation_warns_and_runs_the_kernel_eagerly(monkeypatch):
    def broken_compile(function, **options):
        def compiled(*args):
            raise RuntimeError("no C++ compiler")
        return compiled

    monkeypatch.setattr(torch, "compile", broken_compile)
    monkeypatch.setattr(fused_kernels, "_compiled", {})
    for case in ("overshoot-sgd", "overshoot-adamw"):
        with pytest.warns(RuntimeWarning, match="running it eagerly"):
            stored, _ = trajectories(case, "fused")
        assert_same_trajectory(stored, trajectories(case, "reference")[0])
