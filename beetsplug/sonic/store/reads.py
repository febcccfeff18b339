"""The sidecar's reads: entries, counts, raw outputs, extras, and every vector of a space
through the memory-mapped matrix cache (:mod:`.matrixfile`; why: ``docs/performance.md``).
A mixin of :class:`~beetsplug.sonic.store.Store` (its connection, lock and ``_q``)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable

import numpy as np

from .matrixfile import drop, read_matrix, write_matrix
from .records import Entry, Space, _chunks, _stack

#: the space's random write stamp (see ``store._bump``), as a column of ``spaces s``
_STAMP = "(SELECT value FROM meta WHERE key = 'stamp:' || s.id)"


class Reads:
    def entries(self, space: Space) -> dict[int, Entry]:
        rows = self._q("SELECT item_id, path, mtime, size, computed_at, vector IS NOT NULL, error "
                       "FROM entries WHERE space_id = ?", [space.id])
        return {r[0]: Entry(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6]) for r in rows}

    def count(self, space: Space) -> int:
        return self._q("SELECT coalesce(sum(vector IS NOT NULL), 0) FROM entries WHERE space_id = ?",
                       [space.id])[0][0]  # the covering index entries_state answers this form

    def raw_matrix(self, space: Space) -> tuple[np.ndarray, np.ndarray]:
        """``(ids (n,), raw (n, raw dims))`` of the items with a vector, ordered by id
        (a backend's raw output may be longer than the stored vector)."""
        rows = self._q("SELECT item_id, raw FROM entries WHERE space_id = ? AND vector IS NOT NULL "
                       "AND raw IS NOT NULL ORDER BY item_id", [space.id])
        return _stack(rows, len(rows[0][1]) // 4 if rows else space.dims)

    def extras(self, space: Space, ids: Iterable[int]) -> dict[int, dict]:
        out = {}
        for chunk in _chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            for iid, extra in self._q(f"SELECT item_id, extra FROM entries WHERE space_id = ? "
                                      f"AND item_id IN ({marks}) AND extra IS NOT NULL", (space.id, *chunk)):
                out[iid] = json.loads(extra)
        return out

    def _vectors_from_db(self, space_id: int) -> tuple[int, bytes, np.ndarray, np.ndarray]:
        with self._lock, self._sqlite_errors(writing=False):
            self.conn.execute("BEGIN")  # one snapshot for the generation and the rows
            try:
                gen, dims, stamp = self.conn.execute(f"SELECT generation, dims, {_STAMP} FROM spaces s "
                                                     "WHERE id = ?", (space_id,)).fetchone()
                rows = self.conn.execute("SELECT item_id, vector FROM entries WHERE space_id = ? "
                                         "AND vector IS NOT NULL ORDER BY item_id", (space_id,)).fetchall()
            finally:
                self.conn.execute("COMMIT")
        ids, X = _stack(rows, dims)
        return gen, bytes(stamp or b""), ids, X

    # --- the memory-mapped matrix ------------------------------------------------

    def _matrix_path(self, space_id: int) -> str:
        return os.path.join(self.path + "-cache", f"space-{space_id}.f32")

    def _drop_matrix_file(self, space_id: int) -> None:
        drop(self._matrix_path(space_id))

    def matrix(self, space: Space) -> tuple[np.ndarray, np.ndarray]:
        """``(ids (n,) int64 ascending, X (n, dims) float32)``: every unit vector of a space.

        ``X`` is a read-only memory map of the cache file, rebuilt first when the
        space has changed since it was written. If the cache folder is not
        writable the matrix is read straight from the sidecar.
        """
        gen, stamp = self._q(f"SELECT generation, {_STAMP} FROM spaces s WHERE id = ?", [space.id])[0]
        path = self._matrix_path(space.id)
        mapped = read_matrix(path, gen, space.dims, owner=self.sidecar_id, stamp=bytes(stamp or b""))
        if mapped is not None:
            return mapped
        gen, stamp, ids, X = self._vectors_from_db(space.id)
        try:
            write_matrix(path, gen, ids, X, owner=self.sidecar_id, stamp=stamp)
        except OSError:
            return ids, X
        return read_matrix(path, gen, space.dims, owner=self.sidecar_id, stamp=stamp) or (ids, X)

    def damage(self) -> str | None:
        """A quick check of the whole file (SQLite's ``quick_check``: every page, index
        and table) and of each space's vec0 table (one search through it): None when it
        is sound, else what is wrong, in a few words."""
        try:
            with self._lock:
                problems = [r[0] for r in self.conn.execute("PRAGMA quick_check").fetchall()]
                if problems != ["ok"]:
                    return "; ".join(problems[:3])
                for sid, dims in self.conn.execute("SELECT id, dims FROM spaces").fetchall():
                    probe = np.full(dims, dims ** -0.5, np.float32).tobytes()
                    self.conn.execute(f"SELECT item_id FROM vec_{sid} WHERE embedding MATCH ? "
                                      "AND k = 1", (probe,)).fetchall()
                    self.conn.execute(f"SELECT count(*) FROM vec_{sid}").fetchone()
        except Exception as exc:  # either driver's DatabaseError, sqlite-vec's own errors
            return str(exc)
        return None
