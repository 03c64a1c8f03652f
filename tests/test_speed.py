"""experiments.speed: the result JSON, the baseline's speed of exactly 1, a control that a method doing twice the
work measures slower, the rotated order of the methods, and bad specs stopped before any compute."""

import json

import pytest
import torch

from experiments import speed
from experiments.config import ConfigError

FIELDS = {"task", "task_options", "batch_size", "baseline", "repeats", "steps", "warmup", "threads", "seed", "device",
          "methods"}
METHOD_FIELDS = {"optimizer", "setting", "seconds_per_step", "speed", "speed_interval"}


def spec(**changes) -> dict:
    return {"task": "digits-mlp", "options": {"train_size": 256}, "data_root": None, "batch_size": 64,
            "baseline": "SGD", "repeats": 3, "steps": 20, "warmup": 2, "seed": 0,
            "methods": {"SGD": {"optimizer": "sgd", "setting": {"lr": 0.1}},
                        "SAM": {"optimizer": "sam", "setting": {"lr": 0.1, "rho": 0.05}}}, **changes}


def test_result_has_every_field_and_two_gradient_evaluations_measure_slower():
    threads = torch.get_num_threads()
    result = speed.measure(spec())
    assert set(result) == FIELDS and torch.get_num_threads() == threads
    assert (result["repeats"], result["steps"], result["threads"], result["device"]) == (3, 20, 1, "cpu")
    for label, method in result["methods"].items():
        assert set(method) == METHOD_FIELDS
        assert len(method["seconds_per_step"]) == 3 and min(method["seconds_per_step"]) > 0
        low, high = method["speed_interval"]
        assert low <= method["speed"] <= high
    assert result["methods"]["SGD"]["speed"] == 1.0 and result["methods"]["SGD"]["speed_interval"] == [1.0, 1.0]
    assert result["methods"]["SAM"]["speed"] < 0.9  # SAM takes two forward-backward passes per step
    assert result["methods"]["SAM"]["setting"] == {"lr": 0.1, "rho": 0.05}


def test_methods_rotate_through_the_repeats_and_speed_is_the_ratio_of_medians(monkeypatch):
    order = []

    def fake_seconds(network, task, config, batches, warmup, device):
        order.append(config.optimizer)
        assert len(batches) == 2 + 20 and warmup == 2
        return {"sgd": 1.0, "sam": 2.0, "msam": 1.25}[config.optimizer]

    monkeypatch.setattr(speed, "seconds_per_step", fake_seconds)
    methods = {**spec()["methods"], "MSAM": {"optimizer": "msam", "setting": {"lr": 0.1}}}
    result = speed.measure(spec(methods=methods))
    assert order == ["sgd", "sam", "msam", "sam", "msam", "sgd", "msam", "sgd", "sam"]
    assert result["methods"]["SAM"]["speed"] == 0.5 and result["methods"]["SAM"]["speed_interval"] == [0.5, 0.5]
    assert result["methods"]["MSAM"]["speed"] == 0.8


def test_command_line_writes_the_json(tmp_path):
    out = tmp_path / "speed.json"
    assert speed.main(["--spec", json.dumps(spec(repeats=2, steps=2, warmup=0)), "--out", str(out)]) == 0
    written = json.loads(out.read_text())
    assert set(written) == FIELDS and written["methods"]["SGD"]["speed"] == 1.0


@pytest.mark.parametrize("changes, message", [
    ({"methods": {"SGD": {"optimizer": "nonsense", "setting": {"lr": 0.1}}}},
     "methods['SGD']: optimizer='nonsense' is not allowed; allowed: sgd, sgdm"),
    ({"baseline": "Adam"}, "baseline='Adam' is not allowed; allowed: SGD, SAM"),
    ({"repeats": 1}, "repeats=1 is not allowed; allowed: an integer >= 2"),
    ({"methods": {"SGD": {"optimizer": "sgd", "setting": {"lr": 0.1, "rho": 1}}}},
     "methods['SGD']: rho=1 is not a hyperparameter of optimizer 'sgd'; allowed: foreach, weight_decay"),
    ({"task": "digits"}, "task='digits' is not allowed"),
    ({"step": 5}, "step=5 is not a field of a speed spec"),
])
def test_bad_spec_is_one_line_naming_the_field_before_any_compute(changes, message, monkeypatch, tmp_path, capsys):
    def no_compute(config):
        raise AssertionError("the task was built before the spec was checked")

    monkeypatch.setattr(speed, "build_task", no_compute)
    with pytest.raises(ConfigError, match="^" + message.replace("[", r"\[").replace("(", r"\(")):
        speed.measure(spec(**changes))
    out = tmp_path / "speed.json"
    assert speed.main(["--spec", json.dumps(spec(**changes)), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: {message}") and error.count("\n") == 1 and not out.exists()
