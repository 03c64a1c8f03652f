"""Tensor-list helpers shared by the optimizers: the parameters that have a gradient (sparse
gradients refused), and θ ← θ + α·t over lists on the multi-tensor or the reference path."""

import torch


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
    if foreach:
        torch._foreach_add_(params, tensors, alpha=alpha)
    else:
        for param, tensor in zip(params, tensors):
            param.add_(tensor, alpha=alpha)
