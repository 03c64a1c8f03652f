"""Loading local Hugging Face models + tokenizers with seeded classification heads: an encoder with a linear head
(fine-tuned end to end, or above its token embeddings), or a decoder's sequence-classification model with LoRA adapters (Hu et al. 2022, via PEFT).

Only local directories are read (``local_files_only``): nothing is downloaded at run time.
"""

from pathlib import Path

from experiments.models.text_classifier import EncoderClassifier, SequenceClassifier
from experiments.tasks.seeding import initialised_with_seed

FROZEN_CHOICES = ("none", "token-embeddings")


def load_tokenizer(model_directory: Path):
    """The directory's tokenizer; one without a padding token (GPT-2) pads with its end-of-text token."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_directory, local_files_only=True)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def encoder_classifier(model_directory: Path, num_classes: int, pooling: str, seed: int,
                       frozen: str = "none") -> EncoderClassifier:
    """Pretrained encoder from ``model_directory`` + a linear head initialised from ``seed``. ``frozen``: "none"
    (every weight trained) or "token-embeddings" (the input token-embedding matrix gets ``requires_grad=False``:
    no gradient, so no optimizer updates or decays it; position and type embeddings and the layers train)."""
    from transformers import AutoModel

    with initialised_with_seed(seed):
        encoder = AutoModel.from_pretrained(model_directory, local_files_only=True, add_pooling_layer=False)
        if frozen == "token-embeddings":
            encoder.get_input_embeddings().requires_grad_(False)
        return EncoderClassifier(encoder, num_classes, pooling)


def lora_sequence_classifier(
    model_directory: Path, num_classes: int, pad_token_id: int, rank: int, alpha: float, dropout: float, seed: int
) -> SequenceClassifier:
    """``AutoModelForSequenceClassification`` from ``model_directory`` (its new head initialised from ``seed``) with
    rank-``rank`` LoRA adapters, W x + (alpha / rank) B A x with A random (from ``seed``) and B = 0, on PEFT's default
    target modules for the architecture (GPT-2: the fused query/key/value projection ``c_attn``). Trainable: the
    adapters and the head; every pretrained weight is frozen (``requires_grad=False``, so it gets no gradient).
    ``pad_token_id`` tells the model which token pads, so that it classifies from the last real token."""
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import AutoModelForSequenceClassification

    with initialised_with_seed(seed):
        model = AutoModelForSequenceClassification.from_pretrained(
            model_directory, local_files_only=True, num_labels=num_classes, pad_token_id=pad_token_id
        )
        adapters = LoraConfig(task_type=TaskType.SEQ_CLS, r=rank, lora_alpha=alpha, lora_dropout=dropout)
        return SequenceClassifier(get_peft_model(model, adapters))
