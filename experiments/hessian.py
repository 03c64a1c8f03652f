"""The top Hessian eigenvalues of the training loss at the end of a run, for the Momentum-SAM experiment (Becker,
Altrock, Risse 2024, Table A.1: the top 5 eigenvalues for SGD, SAM and MSAM at the end of training).

    python -m experiments.hessian --run results/<experiment>/runs/.../seed0 --count 5 --examples 256 --out FILE.json

    eigenvalues = top_eigenvalues(model, task.loss, batches, 5, tolerance=1e-4, seed=0)
    result = final_model_eigenvalues(directory, config, count=5, examples=256, tolerance=1e-4)

H·v comes from forward-over-reverse differentiation (``torch.func.jvp`` of ``torch.func.grad``) of the mean
training loss over fixed batches, without ever forming H; ``scipy.sparse.linalg.eigsh`` (ARPACK, Lanczos) finds the
largest algebraic eigenvalues from those products. Evaluated at the run's base weights (what the checkpoint's
``"model"`` entry holds), which for Overshoot and MSAM are not the shifted weights the parameters held in training.
"""

import argparse
import os
import sys
import time

import numpy as np
import scipy.sparse.linalg
import torch
from torch.utils.data import DataLoader, Subset

from experiments import atomic, distributed
from experiments import run_directory as files
from experiments.config import ConfigError, RunConfig, build_task, validate
from experiments.evaluation import to_device
from experiments.train import as_json

# Fields of the RunConfig that need not match the checkpoint's: where the data and the computation are.
MACHINE_FIELDS = ("data_root", "device", "data_workers")


def top_eigenvalues(model: torch.nn.Module, loss, batches, count: int, *, tolerance: float = 1e-4,
                    seed: int = 0) -> list[float]:
    """The ``count`` largest (algebraic) eigenvalues of the Hessian of the training loss, in descending order.

    The loss is L(θ) = Σ_b n_b·loss(model(x_b; θ), y_b) / Σ_b n_b over the fixed ``batches`` (pairs ``(inputs,
    targets)``; ``loss`` is a batch mean, e.g. ``task.loss``), so it is the mean over all their examples whatever
    the batch sizes. θ is every parameter with ``requires_grad``; other parameters and the buffers are held fixed.
    The model is put in eval mode for the computation (and back afterwards): BatchNorm normalises with its running
    statistics and dropout is off, which makes L a deterministic function of the weights alone — in train mode it
    would depend on the batch composition and on random draws. Products are computed in the model's dtype on its
    device; ARPACK sees float64 vectors. ``tolerance`` is eigsh's relative accuracy (0: machine precision); the
    start vector is drawn from ``seed``, so the result is deterministic.
    """
    return _spectrum(model, loss, batches, count, tolerance, seed)[0]


def _spectrum(model, loss, batches, count: int, tolerance: float, seed: int) -> tuple[list[float], int]:
    """The eigenvalues of ``top_eigenvalues`` and the number of Hessian-vector products they took."""
    trainable = {name: p.detach() for name, p in model.named_parameters() if p.requires_grad}
    fixed = {name: p.detach() for name, p in model.named_parameters() if not p.requires_grad}
    fixed.update({name: b.detach() for name, b in model.named_buffers()})
    size = sum(p.numel() for p in trainable.values())
    if not 1 <= count < size:
        raise ValueError(f"count={count} is not allowed; allowed: an integer from 1 to {size - 1} (one less than "
                         "the number of parameters)")
    first = next(iter(trainable.values()))
    device, dtype = first.device, first.dtype
    batches = [(to_device(inputs, device, dtype), to_device(targets, device, dtype)) for inputs, targets in batches]
    total = sum(len(targets) for _, targets in batches)

    def batch_loss(parameters, inputs, targets):
        return loss(torch.func.functional_call(model, (parameters, fixed), (inputs,)), targets)

    gradient = torch.func.grad(batch_loss)
    products = 0

    def hessian_times(vector: np.ndarray) -> np.ndarray:
        nonlocal products
        products += 1
        flat = torch.as_tensor(np.ascontiguousarray(vector).reshape(-1), device=device).to(dtype)
        tangent = dict(zip(trainable, flat.split([p.numel() for p in trainable.values()])))
        tangent = {name: piece.view_as(trainable[name]) for name, piece in tangent.items()}
        result = torch.zeros(size, device=device, dtype=dtype)
        for inputs, targets in batches:
            _, product = torch.func.jvp(lambda p: gradient(p, inputs, targets), (trainable,), (tangent,))
            result += torch.cat([product[name].reshape(-1) for name in trainable]) * (len(targets) / total)
        return result.double().cpu().numpy()

    operator = scipy.sparse.linalg.LinearOperator((size, size), matvec=hessian_times, dtype=np.float64)
    start = np.random.default_rng(seed).standard_normal(size)
    was_training = model.training
    model.eval()
    try:
        values = scipy.sparse.linalg.eigsh(operator, k=count, which="LA", tol=tolerance, v0=start,
                                           return_eigenvectors=False)
    finally:
        model.train(was_training)
    return sorted((float(v) for v in values), reverse=True), products


def final_model_eigenvalues(directory: str, config: RunConfig, count: int, examples: int, *,
                            tolerance: float = 1e-4) -> dict:
    """The top ``count`` Hessian eigenvalues of the training loss (``task.loss``: the objective trained, label
    smoothing included where the task has it) of the finished run in ``directory`` at its final base weights (the
    checkpoint's ``"model"`` entry, with BatchNorm statistics re-estimated there for shifted-weight methods), over
    the first ``examples`` training examples in dataset order, un-augmented, in batches of ``config.batch_size``.

    Returns ``{"eigenvalues": [descending], "examples": n, "count": k, "matrix_vector_products": m, "seconds": s}``,
    ``seconds`` being the time of the eigenvalue computation alone. FileNotFoundError when there is no checkpoint,
    ConfigError when it is not of the last step or not of ``config``.
    """
    path = os.path.join(directory, files.CHECKPOINT)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file; the run has no final checkpoint (train it first)")
    checkpoint = files.load_checkpoint(path)
    wanted = as_json(config)
    stored = {**as_json(RunConfig()), **checkpoint["config"]}  # a field added since: the run used its default
    changed = [name for name in wanted if name not in MACHINE_FIELDS and stored[name] != wanted[name]]
    if changed:
        name = changed[0]
        raise ConfigError(f"{name}={wanted[name]!r} differs from {stored[name]!r} of the checkpoint {path}; "
                          "allowed: the config of that run")
    step = checkpoint["progress"]["step"]
    if step != config.steps:
        raise ConfigError(f"{path} holds step {step} of {config.steps}: not a final checkpoint (the run diverged, "
                          "or has not finished)")
    task = build_task(config)
    if not isinstance(examples, int) or not 1 <= examples <= len(task.train_set):
        raise ConfigError(f"examples={examples!r} is not allowed; allowed: an integer from 1 to the "
                          f"{len(task.train_set)} training examples of task {config.task!r}")
    device = distributed.choose_device(distributed.this_process(), config.device)
    model = task.model.to(device=device, dtype=getattr(torch, config.dtype))
    model.load_state_dict(checkpoint["model"])  # the base weights, not "training_model"
    batches = DataLoader(Subset(task.train_set, range(examples)), batch_size=config.batch_size, shuffle=False,
                         num_workers=config.data_workers)
    started = time.perf_counter()
    eigenvalues, products = _spectrum(model, task.loss, batches, count, tolerance, seed=0)
    return {"eigenvalues": eigenvalues, "examples": examples, "count": count,
            "matrix_vector_products": products, "seconds": time.perf_counter() - started}


def main(argv: list[str] | None = None) -> int:
    """The command line: the run's config comes from its config.json; exit code 2 on bad input."""
    parser = argparse.ArgumentParser(prog="python -m experiments.hessian", description=__doc__.split("\n")[0])
    parser.add_argument("--run", required=True, help="a finished run directory of experiments.train")
    parser.add_argument("--count", type=int, default=5, help="how many of the largest eigenvalues (default 5)")
    parser.add_argument("--examples", type=int, default=256, help="first training examples in the loss "
                        "(default 256)")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="eigsh's relative accuracy (default 1e-4)")
    parser.add_argument("--out", required=True, help="result JSON")
    arguments = parser.parse_args(argv)
    try:
        config_path = os.path.join(arguments.run, files.CONFIG)
        if not os.path.exists(config_path):
            raise FileNotFoundError(f"{config_path}: no such file; allowed: a run directory of experiments.train")
        config = validate(files.read_json(config_path))
        result = final_model_eigenvalues(arguments.run, config, arguments.count, arguments.examples,
                                         tolerance=arguments.tolerance)
    except (ConfigError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    atomic.write_json(arguments.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
