"""Small files in the real on-disk formats for every task that reads user-supplied or system data, so that tasks can
be built (and trained for a step) without the real datasets: IDX (Fashion-MNIST), CIFAR python pickles, ImageNet
class folders of JPEGs, GLUE-style TSV/JSONL, GLUE QQP TSVs, the Rotten Tomatoes csv.bz2, and tiny randomly
initialised RoBERTa / GPT-2 models with offline-built tokenizers.

``fake_data(task_name, directory)`` writes what one task needs under ``directory`` (files already there are reused,
so many tasks can share one directory) and returns ``(data_root, task options)`` to build it with; tasks whose data
is bundled with a package get ``(None, {})``.
"""

import bz2
import gzip
import json
import pickle
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from experiments import tasks
from experiments.tasks.few_shot_glue import DATASETS
from experiments.tasks.install_data import FILE_NAME
from experiments.tasks.rotten_tomatoes import minilm_directory

BUNDLED_TASKS = {"digits-mlp", "diabetes-mlp", "mnist5k-mlp", "mnist5k-vae"}
END_OF_TEXT = "<|endoftext|>"
QQP_COLUMNS = ("id", "qid1", "qid2", "question1", "question2", "is_duplicate")


def fake_data(task_name: str, directory: Path) -> tuple[str | None, dict]:
    """Write the files task ``task_name`` reads under ``directory``; return ``(data_root, extra task options)``."""
    if task_name not in tasks.available():
        raise ValueError(f"task: unknown value {task_name!r}; allowed: {tasks.available()}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if task_name in BUNDLED_TASKS:
        return None, {}
    if task_name.startswith("fmnist-"):
        return _once(directory / "fashion-mnist", write_fashion_mnist), {}
    if task_name.startswith("cifar10-"):
        return _once(directory / "cifar-10-batches-py", lambda path: write_cifar(path, 10)), {}
    if task_name.startswith("cifar100-"):
        return _once(directory / "cifar-100-python", lambda path: write_cifar(path, 100)), {}
    if task_name == "imagenet-resnet50":
        return _once(directory / "imagenet", write_image_folders), {}
    if task_name in DATASETS:
        model = _once(directory / "tiny-roberta", write_tiny_roberta)
        return _once(directory / "glue" / task_name, lambda path: write_glue_dataset(path, task_name)), {
            "model_path": model
        }
    if task_name == "qqp-gpt2":
        return _once(directory / "QQP", write_qqp), {"model_path": _once(directory / "tiny-gpt2", write_tiny_gpt2)}
    if task_name == "rt-minilm":
        return _once(directory / "rotten_tomatoes", write_rotten_tomatoes), {}
    raise NotImplementedError(f"no fake data for task {task_name!r}: add a writer to tests/full_scale_data.py")


def _once(path: Path, write) -> str:
    """``write(path)`` unless ``path`` already exists (written for another task); the path as a string."""
    if not path.exists():
        path.mkdir(parents=True)
        write(path)
    return str(path)


# ---- images ----------------------------------------------------------------------------------------------------


def write_idx(path: Path, array: np.ndarray) -> None:
    """IDX as published: magic 0x0000 0x08 <ndim>, big-endian uint32 dims, uint8 values; gzipped."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    with gzip.open(path, "wb") as stream:
        stream.write(header + array.astype(np.uint8).tobytes())


def write_fashion_mnist(directory: Path) -> None:
    """60 training and 20 test images, labels cycling through 0-9."""
    rng = np.random.default_rng(0)
    for prefix, count in [("train", 60), ("t10k", 20)]:
        write_idx(directory / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (count, 28, 28)))
        write_idx(directory / f"{prefix}-labels-idx1-ubyte.gz", np.arange(count) % 10)


def write_cifar(directory: Path, num_classes: int) -> None:
    """Batches of 6 images: CIFAR-10's five training batches + test batch, CIFAR-100's train + test files."""
    rng = np.random.default_rng(num_classes)
    label_key = b"labels" if num_classes == 10 else b"fine_labels"
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"] if num_classes == 10 else ["train", "test"]
    for name in names:
        count = 6
        batch = {b"data": rng.integers(0, 256, (count, 3072), dtype=np.uint8),
                 label_key: [int(v) for v in rng.integers(0, num_classes, count)]}
        with open(directory / name, "wb") as stream:
            pickle.dump(batch, stream, protocol=2)


def write_image_folders(directory: Path) -> None:
    """Two classes, 3 training and 2 val JPEGs each, of random sizes between 40 and 90 pixels."""
    rng = np.random.default_rng(1)
    for split, per_class in [("train", 3), ("val", 2)]:
        for class_name in ["n01440764", "n01443537"]:
            (directory / split / class_name).mkdir(parents=True)
            for index in range(per_class):
                size = (int(rng.integers(40, 90)), int(rng.integers(40, 90)))
                pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
                Image.fromarray(pixels).save(directory / split / class_name / f"{class_name}_{index}.JPEG")


# ---- text ------------------------------------------------------------------------------------------------------

WORDS = ["good", "bad", "movie", "a", "the", "plot", "\"quoted", "is", "not", "how", "what", "why", "do", "I"]


def write_text_table(path: Path, rows: list[dict[str, str]]) -> None:
    """GLUE-style TSV (header row, no quoting) or JSON Lines, by the suffix."""
    if path.suffix == ".tsv":
        fields = list(rows[0])
        lines = ["\t".join(fields)] + ["\t".join(row[f] for f in fields) for row in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def write_glue_dataset(directory: Path, task: str) -> None:
    """16 training examples per class (the default ``k_shot``) and 5 evaluation examples per class; SST-2 and SNLI
    as TSVs, the others as JSONL; SNLI carries an unlabelled ``-`` row that must be dropped."""
    rng = np.random.default_rng(sorted(DATASETS).index(task))
    spec = DATASETS[task]
    suffix = ".tsv" if task in ("sst2-roberta", "snli-roberta") else ".jsonl"
    for stem, per_class in [(spec.train_file, 16), (spec.eval_file, 5)]:
        rows = []
        for index in range(per_class * len(spec.label_values)):
            row = {field: " ".join(rng.choice(WORDS, 6)) for field in spec.text_fields}
            row[spec.label_field] = spec.label_values[index % len(spec.label_values)]
            rows.append(row)
        if task == "snli-roberta":
            rows.append({**rows[0], spec.label_field: "-"})
        write_text_table(directory / f"{stem}{suffix}", rows)


def write_qqp(directory: Path) -> None:
    """GLUE QQP: train.tsv (12 complete pairs + one row cut short, without question2 and label, to be dropped) and
    dev.tsv (6 pairs), columns id, qid1, qid2, question1, question2, is_duplicate."""
    rng = np.random.default_rng(2)
    for name, count in [("train.tsv", 12), ("dev.tsv", 6)]:
        lines = ["\t".join(QQP_COLUMNS)]
        for index in range(count):
            questions = [" ".join(rng.choice(WORDS, int(rng.integers(3, 9)))) + "?" for _ in range(2)]
            lines.append("\t".join([str(index), str(2 * index + 1), str(2 * index + 2), *questions, str(index % 2)]))
        if name == "train.tsv":
            lines.append("\t".join([str(count), "0", "0", "what is a cut short row?"]))
        (directory / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_rotten_tomatoes(directory: Path) -> None:
    """60 snippets, a third of them plot summaries (which the task drops), bz2-compressed CSV."""
    rng = np.random.default_rng(3)
    lines = ["category,text,movie_name,has_plot_and_reviews"]
    for index in range(60):
        category = ["fresh", "rotten", "plot"][index % 3]
        lines.append(f'{category},"A {" ".join(rng.choice(["fine", "dull", "film"], 5))}, really",movie{index},True')
    (directory / FILE_NAME).write_bytes(bz2.compress(("\n".join(lines) + "\n").encode()))


# ---- tiny pretrained models --------------------------------------------------------------------------------------


def write_tiny_roberta(directory: Path) -> None:
    """A randomly initialised 2-layer RoBERTa with a copy of the MiniLM WordPiece tokenizer (offline)."""
    from transformers import AutoTokenizer, RobertaConfig, RobertaModel

    tokenizer = AutoTokenizer.from_pretrained(minilm_directory(), local_files_only=True)
    config = RobertaConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=2,
                           num_attention_heads=2, intermediate_size=32, max_position_embeddings=160,
                           pad_token_id=tokenizer.pad_token_id)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        RobertaModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)


def write_tiny_gpt2(directory: Path) -> None:
    """A randomly initialised 2-layer GPT-2 language model saved as ``openai-community/gpt2`` is (``GPT2LMHeadModel``),
    with a byte-level BPE tokenizer trained here on the fake questions' words: like GPT-2's, it has only the
    end-of-text special token and no padding token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=[END_OF_TEXT], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator([" ".join(WORDS) + "?"] * 4, trainer)
    tokenizer = GPT2TokenizerFast(tokenizer_object=bpe, bos_token=END_OF_TEXT, eos_token=END_OF_TEXT,
                                  unk_token=END_OF_TEXT)
    end = tokenizer.convert_tokens_to_ids(END_OF_TEXT)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=128, n_embd=16, n_layer=2, n_head=2,
                        bos_token_id=end, eos_token_id=end)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        GPT2LMHeadModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
