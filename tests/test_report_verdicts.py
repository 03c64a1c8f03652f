"""Tests of verdict.json's writer (experiments.reports.common.write_verdicts), which every report calls: the fixed
shape, numbers that are not finite written as null, names checked, one experiment per report. Each report's own test
checks its verdict.json against its verdict.md (report_files.assert_verdict_json)."""

import json
import math

import numpy as np
import pytest

from experiments.reports import common


def test_the_record_has_the_fixed_shape_and_nulls_for_numbers_that_are_not_finite(tmp_path):
    numbers = {"accuracy-gain.fmnist-resnet.sgdm.mean": np.float64(0.25), "speed.msam.low": math.nan,
               "mean-rank.m1.high": math.inf, "steps.w.mean": 3, "speed.msam.high": None}
    path = common.write_verdicts(tmp_path, "msam", {"accuracy-gain": common.SUPPORTS, "cost": common.UNDECIDED},
                                 common.UNDECIDED, numbers)
    assert path == tmp_path / "verdict.json" and [item.name for item in tmp_path.iterdir()] == ["verdict.json"]
    assert json.loads(path.read_text()) == {
        "experiment": "msam", "overall": common.UNDECIDED,
        "claims": {"accuracy-gain": common.SUPPORTS, "cost": common.UNDECIDED},
        "numbers": {"accuracy-gain.fmnist-resnet.sgdm.mean": 0.25, "speed.msam.low": None,
                    "mean-rank.m1.high": None, "steps.w.mean": 3.0, "speed.msam.high": None}}
    assert "NaN" not in path.read_text() and "Infinity" not in path.read_text()
    common.write_verdicts(tmp_path, "leaderboard", {}, common.NO_VERDICT)
    assert json.loads(path.read_text())["numbers"] == {}


def test_names_are_made_by_json_name_and_checked():
    assert common.json_name("gap", "test/accuracy", "ell-8") == "gap.test-accuracy.ell-8"
    assert common.json_name("Batch_16 (small)") == "batch-16-small"
    assert common.interval_numbers("difference.w", (1.0, 0.5, 1.5)) == {
        "difference.w.mean": 1.0, "difference.w.low": 0.5, "difference.w.high": 1.5}
    with pytest.raises(ValueError, match="empty"):
        common.json_name("gap", "/")
    with pytest.raises(ValueError, match="claim name"):
        common.verdict_record("msam", {"accuracy gain": common.SUPPORTS}, common.SUPPORTS)
    with pytest.raises(ValueError, match="number name"):
        common.verdict_record("msam", {}, common.SUPPORTS, {"speed/msam": 1.0})
    with pytest.raises(ValueError, match="verdict"):
        common.verdict_record("msam", {"cost": None}, common.SUPPORTS)


def test_the_experiment_is_the_one_every_arm_names():
    arms = {("w", method): {"experiment": "marginal-momentum/vision"} for method in ("a", "b")}
    assert common.experiment_name(arms) == "marginal-momentum/vision"
    arms["w", "c"] = {"experiment": "msam"}
    with pytest.raises(ValueError, match="2 experiments"):
        common.experiment_name(arms)
