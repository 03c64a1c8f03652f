"""The project's source files a piece of code runs, so that pipeline rules can declare them as inputs.

A rule that trains with optimizer X on task T depends on the harness, on X's module and on T's family module, and on
nothing else of ``optimizers/`` or ``experiments/tasks/``: editing an optimizer reruns exactly the runs that use it.
Dependencies are found by reading ``import`` statements (``ast``), transitively, within the project's packages; a
package's ``__init__.py`` counts as imported with any of its modules. Imports of *boundary* packages are neither
followed nor listed: the harness imports the whole optimizer registry, but a run only executes one optimizer's code.
"""

import ast
import functools
import inspect
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("optimizers", "experiments", "theory")
OPTIMIZER_REGISTRY = ("optimizers", "optimizers.registry")


def module_path(name: str) -> Path | None:
    """The file of project module ``name`` (a module or a package's ``__init__.py``); None outside the project."""
    if name.split(".")[0] not in PACKAGES:
        return None
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@functools.cache
def imported_modules(name: str) -> frozenset[str]:
    """Project modules that module ``name`` imports (absolute and relative imports, ``from a import b`` included
    as ``a.b`` when ``b`` is a module), plus the packages that contain them. Parsed once per process: the
    pipeline asks for the same modules once per job it plans."""
    path = module_path(name)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    modules = {module for module in found if module and module_path(module) is not None}
    return frozenset(modules | {parent for module in modules for parent in parents(module)})


def parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts))]


def closure(roots: list[str], boundary: tuple[str, ...] = ()) -> list[str]:
    """The files of ``roots`` and of every project module they import, transitively. Modules named in
    ``boundary`` are skipped (``pkg.*``: the package and all its modules). Sorted paths relative to the root."""

    def excluded(module: str) -> bool:
        return any(module == stop or (stop.endswith(".*") and (module + ".").startswith(stop[:-1]))
                   for stop in boundary)

    seen, pending = set(), [root for root in roots for root in [*parents(root), root]]
    while pending:
        module = pending.pop()
        if module in seen or (excluded(module) and module not in roots) or module_path(module) is None:
            continue
        seen.add(module)
        pending.extend(imported_modules(module))
    return sorted({str(module_path(module).relative_to(ROOT)) for module in seen})


def optimizer_sources(name: str) -> list[str]:
    """What optimizer ``name`` runs: the registry (its entry) and the closure of the module defining its
    constructor and of the project objects the constructor refers to (e.g. the torch baselines)."""
    import optimizers

    constructor = optimizers.info(name).constructor
    roots = {constructor.__module__}
    functions, seen = [constructor], set()
    while functions:  # the constructor, and the functions it closes over (e.g. SAM's base constructor)
        function = functions.pop()
        if function in seen or getattr(function, "__code__", None) is None:
            continue
        seen.add(function)
        names = inspect.getclosurevars(function)
        for value in [*names.globals.values(), *names.nonlocals.values()]:
            module = inspect.getmodule(value)
            if module is not None and module_path(module.__name__) is not None:
                roots.add(module.__name__)
            if inspect.isfunction(value):
                functions.append(value)
    own = closure(sorted(roots - set(OPTIMIZER_REGISTRY)), boundary=OPTIMIZER_REGISTRY)
    registry_files = {str(module_path(module).relative_to(ROOT)) for module in OPTIMIZER_REGISTRY}
    return sorted(set(own) | registry_files)


def task_sources(name: str) -> list[str]:
    """What task ``name`` runs: the task registry and the closure of its family module."""
    from experiments.tasks import registry

    return closure([registry.family_module(name)], boundary=("optimizers.*",))


def harness_sources(entry: str) -> list[str]:
    """The closure of ``entry`` without the optimizers and the task families (see the module docstring)."""
    return closure([entry], boundary=("optimizers.*",))
