"""The project's one atomic file writer: results, tables, figures and run files are all written through it.

A file is written to a temporary file in the same folder, flushed to disk with ``fsync``, then renamed over its
target with ``os.replace`` (atomic on POSIX within one file system). A reader, or a run resumed after a kill,
therefore sees either the old file or the new one, never half of one; on any error the temporary file is removed.
"""

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def replace_atomically(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(file)`` on a binary temporary file next to ``path``, fsync it, then rename it over ``path``.

    Missing parent folders are created. The temporary name starts with ``.`` so globs of results skip it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A fresh name opened exclusively (not mkstemp, whose 0600 mode would ignore the umask).
    temporary = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        with open(temporary, "xb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    data = text.encode("utf-8")
    return replace_atomically(path, lambda file: file.write(data))


def write_json(path: str | os.PathLike, value) -> Path:
    """Write ``value`` as JSON (indent 2, sorted keys, trailing newline) to ``path`` atomically."""
    return write_text(path, json.dumps(value, indent=2, sort_keys=True) + "\n")
