"""Small, seeded test problems shared by the optimizer tests.

``NoisyProblem`` is a 24-D smooth function split over three parameter tensors whose gradient is a
plain function of the point and the batch index k (noise drawn from a generator seeded by k), so a
hand-written recursion on the flat vector and an optimizer on the tensors see the same gradient
wherever they evaluate it. No autograd is involved: a closure writes ``.grad`` directly.
"""

import math

import pytest
import torch

SHAPES = ((4, 3), (7,), (5,))


@pytest.fixture(autouse=True, scope="module")
def single_threaded_torch():
    """One intra-op thread while a module's tests run: these tensors are tiny, and on a loaded
    2-core machine torch's thread pool makes each op ~30x slower. Restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

# A learning rate (and the hyperparameters that matter) at which every registered method
# makes steady progress on ``NoisyProblem`` (curvature ≤ ~1.2) and on the logistic regression.
# Every name of ``optimizers.available()`` must appear here; the battery checks that.
SENSIBLE = {
    "sgd": dict(lr=0.3),
    "sgdm": dict(lr=0.05, momentum=0.9),
    "nag": dict(lr=0.05, momentum=0.9),
    "adam": dict(lr=0.05),
    "adamw": dict(lr=0.05),
    "nadam": dict(lr=0.05),
    "rmsprop": dict(lr=0.01),
    "overshoot-sgd": dict(lr=0.03, momentum=0.9, overshoot=3.0),
    "overshoot-adamw": dict(lr=0.03, overshoot=3.0, overshoot_delay=2),
    "adamomentum": dict(lr=0.02),
    "step-tuned-sgd": dict(lr=0.3),
    "msam": dict(lr=0.05, momentum=0.9, rho=0.1),
    "msam-adamw": dict(lr=0.05, rho=0.1),
    "sam": dict(lr=0.05, momentum=0.9, rho=0.05),
    "sam-adamw": dict(lr=0.05, rho=0.05),
}

# The same with every optional term switched on (weight decay, momentum, delays), so that the
# reference-vs-fast-path comparison exercises every branch of each update.
STRESSED = {
    "sgd": dict(lr=0.3, weight_decay=0.01),
    "sgdm": dict(lr=0.05, momentum=0.9, weight_decay=0.01),
    "nag": dict(lr=0.05, momentum=0.9, weight_decay=0.01),
    "adam": dict(lr=0.05, weight_decay=0.01),
    "adamw": dict(lr=0.05, weight_decay=0.05),
    "nadam": dict(lr=0.05, weight_decay=0.05),
    "rmsprop": dict(lr=0.01, momentum=0.5, weight_decay=0.01),
    "overshoot-sgd": dict(lr=0.03, momentum=0.9, overshoot=3.0, weight_decay=0.05),
    "overshoot-adamw": dict(lr=0.03, overshoot=3.0, overshoot_delay=5, weight_decay=0.05),
    "adamomentum": dict(lr=0.02, weight_decay=0.05),
    "step-tuned-sgd": dict(lr=0.3, weight_decay=0.05),
    "msam": dict(lr=0.05, momentum=0.9, rho=0.1, weight_decay=0.05),
    "msam-adamw": dict(lr=0.05, rho=0.1, weight_decay=0.05),
    "sam": dict(lr=0.05, momentum=0.9, rho=0.05, weight_decay=0.05),
    "sam-adamw": dict(lr=0.05, rho=0.05, weight_decay=0.05),
}


class NoisyProblem:
    """f_k(x) = ½ dᵀHd + (κ/4) Σ d⁴ + ξ_kᵀx with d = x − x*, over x ∈ R^24 split into SHAPES.

    H = Q diag(eigenvalues) Qᵀ with a random rotation Q; ξ_k ~ noise·N(0, I) from a generator
    seeded by (seed, k). Negative eigenvalues make it non-convex; the quartic keeps it bounded.
    """

    def __init__(self, seed: int = 0, eigenvalues=(0.1, 1.0), quartic: float = 0.05,
                 noise: float = 0.1, shapes=SHAPES):
        self.shapes = tuple(tuple(s) for s in shapes)
        self.sizes = [math.prod(s) for s in self.shapes]
        self.dim = sum(self.sizes)
        generator = torch.Generator().manual_seed(seed)
        rotation, _ = torch.linalg.qr(torch.randn(self.dim, self.dim, generator=generator,
                                                  dtype=torch.float64))
        spectrum = torch.linspace(eigenvalues[0], eigenvalues[1], self.dim, dtype=torch.float64)
        self.hessian = rotation @ torch.diag(spectrum) @ rotation.T
        self.largest_eigenvalue = float(spectrum.max())
        self.minimum = torch.randn(self.dim, generator=generator, dtype=torch.float64)
        self.start = self.minimum + torch.randn(self.dim, generator=generator, dtype=torch.float64)
        self.quartic, self.noise_scale, self.seed = quartic, noise, seed
        self._noise: dict[int, torch.Tensor] = {}

    def noise(self, k: int) -> torch.Tensor:
        if k not in self._noise:
            generator = torch.Generator().manual_seed(1_000_003 * (self.seed + 1) + k)
            self._noise[k] = self.noise_scale * torch.randn(self.dim, generator=generator,
                                                            dtype=torch.float64)
        return self._noise[k]

    def loss(self, x: torch.Tensor, k: int | None = None) -> float:
        """f_k(x); without k, the noise-free objective."""
        d = x.double() - self.minimum
        value = 0.5 * d @ self.hessian @ d + self.quartic / 4 * (d**4).sum()
        if k is not None:
            value = value + self.noise(k) @ x.double()
        return float(value)

    def grad(self, x: torch.Tensor, k: int) -> torch.Tensor:
        """∇f_k(x) in float64, x flat."""
        d = x.double() - self.minimum
        return self.hessian @ d + self.quartic * d**3 + self.noise(k)

    # --- the optimizer side: a list of parameter tensors -------------------------------------

    def parameters(self, dtype=torch.float64, start: torch.Tensor | None = None):
        """Fresh leaf tensors holding ``start`` (default: the problem's start), split by SHAPES."""
        start = self.start if start is None else start
        pieces = torch.split(start, self.sizes)
        return [torch.nn.Parameter(piece.reshape(shape).to(dtype).clone())
                for piece, shape in zip(pieces, self.shapes)]

    def closure(self, params, k: int):
        """A closure that writes ∇f_k at the current parameters into ``.grad``; returns f_k."""

        def evaluate():
            x = flat(params)
            gradient = self.grad(x, k)
            for param, piece in zip(params, torch.split(gradient, self.sizes)):
                param.grad = piece.reshape(param.shape).to(param.dtype).clone()
            return self.loss(x, k)

        return evaluate


def flat(params) -> torch.Tensor:
    """The parameters as one float64 vector (a copy)."""
    return torch.cat([p.detach().reshape(-1).double() for p in params])


def base_flat(optimizer, params) -> torch.Tensor:
    """The base (evaluation) weights as one float64 vector."""
    with optimizer.base_weights():
        return flat(params)


def run(optimizer, params, problem: NoisyProblem, steps: int, first: int = 0,
        lr_schedule=None, group_updates=None, base: bool = False) -> torch.Tensor:
    """Take ``steps`` steps on batches first, first+1, …; return the stored weights after each
    step as rows (and the base weights too, as a pair, when ``base``).

    ``lr_schedule[k]``, when given, is written into every group's lr before step k;
    ``group_updates(k, optimizer)`` may change any other group setting before step k.
    """
    stored, bases = [], []
    for k in range(first, first + steps):
        if lr_schedule is not None:
            for group in optimizer.param_groups:
                group["lr"] = lr_schedule[k]
        if group_updates is not None:
            group_updates(k, optimizer)
        optimizer.step(problem.closure(params, k))
        stored.append(flat(params))
        if base:
            bases.append(base_flat(optimizer, params))
    if base:
        return torch.stack(stored), torch.stack(bases)
    return torch.stack(stored)


def cosine_schedule(lr: float, steps: int, floor: float = 0.0) -> list[float]:
    """η_k = floor + (lr − floor)(1 + cos(πk/steps))/2 for k = 0 … steps−1."""
    return [floor + (lr - floor) * (1 + math.cos(math.pi * k / steps)) / 2 for k in range(steps)]


def mismatch(trajectory: torch.Tensor, reference: torch.Tensor) -> float:
    """max |trajectory − reference| / max |reference|: 0 for identical runs, ~1e-16·steps for
    runs that agree up to float64 rounding, inf when either run is not finite."""
    trajectory, reference = torch.as_tensor(trajectory).double(), torch.as_tensor(reference).double()
    assert trajectory.shape == reference.shape, (trajectory.shape, reference.shape)
    if not (torch.isfinite(trajectory).all() and torch.isfinite(reference).all()):
        return math.inf  # a diverged run never matches (and NaN must not compare as small)
    scale = reference.abs().max().clamp_min(1e-300)
    return float((trajectory - reference).abs().max() / scale)


FLOAT64_TOLERANCE = 1e-12


def assert_same_trajectory(trajectory, reference, tolerance: float = FLOAT64_TOLERANCE) -> None:
    """The comparison every exactness test uses; the negative controls show it can fail."""
    deviation = mismatch(trajectory, reference)
    assert deviation <= tolerance, f"trajectories differ: relative deviation {deviation:.3e} > {tolerance:.0e}"


def assert_different_trajectory(trajectory, reference, tolerance: float = FLOAT64_TOLERANCE) -> None:
    """Negative control: ``assert_same_trajectory`` must reject this pair."""
    deviation = mismatch(trajectory, reference)
    assert deviation > 1e3 * tolerance, f"a wrong variant passed: deviation {deviation:.3e}"
    try:
        assert_same_trajectory(trajectory, reference, tolerance)
    except AssertionError:
        return
    raise AssertionError("assert_same_trajectory accepted a wrong variant")


def logistic_regression_data(seed: int = 0, samples: int = 64, features: int = 6):
    """A fixed, not linearly separable binary classification set (float64)."""
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(samples, features, generator=generator, dtype=torch.float64)
    direction = torch.randn(features, generator=generator, dtype=torch.float64)
    logits = inputs @ direction + 0.5 * torch.randn(samples, generator=generator, dtype=torch.float64)
    targets = (logits > 0).double()
    return inputs, targets
