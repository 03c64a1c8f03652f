"""Bad input stops before any compute with exit code 2 and one message naming field, value and what is allowed;
the pipeline's configs satisfy their schema, and the schema rejects malformed ones."""

import copy
import subprocess
import sys

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

import optimizers
from experiments import config as run_config
from experiments import tasks, train

SCHEMA = "workflow/schemas/config.schema.yaml"
PIPELINE_CONFIGS = ["config/config.yaml", "config/smoke.yaml", "config/full.yaml"]

BAD_INPUTS = [  # (arguments, words the message must contain)
    (["--task", "nope"], ["task='nope'", "allowed:", "digits-mlp"]),
    (["--optimizer", "nope"], ["optimizer='nope'", "allowed:", "overshoot-sgd"]),
    (["--lr", "-1"], ["lr=-1", "allowed: a finite number >= 0"]),
    (["--lr", "nan"], ["lr=nan"]),
    (["--momentum", "1.5"], ["momentum=1.5", "[0, 1)"]),
    (["--optimizer", "adam", "--betas", "0.9,2"], ["betas[1]=2", "[0, 1)"]),
    (["--rho", "0.1"], ["rho=0.1", "not a hyperparameter of optimizer 'sgdm'", "allowed: foreach, momentum"]),
    (["--momentum"], ["momentum", "no value"]),
    (["--seed", "-1"], ["seed=-1", "integer >= 0"]),
    (["--steps", "0"], ["steps=0", "integer >= 1"]),
    (["--steps", "1.5"], ["steps=1.5", "integer >= 1"]),
    (["--batch-size", "abc"], ["batch_size='abc'", "integer >= 1"]),
    (["--batch-size", "5000"], ["batch_size=5000", "at most the 1437 training examples"]),
    (["--eval-every", "0"], ["eval_every=0"]),
    (["--checkpoint-every", "-5"], ["checkpoint_every=-5"]),
    (["--schedule", "linear"], ["schedule='linear'", "constant, cosine"]),
    (["--dtype", "float16"], ["dtype='float16'", "float32, float64"]),
    (["--device", "tpu"], ["device='tpu'", "auto, cpu, cuda"]),
    (["--target", "high"], ["target='high'", "a finite number"]),
    (["--target-split", "val"], ["target_split='val'", "allowed: test"]),
    (["--data-root", "/no/such/dir"], ["data_root='/no/such/dir'", "not a directory"]),
    (["--task-option", "width=0"], ["option 'width' must be >= 1, got 0"]),
    (["--task-option", "depth=3"], ["unknown option(s) ['depth']", "allowed options"]),
    (["--task-option", "width"], ["task_option='width'", "NAME=VALUE"]),
    (["--config", "/no/such.yaml"], ["config='/no/such.yaml'", "no such file"]),
]


@pytest.mark.parametrize("arguments, words", BAD_INPUTS, ids=[" ".join(a) for a, _ in BAD_INPUTS])
def test_bad_input_exits_2_with_a_message_naming_field_value_and_allowed(arguments, words, tmp_path, capsys):
    assert train.main([*arguments, "--out", str(tmp_path / "run")]) == 2
    message = capsys.readouterr().err
    assert message.startswith("error: ") and message.count("\n") == 1
    for word in words:
        assert word in message
    assert not (tmp_path / "run").exists()  # nothing written, nothing computed


@pytest.mark.parametrize("text, words", [
    ("lr: [1", ["is not valid YAML"]),
    ("- 1\n- 2", ["must hold a mapping"]),
    ("learning_rate: 0.1", ["unknown field 'learning_rate'", "allowed: task"]),
    ("hyperparameters: 0.9", ["hyperparameters=0.9", "mapping"]),
    ("lr: fast", ["lr='fast'"]),
])
def test_malformed_config_file_is_named(text, words, tmp_path, capsys):
    path = tmp_path / "run.yaml"
    path.write_text(text)
    assert train.main(["--config", str(path), "--out", str(tmp_path / "run")]) == 2
    message = capsys.readouterr().err
    for word in words:
        assert word in message


def test_config_file_and_flags_merge_with_flags_winning(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("optimizer: adam\nlr: 1e-3\nhyperparameters: {betas: [0.8, 0.9]}\nsteps: 7\n")
    config, arguments = run_config.resolve(["--config", str(path), "--steps", "9", "--eps", "1e-6",
                                            "--out", "somewhere"])
    assert (config.optimizer, config.lr, config.steps, arguments.out) == ("adam", 0.001, 9, "somewhere")
    assert config.hyperparameters == {"betas": [0.8, 0.9], "eps": 1e-6}


def test_user_error_prints_no_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "experiments.train", "--lr", "-1", "--out", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr == "error: lr=-1 is not allowed; allowed: a finite number >= 0\n"


@pytest.mark.parametrize("path", PIPELINE_CONFIGS)
def test_pipeline_configs_satisfy_schema_and_registries(path):
    config = yaml.safe_load(open(path))
    validate(config, SCHEMA)
    for workload in config["sweep"]["tasks"]:
        assert workload["task"] in tasks.available()
        for optimizer, space in workload["optimizers"].items():
            assert optimizer in optimizers.available()
            assert set(space.get("hyperparameters", {})) <= set(optimizers.info(optimizer).defaults)


def break_config(config, change):
    broken = copy.deepcopy(config)
    change(broken)
    return broken


@pytest.mark.parametrize("change", [
    lambda c: c["sweep"].pop("seeds"),
    lambda c: c["sweep"].update(seeds=[-1]),
    lambda c: c["sweep"].update(colour="blue"),
    lambda c: c["sweep"].update(tasks={"digits-mlp": c["sweep"]["tasks"][0]}),
    lambda c: c["sweep"]["tasks"][0].update(steps="1e3"),
    lambda c: c["sweep"]["tasks"][0].update(schedule="linear"),
    lambda c: c["sweep"]["tasks"][0].pop("batch_size"),
    lambda c: c["sweep"]["tasks"][0]["optimizers"]["sgdm"].update(learning_rates=[]),
    lambda c: c["sweep"]["tasks"][0]["optimizers"]["sgdm"].update(learning_rates=["1e-3"]),
    lambda c: c["sweep"]["tasks"][0]["optimizers"]["sgdm"].update(lrs=[0.1]),
], ids=["no seeds", "negative seed", "unknown key", "tasks as a mapping", "steps as text", "unknown schedule", "no batch size",
        "empty lr grid", "lr as text", "unknown search-space key"])
def test_schema_rejects_malformed_pipeline_config(change):
    config = yaml.safe_load(open("config/config.yaml"))
    with pytest.raises(WorkflowError):
        validate(break_config(config, change), SCHEMA)


def test_missing_data_files_are_named_before_any_compute(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    arguments = ["--task", "cifar100-wrn16-4", "--data-root", str(empty), "--out", str(tmp_path / "run")]
    assert train.main(arguments) == 2
    message = capsys.readouterr().err
    assert "task='cifar100-wrn16-4'" in message and str(empty) in message and "data_root" in message
