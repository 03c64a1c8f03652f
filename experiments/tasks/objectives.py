"""Losses and metrics shared by tasks: classification (cross-entropy, accuracy) and regression (mean squared error).

``metrics`` functions return sums over the batch; the harness divides by the number of examples.
"""

import torch
import torch.nn.functional as F


def cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, target)


def classification_metrics(logits: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
    return {
        "loss": F.cross_entropy(logits, target, reduction="sum"),
        "accuracy": (logits.argmax(dim=-1) == target).sum().float(),
    }


def mean_squared_error(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(prediction, target)


def regression_metrics(prediction: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
    # Per-example squared error summed over output dimensions, so the harness's mean is the MSE loss above.
    return {"loss": F.mse_loss(prediction, target, reduction="none").flatten(1).mean(1).sum()}
