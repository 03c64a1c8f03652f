"""Tests of experiments.reports.step_tuned_sgd on synthetic arm results with known curves: a loss that falls by a
factor of 3 within 2 % of the budget against smooth decays is a sudden drop, and the reverse contradicts it; a test
accuracy 0.05 above every baseline at mid-budget supports the medium-stage observation, 0.05 below contradicts it;
equal curves contradict both (no lead beyond the margins); one seed on tiny curves cannot decide but still writes
every file; diverged runs are left out and counted; the CLI writes every file, verdict.json agreeing with verdict.md,
and shows the edge flags."""

import math

import numpy as np
import pytest

import test_report_msam as msam_test  # its file checks
from report_files import assert_verdict_json, write_inputs
from experiments.reports import common
from experiments.reports import step_tuned_sgd as report

SEEDS = [0, 1, 2, 3, 4]
SHA = "9a" * 32
BUDGET = 300  # gradient evaluations
EVAL_EVERY = 30  # gradient evaluations
WORKLOAD = "fmnist-resnet"
METHODS = ("sgd", "rmsprop", "adam", "step-tuned-sgd")
SGD_GRID, ADAPTIVE_GRID = [0.0125, 0.025, 0.05, 0.1, 0.2, 0.4], [0.000125, 0.00025, 0.0005, 0.001, 0.002, 0.004]
GRIDS = {"sgd": SGD_GRID, "rmsprop": ADAPTIVE_GRID, "adam": ADAPTIVE_GRID, "step-tuned-sgd": SGD_GRID}
ANALYSIS = {"method": "step-tuned-sgd", "baselines": ["sgd", "rmsprop", "adam"], "stages": [0.25, 0.5, 0.75],
            "drop_window": 0.05, "smoothing": 0.05}


def loss_curve(spent: np.ndarray, seed: int, drop_at: float | None, budget: int, offset: int) -> np.ndarray:
    """2·e^{−2g/B} + 0.1 at gradient evaluations g, with 1 % per-step noise; × (0.3 + 0.01·seed) from ``drop_at``·B
    on (a fall by a factor of about 3 from one step to the next)."""
    rng = np.random.default_rng(1000 * offset + seed)
    values = (2.0 * np.exp(-2.0 * spent / budget) + 0.1) * (1 + 0.01 * rng.standard_normal(spent.size))
    if drop_at is not None:
        values = np.where(spent >= drop_at * budget, values * (0.3 + 0.01 * seed), values)
    return values


def accuracy_curve(spent: np.ndarray, seed: int, lead: float, budget: int, offset: int) -> list[float]:
    """0.5 → 0.85 linearly over the budget, a per-seed shift shared by the methods, a little noise, + ``lead``
    after the start."""
    shared = 0.01 * np.random.default_rng(seed).standard_normal()
    own = 0.002 * np.random.default_rng(100 * offset + seed).standard_normal(spent.size)
    return list(0.5 + 0.35 * spent / budget + shared + own + np.where(spent > 0, lead, 0.0))


def arm(method: str, *, lead: float = 0.0, drop_at: float | None = None, lr: float | None = None,
        seeds: list[int] = SEEDS, budget: int = BUDGET, eval_every: int = EVAL_EVERY) -> dict:
    per_step = 2 if method == "step-tuned-sgd" else 1
    steps, every = budget // per_step, max(1, eval_every // per_step)
    grid = GRIDS[method]
    lr = grid[2] if lr is None else lr
    offset = METHODS.index(method)
    runs = []
    for seed in seeds:
        curve_steps = list(range(0, steps + 1, every))
        spent = np.array(curve_steps) * per_step
        values = accuracy_curve(spent, seed, lead, budget, offset)
        losses = loss_curve(np.arange(1, steps + 1) * per_step, seed, drop_at, budget, offset)
        runs.append({"seed": seed, "setting": {"lr": lr}, "point": {"lr": lr}, "directory": f"runs/seed{seed}",
                     "metric": "test/accuracy", "higher_is_better": True, "final": values[-1], "best": max(values),
                     "diverged_step": None, "final_train_loss": float(losses[-1]), "train_examples": 5000,
                     "gradient_evaluations_per_step": per_step, "curve": {"step": curve_steps, "value": values},
                     "train_loss": [float(value) for value in losses], "run_seconds": 0.1})
    tuning = {"axes": {"lr": grid}, "chosen_point": {"lr": lr}, "chosen": {"lr": lr}, "reused_point": None,
              "runs": [{"seed": 100, "point": {"lr": value}, "setting": {"lr": value}, "final": 0.8}
                       for value in grid],
              "edge": ["lr"] if lr in (grid[0], grid[-1]) else []}
    return {"experiment": "step-tuned-sgd", "workload": WORKLOAD, "method": method, "optimizer": method,
            "hyperparameters": {}, "task": "fmnist-resnet", "task_options": {"width": 8, "train_size": 5000},
            "batch_size": 32, "steps": steps, "svag": 1, "budget_unit": "gradient-evaluations",
            "epochs": steps * 32 / 5000, "metric": "test/accuracy", "higher_is_better": True,
            "gradient_evaluations_per_step": per_step, "arm_sha256": "0" * 64, "chosen_point": {"lr": lr},
            "tuning": tuning, "evaluation": {"setting": {"lr": lr}, "point": {"lr": lr}, "runs": runs}}


def make_arms(method: dict | None = None, baselines: dict | None = None, **common) -> dict:
    """Step-Tuned SGD with the options ``method``, every baseline with ``baselines``."""
    return {(WORKLOAD, label): arm(label, **(method if label == "step-tuned-sgd" else baselines or {}), **common)
            for label in METHODS}


def protocol(analysis: dict = ANALYSIS, evaluation: list[int] = SEEDS) -> dict:
    return {"seeds": {"tuning": [100], "evaluation": evaluation},
            "methods": {label: {"optimizer": label, "hyperparameters": {}} for label in METHODS},
            "workloads": [{"name": WORKLOAD, "task": "fmnist-resnet", "budget_unit": "gradient-evaluations",
                           "steps": BUDGET, "batch_size": 32}],
            "analysis": analysis, "protocol_sha256": SHA}


def verdicts(decided: dict) -> dict:
    return {observation: decided["verdicts"][observation] for observation in report.OBSERVATIONS}


def test_a_sudden_drop_and_a_mid_budget_lead_support_both_observations():
    decided = report.decide(protocol(), make_arms({"drop_at": 0.5, "lead": 0.05}))
    assert decided["verdicts"] == {"sudden drop": common.SUPPORTS, "medium-stage accuracy": common.SUPPORTS,
                                   "overall": common.SUPPORTS}
    workload = decided["workloads"][WORKLOAD]
    assert workload["budget"] == BUDGET
    falls = workload["falls"]["step-tuned-sgd"]
    # the drop at 150 gradient evaluations; the smoothed loss ends its fall within the 15-evaluation window after it
    assert all(150 < end <= 150 + 16 for _, end in falls.values())
    assert np.mean([fall for fall, _ in falls.values()]) > 0.8
    assert workload["stage_differences"][0.5]["sgd"]["mean"] == pytest.approx(0.05, abs=0.005)


def test_the_reverse_contradicts_both_observations():
    decided = report.decide(protocol(), make_arms({"lead": -0.05}, {"drop_at": 0.5}))
    assert verdicts(decided) == {"sudden drop": common.CONTRADICTS, "medium-stage accuracy": common.CONTRADICTS}
    assert decided["verdicts"]["overall"] == common.CONTRADICTS
    claims, overall, numbers = report.verdict_summary(decided)
    assert claims == dict.fromkeys(CLAIMS, common.CONTRADICTS) and overall == common.CONTRADICTS
    assert numbers["medium-stage-accuracy.fmnist-resnet.sgd.mean"] == pytest.approx(-0.05, abs=0.005)


def test_equal_curves_contradict_both_observations_and_one_better_baseline_is_enough():
    decided = report.decide(protocol(), make_arms({}))
    assert verdicts(decided) == {"sudden drop": common.CONTRADICTS, "medium-stage accuracy": common.CONTRADICTS}
    # Ahead of SGD and RMSprop but not of Adam, which drops as suddenly and is as accurate: contradicts.
    arms = make_arms({"drop_at": 0.5, "lead": 0.05})
    arms[WORKLOAD, "adam"] = arm("adam", drop_at=0.5, lead=0.05)
    decided = report.decide(protocol(), arms)
    workload = decided["workloads"][WORKLOAD]
    assert workload["drop_verdicts"] == {"sgd": common.SUPPORTS, "rmsprop": common.SUPPORTS,
                                         "adam": common.CONTRADICTS}
    assert verdicts(decided) == {"sudden drop": common.CONTRADICTS, "medium-stage accuracy": common.CONTRADICTS}


def test_the_largest_fall_the_window_and_the_stage_value():
    smoothed = np.array([2.0, 1.0, 1.0, 1.0, 0.5, 0.25])
    assert report.largest_fall(smoothed, 1, 0) == (pytest.approx(math.log(2)), 2)
    assert report.largest_fall(smoothed, 2, 2) == (pytest.approx(math.log(4)), 6)  # from step 3 on: 1 → 0.25
    assert report.largest_fall(np.array([1.0, np.nan, 0.5]), 1, 0) is None
    analysis = report.settings(protocol())
    assert report.drop_lag(analysis, 300, 1) == 15 and report.drop_lag(analysis, 300, 2) == 7
    assert report.drop_lag(analysis, 8, 2) == 1  # never below one step
    assert analysis["stages"] == [0.25, 0.5, 0.75]
    values = report.stage_values(arm("step-tuned-sgd"), 0.25 * BUDGET)
    assert {spent for _, spent in values.values()} == {60}  # the last evaluation at or before 75
    assert report.stage_values(arm("sgd"), 10)[0][1] == 0


def test_diverged_runs_are_left_out_and_counted():
    arms = make_arms({"drop_at": 0.5, "lead": 0.05})
    run = arms[WORKLOAD, "step-tuned-sgd"]["evaluation"]["runs"][0]
    run.update(final=None, diverged_step=100)
    run["train_loss"] = run["train_loss"][:99] + [None] * 51
    run["curve"]["value"] = [value if step < 100 else None for step, value in zip(run["curve"]["step"],
                                                                                  run["curve"]["value"])]
    decided = report.decide(protocol(), arms)
    workload = decided["workloads"][WORKLOAD]
    assert workload["falls"]["step-tuned-sgd"][0] is None
    assert (workload["drop_differences"]["sgd"]["n"], workload["drop_differences"]["sgd"]["diverged"]) == (4, 1)
    assert workload["stage_differences"][0.25]["sgd"]["n"] == 5  # evaluated at 60 of 300, before it diverged
    assert workload["stage_differences"][0.75]["sgd"]["diverged"] == 1
    assert workload["final_differences"]["sgd"]["diverged"] == 1
    assert decided["verdicts"]["overall"] == common.SUPPORTS  # four seeds still decide


CLAIMS = ("sudden-drop", "medium-stage-accuracy")
TABLES = ("step_tuned_sgd_final", "step_tuned_sgd_drop", "step_tuned_sgd_stages", "step_tuned_sgd_seeds")
FIGURES = (f"step_tuned_sgd_curves_{WORKLOAD}",)


def assert_every_file(out) -> str:
    verdict = msam_test.assert_every_file(out, TABLES, FIGURES, SHA)
    assert "Not retrieved" in verdict and "spec 4(d)" in verdict
    return verdict


def test_the_cli_writes_every_file_and_shows_edge_flags(tmp_path, capsys):
    arms = make_arms({"drop_at": 0.5, "lead": 0.05})
    arms[WORKLOAD, "sgd"] = arm("sgd", lr=GRIDS["sgd"][-1])
    assert report.main(write_inputs(tmp_path, protocol(), arms)) == 0
    verdict = assert_every_file(tmp_path / "out")
    record = assert_verdict_json(tmp_path / "out", "step-tuned-sgd", CLAIMS, printed=capsys.readouterr().out)
    assert record["claims"] == dict.fromkeys(CLAIMS, common.SUPPORTS)
    assert {f"sudden-drop.{WORKLOAD}.{baseline}.mean" for baseline in ("sgd", "rmsprop", "adam")} <= set(
        record["numbers"])
    lines = [line for line in (tmp_path / "out" / "tables" / "step_tuned_sgd_final.md").read_text().splitlines()
             if "grid max" in line]
    assert len(lines) == 1 and "| sgd " in lines[0]
    assert "**Edge:**" in verdict and "`fmnist-resnet/sgd` (lr at grid max)" in verdict
    assert "**Overall: supports.**" in verdict and "small proxy" in verdict


def test_one_seed_on_tiny_curves_still_writes_everything(tmp_path):
    # The smoke profile: 8 gradient evaluations (4 Step-Tuned SGD steps), one seed, and Adam diverged.
    arms = make_arms({"drop_at": 0.5, "lead": 0.05}, seeds=[0], budget=8, eval_every=2)
    run = arms[WORKLOAD, "adam"]["evaluation"]["runs"][0]
    run.update(final=None, diverged_step=3, train_loss=run["train_loss"][:2] + [None] * 6)
    run["curve"]["value"] = run["curve"]["value"][:2] + [None] * 3
    decided = report.decide(protocol(evaluation=[0]), arms)
    assert all(verdict == common.UNDECIDED for verdict in decided["verdicts"].values())
    assert report.main(write_inputs(tmp_path, protocol(evaluation=[0]), arms)) == 0
    verdict = assert_every_file(tmp_path / "out")
    assert "**Overall: cannot decide.**" in verdict
    assert assert_verdict_json(tmp_path / "out", "step-tuned-sgd", CLAIMS)["claims"] == dict.fromkeys(
        CLAIMS, common.UNDECIDED)
