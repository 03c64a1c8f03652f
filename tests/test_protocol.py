"""The experiments' protocols: every config loads; a bad protocol fails before any compute with one line naming the
field, the value and what is allowed; grids expand to matched effective learning rates and SVAG scaling."""

import copy
import math
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from experiments import protocol

REPOSITORY = Path(__file__).resolve().parents[1]
SCHEMA = str(REPOSITORY / "workflow/schemas/config.schema.yaml")


def merged(*names: str) -> dict:
    """config/config.yaml with the given config files laid over it, as Snakemake merges them (mappings key by
    key, everything else replaced), then validated by the schema with its defaults."""

    def merge(base, update):
        if isinstance(base, dict) and isinstance(update, dict):
            return {**base, **{key: merge(base.get(key), value) for key, value in update.items()}}
        return update

    config = {}
    for name in ("config.yaml", *names):
        config = merge(config, yaml.safe_load((REPOSITORY / "config" / name).read_text()))
    validate(config, SCHEMA)
    return config


@pytest.mark.parametrize("overlay", [(), ("smoke.yaml",), ("full.yaml",)], ids=["default", "smoke", "full"])
def test_every_config_loads_into_arms(overlay):
    experiments = protocol.load(merged(*overlay))
    assert sorted(experiments) == sorted(protocol.REPORTS)
    for experiment in experiments.values():
        assert experiment.arms and len(experiment.sha256) == 64
        assert all(set(arm.tuning_seeds).isdisjoint(arm.evaluation_seeds) for arm in experiment.arms)


def test_default_protocol_meets_the_issue_rules():
    """Evaluation seeds >= 3, tuned grids log-spaced with >= 3 points per decade over >= 1.5 decades."""
    for experiment in protocol.load(merged()).values():
        for arm in experiment.arms:
            assert len(arm.evaluation_seeds) >= 3
            for values in arm.axes.values():
                if len(values) > 1:
                    assert math.log10(values[-1] / values[0]) >= 1.5 - 1e-9
                    assert (len(values) - 1) / math.log10(values[-1] / values[0]) >= 3 - 1e-9


def test_matched_effective_learning_rate_and_svag_scaling():
    experiments = protocol.load(merged())
    vision = experiments["marginal-momentum/vision"]
    sgd, sgdm = vision.arm("batch-128", "sgd"), vision.arm("batch-128", "sgdm")
    point = {"effective_lr": 0.4}
    assert protocol.setting(sgd, point) == {"lr": 0.4}
    assert protocol.setting(sgdm, point) == pytest.approx({"lr": 0.04, "momentum": 0.9})
    svag = experiments["marginal-momentum/svag"].arm("svag-4", "sgdm")
    values = protocol.run_values(svag, point, seed=3)
    assert values["lr"] == pytest.approx(0.04 / 4)
    budget = svag.budget
    assert (values["steps"], values["eval_every"], values["svag"]) == (4 * budget["steps"], 4 * budget["eval_every"], 4)
    plain = protocol.run_values(experiments["marginal-momentum/svag"].arm("svag-1", "sgdm"), point, seed=3)
    assert "svag" not in plain and plain["steps"] == budget["steps"]


def test_protocol_hash_is_canonical_and_changes_with_the_protocol():
    section = merged()["experiments"]["overshoot"]
    reordered = dict(reversed(list(section.items())))
    assert protocol.sha256(section) == protocol.sha256(reordered)
    changed = copy.deepcopy(section)
    changed["workloads"][0]["steps"] += 1
    assert protocol.sha256(changed) != protocol.sha256(section)


def overshoot(config):
    return config["experiments"]["overshoot"]


TUNED = [workload["name"] for workload in overshoot(merged())["workloads"]].index("diabetes-mlp-tuned")


BAD_PROTOCOLS = {
    "unknown task": (lambda c: overshoot(c)["workloads"][0].update(task="digits-mpl"),
                     "experiments.overshoot.workloads[0].task='digits-mpl' is not allowed; allowed: "),
    "unknown optimizer": (lambda c: overshoot(c)["methods"]["cm"].update(optimizer="sgdmm"),
                          "experiments.overshoot.methods.cm.optimizer='sgdmm' is not allowed; allowed: "),
    "hyperparameter not taken": (
        lambda c: overshoot(c)["methods"]["cm"]["hyperparameters"].update(overshoot=3),
        "experiments.overshoot.methods.cm.hyperparameters.overshoot=3 is not a hyperparameter of 'sgdm'; allowed:"),
    "hyperparameter out of range": (
        lambda c: overshoot(c)["methods"]["cm"]["hyperparameters"].update(momentum=1.5),
        "experiments.overshoot.workloads.diabetes-mlp.search.cm: optimizer 'sgdm': momentum=1.5"),
    "grid not log-spaced": (
        lambda c: overshoot(c)["workloads"][TUNED]["search"]["cm"]["lr"]["values"].__setitem__(2, 0.0006),
        f"experiments.overshoot.workloads[{TUNED}].search.cm.lr.values=[6.25e-05, 0.000125, 0.0006, "),
    "grid too coarse": (
        lambda c: overshoot(c)["workloads"][TUNED]["search"].update(
            cm={"lr": {"values": [0.001, 0.01, 0.1], "factor": 10}}),
        f"experiments.overshoot.workloads[{TUNED}].search.cm.lr.factor=10 gives 1.00 points per decade; allowed: at most"),
    "grid too narrow": (
        lambda c: overshoot(c)["workloads"][TUNED]["search"].update(
            cm={"lr": {"values": [0.001, 0.002, 0.004], "factor": 2}}),
        f"experiments.overshoot.workloads[{TUNED}].search.cm.lr.values=[0.001, 0.002, 0.004] spans 0.60 decades; allowed"),
    "no evaluation seeds": (lambda c: overshoot(c)["seeds"].update(evaluation=[]),
                            "experiments.overshoot.seeds.evaluation=[] is not allowed; allowed: at least one seed"),
    "seeds shared": (lambda c: overshoot(c)["seeds"].update(tuning=[0, 100]),
                     "experiments.overshoot.seeds: seed 0 is both a tuning and an evaluation seed"),
    "no tuning seeds for a grid": (lambda c: overshoot(c)["seeds"].update(tuning=[]),
                                   "experiments.overshoot.seeds.tuning=[] is not allowed: arm diabetes-mlp-tuned/cm"),
    "unknown method in a search": (
        lambda c: overshoot(c)["workloads"][0]["search"].update(sgdo9={"lr": {"values": [0.1]}}),
        "experiments.overshoot.workloads[0].search.sgdo9: unknown method; allowed: cm, "),
    "reuse of an arm without a search": (
        lambda c: c["experiments"]["marginal-momentum/svag"]["workloads"][1]["search"]["sgd"].update(
            reuse={"workload": "svag-8", "method": "sgd"}),
        "experiments.marginal-momentum/svag.workloads.svag-1.search.sgd.reuse="),
    "a learning rate searched on top of a reuse": (
        lambda c: msam(c)["workloads"][0]["search"]["sam"].update(lr={"values": [0.1]}),
        "experiments.msam.workloads[0].search.sam.lr is not allowed with reuse (the reused point sets the learning "
        "rate); allowed: one_minus_momentum, weight_decay, rho"),
    "rho for an optimizer without it": (
        lambda c: msam(c)["workloads"][0]["search"]["nag"].update(rho={"values": [0.1]}),
        "experiments.msam.workloads[0].search.nag.rho is not a hyperparameter of optimizer 'nag'; allowed: lr, "
        "effective_lr, one_minus_momentum, weight_decay"),
    "a budget in gradient evaluations that a 2-evaluation method cannot split": (
        lambda c: c["experiments"]["step-tuned-sgd"]["workloads"][0].update(eval_every=25),
        "experiments.step-tuned-sgd.workloads[0].eval_every=25 is not allowed with budget_unit "
        "'gradient-evaluations' and optimizer 'step-tuned-sgd' (2 gradient evaluations per step); allowed: a "
        "multiple of 2"),
    "reuse in an experiment of grouped jobs": (
        lambda c: c["experiments"]["leaderboard"]["workloads"][1].update(search={  # the grids are a YAML alias
            **c["experiments"]["leaderboard"]["workloads"][1]["search"],
            "sgd": {"reuse": {"workload": "digits-mlp", "method": "sgd"}}}),
        "experiments.leaderboard.workloads.diabetes-mlp.search.sgd.reuse is not allowed with jobs: per-experiment"),
}


def msam(config):
    return config["experiments"]["msam"]


@pytest.mark.parametrize("name", BAD_PROTOCOLS)
def test_bad_protocol_names_field_value_and_allowed(name):
    mutate, message = BAD_PROTOCOLS[name]
    config = merged()
    mutate(config)
    with pytest.raises(protocol.ProtocolError) as raised:
        protocol.load(config)
    assert str(raised.value).startswith(message), str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.slow
def test_bad_protocol_fails_at_dry_run_in_one_line_and_runs_nothing(tmp_path):
    bad = {"experiments": {"overshoot": {"methods": {"cm": {"optimizer": "sgdmm"}}}}}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    finished = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPOSITORY / "Snakefile"), "--cores", "1", "-n",
         "--configfile", str(tmp_path / "bad.yaml"), "--directory", str(tmp_path / "work")],
        capture_output=True, text=True, cwd=REPOSITORY)
    assert finished.returncode != 0
    lines = [line for line in finished.stderr.splitlines() if "bad protocol" in line]
    assert lines == [f"bad protocol: experiments.overshoot.methods.cm.optimizer='sgdmm' is not allowed; allowed: "
                     f"{lines[0].rpartition('allowed: ')[2]}"], finished.stderr
    assert not (tmp_path / "work" / "results").exists()


@pytest.mark.parametrize("profile", ["full", "slurm"])
def test_full_profile_dry_run_lists_every_full_scale_job(profile, tmp_path):
    """`snakemake -n --workflow-profile profiles/<profile>` plans one job per arm of config/full.yaml (the data paths
    are placeholders here: a dry run reads none of them)."""
    finished = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPOSITORY / "Snakefile"), "-n",
         "--workflow-profile", str(REPOSITORY / "profiles" / profile), "--directory", str(tmp_path)],
        capture_output=True, text=True, cwd=REPOSITORY)
    assert finished.returncode == 0, finished.stderr[-3000:]
    planned = set()
    for line in finished.stdout.splitlines():
        if line.strip().startswith("output: results/") and "/arms/" in line:
            planned.add(line.split("output: ")[1].strip())
        if line.strip().startswith("output: results/") and "/jobs/" in line:
            planned.add(line.split("output: ")[1].strip())
    expected = set()
    for experiment in protocol.load(merged("full.yaml")).values():
        if experiment.job_groups() is not None:
            expected |= {f"results/{experiment.name}/jobs/{group}.json" for group in experiment.job_groups()}
        else:
            expected |= {f"results/{arm.experiment}/arms/{arm.workload}/{arm.method}.json" for arm in experiment.arms}
    assert planned == expected
    assert "results/msam/speed.json" in finished.stdout


def test_arms_without_their_system_data_are_skipped_by_name(monkeypatch):
    """Before `make system-deps` (no Fashion-MNIST), the arms on it are dropped, one line per experiment and task
    says so, and everything else still runs."""
    from experiments import tasks

    monkeypatch.setattr(tasks, "missing_system_data",
                        lambda task: "Fashion-MNIST is missing" if task.startswith("fmnist-") else None)
    kept, skipped = protocol.without_missing_system_data(protocol.load(merged()))
    assert sorted(kept) == ["adamomentum", "leaderboard", "marginal-momentum/finetune", "overshoot"]
    assert {arm.workload for arm in kept["leaderboard"].arms} == {"digits-mlp", "diabetes-mlp", "mnist5k-mlp"}
    assert {arm.workload for arm in kept["overshoot"].arms} == {"diabetes-mlp", "mnist5k-vae", "diabetes-mlp-tuned"}
    assert "skipping marginal-momentum/vision on task fmnist-mlp: Fashion-MNIST is missing" in skipped
    assert "skipping overshoot on task fmnist-2c2d: Fashion-MNIST is missing" in skipped


def test_missing_system_data_names_the_package():
    from experiments import tasks

    reason = tasks.missing_system_data("fmnist-mlp")
    assert reason is None or "make system-deps" in reason
    assert tasks.missing_system_data("digits-mlp") is None


def test_reuse_with_further_axes_takes_the_reused_learning_rate_and_searches_rho():
    """The MSAM paper's protocol: SAM and MSAM take the baseline's tuned lr (and weight decay) and search only ρ."""
    msam_experiment = protocol.load(merged())["msam"]
    sam = msam_experiment.arm("fmnist-resnet", "sam")
    assert sam.reuse == {"workload": "fmnist-resnet", "method": "sgdm"} and list(sam.axes) == ["rho"] and sam.tuned
    values = protocol.run_values(sam, {"lr": 0.1, "rho": 0.05}, seed=0)
    assert values["lr"] == 0.1 and values["hyperparameters"] == {"momentum": 0.9, "weight_decay": 0.0005, "rho": 0.05}
    declared = msam(merged())["workloads"][0]["hessian"]
    assert sam.hessian == {name: declared[name] for name in ("count", "examples", "tolerance")}
    assert msam_experiment.arm("fmnist-resnet", "nag").hessian is None  # only the methods it names


def test_a_budget_in_gradient_evaluations_halves_the_steps_of_two_evaluation_methods():
    experiment = protocol.load(merged())["step-tuned-sgd"]
    sgd, stsgd = experiment.arm("fmnist-resnet", "sgd"), experiment.arm("fmnist-resnet", "step-tuned-sgd")
    sgd_values = protocol.run_values(sgd, sgd.points[0], seed=0)
    stsgd_values = protocol.run_values(stsgd, stsgd.points[0], seed=0)
    for key in ("steps", "eval_every", "checkpoint_every"):
        assert sgd_values[key] == 2 * stsgd_values[key] == sgd.budget[key]
    # ... and a budget in steps leaves them alone (the same method, the same workload, the other unit)
    in_steps = protocol.Arm(**{**stsgd.as_json(), "budget": {**stsgd.budget, "budget_unit": "steps"}})
    assert protocol.run_values(in_steps, stsgd.points[0], seed=0)["steps"] == sgd.budget["steps"]


def test_train_split_size_reaches_the_run():
    experiment = protocol.load(merged())["adamomentum"]
    arm = experiment.arm("rt-minilm", "adamw")
    assert protocol.run_values(arm, arm.points[0], seed=0)["train_eval_size"] == 32


def test_per_method_jobs_group_every_workload_of_a_method():
    experiment = protocol.load(merged())["overshoot"]
    assert sorted(experiment.job_groups()) == sorted(overshoot(merged())["methods"])
    workloads = [workload["name"] for workload in overshoot(merged())["workloads"]]
    assert [arm.workload for arm in experiment.job_groups()["adamo-3"]] == workloads
    assert protocol.load(merged())["msam"].job_groups() is None
    whole = protocol.load(merged("smoke.yaml"))["overshoot"]  # smoke: one job for the whole experiment
    assert list(whole.job_groups()) == ["all"] and whole.job_groups()["all"] == whole.arms


def test_speed_spec_times_every_method_of_the_workload_at_a_learning_rate():
    spec = protocol.speed_spec(protocol.load(merged())["msam"])
    assert spec["baseline"] == "sgdm" and sorted(spec["methods"]) == ["msam", "nag", "sam", "sgdm"]
    assert all(method["setting"]["lr"] > 0 for method in spec["methods"].values())
    assert protocol.speed_spec(protocol.load(merged())["leaderboard"]) is None
