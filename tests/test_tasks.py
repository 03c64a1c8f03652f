"""Every registered task: built from data generated here in the real on-disk formats (IDX, CIFAR pickles,
ImageFolder JPEGs, TSV/JSONL, the Rotten Tomatoes csv.bz2) or from bundled data; one training step; seeding;
and the errors for bad names, options and paths. Real installed data is exercised where present."""

import bz2
import gzip
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from experiments import tasks
from experiments.tasks.datasets.idx import read_idx
from experiments.tasks.datasets.locations import REPOSITORY_DATA
from experiments.tasks.few_shot_glue import DATASETS
from experiments.tasks.install_data import FILE_NAME
from experiments.tasks.rotten_tomatoes import minilm_directory

FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
ROTTEN_TOMATOES = REPOSITORY_DATA / "rotten_tomatoes" / FILE_NAME
HEAVY_TASKS = {"cifar100-wrn28-10"}


# ---- generated data in the published formats -------------------------------------------------------------------


def write_idx(path: Path, array: np.ndarray) -> None:
    """IDX as published: magic 0x0000 0x08 <ndim>, big-endian uint32 dims, uint8 values; gzipped."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    with gzip.open(path, "wb") as stream:
        stream.write(header + array.astype(np.uint8).tobytes())


def write_fashion_mnist(directory: Path, rng: np.random.Generator) -> None:
    directory.mkdir()
    for prefix, count in [("train", 60), ("t10k", 20)]:
        write_idx(directory / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (count, 28, 28)))
        write_idx(directory / f"{prefix}-labels-idx1-ubyte.gz", np.arange(count) % 10)


def write_cifar(directory: Path, num_classes: int, rng: np.random.Generator) -> None:
    directory.mkdir()
    label_key = b"labels" if num_classes == 10 else b"fine_labels"
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"] if num_classes == 10 else ["train", "test"]
    for name in names:
        count = 6
        batch = {b"data": rng.integers(0, 256, (count, 3072), dtype=np.uint8),
                 label_key: [int(v) for v in rng.integers(0, num_classes, count)]}
        with open(directory / name, "wb") as stream:
            pickle.dump(batch, stream, protocol=2)


def write_image_folders(directory: Path, rng: np.random.Generator) -> None:
    for split, per_class in [("train", 3), ("val", 2)]:
        for class_name in ["n01440764", "n01443537"]:
            (directory / split / class_name).mkdir(parents=True)
            for index in range(per_class):
                size = (int(rng.integers(40, 90)), int(rng.integers(40, 90)))
                pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
                Image.fromarray(pixels).save(directory / split / class_name / f"{class_name}_{index}.JPEG")


def write_text_table(path: Path, rows: list[dict[str, str]]) -> None:
    if path.suffix == ".tsv":
        fields = list(rows[0])
        lines = ["\t".join(fields)] + ["\t".join(row[f] for f in fields) for row in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def write_glue_dataset(directory: Path, task: str, rng: np.random.Generator) -> None:
    spec = DATASETS[task]
    directory.mkdir(parents=True)
    words = ["good", "bad", "movie", "a", "the", "plot", "\"quoted", "is", "not"]
    # SST-2 and SNLI as GLUE TSVs, the others as JSONL; SNLI carries an unlabelled "-" row that must be dropped.
    suffix = ".tsv" if task in ("sst2-roberta", "snli-roberta") else ".jsonl"
    for stem in (spec.train_file, spec.eval_file):
        rows = []
        for index in range(5 * len(spec.label_values)):
            row = {field: " ".join(rng.choice(words, 6)) for field in spec.text_fields}
            row[spec.label_field] = spec.label_values[index % len(spec.label_values)]
            rows.append(row)
        if task == "snli-roberta":
            rows.append({**rows[0], spec.label_field: "-"})
        write_text_table(directory / f"{stem}{suffix}", rows)


def write_tiny_roberta(directory: Path) -> None:
    """A randomly initialised 2-layer RoBERTa with a copy of the MiniLM WordPiece tokenizer (offline)."""
    from transformers import AutoTokenizer, RobertaConfig, RobertaModel

    tokenizer = AutoTokenizer.from_pretrained(minilm_directory(), local_files_only=True)
    config = RobertaConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=2,
                           num_attention_heads=2, intermediate_size=32, max_position_embeddings=160,
                           pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    RobertaModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)


def write_rotten_tomatoes(directory: Path, rng: np.random.Generator) -> None:
    directory.mkdir()
    lines = ["category,text,movie_name,has_plot_and_reviews"]
    for index in range(60):
        category = ["fresh", "rotten", "plot"][index % 3]
        lines.append(f'{category},"A {" ".join(rng.choice(["fine", "dull", "film"], 5))}, really",movie{index},True')
    (directory / FILE_NAME).write_bytes(bz2.compress(("\n".join(lines) + "\n").encode()))


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("generated_data")
    rng = np.random.default_rng(0)
    write_fashion_mnist(root / "fashion-mnist", rng)
    write_cifar(root / "cifar-10-batches-py", 10, rng)
    write_cifar(root / "cifar-100-python", 100, rng)
    write_image_folders(root / "imagenet", rng)
    for task in DATASETS:
        write_glue_dataset(root / "glue" / task, task, rng)
    write_tiny_roberta(root / "tiny-roberta")
    write_rotten_tomatoes(root / "rotten_tomatoes", rng)
    return root


def small_build_arguments(name: str, root: Path) -> dict:
    """``data_root`` and small options for building ``name`` from generated (or bundled) data."""
    if name.startswith("fmnist-"):
        return {"data_root": str(root / "fashion-mnist"), "train_size": 30, "eval_size": 10}
    if name.startswith("cifar10-"):
        return {"data_root": str(root / "cifar-10-batches-py")}
    if name.startswith("cifar100-"):
        return {"data_root": str(root / "cifar-100-python")}
    if name == "imagenet-resnet50":
        return {"data_root": str(root / "imagenet"), "crop_size": 32}
    if name in DATASETS:
        return {"data_root": str(root / "glue" / name), "model_path": str(root / "tiny-roberta"), "k_shot": 2}
    if name == "rt-minilm":
        return {"data_root": str(root / "rotten_tomatoes"), "k_shot": 2, "eval_size": 5, "max_length": 16}
    if name in ("digits-mlp", "mnist5k-mlp"):
        return {"train_size": 100}
    return {}


def build(name: str, seed: int, root: Path) -> tasks.Task:
    return tasks.create(name, seed=seed, **small_build_arguments(name, root))


def first_batch(dataset, size: int = 4):
    return next(iter(DataLoader(dataset, batch_size=size, shuffle=False)))


def dataset_fingerprint(dataset) -> list:
    """The whole (small) dataset as nested lists, to compare subsamples exactly."""
    batch = first_batch(dataset, size=len(dataset))
    inputs, targets = batch
    if isinstance(inputs, dict):
        inputs = inputs["input_ids"]
    return [inputs.tolist(), targets.tolist()]


def heavy_if(name: str):
    return pytest.param(name, marks=pytest.mark.slow) if name in HEAVY_TASKS else name


ALL_TASKS = [heavy_if(name) for name in tasks.available()]


# ---- the battery every task goes through -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_TASKS)
def test_task_trains_one_step_with_finite_loss(name, generated):
    task = build(name, seed=1, root=generated)
    assert task.name == name and task.source and task.eval_sets
    inputs, targets = first_batch(task.train_set, size=2)
    if task.augment is not None:
        augmented = task.augment(inputs, torch.Generator().manual_seed(0))
        assert augmented.shape == inputs.shape
        inputs = augmented
    task.model.train()
    loss = task.loss(task.model(inputs), targets)
    loss.backward()
    assert torch.isfinite(loss)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in task.model.parameters())
    task.model.eval()
    eval_inputs, eval_targets = first_batch(next(iter(task.eval_sets.values())), size=2)
    with torch.no_grad():
        metrics = task.metrics(task.model(eval_inputs), eval_targets)
    assert "loss" in metrics and task.target_metric in metrics
    assert all(torch.isfinite(value) for value in metrics.values())


@pytest.mark.parametrize("name", ALL_TASKS)
def test_same_seed_same_weights_and_data_different_seed_different_weights(name, generated):
    first, again, other = (build(name, seed, generated) for seed in (3, 3, 4))
    first_state, again_state, other_state = (t.model.state_dict() for t in (first, again, other))
    assert all(torch.equal(first_state[key], again_state[key]) for key in first_state)
    assert any(not torch.equal(first_state[key], other_state[key]) for key in first_state)
    assert dataset_fingerprint(first.train_set) == dataset_fingerprint(again.train_set)


@pytest.mark.parametrize(
    "name, options",
    [("digits-mlp", {}), ("fmnist-2c2d", {}), ("cifar10-resnet18", {"train_size": 10}), ("rte-roberta", {}),
     ("rt-minilm", {})],
)
def test_different_seed_draws_a_different_training_subset(name, options, generated):
    arguments = {**small_build_arguments(name, generated), **options}
    subsets = [dataset_fingerprint(tasks.create(name, seed=seed, **arguments).train_set) for seed in (3, 4)]
    assert subsets[0] != subsets[1]


def test_cifar_augmentation_is_reproducible_from_the_generator(generated):
    task = build("cifar10-resnet18", seed=1, root=generated)
    images, _ = first_batch(task.train_set)
    runs = [task.augment(images, torch.Generator().manual_seed(s)) for s in (7, 7, 8)]
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])


def test_imagenet_crops_depend_on_seed_and_epoch_only(generated):
    task = build("imagenet-resnet50", seed=1, root=generated)
    image, label = task.train_set[2]
    assert image.shape == (3, 32, 32) and label.item() == 0
    assert torch.equal(task.train_set[2][0], image)
    task.train_set.set_epoch(1)
    assert not torch.equal(task.train_set[2][0], image)
    assert task.eval_sets["val"][0][0].shape == (3, 32, 32)


# ---- loaders read the published formats --------------------------------------------------------------------------


def test_idx_reader_round_trips_generated_file(generated):
    labels = read_idx(generated / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz")
    images = read_idx(generated / "fashion-mnist" / "t10k-images-idx3-ubyte.gz")
    assert labels.tolist() == [i % 10 for i in range(20)] and images.shape == (20, 28, 28)


def test_idx_reader_rejects_other_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "bad")


def test_cifar_loader_reads_all_batches_and_labels(generated):
    task = build("cifar100-resnet18", seed=1, root=generated)
    with open(generated / "cifar-100-python" / "train", "rb") as stream:
        raw = pickle.load(stream, encoding="bytes")
    assert len(task.train_set) == 6
    assert task.train_set.labels.tolist() == raw[b"fine_labels"]
    assert len(build("cifar10-resnet18", seed=1, root=generated).train_set) == 30  # five batches of six


def test_few_shot_glue_takes_k_per_class_and_drops_unlabelled_rows(generated):
    task = build("snli-roberta", seed=1, root=generated)
    assert sorted(task.train_set.labels.tolist()) == [0, 0, 1, 1, 2, 2]
    assert len(task.eval_sets["test"]) == 15  # the "-" row is gone
    inputs, _ = task.train_set[0]
    assert set(inputs) == {"input_ids", "attention_mask"}


def test_rotten_tomatoes_drops_plot_summaries(generated):
    task = build("rt-minilm", seed=1, root=generated)
    assert sorted(task.train_set.labels.tolist()) == [0, 0, 1, 1]


# ---- real installed data -------------------------------------------------------------------------------------------


@pytest.mark.system
@pytest.mark.skipif(not FASHION_MNIST.exists(), reason=f"{FASHION_MNIST} absent: run `make system-deps`")
@pytest.mark.parametrize("name", ["fmnist-mlp", "fmnist-2c2d", "fmnist-resnet", "fmnist-vae"])
def test_fashion_mnist_tasks_on_installed_data(name):
    task = tasks.create(name, seed=1, train_size=64, eval_size=32)
    assert len(task.train_set) == 64 and len(task.eval_sets["test"]) == 32
    inputs, targets = first_batch(task.train_set, 8)
    assert inputs.shape == (8, 1, 28, 28) and 0.0 <= inputs.min() and inputs.max() <= 1.0
    assert torch.isfinite(task.loss(task.model(inputs), targets))
    assert "60000 training images" in task.source.replace("64 of ", "")


@pytest.mark.skipif(
    not ROTTEN_TOMATOES.exists(), reason=f"{ROTTEN_TOMATOES} absent: run `python -m experiments.tasks.install_data`"
)
def test_rotten_tomatoes_on_installed_data():
    task = tasks.create("rt-minilm", seed=1, k_shot=4, eval_size=20, max_length=32)
    assert sorted(task.train_set.labels.tolist()) == [0] * 4 + [1] * 4
    assert "12808 snippets" in task.source


# ---- clear errors --------------------------------------------------------------------------------------------------


def test_unknown_task_names_field_value_and_choices():
    with pytest.raises(ValueError, match=r"task: unknown value 'mnist-mlp'.*digits-mlp"):
        tasks.create("mnist-mlp", seed=0)


def test_unknown_option_is_named_with_the_allowed_ones():
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['k_shot'\].*train_size"):
        tasks.create("digits-mlp", seed=0, k_shot=3)


@pytest.mark.parametrize("value, error", [(0, ValueError), (2.5, TypeError), ("10", TypeError)])
def test_bad_option_values_are_rejected(value, error):
    with pytest.raises(error, match="train_size"):
        tasks.create("fmnist-mlp", seed=0, train_size=value)


def test_too_large_subsample_is_rejected():
    with pytest.raises(ValueError, match="only 1437"):
        tasks.create("digits-mlp", seed=0, train_size=5000)


def test_required_model_path_is_named(generated):
    with pytest.raises(ValueError, match="model_path"):
        tasks.create("rte-roberta", seed=0, data_root=str(generated / "glue" / "rte-roberta"))


@pytest.mark.parametrize(
    "name, hint",
    [("fmnist-2c2d", "make system-deps"), ("cifar100-wrn16-4", "cifar-100-python.tar.gz"),
     ("imagenet-resnet50", "image-net.org"), ("rt-minilm", "install_data"), ("sst5-roberta", "LM-BFF")],
)
def test_missing_data_names_path_and_how_to_get_it(name, hint, tmp_path):
    extra = {"model_path": str(tmp_path)} if name in DATASETS else {}
    with pytest.raises(FileNotFoundError, match=hint) as raised:
        tasks.create(name, seed=0, data_root=str(tmp_path / "nowhere"), **extra)
    assert str(tmp_path / "nowhere") in str(raised.value)


def test_missing_model_directory_is_named(generated, tmp_path):
    with pytest.raises(FileNotFoundError, match="model_path"):
        tasks.create("trec-roberta", seed=0, data_root=str(generated / "glue" / "trec-roberta"),
                     model_path=str(tmp_path / "no-model"))
