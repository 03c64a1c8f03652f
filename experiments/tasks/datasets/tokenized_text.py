"""Text classification examples tokenised once, at build time, into fixed-length tensors.

Every example is padded to the longest one in its set (at most ``max_length`` tokens), so torch's default collate
stacks the ``{"input_ids", "attention_mask"}`` dicts without a custom collate function.
"""

import torch
from torch.utils.data import Dataset


class TokenizedText(Dataset):
    """``({"input_ids": (L,), "attention_mask": (L,)}, label)`` items."""

    def __init__(self, tokenizer, texts: list[tuple[str, ...]], labels: list[int], max_length: int):
        first = [text[0] for text in texts]
        second = [text[1] for text in texts] if texts and len(texts[0]) == 2 else None
        encoded = tokenizer(
            first, second, padding="longest", truncation=True, max_length=max_length, return_tensors="pt"
        )
        self.input_ids = encoded["input_ids"]
        self.attention_mask = encoded["attention_mask"]
        self.labels = torch.as_tensor(labels, dtype=torch.long)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        inputs = {"input_ids": self.input_ids[index], "attention_mask": self.attention_mask[index]}
        return inputs, self.labels[index]
