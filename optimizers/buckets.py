"""Splits parallel tensor lists by a per-parameter scalar, for the multi-tensor fast paths.

``torch._foreach_*`` ops take one scalar per call. Where a scalar is kept per parameter (the step
count of Adam's bias correction, the shift a parameter was last moved by), parameters that share
the value are updated together; in a normal run every parameter shares it and there is one call.
"""

from collections.abc import Hashable, Iterator, Sequence


def by_value(keys: Sequence[Hashable], *lists: Sequence) -> Iterator[tuple]:
    """Yield ``(key, sublist_1, sublist_2, ...)`` for each distinct key, in first-seen order."""
    groups: dict = {}
    for index, key in enumerate(keys):
        groups.setdefault(key, []).append(index)
    for key, indices in groups.items():
        yield (key, *[[items[i] for i in indices] for items in lists])
