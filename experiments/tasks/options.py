"""Task options: the sizes and variants a task accepts (``train_size``, ``k_shot``, ``width``, ``stem`` ...),
declared and validated.

Each task declares its options with defaults; ``resolve_options`` rejects unknown names and bad values with an
error that names the task, the option, the value and what is allowed, before any data is read.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class IntOption:
    """A whole-number option with a lower bound; where ``none_means_all``, None means "use everything available"."""

    default: int | None
    minimum: int
    help: str
    none_means_all: bool = False

    def validate(self, task: str, name: str, value):
        if value is None and self.none_means_all:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"task {task!r}: option {name!r} must be an int, got {value!r} ({self.help})")
        if value < self.minimum:
            raise ValueError(f"task {task!r}: option {name!r} must be >= {self.minimum}, got {value} ({self.help})")
        return value


@dataclasses.dataclass(frozen=True)
class FloatOption:
    """A real-valued option with an inclusive lower bound (e.g. a width multiplier); ints are accepted as floats."""

    default: float
    minimum: float
    help: str

    def validate(self, task: str, name: str, value):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"task {task!r}: option {name!r} must be a number, got {value!r} ({self.help})")
        if not value >= self.minimum:  # also rejects NaN
            raise ValueError(f"task {task!r}: option {name!r} must be >= {self.minimum}, got {value} ({self.help})")
        return float(value)


@dataclasses.dataclass(frozen=True)
class ChoiceOption:
    """One of a fixed set of strings (e.g. which stem a network uses)."""

    default: str
    choices: tuple[str, ...]
    help: str

    def validate(self, task: str, name: str, value):
        if value not in self.choices:
            raise ValueError(
                f"task {task!r}: option {name!r} must be one of {list(self.choices)}, got {value!r} ({self.help})"
            )
        return value


@dataclasses.dataclass(frozen=True)
class PathOption:
    """A filesystem path option (e.g. a local model directory); ``default=None`` means it is required."""

    default: str | None
    help: str

    def validate(self, task: str, name: str, value):
        if value is None:
            raise ValueError(f"task {task!r}: option {name!r} is required ({self.help})")
        if not isinstance(value, str):
            raise TypeError(f"task {task!r}: option {name!r} must be a path string, got {value!r} ({self.help})")
        return value


def resolve_options(task: str, declared: dict, given: dict) -> dict:
    """Return every declared option with ``given`` values laid over the defaults, validated."""
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise ValueError(
            f"task {task!r}: unknown option(s) {unknown}; allowed options are {sorted(declared) or 'none'}"
        )
    resolved = {}
    for name, option in declared.items():
        resolved[name] = option.validate(task, name, given.get(name, option.default))
    return resolved
