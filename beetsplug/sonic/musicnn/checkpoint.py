"""A reader for TensorFlow checkpoints (the "tensor bundle" format), no TensorFlow needed.

``.index`` is an SSTable (LevelDB table format, uncompressed): data blocks of
prefix-compressed key/value entries, an index block pointing at them, and a
48-byte footer. Each key is a tensor name; each value a ``BundleEntryProto``
saying where the tensor's raw little-endian bytes are in the ``.data`` file.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

import numpy as np

from ..errors import FatalError

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER = 48
BLOCK_TRAILER = 5  # compression type (1 byte) + crc32c (4 bytes)
DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64, 10: np.bool_}


class CheckpointError(FatalError):
    pass


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise CheckpointError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise CheckpointError("bad varint")


def _fields(msg: bytes):
    """Yield ``(field number, wire type, value)`` of a protobuf message."""
    pos = 0
    while pos < len(msg):
        key, pos = _varint(msg, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(msg, pos)
        elif wire == 1:
            value, pos = msg[pos: pos + 8], pos + 8
        elif wire == 2:
            n, pos = _varint(msg, pos)
            value, pos = msg[pos: pos + n], pos + n
        elif wire == 5:
            value, pos = msg[pos: pos + 4], pos + 4
        else:
            raise CheckpointError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


@dataclass(frozen=True)
class Entry:
    dtype: int
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int


def _entry(value: bytes) -> Entry:
    dtype = shard = offset = size = 0
    shape: list[int] = []
    for number, _, v in _fields(value):
        if number == 1:
            dtype = v
        elif number == 2:  # TensorShapeProto: repeated Dim dim = 2 { int64 size = 1 }
            for n2, _, dim in _fields(v):
                if n2 == 2:
                    shape.append(next((d for n3, _, d in _fields(dim) if n3 == 1), 0))
        elif number == 3:
            shard = v
        elif number == 4:
            offset = v
        elif number == 5:
            size = v
    return Entry(dtype, tuple(shape), shard, offset, size)


def _block(data: bytes, offset: int, size: int) -> list[tuple[bytes, bytes]]:
    """The key/value entries of one uncompressed SSTable block."""
    if offset + size + BLOCK_TRAILER > len(data):
        raise CheckpointError("block runs past the end of the index")
    if data[offset + size] != 0:
        raise CheckpointError("compressed blocks are not supported")
    block = data[offset: offset + size]
    n_restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    end = len(block) - 4 - 4 * n_restarts
    if end < 0:
        raise CheckpointError("bad block restart array")
    out, pos, key = [], 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        vlen, pos = _varint(block, pos)
        key = key[:shared] + block[pos: pos + unshared]
        pos += unshared
        out.append((key, block[pos: pos + vlen]))
        pos += vlen
    return out


def read_index(path: str) -> dict[str, Entry]:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise CheckpointError(f"cannot read the checkpoint index {path}: {exc.strerror}") from None
    if len(data) < FOOTER or struct.unpack_from("<Q", data, len(data) - 8)[0] != TABLE_MAGIC:
        raise CheckpointError(f"{path} is not a TensorFlow checkpoint index (bad magic number)")
    footer = data[len(data) - FOOTER:]
    _, pos = _varint(footer, 0)  # metaindex handle: offset, size
    _, pos = _varint(footer, pos)
    index_off, pos = _varint(footer, pos)
    index_size, pos = _varint(footer, pos)
    entries: dict[str, Entry] = {}
    for _, handle in _block(data, index_off, index_size):
        off, p = _varint(handle, 0)
        size, _ = _varint(handle, p)
        for key, value in _block(data, off, size):
            if key:  # the empty key holds the BundleHeaderProto
                entries[key.decode()] = _entry(value)
    if not entries:
        raise CheckpointError(f"{path} lists no tensors")
    return entries


def load(prefix: str, *, skip_optimizer: bool = True) -> dict[str, np.ndarray]:
    """All tensors of the checkpoint ``prefix`` (``prefix.index`` + ``prefix.data-*``)."""
    entries = read_index(prefix + ".index")
    shards = {e.shard for e in entries.values()}
    n = max(shards) + 1
    tensors: dict[str, np.ndarray] = {}
    blobs = {}
    for s in shards:
        name = f"{prefix}.data-{s:05d}-of-{n:05d}"
        try:
            with open(name, "rb") as f:
                blobs[s] = f.read()
        except OSError as exc:
            raise CheckpointError(f"cannot read checkpoint data {name}: {exc.strerror}") from None
    for key, e in entries.items():
        if skip_optimizer and ("Adam" in key or key.startswith("beta1_power") or key.startswith("beta2_power")):
            continue
        if e.dtype not in DTYPES:
            continue
        dtype = np.dtype(DTYPES[e.dtype]).newbyteorder("<")
        count = int(np.prod(e.shape)) if e.shape else 1
        if e.size != count * dtype.itemsize or e.offset + e.size > len(blobs[e.shard]):
            raise CheckpointError(f"checkpoint tensor {key} is damaged (size {e.size}, "
                                  f"shape {e.shape}): reinstall with `pip install --no-deps --force-reinstall musicnn==0.1.0`")
        arr = np.frombuffer(blobs[e.shard], dtype=dtype, count=count, offset=e.offset)
        tensors[key] = arr.reshape(e.shape).astype(DTYPES[e.dtype])
    return tensors


def find_weights(model: str = "MSD_musicnn") -> str | None:
    """The checkpoint prefix inside the installed ``musicnn`` package, without importing it.

    ``SONIC_MUSICNN_WEIGHTS`` names another checkpoint prefix (a folder ending in
    ``/`` holding ``.index`` and ``.data-00000-of-00001``); empty means "none".
    """
    import importlib.util

    if "SONIC_MUSICNN_WEIGHTS" in os.environ:
        prefix = os.environ["SONIC_MUSICNN_WEIGHTS"]
        return prefix if prefix and os.path.exists(prefix + ".index") else None

    spec = importlib.util.find_spec("musicnn")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        prefix = os.path.join(folder, model, "")
        if os.path.exists(prefix + ".index"):
            return prefix
    return None
