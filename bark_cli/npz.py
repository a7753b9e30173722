"""Reading ``.npz`` and ``.npy`` files that bark did not necessarily write (voices, cached codes).

``np.load`` trusts the file: it allocates whatever the header declares (a 7 KB file can ask for 10^12
elements) and loads every member of an archive when asked for all of them. Here only the members asked
for are read, each header is checked against a limit before anything is allocated, exactly the declared
bytes are read, and object arrays (pickles) are refused.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np


class ArrayFileError(ValueError):
    """The file is not a readable array file, or declares more than it may hold."""


def _read_array(stream: BinaryIO, name: str, max_elements: int) -> np.ndarray:
    fmt = np.lib.format
    try:
        version = fmt.read_magic(stream)
        if version == (1, 0):
            shape, fortran_order, dtype = fmt.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran_order, dtype = fmt.read_array_header_2_0(stream)
        else:
            raise ArrayFileError(f"{name}: unsupported .npy version {version}")
    except (ValueError, OSError, EOFError) as exc:
        raise ArrayFileError(f"{name}: not a .npy array ({exc})") from exc
    if dtype.hasobject:
        raise ArrayFileError(f"{name}: holds Python objects (a pickle), which are never loaded")
    count = math.prod(shape)
    if count > max_elements:
        raise ArrayFileError(f"{name}: declares {count:,} values, more than the {max_elements:,} it may hold")
    size = count * dtype.itemsize
    data = stream.read(size)
    if len(data) != size:
        raise ArrayFileError(f"{name}: truncated ({len(data):,} of {size:,} bytes)")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran_order else "C")


def read_npz(path: Path, limits: dict[str, int]) -> dict[str, np.ndarray]:
    """The members named by ``limits`` (name -> most values) that the archive has; no other is read."""
    try:
        with zipfile.ZipFile(path) as archive:
            present = set(archive.namelist())
            arrays = {}
            for name, max_elements in limits.items():
                if name + ".npy" in present:
                    with archive.open(name + ".npy") as stream:
                        arrays[name] = _read_array(stream, name, max_elements)
            return arrays
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as exc:
        raise ArrayFileError(f"not a readable .npz archive ({exc})") from exc


def read_npy(path: Path, max_elements: int) -> np.ndarray:
    with open(path, "rb") as stream:
        return _read_array(stream, path.name, max_elements)
