"""Reader for the IDX format of (Fashion-)MNIST (``*-idx3-ubyte`` / ``*-idx1-ubyte``, optionally gzipped).

Format (http://yann.lecun.com/exdb/mnist/): two zero bytes, a type code, the number of dimensions, then each
dimension as a big-endian uint32, then the values in C order.
"""

import gzip
from pathlib import Path

import numpy as np

_DTYPE_OF_CODE = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """The array stored in an IDX file; ``.gz`` files are decompressed on the fly."""
    opener = gzip.open if Path(path).suffix == ".gz" else open
    with opener(path, "rb") as stream:
        raw = stream.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPE_OF_CODE:
        raise ValueError(f"{path} is not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_DTYPE_OF_CODE[raw[2]])
    values = np.frombuffer(raw, dtype=dtype, offset=4 + 4 * ndim)
    if values.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says shape {shape} but holds {values.size} values")
    return values.reshape(shape).astype(dtype.newbyteorder("="))

