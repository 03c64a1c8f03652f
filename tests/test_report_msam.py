"""Tests of experiments.reports.msam on synthetic arm results with known outcomes: MSAM ahead of SGDM, flatter, and as
fast supports every sub-claim; MSAM behind, sharper and slow contradicts each; a gain inside the margin and a
flatness far from SAM's contradict too; one seed without a Hessian or speed cannot decide but still writes every
file; diverged runs are left out and counted; the CLI writes every file, verdict.json agreeing with verdict.md, and
shows the edge flags."""

import math

import numpy as np
import pytest
from report_files import assert_files, assert_verdict_json, write_inputs

from experiments.reports import common
from experiments.reports import msam as report

SEEDS = [0, 1, 2, 3, 4]
SHA = "cd" * 32
LR_GRID = [0.0125, 0.025, 0.05, 0.1, 0.2, 0.4]
RHO_GRIDS = {"sam": [0.0125, 0.025, 0.05, 0.1, 0.2, 0.4], "msam": [0.1, 0.2, 0.4, 0.8, 1.6, 3.2]}
METHODS = ("sgdm", "nag", "sam", "msam")
WORKLOAD = "fmnist-resnet"
ANALYSIS = {
    "baseline": "sgdm", "flat": ["sam", "msam"], "claimed": "msam", "reference": "sam",
    "speed": {"workload": WORKLOAD, "repeats": 7, "steps": 15, "warmup": 3},
    "paper": {"scale": "CIFAR-100 WideResNet-16-4, 200 epochs, batch 256, 3 or more seeds (Table 1 and A.1)",
              "test_accuracy_percent": {"sgdm": 76.90, "nag": 77.09, "sam": 79.25, "msam": 79.11},
              "speed": {"sgdm": 1.00, "nag": 0.99, "sam": 0.52, "msam": 0.99},
              "hessian_top5": {"sgdm": [15.19, 13.79, 13.23, 9.98, 9.23], "sam": [5.18, 4.85, 4.43, 3.72, 3.36],
                               "msam": [4.15, 3.03, 2.30, 1.88, 1.81]}}}
SPECTRUM = np.array([15.0, 13.0, 12.0, 10.0, 9.0])


def run(seed: int, setting: dict, point: dict, final: float | None, spectrum=None, steps: int = 40) -> dict:
    """One RUN record; ``spectrum`` the Hessian eigenvalues (None: no ``hessian`` entry worth having)."""
    curve_steps = list(range(0, steps + 1, max(1, steps // 4)))
    record = {"seed": seed, "setting": setting, "point": point, "directory": f"runs/seed{seed}",
              "metric": "test/accuracy", "higher_is_better": True, "final": final, "best": final,
              "diverged_step": None if final is not None else steps // 2, "final_train_loss": 0.3,
              "train_examples": 5000, "gradient_evaluations_per_step": 1,
              "curve": {"step": curve_steps, "value": [None if final is None else final] * len(curve_steps)},
              "train_loss": [1.0] * steps, "run_seconds": 0.1}
    if spectrum is not None or final is None:
        record["hessian"] = None if spectrum is None else {
            "eigenvalues": [float(value) for value in spectrum], "examples": 256, "count": len(spectrum),
            "matrix_vector_products": 40, "seconds": 1.0}
    return record


def arm(method: str, finals: list, spectra: list | None, *, lr: float = 0.1, rho: float | None = None,
        seeds: list[int] = SEEDS, steps: int = 40) -> dict:
    """An arm result: sgdm tunes lr on LR_GRID (peaked at ``lr``), sam and msam tune ρ on theirs on top of ``lr``
    (peaked at ``rho``), nag takes ``lr`` untuned; the evaluation ``finals`` and Hessian ``spectra`` on ``seeds``."""
    optimizer_setting = {"momentum": 0.9, "weight_decay": 0.0005}
    tuning = None
    if method == "sgdm":
        runs = [run(100, {"lr": value, **optimizer_setting}, {"lr": value},
                    0.8 - 0.02 * math.log2(value / lr) ** 2) for value in LR_GRID]
        tuning = {"axes": {"lr": LR_GRID}, "runs": runs, "chosen_point": {"lr": lr},
                  "chosen": {"lr": lr, **optimizer_setting}, "reused_point": None,
                  "edge": ["lr"] if lr in (LR_GRID[0], LR_GRID[-1]) else []}
    elif method in RHO_GRIDS:
        grid = RHO_GRIDS[method]
        rho = grid[2] if rho is None else rho
        runs = [run(100, {"lr": lr, "rho": value, **optimizer_setting}, {"lr": lr, "rho": value},
                    None if value == grid[-1] else 0.82 - 0.02 * math.log2(value / rho) ** 2) for value in grid]
        tuning = {"axes": {"rho": grid}, "runs": runs, "chosen_point": {"lr": lr, "rho": rho},
                  "chosen": {"lr": lr, "rho": rho, **optimizer_setting}, "reused_point": {"lr": lr},
                  "edge": ["rho"] if rho in (grid[0], grid[-1]) else []}
    point = {"lr": lr} | ({"rho": rho} if method in RHO_GRIDS else {})
    setting = {"lr": lr, **optimizer_setting} | ({"rho": rho} if method in RHO_GRIDS else {})
    spectra = spectra or [None] * len(seeds)
    runs = [run(seed, setting, point, final, spectrum, steps) for seed, final, spectrum in zip(seeds, finals, spectra)]
    return {"experiment": "msam", "workload": WORKLOAD, "method": method, "optimizer": method,
            "hyperparameters": {"momentum": 0.9, "weight_decay": 0.0005}, "task": "fmnist-resnet",
            "task_options": {"width": 8, "train_size": 5000}, "batch_size": 32, "steps": steps, "svag": 1,
            "budget_unit": "steps", "epochs": steps * 32 / 5000, "metric": "test/accuracy", "higher_is_better": True,
            "gradient_evaluations_per_step": 2 if method == "sam" else 1, "arm_sha256": "0" * 64,
            "chosen_point": point, "tuning": tuning, "evaluation": {"setting": setting, "point": point, "runs": runs}}


def noise(scale: float, seed: int, size: int = len(SEEDS)) -> np.ndarray:
    return scale * np.random.default_rng(seed).standard_normal(size)


def make_arms(gains: dict, flatness: dict, *, lr: float = 0.1, rho: dict | None = None) -> dict:
    """Every method on SEEDS: accuracy = a shared per-seed value + ``gains[method]`` (plus a little noise); the
    spectrum = SPECTRUM × ``flatness[method]`` × a per-seed factor near 1."""
    shared = 0.85 + noise(0.01, 1)
    arms = {}
    for offset, method in enumerate(METHODS):
        finals = shared + gains.get(method, 0.0) + noise(0.001, 10 + offset)
        spectra = [SPECTRUM * flatness.get(method, 1.0) * (1 + 0.03 * value) for value in noise(1.0, 20 + offset)]
        arms[WORKLOAD, method] = arm(method, list(finals), spectra, lr=lr, rho=(rho or {}).get(method))
    return arms


def speed(msam: tuple[float, float, float], sam: tuple[float, float, float] = (0.52, 0.5, 0.54)) -> dict:
    def entry(optimizer, value):
        return {"optimizer": optimizer, "setting": {"lr": 0.0125}, "seconds_per_step": [0.02 / value[0]] * 7,
                "speed": value[0], "speed_interval": list(value[1:])}

    return {"task": "fmnist-resnet", "task_options": {"width": 8}, "batch_size": 32, "baseline": "sgdm", "repeats": 7,
            "steps": 15, "warmup": 3, "threads": 1, "device": "cpu",
            "methods": {"sgdm": entry("sgdm", (1.0, 1.0, 1.0)), "nag": entry("nag", (0.99, 0.97, 1.01)),
                        "sam": entry("sam", sam), "msam": entry("msam", msam)}}


def protocol(analysis: dict = ANALYSIS, evaluation: list[int] = SEEDS) -> dict:
    search = {"sgdm": {"lr": {"values": LR_GRID, "factor": 2}},
              "nag": {"reuse": {"workload": WORKLOAD, "method": "sgdm"}},
              "sam": {"reuse": {"workload": WORKLOAD, "method": "sgdm"}, "rho": {"values": RHO_GRIDS["sam"]}},
              "msam": {"reuse": {"workload": WORKLOAD, "method": "sgdm"}, "rho": {"values": RHO_GRIDS["msam"]}}}
    return {"seeds": {"tuning": [100], "evaluation": evaluation},
            "methods": {method: {"optimizer": method, "hyperparameters": {"momentum": 0.9}} for method in METHODS},
            "workloads": [{"name": WORKLOAD, "task": "fmnist-resnet", "steps": 40, "batch_size": 32,
                           "hessian": {"count": 5, "examples": 256}, "search": search}],
            "analysis": analysis, "protocol_sha256": SHA}


SUPPORTING = {"gains": {"sam": 0.03, "msam": 0.03, "nag": 0.002}, "flatness": {"sam": 0.35, "msam": 0.3}}


def test_msam_ahead_flatter_and_as_fast_supports_every_sub_claim():
    decided = report.decide(protocol(), make_arms(**SUPPORTING), speed((0.99, 0.97, 1.01)))
    assert decided["verdicts"] == {"accuracy gain": common.SUPPORTS, "flatness": common.SUPPORTS,
                                   "cost": common.SUPPORTS, "overall": common.SUPPORTS}
    ratios = decided["workloads"][WORKLOAD]["ratios"]
    assert ratios["claimed/baseline"]["mean"] == pytest.approx(0.3, rel=0.05)
    assert ratios["claimed/reference"]["mean"] == pytest.approx(0.3 / 0.35, rel=0.05)
    assert decided["workloads"][WORKLOAD]["differences"]["msam"]["mean"] == pytest.approx(0.03, abs=0.002)


def test_msam_behind_sharper_and_slow_contradicts_every_sub_claim():
    arms = make_arms({"sam": 0.03, "msam": -0.03}, {"sam": 0.35, "msam": 1.3})
    decided = report.decide(protocol(), arms, speed((0.5, 0.48, 0.52)))
    assert decided["verdicts"] == {"accuracy gain": common.CONTRADICTS, "flatness": common.CONTRADICTS,
                                   "cost": common.CONTRADICTS, "overall": common.CONTRADICTS}
    claims, overall, _ = report.verdict_summary(decided)
    assert claims == dict.fromkeys(CLAIMS, common.CONTRADICTS) and overall == common.CONTRADICTS


def test_a_gain_inside_the_margin_and_a_flatness_far_from_sams_contradict():
    # MSAM 0.001 ahead (δ = 0.005) and 20 % flatter than SGDM, but 3× SAM's top eigenvalue (F = 1.5).
    arms = make_arms({"sam": 0.03, "msam": 0.001}, {"sam": 0.25, "msam": 0.8})
    decided = report.decide(protocol(), arms, speed((0.95, 0.8, 1.1)))
    verdicts = decided["verdicts"]
    assert (verdicts["accuracy gain"], verdicts["flatness"]) == (common.CONTRADICTS, common.CONTRADICTS)
    assert verdicts["cost"] == common.UNDECIDED  # the interval straddles S = 0.9
    assert decided["workloads"][WORKLOAD]["ratios"]["claimed/baseline"]["high"] < 1
    # The same data under a wider margin and a looser "SAM-like" factor: a gain that cannot be told from δ, and
    # flatness that supports.
    loose = report.decide(protocol({**ANALYSIS, "equivalence_margin": 0.0005, "flatness_factor": 4.0}), arms, None)
    assert loose["verdicts"]["flatness"] == common.SUPPORTS and loose["verdicts"]["cost"] == common.UNDECIDED


def test_the_rules_at_their_boundaries():
    below, above, level = ({"low": low, "high": high} for low, high in ((0.2, 0.9), (1.0, 1.3), (0.8, 1.1)))
    assert report.flatness_verdict(below, {"low": 0.5, "high": 1.5}, 1.5) == common.SUPPORTS
    assert report.flatness_verdict(below, {"low": 1.2, "high": 1.6}, 1.5) == common.UNDECIDED
    assert report.flatness_verdict(above, {"low": 0.5, "high": 1.0}, 1.5) == common.CONTRADICTS
    assert report.flatness_verdict(level, {"low": 0.5, "high": 1.0}, 1.5) == common.UNDECIDED
    nan = {"low": math.nan, "high": math.nan}
    assert report.flatness_verdict(nan, nan, 1.5) == common.UNDECIDED
    repeats = [0.02] * 3
    assert report.cost_verdict({"speed_interval": [0.9, 1.0], "seconds_per_step": repeats}, 0.9) == common.SUPPORTS
    assert report.cost_verdict({"speed_interval": [0.7, 0.89], "seconds_per_step": repeats}, 0.9) == common.CONTRADICTS
    assert report.cost_verdict({"speed_interval": [0.9, 1.0], "seconds_per_step": repeats[:2]}, 0.9) == common.UNDECIDED
    assert report.cost_verdict(None, 0.9) == common.UNDECIDED


def test_two_seeds_cannot_decide_however_narrow_their_interval():
    arms = make_arms(**SUPPORTING)
    for value in arms.values():
        value["evaluation"]["runs"] = value["evaluation"]["runs"][:2]
    decided = report.decide(protocol(evaluation=SEEDS[:2]), arms, speed((0.99, 0.97, 1.01)))
    workload = decided["workloads"][WORKLOAD]
    assert workload["differences"]["msam"]["low"] > 0.02 and workload["ratios"]["claimed/baseline"]["high"] < 1
    assert workload["verdicts"] == {"accuracy gain": common.UNDECIDED, "flatness": common.UNDECIDED}
    assert decided["verdicts"]["cost"] == common.SUPPORTS


def test_diverged_runs_are_left_out_and_counted():
    arms = make_arms(**SUPPORTING)
    diverged = arms[WORKLOAD, "msam"]["evaluation"]["runs"][0]
    diverged.update(final=None, diverged_step=20, hessian=None)
    decided = report.decide(protocol(), arms, None)
    workload = decided["workloads"][WORKLOAD]
    assert (workload["differences"]["msam"]["n"], workload["differences"]["msam"]["diverged"]) == (4, 1)
    assert (workload["ratios"]["claimed/baseline"]["n"], workload["ratios"]["claimed/baseline"]["left_out"]) == (4, 1)
    frame = report.accuracy_frame(protocol(), arms, decided).set_index("method")
    assert (frame.loc["msam", "seeds"], frame.loc["msam", "diverged"]) == (4, 1)


CLAIMS = ("accuracy-gain", "flatness", "cost")
TABLES = ("msam_accuracy", "msam_hessian", "msam_flatness", "msam_speed", "msam_seeds")
FIGURES = ("msam_accuracy", "msam_spectrum", "msam_rho_sweep", "msam_speed")


def assert_every_file(out, table_stems=TABLES, figure_stems=FIGURES, sha: str = SHA) -> str:
    """Every table and figure, and verdict.md with its sections; returns verdict.md."""
    verdict = assert_files(out, table_stems, figure_stems, sha)
    for heading in ("What the paper claims", "Decision rule", "Our numbers", "Verdict", "Scale", "paper's numbers"):
        assert heading in verdict
    return verdict


def test_the_cli_writes_every_file_and_shows_edge_flags(tmp_path, capsys):
    # SGDM's lr at the top of its grid (so NAG's, SAM's and MSAM's, which reuse it), MSAM's ρ at the bottom of its.
    arms = make_arms(**SUPPORTING, lr=LR_GRID[-1], rho={"msam": RHO_GRIDS["msam"][0]})
    assert report.main(write_inputs(tmp_path, protocol(), arms, speed=speed((0.99, 0.97, 1.01)))) == 0
    verdict = assert_every_file(tmp_path / "out")
    record = assert_verdict_json(tmp_path / "out", "msam", CLAIMS, printed=capsys.readouterr().out)
    assert record["claims"] == dict.fromkeys(CLAIMS, common.SUPPORTS)
    numbers = record["numbers"]
    assert numbers["accuracy-gain.fmnist-resnet.sgdm.mean"] == pytest.approx(0.03, abs=0.002)
    assert numbers["accuracy-gain.fmnist-resnet.sgdm.low"] > 0
    assert numbers["lambda1-ratio.fmnist-resnet.sam.mean"] == pytest.approx(0.3 / 0.35, rel=0.05)
    assert (numbers["speed.msam.mean"], numbers["speed.msam.low"], numbers["speed.sam.mean"]) == (0.99, 0.97, 0.52)
    lines = {line.split("|")[2].strip(): line for line in (tmp_path / "out" / "tables" / "msam_accuracy.md")
             .read_text().splitlines() if line.startswith("| fmnist-resnet")}
    assert "lr at grid max" in lines["sgdm"] and "from sgdm" not in lines["sgdm"]
    assert "lr at grid max, from sgdm" in lines["nag"]
    assert "rho at grid min; lr at grid max, from sgdm" in lines["msam"]
    assert "**Edge:**" in verdict and "`fmnist-resnet/msam` (rho at grid min" in verdict
    assert "**Overall: supports.**" in verdict and "small proxy" in verdict and "full profile" in verdict
    hessian = (tmp_path / "out" / "tables" / "msam_hessian.md").read_text()
    assert "paper (Table A.1)" in hessian and "15.19" in hessian


def test_one_seed_without_hessian_or_speed_still_writes_everything(tmp_path):
    # The smoke profile: one evaluation seed, 4 steps, no Hessian eigenvalues, no speed measurement.
    arms = {(WORKLOAD, method): arm(method, [0.1 + 0.01 * offset], None, seeds=[0], steps=4)
            for offset, method in enumerate(METHODS)}
    decided = report.decide(protocol(evaluation=[0]), arms, None)
    assert all(verdict == common.UNDECIDED for verdict in decided["verdicts"].values())
    assert report.main(write_inputs(tmp_path, protocol(evaluation=[0]), arms)) == 0
    verdict = assert_every_file(tmp_path / "out")
    assert "no speed measurement" in verdict and "**Overall: cannot decide.**" in verdict
    # The same claims flip to "cannot decide" in verdict.json; a one-seed interval is null, and no speed is quoted.
    record = assert_verdict_json(tmp_path / "out", "msam", CLAIMS)
    assert record["claims"] == dict.fromkeys(CLAIMS, common.UNDECIDED)
    assert record["numbers"]["accuracy-gain.fmnist-resnet.sgdm.low"] is None
    assert not any(name.startswith("speed.") for name in record["numbers"])
