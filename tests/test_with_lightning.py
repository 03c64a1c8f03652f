"""``BaseWeightsCallback`` with a real Lightning ``Trainer`` on a tiny float64 model, for every optimizer that stores
shifted weights: validate() and test() see the base weights (without the callback, the shifted ones), checkpoints
hold the base weights and resume exactly, and training matches a hand-written loop."""

import pytest
import torch

import optimizers
from optimizer_problems import SENSIBLE, single_threaded_torch  # noqa: F401 (autouse fixture)

pl = pytest.importorskip("lightning.pytorch")
from optimizers.integrations import BaseWeightsCallback  # noqa: E402 (needs lightning)

SHIFTED = [name for name in optimizers.available() if optimizers.info(name).stores_shifted_weights]
STEPS, SAMPLES = 6, 16


def data():
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(SAMPLES, 4, generator=generator, dtype=torch.float64)
    return x, torch.sin(x.sum(1))


def loader():
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*data()), batch_size=SAMPLES)


class TinyRegression(pl.LightningModule):
    """A 4 → 3 → 1 tanh network, mean squared error, trained by registry optimizer ``name`` with a LambdaLR."""

    def __init__(self, name: str):
        super().__init__()
        torch.manual_seed(0)
        self.name = name
        self.hidden, self.out = torch.nn.Linear(4, 3).double(), torch.nn.Linear(3, 1).double()

    def loss(self, x, y):
        return torch.nn.functional.mse_loss(self.out(torch.tanh(self.hidden(x))).squeeze(-1), y)

    def training_step(self, batch, index):
        return self.loss(*batch)

    def validation_step(self, batch, index):
        self.log("loss", self.loss(*batch))

    test_step = validation_step

    def configure_optimizers(self):
        optimizer, scheduler = build(self.name, self.parameters())
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


def build(name, params):
    optimizer = optimizers.create(name, params, **SENSIBLE[name])
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lambda k: 1.0 / (1 + 0.2 * k))


def trainer(callbacks, tmp_path, steps=STEPS, checkpointing=False):
    return pl.Trainer(max_steps=steps, accelerator="cpu", devices=1, enable_progress_bar=False, logger=False,
                      enable_model_summary=False, num_sanity_val_steps=0, callbacks=callbacks,
                      default_root_dir=str(tmp_path), enable_checkpointing=checkpointing)


def weights(module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in module.parameters()])


def hand_written(name, steps=STEPS) -> torch.Tensor:
    model = TinyRegression(name)
    optimizer, scheduler = build(name, model.parameters())
    x, y = data()
    for _ in range(steps):
        model.loss(x, y).backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
    return weights(model)


@pytest.mark.parametrize("name", SHIFTED)
def test_validate_test_and_checkpoint_use_base_weights(name, tmp_path):
    model = TinyRegression(name)
    run = trainer([BaseWeightsCallback()], tmp_path)
    run.fit(model, loader())
    torch.testing.assert_close(weights(model), hand_written(name), rtol=1e-12, atol=1e-14)
    optimizer, (x, y) = run.optimizers[0], data()
    with torch.no_grad():
        with optimizer.base_weights():
            base_loss, base = float(model.loss(x, y)), weights(model).clone()
        shifted_loss, shifted = float(model.loss(x, y)), weights(model).clone()
    assert abs(base_loss - shifted_loss) > 1e-6 * abs(base_loss)
    assert run.validate(model, loader(), verbose=False)[0]["loss"] == pytest.approx(base_loss, rel=1e-12)
    assert run.test(model, loader(), verbose=False)[0]["loss"] == pytest.approx(base_loss, rel=1e-12)
    assert torch.equal(weights(model), shifted)  # training weights back afterwards
    plain = trainer([], tmp_path)
    plain.fit(TinyRegression(name), loader())  # negative control: without the callback, the shifted loss
    assert plain.validate(plain.lightning_module, loader(), verbose=False)[0]["loss"] == pytest.approx(
        shifted_loss, rel=1e-12)
    run.save_checkpoint(tmp_path / "last.ckpt")
    checkpoint = torch.load(tmp_path / "last.ckpt", weights_only=False)
    assert torch.equal(torch.cat([checkpoint["state_dict"][k].reshape(-1) for k, _ in model.named_parameters()]), base)
    loaded = TinyRegression.load_from_checkpoint(tmp_path / "last.ckpt", name=name)
    assert torch.equal(weights(loaded), base)


@pytest.mark.parametrize("name", SHIFTED)
def test_resuming_from_a_checkpoint_continues_exactly(name, tmp_path):
    first = trainer([BaseWeightsCallback()], tmp_path, steps=3)
    first.fit(TinyRegression(name), loader())
    first.save_checkpoint(tmp_path / "step3.ckpt")
    resumed = trainer([BaseWeightsCallback()], tmp_path)
    resumed.fit(TinyRegression(name), loader(), ckpt_path=tmp_path / "step3.ckpt")
    torch.testing.assert_close(weights(resumed.lightning_module), hand_written(name), rtol=1e-12, atol=1e-14)
    from_base = trainer([], tmp_path)  # negative control: a plain resume starts from the base weights
    from_base.fit(TinyRegression(name), loader(), ckpt_path=tmp_path / "step3.ckpt")
    assert (weights(from_base.lightning_module) - hand_written(name)).abs().max() > 1e-6


@pytest.mark.parametrize("name", SHIFTED)
def test_validation_and_model_checkpoint_during_fit(name, tmp_path):
    model = TinyRegression(name)
    run = trainer([BaseWeightsCallback(), pl.callbacks.ModelCheckpoint(dirpath=tmp_path, save_last=True)], tmp_path,
                  checkpointing=True)
    run.fit(model, loader(), val_dataloaders=loader())  # validates (at the base weights) after every step
    torch.testing.assert_close(weights(model), hand_written(name), rtol=1e-12, atol=1e-14)
    with run.optimizers[0].base_weights():
        base = {k: v.clone() for k, v in model.state_dict().items()}
    checkpoint = torch.load(tmp_path / "last.ckpt", weights_only=False)
    assert all(torch.equal(checkpoint["state_dict"][k], base[k]) for k in base)
    assert all(torch.equal(checkpoint["training_state_dict"][k], v) for k, v in model.state_dict().items())
