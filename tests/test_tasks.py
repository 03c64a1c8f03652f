"""Every registered task: built from data generated in the real on-disk formats (IDX, CIFAR pickles, ImageFolder
JPEGs, TSV/JSONL, GLUE QQP, the Rotten Tomatoes csv.bz2; ``tests/full_scale_data.py``) or from bundled data; one
training step; seeding; the options; and the errors for bad names, options and paths. Real installed data is
exercised where present."""

import pickle
from pathlib import Path

import pytest
import torch
from full_scale_data import fake_data
from torch.utils.data import DataLoader

from experiments import tasks
from experiments.tasks.datasets.idx import read_idx
from experiments.tasks.datasets.locations import REPOSITORY_DATA
from experiments.tasks.few_shot_glue import DATASETS
from experiments.tasks.install_data import FILE_NAME
from experiments.tasks.text_encoders import load_tokenizer

FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
ROTTEN_TOMATOES = REPOSITORY_DATA / "rotten_tomatoes" / FILE_NAME
HEAVY_TASKS = {"cifar100-wrn28-10"}


# ---- generated data in the published formats (tests/full_scale_data.py) ----------------------------------------


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("generated_data")


def small_build_arguments(name: str, root: Path) -> dict:
    """``data_root``, the options ``fake_data`` needs and small sizes for building ``name`` from generated (or
    bundled) data."""
    data_root, options = fake_data(name, root)
    if name.startswith("fmnist-"):
        options |= {"train_size": 30, "eval_size": 10}
    elif name == "imagenet-resnet50":
        options |= {"crop_size": 32}
    elif name in DATASETS:
        options |= {"k_shot": 2}
    elif name == "rt-minilm":
        options |= {"k_shot": 2, "eval_size": 5, "max_length": 16}
    elif name in ("digits-mlp", "mnist5k-mlp"):
        options |= {"train_size": 100}
    elif name == "mnist5k-vae":
        options |= {"train_size": 100, "eval_size": 20, "channels": 4}
    return {"data_root": data_root, **options}


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
    directory = Path(fake_data("fmnist-mlp", generated)[0])
    labels = read_idx(directory / "t10k-labels-idx1-ubyte.gz")
    images = read_idx(directory / "t10k-images-idx3-ubyte.gz")
    assert labels.tolist() == [i % 10 for i in range(20)] and images.shape == (20, 28, 28)


def test_idx_reader_rejects_other_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "bad")


def test_cifar_loader_reads_all_batches_and_labels(generated):
    task = build("cifar100-resnet18", seed=1, root=generated)
    with open(Path(fake_data("cifar100-resnet18", generated)[0]) / "train", "rb") as stream:
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


@pytest.mark.parametrize("optimizer", ["adamw", "adamomentum", "msam"])
def test_rotten_tomatoes_frozen_token_embeddings_stay_put_and_the_rest_trains(generated, optimizer):
    """frozen=token-embeddings: a training step (with weight decay) leaves the token-embedding matrix bitwise as it
    was and moves every other weight; frozen=none moves the matrix too (the control)."""
    import optimizers

    moved = {}
    for frozen in ("token-embeddings", "none"):
        task = tasks.create("rt-minilm", seed=1, **small_build_arguments("rt-minilm", generated), frozen=frozen)
        before = {name: p.detach().clone() for name, p in task.model.named_parameters()}
        step = optimizers.create(optimizer, task.model.parameters(), lr=1e-3, weight_decay=0.1)
        inputs, targets = first_batch(task.train_set)
        task.loss(task.model(inputs), targets).backward()
        step.step()
        moved[frozen] = {name for name, p in task.model.named_parameters() if not torch.equal(p, before[name])}
    embeddings = {name for name in before if "word_embeddings" in name}
    assert len(embeddings) == 1
    assert moved["token-embeddings"] == set(before) - embeddings
    assert moved["none"] == set(before)


def test_qqp_reads_glue_columns_drops_incomplete_rows_and_joins_the_questions(generated):
    task = build("qqp-gpt2", seed=1, root=generated)
    assert len(task.train_set) == 12 and len(task.eval_sets["test"]) == 6  # the row cut short is gone
    assert "1 incomplete rows dropped" in task.source
    assert task.train_set.labels.tolist() == [index % 2 for index in range(12)]
    tokenizer = load_tokenizer(Path(small_build_arguments("qqp-gpt2", generated)["model_path"]))
    first = next(line.split("\t") for line in (Path(fake_data("qqp-gpt2", generated)[0]) / "train.tsv")
                 .read_text().splitlines()[1:])
    inputs, _ = task.train_set[0]
    tokens = inputs["input_ids"][inputs["attention_mask"].bool()].tolist()
    assert tokens == tokenizer(first[3] + "  " + first[4])["input_ids"]
    assert (inputs["input_ids"][~inputs["attention_mask"].bool()] == tokenizer.eos_token_id).all()  # pads: <eot>


def test_qqp_trains_only_the_lora_adapters_and_the_head(generated):
    task = build("qqp-gpt2", seed=1, root=generated)
    trainable = {name for name, parameter in task.model.named_parameters() if parameter.requires_grad}
    assert trainable and all("lora_" in name or ".score." in name for name in trainable)
    adapters = [p for name, p in task.model.named_parameters() if "lora_A" in name]
    assert len(adapters) == 2 and all(p.shape[0] == 6 for p in adapters)  # rank 6 on c_attn of both layers
    wider = tasks.create("qqp-gpt2", seed=1, **{**small_build_arguments("qqp-gpt2", generated), "lora_r": 3})
    assert all(p.shape[0] == 3 for name, p in wider.model.named_parameters() if "lora_A" in name)


def test_qqp_classifies_from_the_last_real_token(generated):
    task = build("qqp-gpt2", seed=1, root=generated)
    task.model.eval()
    inputs, _ = task.train_set[0]
    length = int(inputs["attention_mask"].sum())
    trimmed = {key: value[:length].unsqueeze(0) for key, value in inputs.items()}
    padded = {key: value.unsqueeze(0) for key, value in inputs.items()}
    assert length < len(inputs["input_ids"])  # the example is padded
    with torch.no_grad():
        torch.testing.assert_close(task.model(padded), task.model(trimmed))


def test_mnist5k_vae_autoencodes_the_5k_subset():
    task = tasks.create("mnist5k-vae", seed=1, channels=4)
    images, target = task.train_set[0]
    assert len(task.train_set) == 4000 and len(task.eval_sets["test"]) == 1000
    assert images.shape == (1, 28, 28) and torch.equal(images, target) and 0 <= images.min() <= images.max() <= 1
    assert "5000-image MNIST subset" in task.source and "4000 train / 1000 test" in task.source
    assert task.target_metric == "loss" and not task.higher_is_better


@pytest.mark.parametrize(
    "name, options, shapes",
    [("fmnist-2c2d", {"width": 0.25}, [(8, 1, 5, 5), (16, 8, 5, 5), (256, 784), (10, 256)]),
     ("fmnist-vae", {"channels": 16}, [(16, 1, 4, 4), (16, 16, 4, 4)])],
)
def test_cpu_sized_options_shrink_the_network(name, options, shapes, generated):
    task = tasks.create(name, seed=1, **{**small_build_arguments(name, generated), **options})
    weights = [p.shape for key, p in task.model.named_parameters() if key.endswith("weight")]
    assert all(shape in weights for shape in shapes), weights
    assert all(f"{key} {value}" in task.source for key, value in options.items())


def test_resnet18_stem_option_selects_the_imagenet_stem(generated):
    default, imagenet = (tasks.create("cifar100-resnet18", seed=1, **small_build_arguments("cifar100-resnet18",
                                                                                          generated), **stem)
                         for stem in ({}, {"stem": "imagenet"}))
    assert default.model.stem[0].kernel_size == (3, 3) and len(default.model.stem) == 3
    assert imagenet.model.stem[0].kernel_size == (7, 7) and isinstance(imagenet.model.stem[3], torch.nn.MaxPool2d)


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


@pytest.mark.parametrize(
    "name, options, error, match",
    [("fmnist-2c2d", {"width": 0.01}, ValueError, r"'width' must be >= 0.03125"),
     ("fmnist-2c2d", {"width": "0.5"}, TypeError, r"'width' must be a number"),
     ("fmnist-2c2d", {"width": True}, TypeError, r"'width' must be a number"),
     ("fmnist-2c2d", {"width": float("nan")}, ValueError, r"'width' must be >="),
     ("fmnist-vae", {"channels": 0}, ValueError, r"'channels' must be >= 1"),
     ("mnist5k-vae", {"channels": 2.0}, TypeError, r"'channels' must be an int"),
     ("cifar100-resnet18", {"stem": "tiny"}, ValueError, r"'stem' must be one of \['cifar', 'imagenet'\]"),
     ("qqp-gpt2", {"lora_r": 0, "model_path": "gpt2"}, ValueError, r"'lora_r' must be >= 1"),
     ("fmnist-mlp", {"width": 0.5}, ValueError, r"unknown option\(s\) \['width'\]")],
)
def test_model_options_are_validated_before_data_is_read(name, options, error, match, tmp_path):
    with pytest.raises(error, match=match):
        tasks.create(name, seed=0, data_root=str(tmp_path / "nowhere"), **options)


def test_too_large_subsample_is_rejected():
    with pytest.raises(ValueError, match="only 1437"):
        tasks.create("digits-mlp", seed=0, train_size=5000)


def test_required_model_path_is_named(generated):
    with pytest.raises(ValueError, match="model_path"):
        tasks.create("rte-roberta", seed=0, data_root=fake_data("rte-roberta", generated)[0])


@pytest.mark.parametrize(
    "name, hint",
    [("fmnist-2c2d", "make system-deps"), ("cifar100-wrn16-4", "cifar-100-python.tar.gz"),
     ("imagenet-resnet50", "image-net.org"), ("rt-minilm", "install_data"), ("sst5-roberta", "LM-BFF"),
     ("qqp-gpt2", "QQP"), ("cifar10-3c3d", "cifar-10-python.tar.gz")],
)
def test_missing_data_names_path_and_how_to_get_it(name, hint, tmp_path):
    extra = {"model_path": str(tmp_path)} if name in DATASETS or name == "qqp-gpt2" else {}
    with pytest.raises(FileNotFoundError, match=hint) as raised:
        tasks.create(name, seed=0, data_root=str(tmp_path / "nowhere"), **extra)
    assert str(tmp_path / "nowhere") in str(raised.value)


def test_missing_model_directory_is_named(generated, tmp_path):
    with pytest.raises(FileNotFoundError, match="model_path"):
        tasks.create("trec-roberta", seed=0, data_root=fake_data("trec-roberta", generated)[0],
                     model_path=str(tmp_path / "no-model"))
