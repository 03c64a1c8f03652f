"""Tests of experiments.reports.adamomentum on synthetic arm results with known outcomes: AdaMomentum level with SGDM
on the vision workload and clearly ahead of every baseline on the language one supports both claims; behind SGDM and
behind Adam contradicts them; stability counts, the lr range and the generalisation gap come out as built; the CLI
writes every file, verdict.json agreeing with verdict.md, also with one evaluation seed and every tuning point
diverged."""

import math

import numpy as np
import pytest

from experiments.reports import adamomentum as report

from report_files import assert_files, assert_verdict_json, write_inputs

SEEDS = [0, 1, 2, 3, 4]
GRID = [0.000125, 0.00025, 0.0005, 0.001, 0.002, 0.004]
SHA = "ef" * 32
METHODS = ("adamomentum", "adam", "adamw", "sgdm")
ANALYSIS = {"method": "adamomentum", "baselines": ["adam", "adamw", "sgdm"], "sgd_baseline": "sgdm",
            "equivalence_margin": 0.01, "lr_tolerance": 0.01,
            "workloads": {"fmnist-2c2d": {"domain": "vision"}, "rt-minilm": {"domain": "language"}}}


def run(seed: int, lr: float, test: float | None, *, train: float | None = None, test_loss: float = 0.4,
        train_loss: float = 0.3) -> dict:
    """One run with final test accuracy ``test`` (None: diverged) and train accuracy ``train`` (default test + 0.05)."""
    train = test + 0.05 if train is None and test is not None else train
    metrics = None if test is None else {"test/accuracy": test, "test/loss": test_loss, "train/accuracy": train,
                                         "train/loss": train_loss}
    return {"seed": seed, "point": {"lr": lr}, "setting": {"lr": lr}, "directory": "x", "metric": "test/accuracy",
            "higher_is_better": True, "final": test, "best": test, "diverged_step": None if test is not None else 3,
            "final_train_loss": train_loss, "train_examples": 1000, "final_metrics": metrics,
            "gradient_evaluations_per_step": 1, "curve": {"step": [0, 10], "value": [0.1, test]},
            "train_loss": [1.0] * 10, "run_seconds": 0.01}


def arm(workload: str, method: str, finals, *, lr: float = 0.001, tuning: dict | None = None, seeds=SEEDS,
        trains=None) -> dict:
    """An arm: evaluation finals on ``seeds``; tuning {lr: final or None} over GRID on one tuning seed, by default a
    peak at ``lr`` falling 5 % per grid step."""
    if tuning is None:
        tuning = {value: 0.8 * (1 - 0.05 * abs(math.log2(value / lr))) for value in GRID}
    tuning_runs = [run(100, value, final) for value, final in tuning.items()]
    runs = [run(seed, lr, final, train=None if trains is None else trains[index])
            for index, (seed, final) in enumerate(zip(seeds, finals))]
    edge = ["lr"] if lr in (GRID[0], GRID[-1]) else []
    return {"experiment": "adamomentum", "workload": workload, "method": method, "optimizer": method,
            "hyperparameters": {}, "task": workload, "task_options": {}, "batch_size": 64, "steps": 10, "svag": 1,
            "budget_unit": "steps", "epochs": 0.6, "metric": "test/accuracy", "higher_is_better": True,
            "gradient_evaluations_per_step": 1, "arm_sha256": "0" * 64, "chosen_point": {"lr": lr},
            "tuning": {"axes": {"lr": GRID}, "runs": tuning_runs, "chosen_point": {"lr": lr}, "chosen": {"lr": lr},
                       "edge": edge, "reused_point": None},
            "evaluation": {"setting": {"lr": lr}, "point": {"lr": lr}, "runs": runs}}


def protocol(evaluation=SEEDS) -> dict:
    return {"seeds": {"tuning": [100], "evaluation": list(evaluation)},
            "methods": {method: {"optimizer": method, "hyperparameters": {}} for method in METHODS},
            "workloads": [{"name": "fmnist-2c2d"}, {"name": "rt-minilm"}], "analysis": ANALYSIS,
            "protocol_sha256": SHA}


def noise(scale: float, seed: int) -> np.ndarray:
    return scale * np.random.default_rng(seed).standard_normal(len(SEEDS))


def build(shifts: dict[tuple[str, str], float]) -> dict:
    """Every arm: a shared per-seed level plus a little independent noise, moved by ``shifts``."""
    arms = {}
    for position, name in enumerate(("fmnist-2c2d", "rt-minilm")):
        level = 0.8 + noise(0.01, position)
        for offset, method in enumerate(METHODS):
            values = level + noise(0.001, 10 * position + offset) + shifts.get((name, method), 0.0)
            arms[name, method] = arm(name, method, list(values))
    return arms


def test_comparable_on_vision_and_ahead_on_language_supports_both():
    decided = report.decide(protocol(), build({("rt-minilm", "adamomentum"): 0.05}))
    assert decided["domains"] == {"vision": report.SUPPORTS, "language": report.SUPPORTS}
    language = decided["rows"][1]
    assert set(language["verdicts"]) == {"adam", "adamw", "sgdm"}
    assert language["compared"]["adam"]["difference"]["mean"] == pytest.approx(0.05, abs=0.002)


def test_behind_sgdm_and_behind_adam_contradicts_both():
    shifts = {("fmnist-2c2d", "adamomentum"): -0.05, ("rt-minilm", "adam"): 0.05}
    decided = report.decide(protocol(), build(shifts))
    assert decided["domains"] == {"vision": report.CONTRADICTS, "language": report.CONTRADICTS}
    claims, overall, numbers = report.verdict_summary(decided)
    assert claims == {"vision": report.CONTRADICTS, "language": report.CONTRADICTS} and overall == report.CONTRADICTS
    assert numbers["difference.rt-minilm.adam.mean"] == pytest.approx(-0.05, abs=0.002)
    assert decided["rows"][1]["verdicts"]["adam"] == report.CONTRADICTS
    # All level on language: not ahead of anyone by more than δ, so "state of the art" is contradicted too.
    assert report.decide(protocol(), build({}))["domains"]["language"] == report.CONTRADICTS
    # Ahead of SGDM by more than δ is not "comparable" either, to the letter.
    ahead = report.decide(protocol(), build({("fmnist-2c2d", "adamomentum"): 0.05}))
    assert ahead["domains"]["vision"] == report.CONTRADICTS


def test_a_wide_interval_cannot_decide():
    arms = build({})
    rng = np.random.default_rng(3)
    arms["fmnist-2c2d", "adamomentum"] = arm("fmnist-2c2d", "adamomentum", list(0.8 + 0.03 * rng.standard_normal(5)))
    assert report.decide(protocol(), arms)["domains"]["vision"] == report.UNDECIDED


def test_stability_counts_and_the_lr_range_on_a_hand_built_grid():
    # best 0.80 at 0.0005; 0.795 and 0.7925 are within 1 % (≥ 0.792), 0.78 is not; two points diverged.
    tuning = dict(zip(GRID, [None, 0.795, 0.80, 0.7925, 0.78, None]))
    row = report.lr_range(arm("w", "adamomentum", [0.8] * 5, lr=0.0005, tuning=tuning), 0.01)
    assert (row["points"], row["diverged points"], row["diverged runs"]) == (6, 2, 2)
    assert (row["low"], row["high"], row["best lr"]) == (0.00025, 0.001, 0.0005)
    assert row["decades"] == pytest.approx(math.log10(4)) and row["ratio"] == pytest.approx(4)
    assert not row["lower bound"] and row["edge"] == ""
    # Not contiguous: a point within tolerance beyond one that is not does not count.
    tuning = dict(zip(GRID, [0.80, 0.70, 0.80, 0.70, 0.70, 0.70]))
    row = report.lr_range(arm("w", "adam", [0.8] * 5, lr=GRID[0], tuning=tuning), 0.01)
    assert (row["low"], row["high"]) == (GRID[0], GRID[0]) and row["decades"] == 0
    assert row["lower bound"] and row["edge"] == "min"
    # Flat to the top of the grid: a lower bound.
    tuning = dict(zip(GRID, [0.5, 0.7, 0.8, 0.8, 0.8, 0.8]))
    row = report.lr_range(arm("w", "adam", [0.8] * 5, lr=0.0005, tuning=tuning), 0.01)
    assert row["high"] == GRID[-1] and row["lower bound"] and "≥" in report.width_text(row)


def test_the_generalisation_gap():
    trains = [0.9, 0.95, 0.85, 0.9, 0.9]
    built = arm("w", "adam", [0.8, 0.8, 0.8, 0.7, None], trains=trains)
    gap = report.gaps(built)
    assert [gap["metric"][seed] for seed in range(4)] == pytest.approx([0.1, 0.15, 0.05, 0.2])
    assert gap["metric"][4] is None  # diverged
    assert gap["loss"][0] == pytest.approx(0.4 - 0.3)  # test loss − train loss
    arms = build({})
    arms["fmnist-2c2d", "adamomentum"] = arm("fmnist-2c2d", "adamomentum", [0.8] * 5, trains=[0.9] * 5)
    arms["fmnist-2c2d", "sgdm"] = arm("fmnist-2c2d", "sgdm", [0.8] * 5, trains=[0.83] * 5)
    entry = report.decide(protocol(), arms)["rows"][0]["compared"]["sgdm"]
    assert entry["gap"]["mean"] == pytest.approx(0.07)


def assert_every_file(out) -> str:
    verdict = assert_files(out, ["comparison_fmnist-2c2d", "comparison_rt-minilm", "stability", "seeds"],
                           ["lr_sweep", "test_metric", "generalisation_gap"], SHA)
    for heading in ("What the paper claims", "Decision rule", "Our numbers", "Verdict", "Findings", "Scale",
                    "paper's numbers", "full"):
        assert heading in verdict
    assert "not retrieved" in verdict.lower() and "small proxy" in verdict
    return verdict


def test_the_cli_writes_every_file_and_shows_edge_flags(tmp_path, capsys):
    arms = build({("rt-minilm", "adamomentum"): 0.05})
    arms["fmnist-2c2d", "sgdm"] = arm("fmnist-2c2d", "sgdm", list(0.8 + noise(0.01, 0)), lr=GRID[-1])
    assert report.main(write_inputs(tmp_path, protocol(), arms)) == 0
    verdict = assert_every_file(tmp_path / "out")
    assert "**Language (state of the art): supports.**" in verdict
    # verdict.md states no overall verdict: both domains support, so the combined one does.
    record = assert_verdict_json(tmp_path / "out", "adamomentum", report.DOMAINS, report.SUPPORTS,
                                 printed=capsys.readouterr().out)
    assert "**Vision (comparable to sgdm): supports.**" in verdict and record["claims"]["language"] == report.SUPPORTS
    assert record["numbers"]["difference.rt-minilm.adam.mean"] == pytest.approx(0.05, abs=0.002)
    table = (tmp_path / "out" / "tables" / "comparison_fmnist-2c2d.md").read_text()
    lines = [line for line in table.splitlines() if "grid max" in line]
    assert len(lines) == 1 and "sgdm" in lines[0]


def test_one_seed_and_every_tuning_point_diverged_still_give_every_file(tmp_path):
    arms = {(name, method): arm(name, method, [0.8], seeds=[0]) for name in ("fmnist-2c2d", "rt-minilm")
            for method in METHODS}
    arms["fmnist-2c2d", "adam"] = arm("fmnist-2c2d", "adam", [None], seeds=[0], tuning=dict.fromkeys(GRID))
    decided = report.decide(protocol([0]), arms)
    assert decided["domains"] == {"vision": report.UNDECIDED, "language": report.UNDECIDED}  # no interval
    assert report.main(write_inputs(tmp_path, protocol([0]), arms)) == 0
    assert_every_file(tmp_path / "out")
    record = assert_verdict_json(tmp_path / "out", "adamomentum", report.DOMAINS, report.UNDECIDED)
    assert record["claims"] == dict.fromkeys(report.DOMAINS, report.UNDECIDED)
    stability = (tmp_path / "out" / "tables" / "stability.md").read_text()
    assert "every grid point diverged" in stability


def test_a_domain_without_results_cannot_decide():
    arms = {key: value for key, value in build({}).items() if key[0] == "fmnist-2c2d"}  # e.g. text data not installed
    decided = report.decide(protocol(), arms)
    assert decided["domains"] == {"vision": report.SUPPORTS, "language": report.UNDECIDED}
    assert any("language: no workload with results" in line for line in report.verdict_lines(decided))


def test_two_seeds_cannot_decide_however_clear_the_difference():
    arms = {(name, method): arm(name, method, list(np.array([0.8, 0.81]) - (0.1 if method == "adamomentum" else 0)),
                                seeds=[0, 1]) for name in ("fmnist-2c2d", "rt-minilm") for method in METHODS}
    decided = report.decide(protocol([0, 1]), arms)
    assert decided["rows"][0]["compared"]["sgdm"]["difference"]["high"] < -0.01  # outside the band, yet
    assert decided["domains"] == {"vision": report.UNDECIDED, "language": report.UNDECIDED}
