"""The source files each rule declares: an optimizer's own modules and nothing of the other optimizers; a task's
family and nothing of the other families; the harness without either."""

from experiments import sources


def test_an_optimizer_depends_on_its_modules_only():
    overshoot = sources.optimizer_sources("overshoot-sgd")
    assert {"optimizers/overshoot_sgd.py", "optimizers/momentum_shift.py", "optimizers/registry.py"} <= set(overshoot)
    assert "optimizers/msam.py" not in overshoot and "optimizers/adamomentum.py" not in overshoot
    sgdm = sources.optimizer_sources("sgdm")
    assert "optimizers/torch_baselines.py" in sgdm  # through the registry's constructor function
    assert not {"optimizers/overshoot_sgd.py", "optimizers/momentum_shift.py"} & set(sgdm)


def test_a_task_depends_on_its_family_only():
    fashion = sources.task_sources("fmnist-mlp")
    assert {"experiments/tasks/fashion_mnist.py", "experiments/models/mlp.py", "experiments/tasks/registry.py"} <= set(
        fashion)
    assert "experiments/tasks/rotten_tomatoes.py" not in fashion
    assert not any(path.startswith("optimizers/") for path in fashion)


def test_the_harness_leaves_optimizers_and_task_families_out():
    harness = sources.harness_sources("experiments.arm")
    assert {"experiments/arm.py", "experiments/train.py", "experiments/protocol.py"} <= set(harness)
    assert not any(path.startswith("optimizers/") for path in harness)
    assert "experiments/tasks/fashion_mnist.py" not in harness


def test_relative_and_package_imports_are_followed():
    assert "theory/report.py" in sources.closure(["theory.__main__"])
    assert "experiments/__init__.py" in sources.closure(["experiments.protocol"])
    assert sources.imported_modules("optimizers.overshoot_sgd") >= {"optimizers.momentum_shift"}
