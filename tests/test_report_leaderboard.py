"""Tests of experiments.reports.leaderboard on hand-built arm results whose ranks, performance ratios and profiles
are known: two workloads (an accuracy and a loss) and three methods, one of which diverges on the loss task and
never reaches the accuracy target; the CLI writes every file from per-method list files and from one file per arm,
verdict.json without claims among them; one seed with a method diverged everywhere still gives every file."""

import math

import numpy as np
import pytest
from report_files import assert_files, assert_verdict_json, write_inputs

from experiments.reports import common
from experiments.reports import leaderboard as report

SEEDS = [0, 1, 2]
OFFSETS = {0: -0.01, 1: 0.0, 2: 0.01}  # per-seed shifts summing to 0: the seed-mean curve is the base curve
GRID = [0.001, 0.002, 0.004, 0.008, 0.016, 0.032]
SHA = "cd" * 32
EVERY = 10  # gradient evaluations between evaluations


def run(seed: int, lr: float, values: list[float | None], *, higher: bool, e: int, shift: float) -> dict:
    """One run whose curve, evaluated every EVERY gradient evaluations, is ``values`` + ``shift`` (a None ends it:
    the run diverged there)."""
    diverged = None in values
    kept = values[:values.index(None)] if diverged else values
    steps = [index * EVERY // e for index in range(len(kept))]
    curve = [value + shift for value in kept]
    metric = "test/accuracy" if higher else "test/loss"
    final = None if diverged else curve[-1]
    return {"seed": seed, "point": {"lr": lr}, "setting": {"lr": lr}, "directory": "x", "metric": metric,
            "higher_is_better": higher, "final": final, "best": final, "diverged_step": steps[-1] + 1 if diverged
            else None, "final_train_loss": None if diverged else 0.1, "train_examples": 100,
            "final_metrics": None if diverged else {metric: final}, "gradient_evaluations_per_step": e,
            "curve": {"step": steps, "value": curve}, "train_loss": [0.5] * max(1, steps[-1]), "run_seconds": 0.01}


def arm(workload: str, method: str, values: list[float | None], *, higher: bool = True, e: int = 1,
        lr: float = 0.004, seeds=SEEDS, tuning: dict | None = None) -> dict:
    """An arm result: evaluation runs following ``values`` on ``seeds``; ``tuning``: {lr: final or None} on one
    tuning seed over GRID (None: no search)."""
    runs = [run(seed, lr, values, higher=higher, e=e, shift=OFFSETS[seed]) for seed in seeds]
    searched = None
    if tuning is not None:
        tuning_runs = [run(100, grid_lr, [values[0], final], higher=higher, e=e, shift=0.0) for grid_lr, final in
                       tuning.items()]
        searched = {"axes": {"lr": GRID}, "runs": tuning_runs, "chosen_point": {"lr": lr}, "chosen": {"lr": lr},
                    "edge": ["lr"] if lr in (GRID[0], GRID[-1]) else [], "reused_point": None}
    steps = (len(values) - 1) * EVERY // e
    return {"experiment": "leaderboard", "workload": workload, "method": method, "optimizer": method,
            "hyperparameters": {}, "task": workload, "task_options": {}, "batch_size": 32, "steps": steps, "svag": 1,
            "budget_unit": "gradient-evaluations", "epochs": 1.0, "metric": runs[0]["metric"],
            "higher_is_better": higher, "gradient_evaluations_per_step": e, "arm_sha256": "0" * 64,
            "chosen_point": {"lr": lr}, "tuning": searched,
            "evaluation": {"setting": {"lr": lr}, "point": {"lr": lr}, "runs": runs}}


def flat(value: float) -> dict:
    """Tuning finals flat at ``value`` over the grid."""
    return dict.fromkeys(GRID, value)


# accuracy: v₀ = 0.1, best final v* = 0.9 (m1), target 0.1 + 0.9·0.8 = 0.82: m1 reaches it at 20 gradient
# evaluations, m2 (2 per step) at 30, m3 never (final 0.7). Errors 0.1, 0.2, 0.3: ratios 1, 2, 3.
# loss: v₀ = 2, v* = 0.2 (m2), target 2 − 0.9·1.8 = 0.38: m2 reaches it at 20, m1 never (0.4), m3 diverges.
# Losses 0.4, 0.2, ∞: ratios 2, 1, ∞.
CURVES = {
    ("accuracy", "m1"): ([0.1, 0.5, 0.85, 0.9, 0.9], True, 1),
    ("accuracy", "m2"): ([0.1, 0.3, 0.6, 0.83, 0.8], True, 2),
    ("accuracy", "m3"): ([0.1, 0.3, 0.5, 0.6, 0.7], True, 1),
    ("loss", "m1"): ([2.0, 1.0, 0.6, 0.4], False, 1),
    ("loss", "m2"): ([2.0, 0.5, 0.3, 0.2], False, 2),
    ("loss", "m3"): ([2.0, 1.5, None, None], False, 1),
}


def protocol(methods=("m1", "m2", "m3"), workloads=("accuracy", "loss"), evaluation=SEEDS, **analysis) -> dict:
    return {"seeds": {"tuning": [100], "evaluation": list(evaluation)},
            "methods": {method: {"optimizer": method, "hyperparameters": {}} for method in methods},
            "workloads": [{"name": name} for name in workloads],
            "analysis": {"tolerance": 0.01, "performance_profile_max_ratio": 4, **analysis}, "protocol_sha256": SHA}


def known_arms(seeds=SEEDS) -> dict:
    return {(workload, method): arm(workload, method, values, higher=higher, e=e, seeds=seeds,
                                    tuning=flat(values[-1] if values[-1] is not None else 0.5))
            for (workload, method), (values, higher, e) in CURVES.items()}


def test_performance_ratios_and_profiles_match_the_hand_computed_ones():
    result = report.analyse(protocol(), known_arms())
    fixed, to_target = result["ratios_fixed"], result["ratios_target"]
    assert fixed["accuracy"] == pytest.approx({"m1": 1.0, "m2": 2.0, "m3": 3.0})
    assert fixed["loss"]["m1"] == pytest.approx(2.0) and fixed["loss"]["m2"] == 1.0
    assert fixed["loss"]["m3"] == math.inf  # diverged evaluation runs: r = ∞
    targets = {row["workload"]: row for row in result["targets"]}
    assert targets["accuracy"]["target"] == pytest.approx(0.82) and targets["accuracy"]["best method"] == "m1"
    assert targets["loss"]["target"] == pytest.approx(0.38) and targets["loss"]["initial"] == pytest.approx(2.0)
    assert to_target["accuracy"] == pytest.approx({"m1": 1.0, "m2": 1.5, "m3": math.inf})
    assert to_target["loss"] == {"m1": math.inf, "m2": 1.0, "m3": math.inf}  # m1 never reaches 0.38
    evaluations = {(row["workload"], row["method"]): row["gradient evaluations to target"]
                   for row in result["performance"]}
    assert evaluations["accuracy", "m1"] == 20 and evaluations["accuracy", "m2"] == 30
    assert evaluations["loss", "m2"] == 20 and evaluations["accuracy", "m3"] == math.inf
    taus = [1.0, 1.6, 2.5, 3.5]
    assert list(report.profile(fixed, "m1", taus)) == [0.5, 0.5, 1.0, 1.0]
    assert list(report.profile(fixed, "m2", taus)) == [0.5, 0.5, 1.0, 1.0]
    assert list(report.profile(fixed, "m3", taus)) == [0.0, 0.0, 0.0, 0.5]
    assert list(report.profile(to_target, "m2", taus)) == [0.5, 1.0, 1.0, 1.0]
    assert list(report.profile(to_target, "m3", taus)) == [0.0, 0.0, 0.0, 0.0]
    assert report.profile_area(fixed, "m1", 4.0) == pytest.approx(0.75)  # (1 + (ln 4 − ln 2)/ln 4) / 2
    assert report.profile_area(fixed, "m3", 4.0) == pytest.approx((1 - math.log(3) / math.log(4)) / 2)
    assert report.profile_area(to_target, "m3", 4.0) == 0.0


def test_ranks_and_the_mean_rank():
    result = report.analyse(protocol(), known_arms())
    ranks = {(row["workload"], row["method"]): row["rank"] for row in result["ranking"]}
    assert ranks == {("accuracy", "m1"): 1, ("accuracy", "m2"): 2, ("accuracy", "m3"): 3,
                     ("loss", "m2"): 1, ("loss", "m1"): 2, ("loss", "m3"): 3}  # lower loss is better; diverged last
    summary = {row["method"]: row for row in result["summary"]}
    assert summary["m1"]["mean rank"] == 1.5 and summary["m3"]["mean rank"] == 3.0
    # well separated methods: every seed resample gives the same ranks
    assert summary["m1"]["low"] == summary["m1"]["high"] == 1.5
    assert result["best"]["accuracy"]["method"] == "m1" and result["best"]["accuracy"]["significant"]
    assert result["best"]["loss"]["method"] == "m2" and result["best"]["loss"]["significant"]
    assert set(result["beaten"]["m3"]) == {"accuracy", "loss"} and result["beaten"]["m1"] == {"loss": ["m2"]}
    assert summary["m1"]["beaten on"] == 1


def test_ranking_rules_diverged_seeds_ties_and_the_bootstrap():
    higher = np.array([[0.9, 0.8, np.nan, 0.8], [0.9, 0.8, 0.99, 0.8]])  # seeds × methods
    assert list(report.ranks(higher, True)) == [1.0, 2.5, 4.0, 2.5]  # a diverged seed ranks below any number
    lower = np.array([[0.3, 0.1], [0.3, np.nan]])
    assert list(report.ranks(lower, False)) == [1.0, 2.0]
    # Overlapping methods: the resampled ranks vary, so the interval is wide and holds the point.
    rng = np.random.default_rng(1)
    overlapping = 0.8 + 0.05 * rng.standard_normal((5, 3))
    ranked = report.mean_rank({"w": overlapping}, {"w": True}, 3)
    assert all(ranked["low"][i] <= ranked["mean"][i] <= ranked["high"][i] for i in range(3))
    assert np.any(ranked["high"] - ranked["low"] >= 1)
    two_seeds = report.mean_rank({"w": overlapping[:2]}, {"w": True}, 3)
    assert np.all(np.isnan(two_seeds["low"]))  # fewer than MIN_SEEDS: no interval
    # Two seeds are never significant, however far apart; a method diverged everywhere is beaten.
    assert not report.beats({0: 0.9, 1: 0.91}, {0: 0.1, 1: 0.12}, True)[0]
    assert report.beats({0: 0.5, 1: 0.6}, {0: None, 1: None}, True)[0]


def test_a_ratio_against_a_zero_cost_and_the_lr_range_of_a_loss():
    assert report.ratios({"a": 0.0, "b": 0.1, "c": math.inf}) == {"a": 1.0, "b": math.inf, "c": math.inf}
    # lower is better: 1.00 best at 0.004; 1.005 and 1.009 within 1 %, 1.02 not: range 0.002–0.008
    tuning = dict(zip(GRID, [1.5, 1.005, 1.0, 1.009, 1.02, None]))
    row = report.lr_range(arm("loss", "m", [2.0, 1.0], higher=False, tuning=tuning), 0.01)
    assert (row["low"], row["high"], row["best lr"]) == (0.002, 0.008, 0.004)
    assert row["decades"] == pytest.approx(math.log10(4)) and not row["lower bound"]
    assert row["diverged points"] == 1 and row["points"] == 6


TABLES = ["ranking", "mean_rank", "significance", "performance_ratios", "performance_profile", "targets",
          "lr_sensitivity"]
FIGURES = ["performance_profiles", "mean_rank", "lr_sensitivity"]


def assert_every_file(out) -> str:
    verdict = assert_files(out, TABLES, FIGURES, SHA)
    for heading in ("Findings", "Rules", "Caveats", "Scale", "full"):
        assert heading in verdict
    assert "supports" not in verdict and "contradicts" not in verdict
    return verdict


@pytest.mark.parametrize("per_method", [True, False])
def test_the_cli_writes_every_file_from_either_form_of_arms_file(tmp_path, capsys, per_method):
    arms = known_arms()
    arms["accuracy", "m2"]["tuning"]["chosen_point"] = {"lr": GRID[-1]}  # an edge flag to show
    arms["accuracy", "m2"]["tuning"]["edge"] = ["lr"]
    assert report.main(write_inputs(tmp_path, protocol(), arms, per_method=per_method)) == 0
    verdict = assert_every_file(tmp_path / "out")
    assert "best **m1**" in verdict and "accuracy/m2" in verdict  # the best method; the arm on its grid's edge
    # No verdict, so no claims; the numbers the findings and the mean-rank table quote.
    record = assert_verdict_json(tmp_path / "out", "leaderboard", (), common.NO_VERDICT,
                                 printed=capsys.readouterr().out)
    assert {"best-minus-second.accuracy.mean", "mean-rank.m1.mean", "profile-area.fixed-budget.m1",
            "profile-area.to-target.m3"} <= set(record["numbers"])
    assert "lr at grid max" in (tmp_path / "out" / "tables" / "ranking.md").read_text()


def test_one_seed_and_a_method_diverged_everywhere_still_give_every_file(tmp_path):
    arms = {(workload, method): arm(workload, method, values, higher=higher, e=e, seeds=[1],
                                    tuning=dict.fromkeys(GRID) if method == "m3" else flat(0.5))
            for (workload, method), (values, higher, e) in CURVES.items()}
    arms["accuracy", "m3"] = arm("accuracy", "m3", [0.1, None], seeds=[1], tuning=dict.fromkeys(GRID))
    result = report.analyse(protocol(evaluation=[1]), arms)
    assert all(math.isnan(row["low"]) for row in result["summary"])  # one seed: no interval
    assert {row["note"] for row in result["sensitivity"] if row["method"] == "m3"} == {common.ALL_DIVERGED}
    assert result["ratios_fixed"]["accuracy"]["m3"] == math.inf
    assert report.main(write_inputs(tmp_path, protocol(evaluation=[1]), arms, per_method=True)) == 0
    assert_every_file(tmp_path / "out")
    numbers = assert_verdict_json(tmp_path / "out", "leaderboard", (), common.NO_VERDICT)["numbers"]
    assert numbers["mean-rank.m1.low"] is None and numbers["mean-rank.m1.mean"] is not None


def test_a_workload_missing_a_method_is_left_out_of_the_mean_rank_and_the_profiles():
    arms = known_arms()
    del arms["loss", "m3"]
    result = report.analyse(protocol(), arms)
    assert result["complete"] == ["accuracy"] and list(result["ratios_fixed"]) == ["accuracy"]
    assert {row["method"]: row["mean rank"] for row in result["summary"]} == {"m1": 1.0, "m2": 2.0, "m3": 3.0}
    assert any(row["workload"] == "loss" for row in result["ranking"])  # still ranked on its own
