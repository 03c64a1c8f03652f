"""Tensor-list helpers shared by the optimizers: the parameters that have a gradient (sparse
gradients refused), and θ ← θ + α·t over lists on the multi-tensor or the reference path."""

import torch


def parameters_with_gradients(
    group: dict, optimizer_name: str
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Return ``(params, grads)`` for the parameters of ``group`` whose ``.grad`` is not None."""
    params, grads = [], []
    for param in group["params"]:
        if param.grad is None:
            continue
        if param.grad.is_sparse:
            raise RuntimeError(
                f"{optimizer_name} does not support sparse gradients (parameter of shape "
                f"{tuple(param.shape)}); use a dense embedding or torch.optim.SparseAdam"
            )
        params.append(param)
        grads.append(param.grad)
    return params, grads


def add_scaled(params, tensors, alpha: float, foreach: bool) -> None:
    """In place: θ_i ← θ_i + α t_i for every pair (nothing when α = 0 or the lists are empty)."""
    if not params or alpha == 0:
        return
    if foreach:
        torch._foreach_add_(params, tensors, alpha=alpha)
    else:
        for param, tensor in zip(params, tensors):
            param.add_(tensor, alpha=alpha)
