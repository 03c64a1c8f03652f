"""Bad input stops before any compute with exit code 2 and one message naming field, value and what is allowed.
(The pipeline's protocol and its schema are tested in test_protocol.py.)"""

import subprocess
import sys

import pytest

from experiments import config as run_config
from experiments import train

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
    (["--schedule", "linear"], ["schedule='linear'", "constant, cosine, multistep"]),
    (["--svag", "0"], ["svag=0", "integer >= 1"]),
    (["--svag", "1.5"], ["svag=1.5", "integer >= 1"]),
    (["--warmup-steps", "-1"], ["warmup_steps=-1", "integer >= 0"]),
    (["--warmup-steps", "2000"], ["warmup_steps=2000", "from 0 to steps=1000"]),
    (["--schedule", "multistep"], ["milestones=[]", "schedule='multistep'", "at least one step"]),
    (["--milestones", "100"], ["milestones=[100]", "schedule='constant'", "belong to schedule multistep"]),
    (["--schedule", "multistep", "--milestones", "200,100"], ["milestones=[200, 100]", "strictly increasing"]),
    (["--schedule", "multistep", "--milestones", "0"], ["milestones[0]=0", "integer >= 1"]),
    (["--schedule", "multistep", "--milestones", "a"], ["milestones='a'", "a list of steps"]),
    (["--schedule", "multistep", "--milestones", "10", "--decay-factor", "0"], ["decay_factor=0.0", "(0, 1]"]),
    (["--schedule", "multistep", "--milestones", "10", "--decay-factor", "2"], ["decay_factor=2.0", "(0, 1]"]),
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


def test_missing_data_files_are_named_before_any_compute(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    arguments = ["--task", "cifar100-wrn16-4", "--data-root", str(empty), "--out", str(tmp_path / "run")]
    assert train.main(arguments) == 2
    message = capsys.readouterr().err
    assert "task='cifar100-wrn16-4'" in message and str(empty) in message and "data_root" in message
