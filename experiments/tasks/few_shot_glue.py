"""Few-shot GLUE-style fine-tuning of RoBERTa-large (Marginal Value of Momentum paper, section 2(c)):
``sst2-roberta``, ``sst5-roberta``, ``snli-roberta``, ``mnli-roberta``, ``rte-roberta``, ``trec-roberta``.

Data come from user-supplied local files, one directory per dataset (LM-BFF's ``data/original/<name>`` layout,
Gao et al. 2021), each split a GLUE-style TSV with a header row or a JSONL file with the same field names:

=======  ==========  ===========================  ==============  ===================================  ============
task     directory   files (train / evaluation)   text fields     label field: values                  licence
=======  ==========  ===========================  ==============  ===================================  ============
sst2     SST-2       train / dev                  sentence        label: 0, 1                          see GLUE
sst5     sst-5       train / test                 sentence        label: 0 ... 4                       research
snli     SNLI        train / dev                  sentence1, 2    gold_label: contradiction,           CC BY-SA 4.0
                                                                  entailment, neutral
mnli     MNLI        train / dev_matched          sentence1, 2    gold_label: (as SNLI)                OANC / misc.
rte      RTE         train / dev                  sentence1, 2    label: entailment, not_entailment    see GLUE
trec     trec        train / test                 sentence        label: 0 ... 5 (coarse classes)      research
=======  ==========  ===========================  ==============  ===================================  ============

Rows whose label is not one of the listed values (SNLI's ``-``) are dropped. The run seed draws ``k_shot``
examples per class from the training file (default 16, as in LM-BFF); evaluation uses at most ``eval_size``
examples of the evaluation file, the same for every run seed. The model is the encoder in ``model_path`` (a
``save_pretrained`` directory, e.g. roberta-large) with a linear head on the ``<s>`` token, initialised from the run
seed; no prompt.
"""

import dataclasses
from pathlib import Path

import numpy as np

from experiments.tasks.datasets.locations import REPOSITORY_DATA, dataset_directory, require_paths
from experiments.tasks.datasets.text_tables import find_table, read_table
from experiments.tasks.datasets.tokenized_text import TokenizedText
from experiments.tasks import objectives
from experiments.tasks.base import Task
from experiments.tasks.options import IntOption, PathOption
from experiments.tasks.registry import Recipe
from experiments.tasks.seeding import TRAIN_SUBSET_STREAM, fixed_evaluation_indices, k_shot_indices
from experiments.tasks.text_encoders import encoder_classifier, load_tokenizer

DEFAULT_ROOT = REPOSITORY_DATA / "few_shot_glue"


@dataclasses.dataclass(frozen=True)
class TextDataset:
    """Where one dataset's files are and which fields hold its text and label."""

    directory: str
    train_file: str
    eval_file: str
    text_fields: tuple[str, ...]
    label_field: str
    label_values: tuple[str, ...]


_NLI_LABELS = ("contradiction", "entailment", "neutral")
DATASETS = {
    "sst2-roberta": TextDataset("SST-2", "train", "dev", ("sentence",), "label", ("0", "1")),
    "sst5-roberta": TextDataset("sst-5", "train", "test", ("sentence",), "label", tuple("01234")),
    "snli-roberta": TextDataset("SNLI", "train", "dev", ("sentence1", "sentence2"), "gold_label", _NLI_LABELS),
    "mnli-roberta": TextDataset(
        "MNLI", "train", "dev_matched", ("sentence1", "sentence2"), "gold_label", _NLI_LABELS
    ),
    "rte-roberta": TextDataset(
        "RTE", "train", "dev", ("sentence1", "sentence2"), "label", ("entailment", "not_entailment")
    ),
    "trec-roberta": TextDataset("trec", "train", "test", ("sentence",), "label", tuple("012345")),
}


def read_examples(path: Path, dataset: TextDataset) -> tuple[list[tuple[str, ...]], np.ndarray]:
    """Texts (one tuple of fields per example) and label indices into ``dataset.label_values``."""
    rows = read_table(path)
    if rows and not set(dataset.text_fields + (dataset.label_field,)) <= set(rows[0]):
        raise ValueError(
            f"{path}: expected fields {[*dataset.text_fields, dataset.label_field]}, found {sorted(rows[0])}"
        )
    index_of = {value: index for index, value in enumerate(dataset.label_values)}
    kept = [row for row in rows if row[dataset.label_field] in index_of]
    texts = [tuple(row[field] for field in dataset.text_fields) for row in kept]
    return texts, np.asarray([index_of[row[dataset.label_field]] for row in kept], dtype=np.int64)


def _builder(task_name: str):
    dataset = DATASETS[task_name]

    def build(
        *, seed: int, data_root: str | None, model_path: str, k_shot: int, eval_size: int | None, max_length: int
    ) -> Task:
        directory = dataset_directory(data_root, DEFAULT_ROOT / dataset.directory)
        train_path = find_table(directory, dataset.train_file)
        eval_path = find_table(directory, dataset.eval_file)
        require_paths(
            [train_path, eval_path],
            f"put {dataset.train_file}.tsv|jsonl and {dataset.eval_file}.tsv|jsonl for {dataset.directory} "
            "(e.g. LM-BFF's data/original, https://github.com/princeton-nlp/LM-BFF) in a directory and pass "
            "data_root=<that directory>",
        )
        require_paths(
            [Path(model_path) / "config.json"],
            "save the encoder and its tokenizer with save_pretrained (e.g. FacebookAI/roberta-large) to a local "
            "directory and pass model_path=<that directory>",
        )
        train_texts, train_labels = read_examples(train_path, dataset)
        eval_texts, eval_labels = read_examples(eval_path, dataset)
        train_chosen = k_shot_indices(train_labels, k_shot, seed, TRAIN_SUBSET_STREAM)
        eval_chosen = fixed_evaluation_indices(len(eval_texts), eval_size)
        tokenizer = load_tokenizer(Path(model_path))

        def tokenized(texts, labels, indices) -> TokenizedText:
            return TokenizedText(tokenizer, [texts[i] for i in indices], labels[indices].tolist(), max_length)

        return Task(
            name=task_name,
            model=encoder_classifier(Path(model_path), len(dataset.label_values), pooling="first", seed=seed),
            train_set=tokenized(train_texts, train_labels, train_chosen),
            eval_sets={"test": tokenized(eval_texts, eval_labels, eval_chosen)},
            loss=objectives.cross_entropy,
            metrics=objectives.classification_metrics,
            target_metric="accuracy",
            higher_is_better=True,
            source=(
                f"{dataset.directory} from {directory}: {k_shot} examples per class ({len(train_chosen)} in all, "
                f"run seed) from {train_path.name} ({len(train_texts)} rows); {len(eval_chosen)} of "
                f"{len(eval_texts)} rows of {eval_path.name} for evaluation (fixed for all seeds); "
                f"encoder {model_path}, max {max_length} tokens."
            ),
        )

    return build


_OPTIONS = {
    "model_path": PathOption(None, "local save_pretrained directory of the encoder, e.g. roberta-large"),
    "k_shot": IntOption(16, 1, "training examples per class, drawn by the run seed"),
    "eval_size": IntOption(1000, 1, "fixed evaluation examples; None = the whole evaluation file", none_means_all=True),
    "max_length": IntOption(128, 8, "tokens per example after truncation"),
}

RECIPES = {name: Recipe(_builder(name), _OPTIONS) for name in DATASETS}
