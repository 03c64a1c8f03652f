"""The base-weights protocol shared by every optimizer in the package.

Some methods (Overshoot, MSAM) keep *shifted* weights in the parameters, because that is where the
next gradient must be taken. The weights a user evaluates, checkpoints and reports are the *base*
weights. ``optimizer.base_weights()`` puts them into the parameters for the duration of a ``with``
block and restores the training weights bit for bit on exit; for methods that store no shift it
does nothing.
"""

import contextlib
import warnings
import weakref
from collections.abc import Iterator

import torch


class BaseWeightsMixin:
    """Adds ``base_weights()`` to a ``torch.optim.Optimizer``.

    Subclasses that store shifted weights set ``stores_shifted_weights = True`` and implement
    ``_move_to_base()``, which overwrites the parameters with the base weights computed from the
    optimizer state.
    """

    stores_shifted_weights: bool = False
    param_groups: list[dict]

    def _move_to_base(self) -> None:
        raise NotImplementedError

    @contextlib.contextmanager
    def base_weights(self) -> Iterator[None]:
        """Context manager: parameters hold the base weights inside, the training weights after.

        A nested block is a no-op: the parameters already hold the base weights.
        """
        if not self.stores_shifted_weights or getattr(self, "_in_base_weights", False):
            yield
            return
        params = [p for group in self.param_groups for p in group["params"]]
        training = [p.detach().clone() for p in params]
        self._in_base_weights = True
        try:
            with torch.no_grad():
                self._move_to_base()
            yield
        finally:
            with torch.no_grad():
                for param, saved in zip(params, training):
                    param.copy_(saved)
            self._in_base_weights = False

    def _begin_step(self, closure, *, recomputes_gradients: bool = False,
                    max_grad_norm: float | None = None) -> torch.Tensor | None:
        """Start of ``step``: refuse to run inside ``base_weights()``, then evaluate the optional
        closure (with gradients enabled) and return its loss.

        A method whose ``step(closure)`` computes its own gradients (``recomputes_gradients``) also:

        * refuses a ``GradScaler``: ``scaler.step(optimizer, closure)`` would unscale only the gradients
          already in ``.grad``, not those of the closure's evaluations (the method must set
          ``_step_supports_amp_scaling = True`` so that the scaler calls ``step`` and this check sees it);
        * warns once (``RuntimeWarning``) if a non-zero ``.grad`` is not the tensor, or not at the version,
          that the previous step left in ``_gradients_after_step`` (at the first step of this object, a copy
          included: any non-zero ``.grad``), e.g. ``clip_grad_norm_`` after ``backward()``: the closure's
          evaluation replaces it;
        * clips the closure's gradients by their global L2 norm over all parameters when
          ``max_grad_norm`` is a number: ``torch.nn.utils.clip_grad_norm_(parameters, max_grad_norm)``.
        """
        name = type(self).__name__
        if getattr(self, "_in_base_weights", False):
            raise RuntimeError(
                f"{name}.step() called inside base_weights(): the parameters hold "
                "the base weights, not the training weights; leave the with-block first"
            )
        if recomputes_gradients and hasattr(self, "found_inf"):
            del self.grad_scale, self.found_inf  # set by GradScaler.step, which cannot remove them after an error
            raise RuntimeError(
                f"{name}.step(closure) does not support GradScaler: it evaluates the closure itself, and the "
                "scaler unscales and checks for inf/NaN only the gradients in .grad before the step, so the "
                "step would use gradients multiplied by the loss scale. Use bfloat16 autocast inside the "
                "closure (torch.autocast(device_type, dtype=torch.bfloat16)), which needs no GradScaler"
            )
        if recomputes_gradients and not getattr(self, "_warned_gradients_replaced", False):
            params = [p for group in self.param_groups for p in group["params"]]
            after_step = getattr(self, "_gradients_after_step", {})  # param -> (weakref to .grad, its version)

            def replaced(param):
                """A non-zero .grad that the previous step did not leave (all zeros: nothing is lost)."""
                grad, (left, version) = param.grad, after_step.get(param, (lambda: None, None))
                return grad is not None and (left() is not grad or version != grad._version) and bool(grad.any())

            if any(replaced(p) for p in params):
                self._warned_gradients_replaced = True
                warnings.warn(
                    f"{name}.step(closure) recomputes the gradients by calling the closure, so .grad as it is "
                    "now (set or changed since the previous step, e.g. by backward() and clip_grad_norm_ before "
                    f"step) is not used. To clip, pass max_grad_norm to {name}, or clip inside the closure after "
                    "backward()", RuntimeWarning, stacklevel=5)  # past the no_grad and step-hook wrappers of step
        if closure is None:
            return None
        return self._evaluate(closure, max_grad_norm)

    def _evaluate(self, closure, max_grad_norm: float | None = None):
        """One evaluation of the closure, with gradients enabled, then ``clip_grad_norm_`` over every parameter when
        ``max_grad_norm`` is a number; returns the closure's loss."""
        with torch.enable_grad():
            loss = closure()
        if max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_([p for group in self.param_groups for p in group["params"]], max_grad_norm)
        return loss

    def _remember_gradients(self) -> None:
        """End of a closure method's step: which ``.grad`` it left, and at which version, for ``_begin_step``'s
        check that nobody changed them before the next ``step(closure)``."""
        self._gradients_after_step = {p: (weakref.ref(p.grad), p.grad._version)
                                      for group in self.param_groups for p in group["params"] if p.grad is not None}
