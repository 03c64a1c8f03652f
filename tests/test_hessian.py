"""experiments.hessian: the top Hessian eigenvalues from Hessian-vector products equal those of the explicit
Hessian; the mistakes that look alike (the Gauss-Newton matrix, BatchNorm in train mode, unweighted batch means, the
shifted weights of MSAM) give other values; and a finished run is read at its base weights."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset

import optimizers
from experiments import hessian, train
from experiments import run_directory as files
from experiments.config import ConfigError, build_task, validate

COUNT = 3


def flat_function(model, loss_of_outputs, buffers=None):
    """(θ_flat ↦ loss, θ_flat at the model's weights) for torch.autograd.functional.hessian."""
    names = [name for name, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    fixed = dict(model.named_buffers()) if buffers is None else buffers

    def function(flat):
        pieces = flat.split([shape.numel() for shape in shapes])
        parameters = {name: piece.view(shape) for name, piece, shape in zip(names, pieces, shapes)}
        return loss_of_outputs(lambda inputs: torch.func.functional_call(model, (parameters, fixed), (inputs,)))

    return function, torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def top_of(matrix: torch.Tensor, count: int = COUNT) -> np.ndarray:
    return np.sort(np.linalg.eigvalsh(matrix.numpy()))[::-1][:count]


def explicit_top(model, loss_of_outputs, buffers=None) -> np.ndarray:
    function, point = flat_function(model, loss_of_outputs, buffers)
    return top_of(torch.autograd.functional.hessian(function, point))


@pytest.fixture
def mlp_problem():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3)).double()
    inputs, targets = torch.randn(8, 4, dtype=torch.float64), torch.randint(0, 3, (8,))
    batches = [(inputs[:5], targets[:5]), (inputs[5:], targets[5:])]  # unequal sizes: weighting matters
    return model, inputs, targets, batches


@pytest.fixture
def batch_norm_problem():
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.Tanh(),
                                torch.nn.Flatten(), torch.nn.Linear(18, 3)).double()
    norm = model[1]
    with torch.no_grad():  # statistics and affine parameters away from their initial 0 / 1
        norm.running_mean.copy_(torch.randn(2))
        norm.running_var.copy_(torch.rand(2) + 0.5)
        norm.weight.copy_(torch.rand(2) + 0.5)
        norm.bias.copy_(torch.randn(2))
    inputs, targets = torch.randn(6, 1, 5, 5, dtype=torch.float64), torch.randint(0, 3, (6,))
    return model, inputs, targets, [(inputs, targets)]


def test_mlp_eigenvalues_equal_the_explicit_hessians(mlp_problem):
    model, inputs, targets, batches = mlp_problem
    values = hessian.top_eigenvalues(model, F.cross_entropy, batches, COUNT, tolerance=0, seed=0)
    expected = explicit_top(model, lambda forward: F.cross_entropy(forward(inputs), targets))
    np.testing.assert_allclose(values, expected, rtol=0, atol=1e-8)
    assert values == sorted(values, reverse=True) and model.training  # descending; train mode given back


def test_gauss_newton_and_unweighted_batch_means_give_other_values(mlp_problem):
    model, inputs, targets, batches = mlp_problem
    values = np.array(hessian.top_eigenvalues(model, F.cross_entropy, batches, COUNT, tolerance=0, seed=0))
    function, point = flat_function(model, lambda forward: forward(inputs))
    jacobian = torch.autograd.functional.jacobian(function, point)  # (examples, classes, parameters)
    probabilities = F.softmax(function(point), dim=1)
    output_hessians = torch.diag_embed(probabilities) - probabilities[:, :, None] * probabilities[:, None, :]
    gauss_newton = torch.einsum("ncp,ncd,ndq->pq", jacobian, output_hessians, jacobian) / len(targets)
    unweighted = explicit_top(model, lambda forward: sum(F.cross_entropy(forward(x), y) for x, y in batches) / 2)
    for wrong in (top_of(gauss_newton), unweighted):
        assert np.abs(values - wrong).max() > 1e-3


def test_batch_norm_net_uses_running_statistics_not_batch_statistics(batch_norm_problem):
    model, inputs, targets, batches = batch_norm_problem
    before = [buffer.clone() for buffer in model.buffers()]
    values = np.array(hessian.top_eigenvalues(model, F.cross_entropy, batches, COUNT, tolerance=0, seed=0))
    expected = explicit_top(model.eval(), lambda forward: F.cross_entropy(forward(inputs), targets))
    np.testing.assert_allclose(values, expected, rtol=0, atol=1e-8)
    fresh = {name: buffer.clone() for name, buffer in model.named_buffers()}  # train mode writes the statistics
    in_train_mode = explicit_top(model.train(), lambda forward: F.cross_entropy(forward(inputs), targets), fresh)
    assert np.abs(values - in_train_mode).max() > 1e-3
    assert all(torch.equal(a, b) for a, b in zip(before, model.buffers()))  # buffers were held fixed


def test_two_calls_are_bitwise_equal_and_count_is_checked(batch_norm_problem):
    model, _, _, batches = batch_norm_problem
    runs = [hessian.top_eigenvalues(model, F.cross_entropy, batches, COUNT, tolerance=1e-6, seed=3)
            for _ in range(2)]
    assert runs[0] == runs[1]
    with pytest.raises(ValueError, match="count=81 is not allowed"):
        hessian.top_eigenvalues(model, F.cross_entropy, batches, 81, tolerance=1e-6, seed=3)


# ---- a finished run of the harness -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def msam_run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("msam_run")
    config = validate({"task": "digits-mlp", "task_options": {"width": 8, "train_size": 64}, "optimizer": "msam",
                       "lr": 0.1, "hyperparameters": {"momentum": 0.9, "rho": 0.3}, "steps": 4, "batch_size": 16,
                       "eval_every": 4, "checkpoint_every": 4, "dtype": "float64", "device": "cpu"})
    train.run(config, str(directory))
    return directory, config


def test_final_model_eigenvalues_are_at_the_base_weights_not_the_shifted_ones(msam_run):
    directory, config = msam_run
    result = hessian.final_model_eigenvalues(str(directory), config, 2, 32, tolerance=1e-10)
    assert set(result) == {"eigenvalues", "examples", "count", "matrix_vector_products", "seconds"}
    assert (result["examples"], result["count"]) == (32, 2) and result["matrix_vector_products"] > 2

    checkpoint = files.load_checkpoint(str(directory / files.CHECKPOINT))
    task = build_task(config)
    model = task.model.double()
    model.load_state_dict(checkpoint["training_model"])  # the shifted weights the gradient was taken at
    optimizer = optimizers.create("msam", model.parameters(), lr=config.lr, **config.hyperparameters)
    optimizer.load_state_dict(checkpoint["optimizer"])
    batches = list(DataLoader(Subset(task.train_set, range(32)), batch_size=config.batch_size))
    with optimizer.base_weights():
        at_base = hessian.top_eigenvalues(model, task.loss, batches, 2, tolerance=1e-10, seed=0)
    at_shifted = hessian.top_eigenvalues(model, task.loss, batches, 2, tolerance=1e-10, seed=0)
    np.testing.assert_allclose(result["eigenvalues"], at_base, rtol=1e-9)
    assert np.abs(np.array(at_shifted) - at_base).max() > 1e-3 * abs(at_base[0])


def test_command_line_writes_the_json_and_bad_input_is_exit_code_2(msam_run, tmp_path, capsys):
    directory, config = msam_run
    out = tmp_path / "eigenvalues.json"
    arguments = ["--run", str(directory), "--count", "2", "--examples", "32", "--tolerance", "1e-10"]
    assert hessian.main([*arguments, "--out", str(out)]) == 0
    written = json.loads(out.read_text())
    expected = hessian.final_model_eigenvalues(str(directory), config, 2, 32, tolerance=1e-10)
    assert written["eigenvalues"] == expected["eigenvalues"]
    assert hessian.main([*arguments[:-4], "--examples", "65", "--out", str(out)]) == 2
    assert "examples=65 is not allowed" in capsys.readouterr().err


def test_missing_or_unfinished_checkpoint_is_a_clear_error(msam_run, tmp_path):
    directory, config = msam_run
    with pytest.raises(FileNotFoundError, match="checkpoint.pt: no such file; the run has no final checkpoint"):
        hessian.final_model_eigenvalues(str(tmp_path), config, 2, 32)
    with pytest.raises(ConfigError, match="steps=5 differs from 4"):
        hessian.final_model_eigenvalues(str(directory), validate({**train.as_json(config), "steps": 5}), 2, 32)
    checkpoint = files.load_checkpoint(str(directory / files.CHECKPOINT))
    checkpoint["progress"]["step"] = 2  # as a run that diverged after its checkpoint at step 2 would leave it
    files.save_checkpoint(str(tmp_path / files.CHECKPOINT), checkpoint)
    with pytest.raises(ConfigError, match="holds step 2 of 4: not a final checkpoint"):
        hessian.final_model_eigenvalues(str(tmp_path), config, 2, 32)
