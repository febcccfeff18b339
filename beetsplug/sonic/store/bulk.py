"""Sidecar work whose cost must follow the answer, not the library (docs/performance.md,
"Scale"): counts instead of rows, a query's own entries instead of all, a refit that
reads and rewrites the vectors in blocks. Functions of an open :class:`~.Store`; all SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from .records import Entry, Space, _blob, _chunks, _now, _stack, pack_state

#: rows per block when a whole space is read or rewritten (a refit)
BLOCK = 2048


def entries_of(store, space: Space, item_ids: Iterable[int]) -> dict[int, Entry]:
    """The entries of these items only (what the plan of a few imported items needs)."""
    out: dict[int, Entry] = {}
    for chunk in _chunks(list(item_ids), 500):
        marks = ",".join("?" * len(chunk))
        for r in store._q("SELECT item_id, path, mtime, size, computed_at, vector IS NOT NULL, error "
                          f"FROM entries WHERE space_id = ? AND item_id IN ({marks})", (space.id, *chunk)):
            out[r[0]] = Entry(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6])
    return out


def file_states(store, space: Space) -> dict[int, tuple[bytes | None, float | None, int | None, bool, bool]]:
    """``item_id -> (path, mtime, size, has vector, failed since)`` of a whole space: the
    no-op check and the status read these few columns, never the raw outputs or the vectors."""
    return {r[0]: (r[1], r[2], r[3], bool(r[4]), bool(r[5])) for r in store._q(
        "SELECT item_id, path, mtime, size, vector IS NOT NULL, error IS NOT NULL FROM entries "
        "WHERE space_id = ?", [space.id])}


def error_counts(store, space: Space) -> dict[int, str]:
    """``item_id -> error`` of the entries without a vector or whose recomputation failed
    (a vector kept)."""
    return dict(store._q("SELECT item_id, coalesce(error, '?') FROM entries WHERE space_id = ? "
                         "AND (vector IS NULL OR error IS NOT NULL)", [space.id]))


def raw_blocks(store, space: Space, *, block: int = BLOCK,
               limit: int | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(ids (b,), raw (b, raw dims) float32)`` of the items with a vector, ``block`` at a
    time in id order (keyset pages: memory follows the block, not the library); at most
    ``limit`` blocks."""
    last = -1
    for _ in iter(int, 1) if limit is None else range(limit):
        rows = store._q("SELECT item_id, raw FROM entries WHERE space_id = ? AND item_id > ? AND "
                        "vector IS NOT NULL AND raw IS NOT NULL ORDER BY item_id LIMIT ?",
                        (space.id, last, block))
        if not rows:
            return
        yield _stack(rows, len(rows[0][1]) // 4)
        last = rows[-1][0]


def write_refit(store, space: Space, *, n: int, state: dict[str, np.ndarray],
                blocks: Iterable[tuple[np.ndarray, np.ndarray]]) -> int:
    """A newly fitted state and every re-derived vector, in ONE transaction (readers see
    the old state and vectors or the new ones, never a mix), written block by block as
    ``blocks`` yields ``(ids, vectors)``. Returns the number of vectors written."""
    written = 0
    with store._tx() as c:
        c.execute("UPDATE spaces SET stats_n = ?, state = ?, generation = generation + 1 "
                  "WHERE id = ?", (n, pack_state(state), space.id))
        c.execute(f"DELETE FROM {space.table}")
        for ids, vectors in blocks:
            pairs = [(_blob(v), iid) for iid, v in zip(np.asarray(ids).tolist(), vectors)]
            c.executemany("UPDATE entries SET vector = ? WHERE space_id = ? AND item_id = ?",
                          [(b, space.id, iid) for b, iid in pairs])
            c.executemany(f"INSERT INTO {space.table} (item_id, embedding) VALUES (?, ?)",
                          [(iid, b) for b, iid in pairs])
            written += len(pairs)
    return written


def set_state(store, space: Space, *, n: int, state: dict[str, np.ndarray]) -> None:
    """Record a fitted state without touching the vectors (a library built elsewhere)."""
    with store._tx() as c:
        c.execute("UPDATE spaces SET stats_n = ?, state = ?, generation = generation + 1 WHERE id = ?",
                  (n, pack_state(state), space.id))


def put_entries(store, space: Space, ids: Sequence[int], raw: np.ndarray, vectors: np.ndarray, *,
                paths: Sequence[bytes], mtimes: Sequence[float], sizes: Sequence[int]) -> None:
    """Bulk-load complete entries (raw output, vector, file state) in one transaction:
    for libraries built elsewhere (benchmarks/scale.py)."""
    now = _now()
    with store._tx() as c:
        ids = [int(i) for i in ids]
        for chunk in _chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            c.execute(f"DELETE FROM entries WHERE space_id = ? AND item_id IN ({marks})", (space.id, *chunk))
            c.execute(f"DELETE FROM {space.table} WHERE item_id IN ({marks})", chunk)
        c.executemany("INSERT INTO entries (space_id, item_id, path, mtime, size, computed_at, raw, vector)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                      [(space.id, i, p, m, s, now, _blob(r), _blob(v))
                       for i, p, m, s, r, v in zip(ids, paths, mtimes, sizes, raw, vectors)])
        c.executemany(f"INSERT INTO {space.table} (item_id, embedding) VALUES (?, ?)",
                      [(i, _blob(v)) for i, v in zip(ids, vectors)])
        c.execute("UPDATE spaces SET generation = generation + 1 WHERE id = ?", (space.id,))


def drop_absent(store, present: Any, item_ids: Iterable[int]) -> int:
    """Delete every space's entries of those ``item_ids`` for which ``present(ids)`` (a set
    of the ids still in the library) says they are gone: vectors written for items that
    were removed while a run computed them. Returns the entries deleted."""
    ids = sorted(set(item_ids))
    if not ids:
        return 0
    gone = sorted(set(ids) - set(present(ids)))
    return store.delete_items(gone) if gone else 0
