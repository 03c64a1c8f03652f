"""A pretrained transformer encoder with a linear classification head, fine-tuned end to end.

Pooling: ``"mean"`` averages the token states over the attention mask (how all-MiniLM-L6-v2 builds its sentence
embedding); ``"first"`` takes the first token's state (RoBERTa's ``<s>``). The head is a single ``nn.Linear``, so
it is initialised by whoever constructs the module (the task does so under its seed).
"""

import torch
from torch import nn


class EncoderClassifier(nn.Module):
    """``forward({"input_ids", "attention_mask"}) -> logits``."""

    def __init__(self, encoder: nn.Module, num_classes: int, pooling: str):
        super().__init__()
        if pooling not in ("mean", "first"):
            raise ValueError(f"pooling must be 'mean' or 'first', got {pooling!r}")
        self.encoder = encoder
        self.pooling = pooling
        self.head = nn.Linear(encoder.config.hidden_size, num_classes)

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        states = self.encoder(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]).last_hidden_state
        if self.pooling == "first":
            return self.head(states[:, 0])
        mask = inputs["attention_mask"].unsqueeze(-1).to(states.dtype)
        return self.head((states * mask).sum(1) / mask.sum(1).clamp(min=1.0))


class SequenceClassifier(nn.Module):
    """``forward({"input_ids", "attention_mask"}) -> logits`` of a Hugging Face ``...ForSequenceClassification``
    model (or a PEFT model wrapping one), so that tasks see the same interface as ``EncoderClassifier``."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]).logits
