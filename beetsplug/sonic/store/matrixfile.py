"""The memory-mapped matrix file beside the sidecar: every unit vector of one space,
for bulk reads (``similar``, cohesion, graph). Written atomically; a reader keeps
the file it mapped. A file whose header doesn't match is never trusted."""

from __future__ import annotations

import mmap
import os
import uuid

import numpy as np

_MATRIX_MAGIC = b"SONICMX2"
_HEADER = 64  # magic, generation, n, dims, sidecar id (16 bytes), padding: data 64-byte aligned


def write_matrix(path: str, generation: int, ids: np.ndarray, X: np.ndarray, *, owner: bytes) -> None:
    """``owner``: the 16-byte random id of the sidecar the vectors came from -- a cache is
    only ever trusted by the sidecar that wrote it (a re-created sidecar counts up its
    generations from 0 again, so the generation alone can't tell)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    n, dims = X.shape
    ids_bytes = ids.astype("<i8").tobytes()
    pad = (-(_HEADER + len(ids_bytes))) % 64
    tmp = f"{path}.{uuid.uuid4().hex}.tmp"
    try:
        with open(tmp, "wb") as f:
            header = _MATRIX_MAGIC + np.array([generation, n, dims], "<i8").tobytes() + owner
            f.write(header.ljust(_HEADER, b"\0"))
            f.write(ids_bytes)
            f.write(b"\0" * pad)
            f.write(np.ascontiguousarray(X, "<f4").tobytes())
        os.replace(tmp, path)  # readers keep the old file they mapped
    except OSError:  # a full disk: no half-written file stays behind
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise


def read_matrix(path: str, generation: int, dims: int, *, owner: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        with open(path, "rb") as f:
            head = f.read(_HEADER)
    except OSError:
        return None
    if len(head) < _HEADER or head[:8] != _MATRIX_MAGIC:
        return None
    gen, n, d = np.frombuffer(head[8:32], "<i8").tolist()
    if gen != generation or d != dims or head[32:48] != owner:
        return None
    if n == 0:
        return np.zeros(0, np.int64), np.zeros((0, dims), np.float32)
    ids_off = _HEADER
    x_off = ids_off + 8 * n + ((-(_HEADER + 8 * n)) % 64)
    if os.path.getsize(path) != x_off + 4 * n * d:
        return None
    with open(path, "rb") as f:
        # MAP_POPULATE (Linux) faults every page in at once: searching a fresh map page by
        # page cost 2x numpy-in-RAM at 100k x 188; populated, it is a bulk copy-free map
        if hasattr(mmap, "MAP_SHARED"):
            flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
            mm = mmap.mmap(f.fileno(), 0, flags=flags, prot=mmap.PROT_READ)
        else:  # Windows
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    ids = np.frombuffer(mm, dtype="<i8", count=n, offset=ids_off).copy()
    X = np.frombuffer(mm, dtype="<f4", count=n * d, offset=x_off).reshape(n, d)
    return ids, X
