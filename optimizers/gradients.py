"""Collects the parameters of a group that have a gradient, and refuses sparse gradients."""

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
