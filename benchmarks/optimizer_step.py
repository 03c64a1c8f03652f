"""Times ``optimizer.step()`` of every registered optimizer on ResNet-50's parameter shapes.

For each method it reports the median milliseconds per step of its default path (no ``foreach`` argument:
the optimizer chooses, as torch's do) and of its multi-tensor path (``foreach=True``), the ratios to torch's
default, foreach and fused implementations of the base method (SGD with momentum or AdamW) timed in the same
interleaved rounds, the optimizer state
in bytes per parameter, and the fraction of the machine's memory bandwidth (a STREAM triad measured
here) that the step reaches, counting the bytes a fused kernel would have to move (see TRAFFIC).

    .venv/bin/python benchmarks/optimizer_step.py --threads 1          # full ResNet-50, ~1.5-2.5 min
    .venv/bin/python benchmarks/optimizer_step.py --methods msam adamw --repeats 5
    .venv/bin/python benchmarks/optimizer_step.py --scale 0.01 --repeats 1  # seconds, smoke check
    .venv/bin/python benchmarks/optimizer_step.py --device cuda --dtype bfloat16   # on a GPU, in bf16

Gradients are precomputed random tensors shared by every optimizer (read only); no model is run.
The closure methods (step-tuned-sgd, sam) get a closure that only points ``.grad`` at one of two
precomputed gradient sets, so their time is the optimizer's own work for two evaluations.
On CUDA every timed step (and the triad) is bracketed by ``torch.cuda.synchronize``, so it counts the kernels'
run time, not only their launch.
"""

import argparse
import gc
import statistics
import sys
import time
import warnings

import pandas as pd
import torch

import optimizers


# --- the workload -------------------------------------------------------------------------------


def resnet50_shapes() -> list[tuple[int, ...]]:
    """Parameter shapes of torchvision's ResNet-50 (v1.5) in ``named_parameters()`` order."""
    shapes = [(64, 3, 7, 7), (64,), (64,)]  # stem conv, its BatchNorm weight and bias

    def conv_bn(out_channels, in_channels, kernel):
        return [(out_channels, in_channels, kernel, kernel), (out_channels,), (out_channels,)]

    in_channels = 64
    for width, blocks in [(64, 3), (128, 4), (256, 6), (512, 3)]:
        for block in range(blocks):
            shapes += conv_bn(width, in_channels, 1) + conv_bn(width, width, 3)
            shapes += conv_bn(4 * width, width, 1)
            if block == 0:  # projection shortcut
                shapes += conv_bn(4 * width, in_channels, 1)
            in_channels = 4 * width
    shapes += [(1000, 2048), (1000,)]  # fc
    return shapes


SHAPES = resnet50_shapes()
assert len(SHAPES) == 161, len(SHAPES)
assert sum(torch.Size(s).numel() for s in SHAPES) == 25_557_032

# Each method, its family (which torch optimizer is its base) and its hyperparameters: the
# ImageNet ResNet-50 recipe for the SGD family, AdamW's defaults for the Adam family. The same
# weight decay is given to the torch baselines, so every ratio compares like with like.
SGD_FAMILY = ["sgd", "sgdm", "nag", "overshoot-sgd", "msam", "sam", "step-tuned-sgd"]
ADAM_FAMILY = ["adam", "adamw", "nadam", "rmsprop", "overshoot-adamw", "adamomentum", "msam-adamw", "sam-adamw"]
HYPERPARAMETERS = {"sgd": dict(lr=0.1, weight_decay=1e-4), "adam": dict(lr=1e-3, weight_decay=0.01)}
# Rows beyond the registry names: a registered method with non-default arguments.
VARIANTS = {
    "overshoot-adamw[exact=False]": ("overshoot-adamw", {"exact": False}),
    "overshoot-sgd[fused]": ("overshoot-sgd", {"fused": True}),  # torch.compile kernels
    "overshoot-adamw[fused]": ("overshoot-adamw", {"fused": True}),
    "overshoot-adamw[exact=False,fused]": ("overshoot-adamw", {"exact": False, "fused": True}),
}
GOAL_METHODS = {"overshoot-sgd", "overshoot-adamw", "adamomentum", "msam", "msam-adamw"}
GOAL_RATIO = 1.10
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
BASELINE_KINDS = {"default": {}, "foreach": {"foreach": True}, "fused": {"fused": True}}
"""torch's implementations of a base method: ``default`` is what torch picks with no argument (on CPU its
per-tensor loop, on CUDA foreach), the bar for the package's default path; ``fused`` the bar for ``fused=True``."""

# Bytes a fused implementation must move per step, in tensors of the model's size (x 4 bytes per
# parameter): every tensor read once and every written tensor written once per pass over memory.
# p = parameters, g/g1/g2 = gradients, b = momentum buffer, m/v = Adam moments, G = Step-Tuned's
# gradient-difference average, c = a saved copy of p. Coupled weight decay reads p, already read.
# Methods whose update needs a global norm or a second gradient evaluation need a second pass.
TRAFFIC = {
    "sgd": (3, "R p g, W p"),
    "sgdm": (5, "R p g b, W p b"),
    "nag": (5, "R p g b, W p b"),
    "adam": (7, "R p g m v, W p m v"),
    "adamw": (7, "R p g m v, W p m v"),
    "nadam": (7, "R p g m v, W p m v"),
    "rmsprop": (5, "R p g v, W p v (momentum=0, not centered)"),
    "overshoot-sgd": (5, "R p g b, W p b: the shifted update is one pass"),
    "overshoot-adamw": (7, "R p g m v, W p m v: un-shift, Adam step, re-shift elementwise"),
    "adamomentum": (7, "R p g m v, W p m v"),
    "msam": (8, "SGD-m pass R p g b, W p b; once ||b|| is known: R p b, W p"),
    "msam-adamw": (10, "AdamW pass R p g m v, W p m v; once ||m|| is known: R p m, W p"),
    "sam": (10, "||g1||: R g1; ascent: R p g1, W p c; after 2nd evaluation: R c g2 b, W p b"),
    "sam-adamw": (12, "||g1||: R g1; ascent: R p g1, W p c; after 2nd evaluation: R c g2 m v, W p m v"),
    "step-tuned-sgd": (9, "half step: R p g1, W p; second: R p g1 g2 G, W p G (dots in-pass)"),
    "torch SGD": (5, "R p g b, W p b"),
    "torch AdamW": (7, "R p g m v, W p m v"),
}

# --- measurement --------------------------------------------------------------------------------


def scaled_shapes(scale: float) -> list[tuple[int, ...]]:
    """The 161 shapes with the leading dimension scaled (at least 1): ~scale x the parameters."""
    if scale == 1.0:
        return SHAPES
    return [(max(1, round(s[0] * scale)),) + s[1:] for s in SHAPES]


def synchronized_seconds(call, device: torch.device) -> float:
    """Wall seconds of ``call()``, waiting on CUDA for its kernels to finish."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    call()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def triad_bandwidth(elements: int, device: torch.device, dtype: torch.dtype,
                    repeats: int = 10) -> tuple[float, float]:
    """Best-of-``repeats`` bytes/s of the STREAM triad a = b + s*c and of its in-place form a += s*c.

    Both count 12 bytes per element, as STREAM does. The triad's store to a third array also costs
    a read of it (write-allocate) that STREAM does not count; the in-place form, like every
    optimizer update here, writes only what it has read, so it is the higher, fairer ceiling.
    """
    a, b, c = (torch.rand(elements, device=device, dtype=dtype) for _ in range(3))
    best = {"triad": float("inf"), "in-place": float("inf")}
    for _ in range(repeats):
        for kind, kernel in [("triad", lambda: torch.add(b, c, alpha=3.0, out=a)),
                             ("in-place", lambda: a.add_(c, alpha=1e-9))]:
            best[kind] = min(best[kind], synchronized_seconds(kernel, device))
    element_bytes = a.element_size()
    return 3 * element_bytes * elements / best["triad"], 3 * element_bytes * elements / best["in-place"]


class Subject:
    """One optimizer over its own copy of the parameters, stepping on the shared gradients."""

    def __init__(self, label, make_optimizer, initial, gradients, closure_evaluations=0):
        self.label = label
        self.params = [torch.nn.Parameter(t.clone()) for t in initial]
        for param, grad in zip(self.params, gradients[0]):
            param.grad = grad
        self.optimizer = make_optimizer(self.params)
        self.closure = None
        if closure_evaluations:
            calls = [0]

            def closure():
                # Stands in for forward + backward: points .grad at the next precomputed set.
                for param, grad in zip(self.params, gradients[calls[0] % len(gradients)]):
                    param.grad = grad
                calls[0] += 1
                return 0.0

            self.closure = closure
        self.times: list[float] = []

    def step(self) -> float:
        with warnings.catch_warnings():
            # The closure methods warn that .grad was replaced before step(closure): here it is, on purpose.
            warnings.filterwarnings("ignore", message=".*recomputes the gradients", category=RuntimeWarning)
            return synchronized_seconds(lambda: self.optimizer.step(self.closure), self.params[0].device)

    def state_bytes(self) -> int:
        return sum(t.numel() * t.element_size() for state in self.optimizer.state.values()
                   for t in state.values() if torch.is_tensor(t))


def run_rounds(subjects: list[Subject], repeats: int, warmup: int) -> None:
    """Warm up each subject, then time one step of each per round, rotating the order."""
    for subject in subjects:
        for _ in range(warmup):
            subject.step()
    gc.collect()
    gc.disable()
    try:
        for round_index in range(repeats):
            shift = round_index % len(subjects)
            for subject in subjects[shift:] + subjects[:shift]:
                subject.times.append(subject.step())
    finally:
        gc.enable()


def median_ms(times: list[float]) -> float:
    return 1e3 * statistics.median(times)


def median_ratio(numerator: list[float], denominator: list[float]) -> float:
    """Median over rounds of the per-round ratio: both steps ran within the same round."""
    return statistics.median(n / d for n, d in zip(numerator, denominator))


def ratio_quartiles(numerator: list[float], denominator: list[float]) -> str:
    """First and third quartile of the per-round ratios: the noise on the median ratio."""
    ratios = [n / d for n, d in zip(numerator, denominator)]
    if len(ratios) < 2:
        return "-"
    first, _, third = statistics.quantiles(ratios, n=4)
    return f"{first:.2f}-{third:.2f}"


def registered(name: str) -> str:
    """The registry name behind a row name (a variant's base method)."""
    return VARIANTS.get(name, (name, {}))[0]


def package_optimizer(name: str, family: str, foreach: bool | None):
    """``foreach=None`` leaves the argument out: the optimizer's default path."""
    extra = VARIANTS.get(name, (name, {}))[1]
    hyperparameters = dict(HYPERPARAMETERS[family], **extra, **({} if foreach is None else {"foreach": foreach}))
    return lambda params: optimizers.create(registered(name), params, **hyperparameters)


def torch_baselines(initial, gradients) -> dict[str, dict[str, Subject]]:
    sgd, adam = HYPERPARAMETERS["sgd"], HYPERPARAMETERS["adam"]
    baselines = {}
    for family, label, make in [
        ("sgd", "torch SGD", lambda mode: lambda p: torch.optim.SGD(p, momentum=0.9, **sgd, **mode)),
        ("adam", "torch AdamW", lambda mode: lambda p: torch.optim.AdamW(p, **adam, **mode)),
    ]:
        baselines[family] = {kind: Subject(f"{label} {kind}", make(mode), initial, gradients)
                             for kind, mode in BASELINE_KINDS.items()}
    return baselines


def benchmark(methods, repeats, scale, warmup=2, device=torch.device("cpu"),
              dtype=torch.float32) -> tuple[pd.DataFrame, tuple[float, float]]:
    shapes = scaled_shapes(scale)
    parameter_count = sum(torch.Size(s).numel() for s in shapes)
    generator = torch.Generator().manual_seed(0)  # drawn on the CPU: the same values on every device
    initial = [(0.05 * torch.randn(s, generator=generator)).to(device, dtype) for s in shapes]
    # Two gradient sets: the closure methods see a different gradient at their second evaluation.
    gradients = [[(1e-3 * torch.randn(s, generator=generator)).to(device, dtype) for s in shapes] for _ in range(2)]
    element_bytes = initial[0].element_size()
    checksum = [sum(g.sum().item() for g in gradient_set) for gradient_set in gradients]
    triad_elements = max(2**25 if scale == 1.0 else int(2**25 * scale), 2**16)
    bandwidths = [triad_bandwidth(triad_elements, device, dtype)]

    baselines = torch_baselines(initial, gradients)
    subjects = []
    for name in methods:
        family = "sgd" if registered(name) in SGD_FAMILY else "adam"
        entry = optimizers.info(registered(name))
        closure = entry.gradient_evaluations if entry.needs_closure else 0
        fast = Subject(name, package_optimizer(name, family, None), initial, gradients, closure)
        loop = Subject(name, package_optimizer(name, family, True), initial, gradients, closure)
        base = baselines[family]
        start = {kind: len(subject.times) for kind, subject in base.items()}
        run_rounds([fast, loop, *base.values()], repeats, warmup)
        base_times = {kind: subject.times[start[kind]:] for kind, subject in base.items()}
        subjects.append((name, family, fast.times, loop.times, fast.state_bytes(), base_times, closure))
        del fast, loop
        gc.collect()
    # Measured again at the end, the best of both: a burst of load at the start does not count.
    bandwidths.append(triad_bandwidth(triad_elements, device, dtype))
    triad = tuple(max(pair) for pair in zip(*bandwidths))
    rows = [_row(*subject, baselines, parameter_count, element_bytes, triad) for subject in subjects]
    for family in ("sgd", "adam"):
        base = baselines[family]
        if base["foreach"].times:
            for kind in BASELINE_KINDS:
                rows.append(_baseline_row(base, kind, parameter_count, element_bytes, triad))
    for gradient_set, total in zip(gradients, checksum):
        if sum(g.sum().item() for g in gradient_set) != total:
            print("warning: an optimizer wrote into the shared gradients", file=sys.stderr)
    return pd.DataFrame(rows), triad


def _row(name, family, times, loop_times, state_bytes, base_times, closure, baselines, parameter_count, element_bytes,
         triad):
    traffic_units = TRAFFIC[registered(name)][0]
    state = state_bytes / parameter_count
    base_state = baselines[family]["foreach"].state_bytes() / parameter_count
    # The goals: the default path within 10 % of torch's default step, fused=True of torch's fused one.
    bar = "fused" if VARIANTS.get(name, (name, {}))[1].get("fused") else "default"
    ratio = median_ratio(times, base_times[bar])
    goal = ""
    if registered(name) in GOAL_METHODS:
        missed = [what for what, bad in [(f"time vs torch {bar}", ratio > GOAL_RATIO),
                                         ("state", state > base_state + 0.01)] if bad]
        goal = f"missed ({'+'.join(missed)})" if missed else f"met (vs torch {bar})"
    return {
        "method": name,
        "base": "SGD-m" if family == "sgd" else "AdamW",
        "ms/step": median_ms(times),
        "ms/step foreach": median_ms(loop_times),
        "x torch default": median_ratio(times, base_times["default"]),
        "x torch foreach": median_ratio(times, base_times["foreach"]),
        "q1-q3": ratio_quartiles(times, base_times["foreach"]),
        "best/best": min(times) / min(base_times["foreach"]),
        "x torch fused": median_ratio(times, base_times["fused"]),
        "state B/param": state,
        "traffic B/param": traffic_units * element_bytes,
        **_bandwidth_percent(traffic_units * element_bytes * parameter_count, times, triad),
        "goal": goal,
        "note": f"closure: .grad <- precomputed, {closure} evaluations" if closure else "",
    }


def _baseline_row(base, kind, parameter_count, element_bytes, triad):
    subject = base[kind]
    label = subject.label.rsplit(" ", 1)[0]
    traffic_units = TRAFFIC[label][0]
    return {
        "method": subject.label,
        "base": "SGD-m" if "SGD" in label else "AdamW",
        "ms/step": median_ms(subject.times),
        "ms/step foreach": float("nan"),
        "x torch default": median_ratio(subject.times, base["default"].times),
        "x torch foreach": median_ratio(subject.times, base["foreach"].times),
        "q1-q3": ratio_quartiles(subject.times, base["foreach"].times),
        "best/best": min(subject.times) / min(base["foreach"].times),
        "x torch fused": median_ratio(subject.times, base["fused"].times),
        "state B/param": subject.state_bytes() / parameter_count,
        "traffic B/param": traffic_units * element_bytes,
        **_bandwidth_percent(traffic_units * element_bytes * parameter_count, subject.times, triad),
        "goal": "",
        "note": f"baseline, {len(subject.times)} steps over all rounds",
    }


def _bandwidth_percent(traffic_bytes, times, triad) -> dict:
    """The step's fused-minimum bytes per median second, in % of the triad and in-place bandwidths."""
    rate = traffic_bytes / statistics.median(times)
    return {"% triad BW": 100.0 * rate / triad[0], "% in-place BW": 100.0 * rate / triad[1]}


# --- command line -------------------------------------------------------------------------------


def parse_arguments(argv=None) -> argparse.Namespace:
    names = optimizers.available() + list(VARIANTS)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=names, choices=names, metavar="NAME",
                        help="methods to time (default: every registry name and variant)")
    parser.add_argument("--repeats", type=int, default=11,
                        help="timed rounds per method; each round steps every optimizer once")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of ResNet-50's parameters (161 tensors kept) for quick checks")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(),
                        help="torch intra-op threads (default: torch's)")
    parser.add_argument("--device", type=torch.device, default=torch.device("cpu"),
                        help="where the parameters, gradients and state live (default: cpu; e.g. cuda)")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float32",
                        help="of the parameters, gradients and state (default: float32)")
    parser.add_argument("--csv", metavar="PATH", help="also write the table, with machine info")
    arguments = parser.parse_args(argv)
    if arguments.repeats < 1 or not 0 < arguments.scale <= 1:
        parser.error("--repeats must be >= 1 and --scale in (0, 1]")
    if arguments.device.type == "cuda" and not torch.cuda.is_available():
        parser.error(f"--device {arguments.device} is not available: torch {torch.__version__} sees no CUDA device")
    return arguments


def main(argv=None) -> pd.DataFrame:
    arguments = parse_arguments(argv)
    torch.set_num_threads(arguments.threads)
    parameters = sum(torch.Size(s).numel() for s in scaled_shapes(arguments.scale))
    print(f"config: methods={' '.join(arguments.methods)}\n        repeats={arguments.repeats} "
          f"scale={arguments.scale} threads={torch.get_num_threads()} csv={arguments.csv}")
    started = time.perf_counter()
    table, triad = benchmark(arguments.methods, arguments.repeats, arguments.scale, device=arguments.device,
                             dtype=DTYPES[arguments.dtype])
    where = torch.cuda.get_device_name(arguments.device) if arguments.device.type == "cuda" else \
        f"CPU, {torch.get_num_threads()} threads"
    print(f"machine: torch {torch.__version__}, {where}, "
          f"triad {triad[0] / 1e9:.1f} GB/s, in-place a += s*c {triad[1] / 1e9:.1f} GB/s; {parameters:,} parameters "
          f"in {len(SHAPES)} tensors ({arguments.dtype}); median of {arguments.repeats} interleaved rounds; "
          f"{time.perf_counter() - started:.0f} s")
    print(table.to_string(index=False, float_format=lambda x: f"{x:.2f}", na_rep="-"))
    if arguments.csv:
        table.assign(torch=torch.__version__, threads=torch.get_num_threads(),
                     triad_gb_per_s=triad[0] / 1e9,
                     in_place_gb_per_s=triad[1] / 1e9, parameters=parameters, scale=arguments.scale,
                     device=str(arguments.device), dtype=arguments.dtype,
                     repeats=arguments.repeats).to_csv(arguments.csv, index=False)
    return table


if __name__ == "__main__":
    main()
