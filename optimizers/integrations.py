"""Base weights in other libraries' training loops: Hugging Face ``Trainer``, Lightning, ``torch.optim.swa_utils``.

Overshoot and MSAM keep shifted weights in the parameters; evaluation, saved models and weight averages must use the
base weights (``optimizer.base_weights()``). These pieces make that automatic. ``transformers`` and ``lightning`` are
imported only when ``BaseWeightsTrainer`` or ``BaseWeightsCallback`` is first looked up, so ``import optimizers``
never needs them.

Checkpoints keep both: the model file / ``state_dict`` holds the base weights (what a user loads), and the training
weights travel beside them (``training_weights.pt`` in a Trainer checkpoint folder,
``checkpoint["training_state_dict"]`` in a Lightning checkpoint) and are put back into the parameters when training
resumes, so a resumed run continues exactly.
"""

import contextlib
import os

import torch

TRAINING_WEIGHTS_FILE = "training_weights.pt"


def base_weights(optimizer) -> contextlib.AbstractContextManager:
    """``optimizer.base_weights()``, looking through wrappers that hold the optimizer as ``.optimizer``
    (accelerate's ``AcceleratedOptimizer``, Lightning's ``LightningOptimizer``); a no-op context for ``None`` and for
    optimizers without the protocol."""
    while optimizer is not None and not hasattr(optimizer, "base_weights"):
        optimizer = getattr(optimizer, "optimizer", None)
    return contextlib.nullcontext() if optimizer is None else optimizer.base_weights()


def update_averaged_model(averaged: torch.optim.swa_utils.AveragedModel, model: torch.nn.Module, optimizer) -> None:
    """``averaged.update_parameters(model)`` with the base weights in ``model`` (SWA or EMA, whatever ``averaged``
    was built with); the training weights are back in ``model`` afterwards."""
    with base_weights(optimizer):
        averaged.update_parameters(model)


def _training_state(module: torch.nn.Module) -> dict:
    """The module's parameters as detached clones, by name."""
    return {name: param.detach().clone() for name, param in module.named_parameters()}


def _load_training_state(module: torch.nn.Module, state: dict) -> None:
    """Copy ``state`` (from ``_training_state``) into the module's parameters."""
    params = dict(module.named_parameters())
    with torch.no_grad():
        for name, value in state.items():
            params[name].copy_(value)


def _make_trainer_class():
    """``BaseWeightsTrainer``, built on first use so that ``transformers`` is imported only then."""
    import transformers

    class BaseWeightsTrainer(transformers.Trainer):
        """A ``transformers.Trainer`` whose ``evaluate()``, ``predict()`` and ``save_model()`` see the base weights.

        Drop-in: ``BaseWeightsTrainer(model, args, ..., optimizers=(optimizer, scheduler))``. With an optimizer that
        stores no shift (or none yet) it is the plain Trainer. A checkpoint folder's model file holds the base
        weights; ``training_weights.pt`` beside it holds the training weights, which
        ``train(resume_from_checkpoint=...)`` loads back so that resumed training continues exactly.
        (``load_best_model_at_end`` loads a model file, i.e. base weights, into the parameters: use it only when
        training is over.)
        """

        def evaluate(self, *args, **kwargs):
            with base_weights(self.optimizer):
                return super().evaluate(*args, **kwargs)

        def predict(self, *args, **kwargs):
            with base_weights(self.optimizer):
                return super().predict(*args, **kwargs)

        def save_model(self, output_dir: str | None = None, _internal_call: bool = False) -> None:
            with base_weights(self.optimizer):
                super().save_model(output_dir, _internal_call)

        def _save_checkpoint(self, model, trial) -> None:
            super()._save_checkpoint(model, trial)
            if self.args.should_save:
                folder = os.path.join(self._get_output_dir(trial=trial),
                                      f"{transformers.trainer_utils.PREFIX_CHECKPOINT_DIR}-{self.state.global_step}")
                torch.save(_training_state(self.model), os.path.join(folder, TRAINING_WEIGHTS_FILE))

        def _load_from_checkpoint(self, resume_from_checkpoint: str, model=None) -> None:
            super()._load_from_checkpoint(resume_from_checkpoint, model)
            path = os.path.join(resume_from_checkpoint, TRAINING_WEIGHTS_FILE)
            if os.path.isfile(path):
                _load_training_state(self.model if model is None else model, torch.load(path, weights_only=True))

    return BaseWeightsTrainer


def _make_callback_class():
    """``BaseWeightsCallback``, built on first use so that ``lightning`` is imported only then."""
    import lightning.pytorch

    class BaseWeightsCallback(lightning.pytorch.Callback):
        """A Lightning callback: validation and test run at the base weights of the (first) optimizer, and every
        checkpoint's ``state_dict`` holds the base weights, with the training weights in
        ``checkpoint["training_state_dict"]``, which this callback puts back on ``trainer.fit(ckpt_path=...)`` so
        that resumed training continues exactly. ``LightningModule.load_from_checkpoint`` loads the base weights.
        """

        def __init__(self):
            self._inside = contextlib.ExitStack()

        def _enter(self, trainer) -> None:
            self._inside.close()  # one open block at a time
            if trainer.optimizers:
                self._inside.enter_context(base_weights(trainer.optimizers[0]))

        def _leave(self, *_) -> None:
            self._inside.close()

        def on_validation_start(self, trainer, pl_module) -> None:
            self._enter(trainer)

        def on_test_start(self, trainer, pl_module) -> None:
            self._enter(trainer)

        on_validation_end = on_test_end = _leave

        def on_save_checkpoint(self, trainer, pl_module, checkpoint) -> None:
            # the state_dict was built from the parameters, which hold the training weights outside validation
            # (Lightning runs checkpoint callbacks after this one, so after on_validation_end)
            if not trainer.optimizers:
                return
            checkpoint["training_state_dict"] = checkpoint["state_dict"]
            with base_weights(trainer.optimizers[0]):
                checkpoint["state_dict"] = {name: value.detach().clone()
                                            for name, value in pl_module.state_dict().items()}

        def on_load_checkpoint(self, trainer, pl_module, checkpoint) -> None:
            if "training_state_dict" in checkpoint:  # called after Lightning loaded checkpoint["state_dict"]
                pl_module.load_state_dict(checkpoint["training_state_dict"])

    return BaseWeightsCallback


_LAZY = {"BaseWeightsTrainer": _make_trainer_class, "BaseWeightsCallback": _make_callback_class}


def __getattr__(name: str):
    """Build ``BaseWeightsTrainer`` / ``BaseWeightsCallback`` on first access (module ``__getattr__``, PEP 562)."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = globals()[name] = _LAZY[name]()
    return value
