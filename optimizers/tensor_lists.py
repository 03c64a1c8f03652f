"""Tensor-list helpers shared by the optimizers.

- ``parameters_with_gradients``: a group's parameters that have a gradient (sparse gradients refused, complex ones
  unless the method allows them);
- ``by_value``: parallel lists split by a per-parameter scalar, for the multi-tensor paths. ``torch._foreach_*`` ops
  take one scalar per call; where a scalar is kept per parameter (Adam's step count, the shift a parameter was last
  moved by), parameters that share it are updated together: in a normal run one call;
- ``add_scaled``: θ ← θ + α·t over lists, multi-tensor or per tensor; ``uses_foreach``: which of the two;
- ``global_norm`` and ``NORM_FLOOR``: the L2 norm over every tensor of every group, in float64, and the floor added
  to it before dividing (SAM, MSAM, MSAM-AdamW);
- ``add_product_``, ``lerp_``, ``addcmul_``, ``addcdiv_``: the in-place ops of the per-tensor loops, written so that
  ``torch.compile(optimizer.step)`` compiles one graph for a whole lr schedule.

Under ``torch.compile`` (torch 2.13) a float that changes between calls (the lr, a stored shift) stays symbolic
while it only enters products, but becomes a constant of the graph, with one new graph per value, where it is passed
as ``alpha=``, ``value=`` or a lerp weight, or hashed (``by_value``): the helpers take the product forms there, which
the compiler fuses into the same single kernel, and the multi-tensor paths give way to the per-tensor loop
(``uses_foreach``). The compiler also returns a float *computed* from a symbolic float as the value it had when the
graph was traced (wrong from the second lr on), so the optimizers write derived numbers into their state only from
functions under ``torch.compiler.disable``, which run eagerly.
"""

from collections.abc import Hashable, Iterator, Sequence

import torch
from torch.optim.optimizer import _default_to_fused_or_foreach, _get_value

NORM_FLOOR = 1e-12
"""Added to a global norm before dividing by it, as in the SAM and MSAM papers' code, so a zero vector gives no
shift."""


def parameters_with_gradients(
    group: dict, optimizer_name: str, *, complex_supported: bool = False
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Return ``(params, grads)`` for the parameters of ``group`` whose ``.grad`` is not None.

    Complex parameters are refused unless ``complex_supported``: an optimizer whose update is linear
    in the gradient and uses only Euclidean norms (heavy ball, the momentum shift, SAM's ascent) is
    the same on z and on ``torch.view_as_real(z)``; one that squares or multiplies gradients
    elementwise (Adam's moments, Step-Tuned SGD's curvature) would compute g² where |g|² is meant.
    """
    params, grads = [], []
    for param in group["params"]:
        if param.grad is None:
            continue
        if param.grad.is_sparse:
            raise RuntimeError(
                f"{optimizer_name} does not support sparse gradients (parameter of shape "
                f"{tuple(param.shape)}); use a dense embedding or torch.optim.SparseAdam"
            )
        if param.is_complex() and not complex_supported:
            raise ValueError(
                f"{optimizer_name} does not support complex parameters (got {param.dtype} of shape "
                f"{tuple(param.shape)}): its update squares the gradient elementwise; optimize "
                "torch.view_as_real(parameter) instead, or use a method that allows complex parameters"
            )
        params.append(param)
        grads.append(param.grad)
    return params, grads


def add_scaled(params, tensors, alpha: float, foreach: bool) -> None:
    """In place: θ_i ← θ_i + α t_i for every pair (nothing when α = 0 or the lists are empty)."""
    if not params or alpha == 0:
        return
    if foreach and not torch.compiler.is_compiling():
        torch._foreach_add_(params, tensors, alpha=alpha)
    else:
        for param, tensor in zip(params, tensors):
            add_product_(param, tensor, alpha)


def add_product_(tensor: torch.Tensor, other: torch.Tensor, alpha) -> torch.Tensor:
    """In place: t ← t + α·o (one kernel; under torch.compile as a product, see the module docstring)."""
    if torch.compiler.is_compiling():
        return tensor.add_(other * alpha)
    return tensor.add_(other, alpha=alpha)


def lerp_(average: torch.Tensor, target: torch.Tensor, weight) -> torch.Tensor:
    """In place: a ← a + w (t − a), an exponential moving average with weight w on the new value."""
    if torch.compiler.is_compiling():
        return average.add_((target - average) * weight)
    return average.lerp_(target, weight)


def addcmul_(tensor: torch.Tensor, first: torch.Tensor, second: torch.Tensor, value) -> torch.Tensor:
    """In place: t ← t + v·a·b."""
    if torch.compiler.is_compiling():
        return tensor.add_(first * second * value)
    return tensor.addcmul_(first, second, value=value)


def addcdiv_(tensor: torch.Tensor, numerator: torch.Tensor, denominator: torch.Tensor, value) -> torch.Tensor:
    """In place: t ← t + v·a/b."""
    if torch.compiler.is_compiling():
        return tensor.add_(numerator / denominator * value)
    return tensor.addcdiv_(numerator, denominator, value=value)


def global_norm(tensors: Sequence[torch.Tensor]) -> float | torch.Tensor:
    """√(Σ_i ‖t_i‖²) over the tensors, accumulated in float64; 0 for an empty list. A float, or under torch.compile
    a 0-dim tensor (no ``.item()`` graph break)."""
    if not tensors:
        return 0.0
    return _get_value(torch.linalg.vector_norm(torch.stack([n.double() for n in torch._foreach_norm(list(tensors))])))


def by_value(keys: Sequence[Hashable], *lists: Sequence) -> Iterator[tuple]:
    """Yield ``(key, sublist_1, sublist_2, ...)`` for each distinct key, in first-seen order; under torch.compile one
    item at a time, in order (hashing a symbolic number would make it a constant of the graph)."""
    if torch.compiler.is_compiling():
        for index, key in enumerate(keys):
            yield (key, *[[items[index]] for items in lists])
        return
    groups: dict = {}
    for index, key in enumerate(keys):
        groups.setdefault(key, []).append(index)
    for key, indices in groups.items():
        yield (key, *[[items[i] for i in indices] for items in lists])


def uses_foreach(group: dict, params: list[torch.Tensor]) -> bool:
    """The group's ``foreach``; where it is None, torch's own choice: the multi-tensor path when every parameter is
    on CUDA (or another accelerator torch supports), the per-tensor loop on CPU. Under torch.compile always the loop,
    which the compiler fuses (see the module docstring)."""
    if torch.compiler.is_compiling():
        return False
    if group["foreach"] is not None:
        return bool(group["foreach"])
    return _default_to_fused_or_foreach(params, differentiable=False)[1]
