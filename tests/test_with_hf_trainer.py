"""``BaseWeightsTrainer`` with a real ``transformers.Trainer`` on a tiny float64 model, for every optimizer that
stores shifted weights: evaluate() and save_model() see the base weights (the plain Trainer sees the shifted ones),
training matches a hand-written loop, and resuming from a checkpoint continues exactly."""

import os

import pytest
import torch

import optimizers
from optimizers import integrations
from optimizer_problems import SENSIBLE, single_threaded_torch  # noqa: F401 (autouse fixture)

transformers = pytest.importorskip("transformers")
safetensors_torch = pytest.importorskip("safetensors.torch")

SHIFTED = [name for name in optimizers.available() if optimizers.info(name).stores_shifted_weights]
STEPS, SAMPLES = 6, 16


class TinyRegression(torch.nn.Module):
    """A 4 → 3 → 1 tanh network returning {"loss": mean squared error, "logits": prediction}."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.hidden, self.out = torch.nn.Linear(4, 3).double(), torch.nn.Linear(3, 1).double()

    def forward(self, x, y):
        prediction = self.out(torch.tanh(self.hidden(x))).squeeze(-1)
        return {"loss": torch.nn.functional.mse_loss(prediction, y), "logits": prediction}


def dataset():
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(SAMPLES, 4, generator=generator, dtype=torch.float64)
    y = torch.sin(x.sum(1))
    return [{"x": x[i], "y": y[i]} for i in range(SAMPLES)], x, y


def build(name, model):
    optimizer = optimizers.create(name, model.parameters(), **SENSIBLE[name])
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lambda k: 1.0 / (1 + 0.2 * k))


def trainer(cls, name, tmp_path, model=None, **arguments):
    model = TinyRegression() if model is None else model
    data, _, _ = dataset()
    arguments = dict(save_strategy="no") | arguments
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path), max_steps=STEPS, per_device_train_batch_size=SAMPLES,
        per_device_eval_batch_size=SAMPLES, max_grad_norm=0.0, report_to=[], use_cpu=True, label_names=["y"],
        logging_strategy="no", disable_tqdm=True, seed=0, **arguments)
    return cls(model=model, args=args, train_dataset=data, eval_dataset=data, optimizers=build(name, model))


def loss_at(model, x, y) -> float:
    with torch.no_grad():
        return float(model(x, y)["loss"])


def weights(model) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


@pytest.mark.parametrize("name", SHIFTED)
def test_evaluate_and_save_model_use_base_weights(name, tmp_path):
    run = trainer(integrations.BaseWeightsTrainer, name, tmp_path)
    run.train()
    _, x, y = dataset()
    optimizer = run.optimizer
    with integrations.base_weights(optimizer):
        base_loss, base = loss_at(run.model, x, y), weights(run.model).clone()
    shifted_loss, shifted = loss_at(run.model, x, y), weights(run.model).clone()
    assert abs(base_loss - shifted_loss) > 1e-6 * abs(base_loss)
    assert run.evaluate()["eval_loss"] == pytest.approx(base_loss, rel=1e-12)
    assert torch.equal(weights(run.model), shifted)  # training weights back after evaluate
    assert transformers.Trainer.evaluate(run)["eval_loss"] == pytest.approx(shifted_loss, rel=1e-12)  # plain: wrong
    run.save_model(str(tmp_path / "saved"))
    saved = safetensors_torch.load_file(os.path.join(tmp_path, "saved", "model.safetensors"))
    assert torch.equal(torch.cat([saved[k].reshape(-1) for k, _ in run.model.named_parameters()]), base)
    assert not torch.equal(base, shifted)


@pytest.mark.parametrize("name", SHIFTED)
def test_trainer_steps_match_a_hand_written_loop(name, tmp_path):
    # evaluation every 2 steps runs at the base weights and must leave the training weights as they were
    run = trainer(integrations.BaseWeightsTrainer, name, tmp_path, eval_strategy="steps", eval_steps=2)
    run.train()
    model = TinyRegression()
    optimizer, scheduler = build(name, model)
    _, x, y = dataset()
    for _ in range(STEPS):
        model(x, y)["loss"].backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
    # one batch of the whole set in the Trainer's shuffled order: the mean differs by summation rounding only
    torch.testing.assert_close(weights(run.model), weights(model), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", SHIFTED)
def test_resuming_from_a_checkpoint_continues_exactly(name, tmp_path):
    straight = trainer(integrations.BaseWeightsTrainer, name, tmp_path / "straight")
    straight.train()
    first = trainer(integrations.BaseWeightsTrainer, name, tmp_path / "run", save_strategy="steps", save_steps=3)
    first.train()
    checkpoint = tmp_path / "run" / "checkpoint-3"
    model_file = safetensors_torch.load_file(str(checkpoint / "model.safetensors"))
    training_file = torch.load(checkpoint / integrations.TRAINING_WEIGHTS_FILE, weights_only=True)
    assert any(not torch.equal(model_file[k], training_file[k]) for k in training_file)  # base ≠ training weights
    resumed = trainer(integrations.BaseWeightsTrainer, name, tmp_path / "run")
    resumed.train(resume_from_checkpoint=str(checkpoint))
    torch.testing.assert_close(weights(resumed.model), weights(straight.model), rtol=1e-12, atol=1e-14)
    os.remove(checkpoint / integrations.TRAINING_WEIGHTS_FILE)  # negative control: resume from the base weights
    from_base = trainer(integrations.BaseWeightsTrainer, name, tmp_path / "run")
    from_base.train(resume_from_checkpoint=str(checkpoint))
    assert (weights(from_base.model) - weights(straight.model)).abs().max() > 1e-6
