"""What ``beet similar --text`` keeps: text query vectors (table ``text_queries``,
migration 4) and the musicnn tag matrix (a file beside the matrix cache).

A hosted model's embedding of a text query is fixed by (model, dimensions, words):
kept here, the second identical ``beet similar --text`` makes no request.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from ..errors import FatalError
from .matrixfile import read_matrix, write_matrix
from .reads import _STAMP
from .records import _blob, _now


def get(store, *, model: str, dims: int, text: str) -> np.ndarray | None:
    """The cached unit vector ``(dims,)`` of ``text``, or None."""
    rows = store._q("SELECT vector FROM text_queries WHERE model = ? AND dims = ? AND text = ?",
                    (model, dims, text))
    if not rows:
        return None
    v = np.frombuffer(rows[0][0], np.float32)
    return v.copy() if v.size == dims else None


def put(store, *, model: str, dims: int, text: str, vector: np.ndarray) -> bool:
    """Keep ``vector`` for ``text``; False when the sidecar cannot be written (the
    search still answers, the next one asks again)."""
    try:
        with store._tx() as c:
            c.execute("DELETE FROM text_queries WHERE model = ? AND dims = ? AND text = ?",
                      (model, dims, text))
            c.execute("INSERT INTO text_queries VALUES (?, ?, ?, ?, ?)",
                      (model, dims, text, _blob(vector), _now()))
    except FatalError:
        return False
    return True


def count(store) -> int:
    return store._q("SELECT count(*) FROM text_queries")[0][0]


def tag_matrix(store, space, build: Callable[[dict[int, dict]], tuple[np.ndarray, np.ndarray]],
               *, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, P (n, dims))``: a space's tag matrix, ``build(extras)`` once per generation of
    the space and then memory-mapped from a file beside the matrix cache (reading every
    track's JSON extras costs ~40 us a track; a text query should cost what ``similar`` does).
    Keyed like the matrix cache by generation AND the space's random write stamp, so a
    restored backup of the sidecar never serves another version's tags."""
    gen, stamp = store._q(f"SELECT generation, {_STAMP} FROM spaces s WHERE id = ?", [space.id])[0]
    stamp = bytes(stamp or b"")
    path = os.path.join(store.path + "-cache", f"space-{space.id}-tags.f32")
    cached = read_matrix(path, gen, dims, owner=store.sidecar_id, stamp=stamp)
    if cached is not None:
        return cached
    ids, _ = store.matrix(space)
    ids, P = build(store.extras(space, ids.tolist()))
    try:
        write_matrix(path, gen, ids, P, owner=store.sidecar_id, stamp=stamp)
    except OSError:
        pass
    return ids, P
