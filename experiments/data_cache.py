"""Decoded data kept for the life of the process, so that the many runs of one process (an arm's grid points and
seeds, ``experiments.arm``) decode each data file once.

Cached arrays are made read-only, so no run can change what the next one reads; a task copies what it uses (fancy
indexing, arithmetic and ``astype`` all copy). A file's entry is keyed by its resolved path, size and modification
time, so a replaced file is decoded again.
"""

import os
from collections.abc import Callable, Hashable

import numpy as np

Decoded = np.ndarray | tuple[np.ndarray, ...]
_DECODED: dict[Hashable, Decoded] = {}


def decoded(key: Hashable, decode: Callable[[], Decoded]) -> Decoded:
    """``decode()`` (an array or a tuple of arrays) the first time ``key`` is asked for, the same read-only
    arrays every time after."""
    if key not in _DECODED:
        value = decode()
        for array in (value,) if isinstance(value, np.ndarray) else value:
            array.flags.writeable = False
        _DECODED[key] = value
    return _DECODED[key]


def decoded_file(path: str | os.PathLike, decode: Callable[[], Decoded]) -> Decoded:
    """``decoded`` keyed by the file at ``path`` as it is now (resolved path, size, modification time)."""
    status = os.stat(path)
    return decoded(("file", os.path.realpath(path), status.st_size, status.st_mtime_ns), decode)
