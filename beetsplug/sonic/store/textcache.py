"""The sidecar's cache of text query vectors (table ``text_queries``, migration 4).

A hosted model's embedding of a text query is fixed by (model, dimensions, words):
kept here, the second identical ``beet similar --text`` makes no request.
"""

from __future__ import annotations

import numpy as np

from ..errors import FatalError
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
