"""Tests of experiments.reports.marginal_momentum on synthetic arm results with known outcomes: equal SGD and SGDM
support "no difference" and refute "SGDM ahead", a large shift contradicts equivalence, a shrinking SVAG gap
supports the claim and a constant or growing one does not; verdict.json follows each; the CLI writes every file,
verdict.json agreeing with verdict.md, and edge flags show."""

import math

import numpy as np
import pytest
import report_files

from experiments.reports import marginal_momentum as report

SEEDS = [0, 1, 2, 3, 4]
GRID = [0.05, 0.1, 0.2, 0.4, 0.8, 1.6]
SHA = "ab" * 32


def run(seed: int, eta: float, final: float | None, *, momentum: float, ell: int = 1, steps: int = 40,
        loss: float = 0.3) -> dict:
    """One RUN record: the curve rises to ``final``; the per-step training loss decays to ``loss``."""
    setting = {"lr": eta * (1 - momentum) / ell} | ({"momentum": momentum} if momentum else {})
    curve_steps = list(range(0, steps + 1, steps // 4))
    values = [None if final is None else final * (0.6 + 0.4 * k / 4) for k in range(5)]
    train_loss = [loss + 2.0 * math.exp(-5 * k / steps) * (1 + 0.01 * math.sin(k + seed)) for k in range(steps)]
    train_loss[-max(1, steps // 10):] = [loss] * max(1, steps // 10)
    return {"seed": seed, "setting": setting, "point": {"effective_lr": eta}, "directory": f"runs/seed{seed}",
            "metric": "accuracy", "higher_is_better": True, "final": final, "best": final,
            "diverged_step": None if final is not None else steps // 2, "final_train_loss": loss,
            "train_examples": 1000, "curve": {"step": curve_steps, "value": values},
            "train_loss": train_loss if final is not None else train_loss[:steps // 2] + [None] * (steps - steps // 2),
            "run_seconds": 0.1}


def arm(workload: str, method: str, finals: list[float | None], *, eta: float = 0.2, batch_size: int = 16,
        tuned: bool = True, ell: int = 1, losses: list[float] | None = None, experiment: str = "mm") -> dict:
    """An arm result: tuning over GRID (accuracy peaks at ``eta``; the largest η diverges on one seed) and the
    evaluation ``finals`` on SEEDS."""
    momentum = 0.9 if method == "sgdm" else 0.0
    steps = 40 * ell
    tuning = None
    if tuned:
        runs = [run(seed, grid_eta, None if (grid_eta == GRID[-1] and seed == 100) else
                    0.8 - 0.05 * math.log2(grid_eta / eta) ** 2 + 0.002 * (seed - 100), momentum=momentum)
                for grid_eta in GRID for seed in (100, 101)]
        edge = ["effective_lr"] if eta in (GRID[0], GRID[-1]) else []
        tuning = {"axes": {"effective_lr": GRID}, "runs": runs, "chosen_point": {"effective_lr": eta},
                  "chosen": runs[0]["setting"] | {"lr": eta * (1 - momentum)}, "edge": edge}
    losses = losses or [0.3] * len(finals)
    evaluation = [run(seed, eta, final, momentum=momentum, ell=ell, steps=steps, loss=loss)
                  for seed, final, loss in zip(SEEDS, finals, losses)]
    return {"experiment": experiment, "workload": workload, "method": method,
            "optimizer": "sgdm" if momentum else "sgd", "hyperparameters": {"momentum": momentum} if momentum else {},
            "task": "fmnist-mlp", "task_options": {"train_size": 1000}, "batch_size": batch_size, "steps": steps,
            "svag": ell, "epochs": steps * batch_size / 1000, "metric": "accuracy", "higher_is_better": True,
            "gradient_evaluations_per_step": 2 if ell > 1 else 1, "arm_sha256": "0" * 64,
            "chosen_point": {"effective_lr": eta}, "tuning": tuning,
            "evaluation": {"setting": evaluation[0]["setting"], "point": {"effective_lr": eta}, "runs": evaluation}}


def noise(scale: float, seed: int) -> np.ndarray:
    return scale * np.random.default_rng(seed).standard_normal(len(SEEDS))


VISION_ANALYSIS = {"baseline": "sgdm", "compared": "sgd", "equivalence_margin": 0.01,
                   "workloads": {"batch-16": {"regime": "small"}, "batch-128": {"regime": "medium"},
                                 "batch-1024": {"regime": "large"}}}
BATCHES = {"batch-16": 16, "batch-128": 128, "batch-1024": 1024}


def protocol(analysis: dict, workloads: list[str]) -> dict:
    return {"seeds": {"tuning": [100, 101], "evaluation": SEEDS}, "methods": {"sgd": {}, "sgdm": {}},
            "workloads": [{"name": name} for name in workloads], "analysis": analysis, "protocol_sha256": SHA}


def vision_arms(shift: dict[str, float], eta: dict[str, float] | None = None) -> dict:
    """SGD and SGDM with the same per-seed accuracies (plus a little independent noise), SGD moved by ``shift``."""
    arms = {}
    for position, (name, batch) in enumerate(BATCHES.items()):
        common = 0.85 + noise(0.01, position)
        for offset, method in enumerate(("sgd", "sgdm")):
            finals = common + noise(0.001, 10 * position + offset) + (shift.get(name, 0.0) if method == "sgd" else 0)
            arms[name, method] = arm(name, method, list(finals), batch_size=batch,
                                     eta=(eta or {}).get(name, 0.2) if method == "sgd" else 0.2)
    return arms


def test_equal_methods_support_equivalence_and_refute_the_large_batch_advantage():
    rows, overall = report.decide_vision(protocol(VISION_ANALYSIS, list(BATCHES)), vision_arms({}))
    verdicts = {row["workload"]: row["verdict"] for row in rows}
    assert verdicts == {"batch-16": report.SUPPORTS, "batch-128": report.SUPPORTS, "batch-1024": report.CONTRADICTS}
    assert overall == report.CONTRADICTS
    assert all(abs(row["difference"]["mean"]) < 0.005 for row in rows)


def test_a_large_shift_contradicts_equivalence_and_supports_the_advantage():
    # SGD 0.05 below SGDM everywhere: small and medium batch contradict "no difference", large batch supports.
    shift = {name: -0.05 for name in BATCHES}
    rows, overall = report.decide_vision(protocol(VISION_ANALYSIS, list(BATCHES)), vision_arms(shift))
    verdicts = {row["workload"]: row["verdict"] for row in rows}
    assert verdicts == {"batch-16": report.CONTRADICTS, "batch-128": report.CONTRADICTS,
                        "batch-1024": report.SUPPORTS}
    assert rows[0]["difference"]["sign"] == "\N{MINUS SIGN}" and rows[0]["difference"]["p"] < 1e-3
    # Negative control: SGD ahead at large batch contradicts "SGDM ahead" rather than supporting it.
    rows, _ = report.decide_vision(protocol(VISION_ANALYSIS, list(BATCHES)), vision_arms({"batch-1024": 0.05}))
    assert rows[2]["verdict"] == report.CONTRADICTS


def test_an_interval_straddling_the_margin_cannot_decide():
    assert report.equivalence_verdict(-0.005, 0.015, 0.01) == report.UNDECIDED
    assert report.equivalence_verdict(0.011, 0.02, 0.01) == report.CONTRADICTS
    assert report.advantage_verdict(-0.002, 0.03, 0.01) == report.UNDECIDED
    assert report.advantage_verdict(0.012, 0.03, 0.01) == report.SUPPORTS
    assert report.advantage_verdict(0.002, 0.005, 0.01) == report.CONTRADICTS  # ahead, by less than δ
    assert report.overall_verdict([report.SUPPORTS, report.UNDECIDED]) == report.UNDECIDED


def test_steps_to_target_use_the_baseline_median_and_count_the_seeds_that_reach_it():
    arms = vision_arms({"batch-16": -0.05})
    rows, _ = report.decide_vision(protocol(VISION_ANALYSIS, list(BATCHES)), arms)
    small = rows[0]
    assert small["target"] == pytest.approx(np.median([run["final"] for run in
                                                       arms["batch-16", "sgdm"]["evaluation"]["runs"]]))
    assert small["steps"]["sgdm"]["reached"] == "3/5"  # the seeds at or above the median, at the last evaluation
    assert small["steps"]["sgdm"]["steps"] == 40
    assert small["steps"]["sgd"]["reached"] == "0/5" and math.isnan(small["steps"]["sgd"]["steps"])


def test_a_diverged_evaluation_run_is_left_out_and_counted():
    arms = vision_arms({})
    arms["batch-16", "sgd"]["evaluation"]["runs"][0]["final"] = None
    rows, _ = report.decide_vision(protocol(VISION_ANALYSIS, list(BATCHES)), arms)
    assert rows[0]["difference"]["n"] == 4 and rows[0]["difference"]["diverged"] == 1


def test_finetune_equivalence_per_task_and_overall():
    analysis = {"baseline": "sgdm", "compared": "sgd", "equivalence_margin": 0.02}
    arms = {}
    for position, (task, shift) in enumerate({"sst2": 0.0, "trec": -0.1}.items()):
        common = 0.8 + noise(0.02, position)
        arms[task, "sgd"] = arm(task, "sgd", list(common + shift + noise(0.002, 7 + position)))
        arms[task, "sgdm"] = arm(task, "sgdm", list(common))
    rows, overall = report.decide_finetune(protocol(analysis, ["sst2", "trec"]), arms)
    assert [row["verdict"] for row in rows] == [report.SUPPORTS, report.CONTRADICTS]
    assert overall == report.CONTRADICTS
    claims, json_overall, numbers = report.comparison_summary(rows, overall)
    assert claims == {"sst2": report.SUPPORTS, "trec": report.CONTRADICTS} and json_overall == report.CONTRADICTS
    assert numbers["difference.trec.mean"] == pytest.approx(-0.1, abs=0.005)


SVAG_ANALYSIS = {"baseline": "sgdm", "compared": "sgd", "tuned_workload": "svag-1"}
ELLS = [1, 2, 4, 8]


def svag_arms(gap, loss_gap) -> dict:
    """SGDM ahead of SGD by gap(ℓ) in accuracy and lower by loss_gap(ℓ) in final training loss."""
    arms = {}
    for ell in ELLS:
        name = f"svag-{ell}"
        common, common_loss = 0.85 + noise(0.01, ell), 0.3 + noise(0.01, 100 + ell)
        for offset, method in enumerate(("sgd", "sgdm")):
            sign = 1.0 if method == "sgd" else 0.0
            finals = common + noise(0.002, 10 * ell + offset) - sign * gap(ell)
            losses = common_loss + noise(0.002, 20 * ell + offset) + sign * loss_gap(ell)
            arms[name, method] = arm(name, method, list(finals), losses=list(losses), ell=ell, batch_size=64,
                                     eta=GRID[-1], tuned=(ell == 1 and method == "sgdm"))
    return arms


def test_a_shrinking_svag_gap_supports_the_claim():
    decided = report.decide_svag(protocol(SVAG_ANALYSIS, [f"svag-{ell}" for ell in ELLS]),
                                 svag_arms(lambda ell: 0.04 / ell, lambda ell: 0.1 / ell))
    assert {quantity: decision["verdict"] for quantity, decision in decided["decisions"].items()} == {
        "accuracy": report.SUPPORTS, "train loss": report.SUPPORTS}
    assert decided["decisions"]["accuracy"]["reduction"]["mean"] == pytest.approx(0.04 - 0.005, abs=0.004)
    assert decided["gaps"]["train loss"][1]["difference"]["mean"] == pytest.approx(0.1, abs=0.004)


def test_a_constant_or_growing_svag_gap_does_not_support_it():
    names = [f"svag-{ell}" for ell in ELLS]
    constant = report.decide_svag(protocol(SVAG_ANALYSIS, names), svag_arms(lambda ell: 0.04, lambda ell: 0.1))
    assert all(decision["verdict"] == report.UNDECIDED for decision in constant["decisions"].values())
    growing = report.decide_svag(protocol(SVAG_ANALYSIS, names),
                                 svag_arms(lambda ell: 0.01 * ell, lambda ell: 0.02 * ell))
    assert all(decision["verdict"] == report.CONTRADICTS for decision in growing["decisions"].values())
    claims, overall, numbers = report.svag_summary(growing)
    assert claims == {"accuracy": report.CONTRADICTS, "train-loss": report.CONTRADICTS}
    assert overall == report.CONTRADICTS and numbers["gap-reduction.accuracy.high"] < 0
    assert numbers["gap.accuracy.ell-8.mean"] == pytest.approx(-0.08, abs=0.005)
    # No gap at ℓ = 1: nothing to shrink, whatever happens later.
    none = report.decide_svag(protocol(SVAG_ANALYSIS, names), svag_arms(lambda ell: 0.0, lambda ell: 0.0))
    assert all(decision["verdict"] == report.UNDECIDED for decision in none["decisions"].values())


def write_inputs(tmp_path, analysis: dict, arms: dict) -> list[str]:
    return report_files.write_inputs(tmp_path, protocol(analysis, list(dict.fromkeys(
        workload for workload, _ in arms))), arms)


@pytest.mark.parametrize("part, tables, figures", [
    ("vision", ["vision_accuracy", "vision_steps_to_target", "vision_seeds"], ["vision_sweep"]),
    ("finetune", ["finetune_accuracy", "finetune_seeds"], ["finetune_sweep"]),
    ("svag", ["svag_by_ell", "svag_gap_shrinkage", "svag_seeds"], ["svag_by_ell", "svag_train_loss_curves"]),
])
def test_the_cli_writes_every_file_and_shows_edge_flags(tmp_path, capsys, part, tables, figures):
    if part == "vision":
        analysis, arms = VISION_ANALYSIS, vision_arms({}, eta={"batch-1024": GRID[-1]})
    elif part == "finetune":
        analysis = {"baseline": "sgdm", "compared": "sgd", "equivalence_margin": 0.02}
        arms = {(task, method): arm(task, method, list(0.8 + noise(0.01, offset)), eta=GRID[-1])
                for task in ("sst2", "trec") for offset, method in enumerate(("sgd", "sgdm"))}
    else:
        analysis, arms = SVAG_ANALYSIS, svag_arms(lambda ell: 0.04 / ell, lambda ell: 0.1 / ell)
    assert report.main([part, *write_inputs(tmp_path, analysis, arms)]) == 0
    out = tmp_path / "out"
    verdict = report_files.assert_files(out, tables, figures, SHA)
    claims = {"vision": BATCHES, "finetune": ("sst2", "trec"), "svag": ("accuracy", "train-loss")}[part]
    # svag's verdict.md states no overall verdict: both quantities support, so the combined one does.
    record = report_files.assert_verdict_json(out, "mm", claims, report.SUPPORTS if part == "svag" else None,
                                              printed=capsys.readouterr().out)
    if part == "vision":
        assert record["claims"] == {"batch-16": report.SUPPORTS, "batch-128": report.SUPPORTS,
                                    "batch-1024": report.CONTRADICTS}
        assert {f"difference.{name}.{key}" for name in BATCHES for key in ("mean", "low", "high")} == set(
            record["numbers"])
    for heading in ("What the paper claims", "Decision rule", "Our numbers", "Verdict", "Scale", "paper's numbers"):
        assert heading in verdict
    assert "not retrieved" in verdict.lower() and "small proxy" in verdict
    main_table = (out / "tables" / f"{tables[0]}.md").read_text()
    assert "effective_lr at grid max" in main_table  # the edge flag of the arms tuned to the grid's top
    if part == "vision":  # only batch-1024's SGD sits on the edge; its row alone carries the flag
        lines = [line for line in main_table.splitlines() if "grid max" in line]
        assert len(lines) == 1 and "batch-1024" in lines[0]
    if part == "svag":
        assert verdict.count("**supports**") == 2
