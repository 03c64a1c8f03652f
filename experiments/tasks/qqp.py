"""``qqp-gpt2``: GPT-2 with LoRA adapters classifying Quora Question Pairs (GLUE QQP), the Overshoot paper's GPT-2 task.

Data: GLUE's QQP (Wang et al. 2019; Quora's first dataset release, under Quora's terms of service), user-supplied:
``<data_root>/train.tsv`` (363,846 pairs) and ``dev.tsv`` (40,430), tab-separated with a header row and the columns
``id, qid1, qid2, question1, question2, is_duplicate`` (0/1). GLUE's ``test.tsv`` has no labels, so evaluation uses
``dev.tsv``, as in the paper. Rows without both questions or without a 0/1 label are dropped (and counted in
``task.source``). The input text is ``question1`` + two spaces + ``question2`` (the Overshoot repository's
format), truncated to ``max_length`` tokens (default 512, the repository's) and right-padded with GPT-2's end-of-text
token.

Model (the Overshoot repository's set-up): ``AutoModelForSequenceClassification`` from ``model_path`` (a local
``save_pretrained`` copy of ``openai-community/gpt2``, which classifies from the last real token), with PEFT LoRA
adapters of rank ``lora_r`` (default 6), alpha 8 (PEFT's default) and dropout 0.1 on GPT-2's attention projection
``c_attn``; the 2-class head and the adapters are trained, the pretrained weights are frozen. GPT-2's own dropout is
kept. Sizes: ``train_size`` (default all, drawn by the run seed) and ``eval_size`` (default all, a fixed subset).
"""

from pathlib import Path

import numpy as np

from experiments.tasks import objectives
from experiments.tasks.base import Task
from experiments.tasks.datasets.locations import REPOSITORY_DATA, dataset_directory, require_paths
from experiments.tasks.datasets.text_tables import read_table
from experiments.tasks.datasets.tokenized_text import TokenizedText
from experiments.tasks.options import IntOption, PathOption
from experiments.tasks.registry import Recipe
from experiments.tasks.seeding import TRAIN_SUBSET_STREAM, fixed_evaluation_indices, subsample_indices
from experiments.tasks.text_encoders import load_tokenizer, lora_sequence_classifier

DEFAULT_DIRECTORY = REPOSITORY_DATA / "glue" / "QQP"
FIELDS = ("question1", "question2", "is_duplicate")
LABELS = ("0", "1")
SEPARATOR = "  "
LORA_ALPHA = 8.0
LORA_DROPOUT = 0.1
HOW_TO_GET = (
    "download GLUE's QQP (https://gluebenchmark.com/tasks, QQP.zip), extract it and pass data_root=<the directory "
    "holding train.tsv and dev.tsv>"
)


def read_pairs(path: Path) -> tuple[list[tuple[str]], np.ndarray, int]:
    """Joined question pairs, their 0/1 labels, and how many rows were dropped as incomplete."""
    rows = read_table(path)
    if rows and not set(FIELDS) <= set(rows[0]):
        raise ValueError(f"{path}: expected the GLUE QQP columns {list(FIELDS)}, found {sorted(rows[0])}")
    kept = [row for row in rows if row["question1"] and row["question2"] and row["is_duplicate"] in LABELS]
    texts = [(row["question1"] + SEPARATOR + row["question2"],) for row in kept]
    return texts, np.asarray([int(row["is_duplicate"]) for row in kept], dtype=np.int64), len(rows) - len(kept)


def _build(
    *, seed: int, data_root: str | None, model_path: str, train_size: int | None, eval_size: int | None,
    max_length: int, lora_r: int,
) -> Task:
    directory = dataset_directory(data_root, DEFAULT_DIRECTORY)
    require_paths([directory / "train.tsv", directory / "dev.tsv"], HOW_TO_GET)
    require_paths(
        [Path(model_path) / "config.json"],
        "save openai-community/gpt2 and its tokenizer with save_pretrained to a local directory and pass "
        "model_path=<that directory>",
    )
    train_texts, train_labels, train_dropped = read_pairs(directory / "train.tsv")
    eval_texts, eval_labels, eval_dropped = read_pairs(directory / "dev.tsv")
    train_chosen = subsample_indices(len(train_texts), train_size, seed, TRAIN_SUBSET_STREAM)
    eval_chosen = fixed_evaluation_indices(len(eval_texts), eval_size)
    tokenizer = load_tokenizer(Path(model_path))

    def tokenized(texts, labels, indices) -> TokenizedText:
        return TokenizedText(tokenizer, [texts[i] for i in indices], labels[indices].tolist(), max_length)

    model = lora_sequence_classifier(
        Path(model_path), len(LABELS), tokenizer.pad_token_id, lora_r, LORA_ALPHA, LORA_DROPOUT, seed
    )
    return Task(
        name="qqp-gpt2",
        model=model,
        train_set=tokenized(train_texts, train_labels, train_chosen),
        eval_sets={"test": tokenized(eval_texts, eval_labels, eval_chosen)},
        loss=objectives.cross_entropy,
        metrics=objectives.classification_metrics,
        target_metric="accuracy",
        higher_is_better=True,
        source=(
            f"GLUE QQP from {directory}: {len(train_chosen)} of {len(train_texts)} train.tsv pairs (run seed; "
            f"{train_dropped} incomplete rows dropped), {len(eval_chosen)} of {len(eval_texts)} dev.tsv pairs for "
            f"evaluation (fixed for all seeds; {eval_dropped} dropped); question1 + two spaces + question2, max "
            f"{max_length} tokens; model {model_path} with LoRA r={lora_r}, alpha {LORA_ALPHA:g}, dropout "
            f"{LORA_DROPOUT:g}."
        ),
    )


RECIPES = {
    "qqp-gpt2": Recipe(
        build=_build,
        options={
            "model_path": PathOption(None, "local save_pretrained directory of GPT-2, e.g. openai-community/gpt2"),
            "train_size": IntOption(None, 1, "training pairs drawn by the run seed; None = all", none_means_all=True),
            "eval_size": IntOption(None, 1, "fixed dev pairs evaluated; None = all", none_means_all=True),
            "max_length": IntOption(512, 8, "tokens per pair after truncation"),
            "lora_r": IntOption(6, 1, "rank of the LoRA adapters"),
        },
    )
}
