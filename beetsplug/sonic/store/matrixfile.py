"""The memory-mapped matrix file beside the sidecar: every unit vector of one space,
for bulk reads (``similar``, cohesion, graph). Written atomically; a reader keeps
the file it mapped. A file is trusted only when its header names the very state of the
sidecar it was made from (sidecar id, generation AND the space's random write stamp)
and its data matches the checksum written with it."""

from __future__ import annotations

import mmap
import os
import uuid

import numpy as np

_MATRIX_MAGIC = b"SONICMX3"
#: magic, generation, n, dims, sidecar id (16 bytes), write stamp (16 bytes), checksum
#: (8 bytes), padding: data 64-byte aligned
_HEADER = 128


def checksum(data) -> int:
    """The wrapping uint64 sum of the data area's 8-byte words (one memory-speed pass:
    ~40 ms for 100k x 768 -- paid only when a file is new to its readers, see
    :func:`read_matrix`)."""
    words = np.frombuffer(data, "<u8")
    return int(words.sum(dtype=np.uint64)) % (1 << 64) if words.size else 0


def _layout(n: int, dims: int) -> tuple[int, int, int]:
    """``(offset of X, offset where the data ends, file size)``."""
    x_off = _HEADER + 8 * n + ((-(_HEADER + 8 * n)) % 64)
    end = x_off + 4 * n * dims
    return x_off, end, end + (-end % 8)


def write_matrix(path: str, generation: int, ids: np.ndarray, X: np.ndarray, *, owner: bytes,
                 stamp: bytes) -> None:
    """``owner``: the 16-byte random id of the sidecar the vectors came from; ``stamp``: the
    space's random 16-byte write stamp, new with every write -- unlike the generation it
    never comes back (a re-created sidecar, or one restored from a backup, counts its
    generations up to the same numbers again)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    n, dims = X.shape
    x_off, end, size = _layout(n, dims)
    ids_bytes = ids.astype("<i8").tobytes()
    x_bytes = np.ascontiguousarray(X, "<f4").tobytes() + b"\0" * (size - end)
    header = (_MATRIX_MAGIC + np.array([generation, n, dims], "<i8").tobytes() + owner
              + stamp.ljust(16, b"\0")[:16]
              + np.array([(checksum(ids_bytes) + checksum(x_bytes)) % (1 << 64)], "<u8").tobytes())
    tmp = f"{path}.{uuid.uuid4().hex}.tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(header.ljust(_HEADER, b"\0"))
            f.write(ids_bytes)
            f.write(b"\0" * (x_off - _HEADER - len(ids_bytes)))
            f.write(x_bytes)
            f.flush()
            os.fsync(f.fileno())  # the data is on disk before the name points at it
        os.replace(tmp, path)  # readers keep the old file they mapped
        identity = _identity(os.stat(path))
    except OSError:  # a full disk: no half-written file stays behind
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    _remember_verified(path, identity)


def _identity(st: os.stat_result) -> str:
    """What changes whenever a file's bytes are written (ctime can't be set back)."""
    return f"{st.st_dev} {st.st_ino} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns}"


def _remember_verified(path: str, identity: str) -> None:
    """Best effort: the file with this identity was checked (a read-only cache folder
    only means the next reader checks again)."""
    try:
        with open(path + ".ok", "w") as f:
            f.write(identity)
    except OSError:
        pass


def _verified(path: str, identity: str) -> bool:
    try:
        with open(path + ".ok") as f:
            return f.read() == identity
    except OSError:
        return False


def drop(path: str) -> None:
    for p in (path, path + ".ok"):
        try:
            os.remove(p)
        except OSError:
            pass


def read_matrix(path: str, generation: int, dims: int, *, owner: bytes,
                stamp: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """The mapped ``(ids, X)``, or None when the file is missing, made from another state
    of the sidecar, or damaged (its data no longer matches its checksum)."""
    try:
        f = open(path, "rb")
    except OSError:
        return None
    with f:
        head = f.read(_HEADER)
        if len(head) < _HEADER or head[:8] != _MATRIX_MAGIC:
            return None
        gen, n, d = np.frombuffer(head[8:32], "<i8").tolist()
        if gen != generation or d != dims or head[32:48] != owner or head[48:64] != stamp.ljust(16, b"\0")[:16]:
            return None
        x_off, end, size = _layout(n, d)
        st = os.fstat(f.fileno())
        if st.st_size != size:
            return None
        if n == 0:
            return np.zeros(0, np.int64), np.zeros((0, dims), np.float32)
        # MAP_POPULATE (Linux) faults every page in at once: searching a fresh map page by
        # page cost 2x numpy-in-RAM at 100k x 188; populated, it is a bulk copy-free map
        if hasattr(mmap, "MAP_SHARED"):
            flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
            mm = mmap.mmap(f.fileno(), 0, flags=flags, prot=mmap.PROT_READ)
        else:  # Windows
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    identity = _identity(st)
    if not _verified(path, identity):
        # a file its readers haven't checked yet (or one changed since): its data must be
        # what was written, or it is rebuilt from the sidecar
        if checksum(memoryview(mm)[_HEADER:]) != int(np.frombuffer(head[64:72], "<u8")[0]):
            return None
        _remember_verified(path, identity)
    ids = np.frombuffer(mm, dtype="<i8", count=n, offset=_HEADER).copy()
    X = np.frombuffer(mm, dtype="<f4", count=n * d, offset=x_off).reshape(n, d)
    return ids, X
