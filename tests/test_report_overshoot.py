"""Tests of experiments.reports.overshoot on synthetic arm results with known loss curves.

Exponential decays ℓ(t) = a·e^{−kt} + c: a method whose rate is 1.25× the baseline's reaches any level in 1/1.25
of the steps, so it saves 100·(1 − 1/1.25) = 20 % (to a step of rounding). Negative controls: identical curves save
0 % and are never "supported"; a curve that never reaches the threshold and a diverged run are flagged; verdict.json
follows the verdict and agrees with verdict.md.
"""

import json
import math

import numpy as np
import pytest

from report_files import assert_verdict_json

from experiments.reports import overshoot

STEPS = 600
SEEDS = [0, 1, 2, 3, 4]
FAMILIES = {"sgd": {"reference": "cm", "baselines": ["cm", "nag"], "overshoot": ["sgdo-3", "sgdo-5"]},
            "adam": {"reference": "adamw", "baselines": ["adamw", "nadam"], "overshoot": ["adamo-3"]}}


def analysis(workloads: dict) -> dict:
    return {"families": FAMILIES, "threshold": 0.95, "smoothing_window": 400, "claimed_saving_percent": 15,
            "paper_steps_saved_percent": {"sgdo-3": 23.8, "sgdo-5": 26.2, "adamo-3": 15.3},
            "workloads": workloads}


def curve(rate: float, seed: int, noise: float = 0.0, floor: float = 0.1) -> list:
    """2·e^{−rate·t} + floor at t = 1..STEPS, times a seed-dependent factor, plus seeded noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(1, STEPS + 1)
    scale = 1.0 + 0.02 * (seed - 2)
    return list(scale * (2.0 * np.exp(-rate * t) + floor) + noise * rng.standard_normal(STEPS))


def arm(workload: str, method: str, rate: float, *, noise: float = 0.0, floor: float = 0.1,
        diverged_seed: int | None = None, best: float = 0.8) -> dict:
    """An arm result JSON in the design's format, with the given training-loss decay rate."""
    runs = []
    for seed in SEEDS:
        loss = curve(rate, seed, noise, floor)
        diverged_step = None
        if seed == diverged_seed:
            diverged_step = STEPS // 2
            loss = loss[:diverged_step - 1] + [None]
        runs.append({"seed": seed, "setting": {"lr": 0.001}, "point": {"lr": 0.001}, "directory": "x",
                     "final": None if diverged_step else best, "best": None if diverged_step else best + 0.01 * seed,
                     "diverged_step": diverged_step, "final_train_loss": loss[-1],
                     "curve": {"step": [0, STEPS], "value": [0.1, best]}, "train_loss": loss, "run_seconds": 1.0})
    return {"experiment": "overshoot", "workload": workload, "method": method, "optimizer": "sgdm",
            "hyperparameters": {}, "task": "t", "task_options": {}, "batch_size": 64, "steps": STEPS, "svag": 1,
            "epochs": 1.0, "metric": "accuracy", "higher_is_better": True, "gradient_evaluations_per_step": 1,
            "tuning": {"axes": {"lr": [0.0005, 0.001]}, "runs": [], "chosen": {"lr": 0.001},
                       "chosen_point": {"lr": 0.001}, "edge": ["lr"]},
            "evaluation": {"setting": {"lr": 0.001}, "runs": runs}}


def arms_for(workload: str, rates: dict, **options) -> dict:
    return {(workload, method): arm(workload, method, rate, **options.get(method, {}))
            for method, rate in rates.items()}


BASE = 0.01
FASTER = {"cm": BASE, "nag": BASE, "sgdo-3": 1.25 * BASE, "sgdo-5": 1.25 * BASE,
          "adamw": BASE, "nadam": BASE, "adamo-3": 1.25 * BASE}
SAME = dict.fromkeys(FASTER, BASE)
# paper_steps = 400·STEPS makes the scaled window round to 1 (no smoothing): the saving is known exactly.
UNSMOOTHED = {"paper_steps": 400 * STEPS, "paper_task": "2c2d-FM", "protocol": "paper"}


def saving(rows, method, baseline):
    return next(row for row in rows if (row["method"], row["baseline"]) == (method, baseline))


def test_smoothing_window_scales_the_paper_window():
    assert overshoot.smoothing_window(400, 400, 46850) == 3
    assert overshoot.smoothing_window(400, 20, 51600) == 1  # never below one step
    assert overshoot.smoothing_window(400, 46850, 46850) == 400


def test_resampling_weights_are_seed_counts():
    weights = overshoot.resampling_weights(5, 100, "w")
    assert np.allclose(weights.sum(axis=1), 1.0)
    assert np.allclose(weights * 5, np.round(weights * 5))
    assert np.array_equal(weights, overshoot.resampling_weights(5, 100, "w"))
    assert not np.array_equal(weights, overshoot.resampling_weights(5, 100, "v"))


def test_faster_decay_saves_the_known_fraction():
    rows, _ = overshoot.workload_savings("w", arms_for("w", FASTER), analysis({"w": UNSMOOTHED}))
    row = saving(rows, "sgdo-3", "cm")
    # τ ≈ c + 2e^{−k t_b} ⇒ t_m = t_b / 1.25 up to one step: 20 % within 100/t_b
    assert row["status"] == overshoot.OK and row["window"] == 1
    assert row["saved_percent"] == pytest.approx(20.0, abs=100 / row["baseline_steps"] + 1e-9)
    assert row["low"] <= row["saved_percent"] <= row["high"]
    assert saving(rows, "adamo-3", "nadam")["saved_percent"] == pytest.approx(20.0, abs=0.5)


def test_smoothing_is_applied_and_moves_the_steps():
    smoothed = {**UNSMOOTHED, "paper_steps": 4 * STEPS}  # window 100
    rows, curves = overshoot.workload_savings("w", arms_for("w", FASTER), analysis({"w": smoothed}))
    plain, _ = overshoot.workload_savings("w", arms_for("w", FASTER), analysis({"w": UNSMOOTHED}))
    row = saving(rows, "sgdo-3", "cm")
    assert row["window"] == 100
    assert row["baseline_steps"] > saving(plain, "sgdo-3", "cm")["baseline_steps"]  # a trailing mean lags
    assert curves["cm"][0, 99] == pytest.approx(np.mean(curve(BASE, 0)[:100]))
    assert 10 < row["saved_percent"] < 25


def test_identical_curves_save_nothing_and_are_not_supported():
    arms = arms_for("w", SAME)
    rows, _ = overshoot.workload_savings("w", arms, analysis({"w": UNSMOOTHED}))
    assert all(row["saved_percent"] == 0 and row["low"] == 0 and row["high"] == 0 for row in rows)
    averages = overshoot.task_averages(rows, analysis({"w": UNSMOOTHED}))
    outcome, _ = overshoot.decide(averages, analysis({"w": UNSMOOTHED}))
    assert outcome == "contradicted"  # 0 % with a zero-width interval is below 15 %


def test_supported_needs_every_variant_above_the_claim():
    settings = analysis({"w": UNSMOOTHED})
    rows, _ = overshoot.workload_savings("w", arms_for("w", FASTER), settings)
    assert overshoot.decide(overshoot.task_averages(rows, settings), settings)[0] == "supported"
    claims, overall, numbers = overshoot.verdict_summary(overshoot.task_averages(rows, settings), settings)
    assert claims == {"primary": "supported"} and overall == "supported"  # no tuned-protocol workload: no check
    assert numbers["steps-saved-percent.paper.adamo-3.mean"] == pytest.approx(20, abs=0.5)
    slower = {**FASTER, "adamo-3": BASE * 1.05}  # ~5 % saving: below the claim
    rows, _ = overshoot.workload_savings("w", arms_for("w", slower), settings)
    outcome, reasons = overshoot.decide(overshoot.task_averages(rows, settings), settings)
    assert outcome == "contradicted" and any("adamo-3" in reason for reason in reasons)
    claims, overall, _ = overshoot.verdict_summary(overshoot.task_averages(rows, settings), settings)
    assert claims == {"primary": "contradicted"} and overall == "contradicted"


def test_an_interval_covering_the_claim_cannot_decide():
    row = {"protocol": "paper", "reference": True, "tasks": 4, "left_out": "", "low": 10.0, "high": 20.0}
    settings = analysis({})
    averages = [{**row, "method": method, "low": 16.0} for method in ("sgdo-3", "sgdo-5")]
    averages.append({**row, "method": "adamo-3"})
    assert overshoot.decide(averages, settings)[0] == "cannot decide"
    averages[-1]["low"] = 15.0
    assert overshoot.decide(averages, settings)[0] == "supported"
    averages[-1]["left_out"] = "x (diverged)"
    assert overshoot.decide(averages, settings)[0] == "cannot decide"
    averages[-1].update(left_out="", low=math.nan, high=math.nan)  # one evaluation seed: no interval
    assert overshoot.decide(averages, settings)[0] == "cannot decide"


def test_not_reached_is_flagged_and_counts_the_run_length():
    plateau = {"sgdo-3": {"floor": 0.5}}  # stays above the baseline's threshold
    rows, _ = overshoot.workload_savings("w", arms_for("w", FASTER, **plateau), analysis({"w": UNSMOOTHED}))
    row = saving(rows, "sgdo-3", "cm")
    assert row["status"] == overshoot.NOT_REACHED and row["method_steps"] == STEPS
    assert row["saved_percent"] == pytest.approx(100 * (row["baseline_steps"] - STEPS) / row["baseline_steps"])
    averages = overshoot.task_averages(rows, analysis({"w": UNSMOOTHED}))
    assert next(a for a in averages if a["method"] == "sgdo-3" and a["reference"])["not_reached"] == 1


def test_diverged_method_is_flagged_and_left_out_of_the_average():
    settings = analysis({"w": UNSMOOTHED, "v": UNSMOOTHED})
    arms = {**arms_for("w", FASTER, **{"sgdo-5": {"diverged_seed": 3}}), **arms_for("v", FASTER)}
    rows = overshoot.workload_savings("w", arms, settings)[0] + overshoot.workload_savings("v", arms, settings)[0]
    row = saving(rows, "sgdo-5", "cm")
    assert row["status"].startswith(overshoot.DIVERGED) and "3" in row["status"] and math.isnan(row["saved_percent"])
    average = next(a for a in overshoot.task_averages(rows, settings) if a["method"] == "sgdo-5" and a["reference"])
    assert average["tasks"] == 1 and "w (diverged" in average["left_out"]
    assert overshoot.decide(overshoot.task_averages(rows, settings), settings)[0] != "supported"
    table1 = overshoot.table1_rows(arms, settings)
    assert next(r for r in table1 if (r["workload"], r["method"]) == ("w", "sgdo-5"))["significance"] == "diverged"


def test_a_baseline_that_does_not_reduce_its_loss_is_left_out():
    rising = {**FASTER, "cm": -0.001}  # cm's loss grows: τ ≥ L(1), met at step 1
    settings = analysis({"w": UNSMOOTHED})
    rows, _ = overshoot.workload_savings("w", arms_for("w", rising), settings)
    row = saving(rows, "sgdo-3", "cm")
    assert row["status"] == overshoot.NO_REDUCTION and math.isnan(row["saved_percent"])
    assert saving(rows, "sgdo-3", "nag")["status"] == overshoot.OK
    average = next(a for a in overshoot.task_averages(rows, settings) if a["method"] == "sgdo-3" and a["reference"])
    assert average["tasks"] == 0 and overshoot.NO_REDUCTION in average["left_out"]


def test_table1_paired_test_against_the_better_baseline():
    arms = arms_for("w", FASTER)
    arms[("w", "nag")] = arm("w", "nag", BASE, best=0.7)
    arms[("w", "sgdo-3")] = arm("w", "sgdo-3", BASE, best=0.75)   # worse than cm (0.8), better than nag
    for run in arms[("w", "sgdo-3")]["evaluation"]["runs"]:
        run["best"] += 0.002 * (-1) ** run["seed"]  # the paired differences vary by seed
    rows = overshoot.table1_rows(arms, analysis({"w": UNSMOOTHED}))
    row = next(r for r in rows if r["method"] == "sgdo-3")
    assert row["compared_with"] == "cm" and row["significance"] == "worse"  # not "better" against nag
    assert row["difference"] == pytest.approx(-0.05 + 0.002 / 5) and row["p"] < 1e-4
    for result in arms.values():  # the same numbers as losses: now nag (0.70) is the better baseline
        result["higher_is_better"] = False
    flipped = next(r for r in overshoot.table1_rows(arms, analysis({"w": UNSMOOTHED})) if r["method"] == "sgdo-3")
    assert flipped["compared_with"] == "nag" and flipped["significance"] == "worse"
    same = next(r for r in rows if r["method"] == "sgdo-5")
    assert same["significance"] == "n.s." and same["paper"] == "not retrieved" and same["edge"] == "lr"
    assert same["mean"] == pytest.approx(0.82) and same["low"] < 0.82 < same["high"]


def test_cli_writes_every_file(tmp_path, capsys):
    workloads = {"w": {**UNSMOOTHED, "paper_steps": 40 * STEPS}, "w-tuned": {**UNSMOOTHED, "protocol": "tuned"},
                 "not-run": UNSMOOTHED}
    paths = []
    for name in ("w", "w-tuned"):
        for (workload, method), result in arms_for(name, FASTER, **{"sgdo-3": {"noise": 0.01}}).items():
            path = tmp_path / "arms" / workload / f"{method}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(result))
            paths.append(str(path))
    protocol = tmp_path / "protocol.json"
    protocol.write_text(json.dumps({"seeds": {}, "methods": {}, "workloads": [], "analysis": analysis(workloads),
                                    "protocol_sha256": "ab" * 32}))
    out = tmp_path / "out"
    assert overshoot.main(["--protocol", str(protocol), "--arms", *paths, "--out", str(out)]) == 0
    stems = ("steps_saved", "steps_saved_average", "table1", "table1_layout")
    expected = [f"tables/{stem}.{extension}" for stem in stems for extension in ("csv", "md", "tex")]
    expected += [f"figures/{stem}.{extension}" for stem in ("loss_w", "loss_w-tuned", "steps_saved")
                 for extension in ("pdf", "png")]
    assert all((out / name).is_file() for name in expected + ["verdict.md"])
    verdict = (out / "verdict.md").read_text()
    # a listed paper-protocol workload without results keeps the verdict from "supported"
    assert "Verdict: cannot decide" in verdict and "not-run (no arms)" in verdict
    assert "Robustness check: supported" in verdict
    record = assert_verdict_json(out, "overshoot", ("primary", "robustness"), printed=capsys.readouterr().out)
    assert record["claims"] == {"primary": "cannot decide", "robustness": "supported"}
    assert {f"steps-saved-percent.{kind}.{method}.{key}" for kind in overshoot.PROTOCOLS
            for method in ("sgdo-3", "sgdo-5", "adamo-3") for key in ("mean", "low", "high")} == set(record["numbers"])
    assert "not-run (no arms)" in (out / "tables" / "steps_saved_average.csv").read_text()
    assert "not retrieved" in verdict and "ab" * 32 in verdict
