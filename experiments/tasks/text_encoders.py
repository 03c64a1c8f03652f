"""Loading a local Hugging Face encoder + tokenizer and putting a seeded classification head on it.

Only local directories are read (``local_files_only``): nothing is downloaded at run time.
"""

from pathlib import Path

from experiments.models.text_classifier import EncoderClassifier
from experiments.tasks.seeding import initialised_with_seed


def load_tokenizer(model_directory: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_directory, local_files_only=True)


def encoder_classifier(model_directory: Path, num_classes: int, pooling: str, seed: int) -> EncoderClassifier:
    """Pretrained encoder from ``model_directory`` + a linear head initialised from ``seed``."""
    from transformers import AutoModel

    with initialised_with_seed(seed):
        encoder = AutoModel.from_pretrained(model_directory, local_files_only=True, add_pooling_layer=False)
        return EncoderClassifier(encoder, num_classes, pooling)
