"""The sidecar: a SQLite file (with sqlite-vec) holding spaces and vectors.

ALL SQL of the plugin lives in this package (reads in :mod:`.reads`).

Layout (schema version in ``PRAGMA user_version``, changed only by the numbered
migrations in :data:`MIGRATIONS`):

``spaces``   one row per embedding space: name, kind, backend, model, dims, the
             JSON of every setting that made its vectors, standardisation
             statistics, and a ``generation`` bumped on every vector write.
``entries``  one row per (space, item): the path, mtime and size the vector was
             computed from, when, the backend's raw output, the stored unit
             vector (a plain float32 copy for bulk reads), backend extras (JSON)
             and the last error when it failed.
``vec_<id>`` a sqlite-vec ``vec0`` table per space, keyed by beets item id.

Bulk reads go through a memory-mapped matrix file beside the sidecar
(:mod:`.matrixfile`); why: ``docs/performance.md``.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..errors import FatalError
from .connection import connect, failure, open_sidecar, sqlite_errors, writer_lock
from .migrations import MIGRATIONS
from .reads import Reads
from .records import (
    Entry,
    Space,
    SpaceSpec,
    _blob,
    _chunks,
    _describe,
    _now,
    default_path,
    pack_state,
    stand_in,
    unpack_state,
)

__all__ = ["MIGRATIONS", "Entry", "Space", "SpaceSpec", "Store", "connect", "default_path"]


#: what made a space's vectors that comes from the user's config (everything else comes
#: from the code: a difference there can only be rebuilt, never "put back")
_SETTABLE = frozenset({"segment", "positions", "dims", "model", "vocabulary"})


def _bump(c, space_id: int) -> None:
    """Every write to a space's vectors: a new generation, and a new random write stamp
    (what caches are keyed by: unlike a counter it never comes back, e.g. when a sidecar
    is restored from a backup and written again)."""
    c.execute("UPDATE spaces SET generation = generation + 1 WHERE id = ?", (space_id,))
    c.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, randomblob(16))",
              (f"stamp:{space_id}",))


class Store(Reads):
    """An open sidecar. Thread-safe: one connection guarded by a lock."""

    def __init__(self, path: str, *, driver: str | None = None):
        self.path = path
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise FatalError(f"the folder for the sonic sidecar does not exist: {folder}")
        self._lock = threading.RLock()
        try:
            self.conn, self.driver, self.read_only, self._full = open_sidecar(path, driver)
            self.conn.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except FatalError:
            raise
        except Exception as exc:  # sqlite3.DatabaseError and kin, from either driver
            raise FatalError(failure(path, exc, "open")) from None

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        """One atomic write transaction (BEGIN IMMEDIATE ... COMMIT); a SQLite failure
        (read-only file, full disk, damage) becomes a one-line FatalError."""
        with self._lock, self._sqlite_errors(writing=True):
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def _q(self, sql: str, args: Iterable[Any] = ()) -> list[tuple]:
        with self._lock, self._sqlite_errors(writing=False):
            return self.conn.execute(sql, tuple(args)).fetchall()

    def _sqlite_errors(self, *, writing: bool):
        return sqlite_errors(self.path, writing=writing, cause=self._full if writing else None)

    def _migrate(self) -> None:
        version = self._q("PRAGMA user_version")[0][0]
        while True:
            if version > len(MIGRATIONS):
                raise FatalError(
                    f"the sonic sidecar {self.path} was written by a newer beets-sonic "
                    f"(schema {version}, this one knows {len(MIGRATIONS)}): upgrade beets-sonic"
                )
            if version == len(MIGRATIONS):
                return
            if self.read_only:
                raise FatalError(
                    f"the sonic sidecar {self.path} is read-only and needs an upgrade to schema "
                    f"{len(MIGRATIONS)}: run `beet embed` once where it can be written")
            with self._tx() as c:
                # read again under the write lock: another process may have migrated meanwhile
                version = c.execute("PRAGMA user_version").fetchone()[0]
                if version < len(MIGRATIONS):
                    MIGRATIONS[version](c)
                    version += 1
                    c.execute(f"PRAGMA user_version = {version}")

    def writer_lock(self, *, on_wait=None):
        """One writing run at a time per sidecar (see :func:`.connection.writer_lock`)."""
        return writer_lock(self.path + ".lock", on_wait=on_wait)

    @property
    def sidecar_id(self) -> bytes:
        """The sidecar's random 16-byte id (fixed at creation)."""
        if not hasattr(self, "_sidecar_id"):
            self._sidecar_id = bytes(self._q("SELECT value FROM meta WHERE key = 'sidecar_id'")[0][0])
        return self._sidecar_id

    @property
    def schema_version(self) -> int:
        return self._q("PRAGMA user_version")[0][0]

    # --- spaces --------------------------------------------------------------

    _SPACE_COLS = ("id, name, kind, backend, model, dims, params, standardize, created, "
                   "generation, stats_n, state")

    def _space_from_row(self, r: tuple) -> Space:
        return Space(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), bool(r[7]), r[8],
                     r[9], r[10], unpack_state(r[11]))

    def get_space(self, name: str) -> Space | None:
        rows = self._q(f"SELECT {self._SPACE_COLS} FROM spaces WHERE name = ?", [name])
        return self._space_from_row(rows[0]) if rows else None

    def spaces(self) -> list[Space]:
        return [self._space_from_row(r) for r in self._q(f"SELECT {self._SPACE_COLS} FROM spaces ORDER BY id")]

    def ensure_space(self, spec: SpaceSpec, *, fix: str = "beet embed --rebuild",
                     create: bool = True) -> Space:
        """The space ``spec`` describes, created if new (``create=False``: an empty stand-in
        that is never written, for a dry run).

        An existing space of that name built with other settings is a
        :class:`FatalError` that names the difference and the fix (the command ``fix``).
        """
        space = self.get_space(spec.name)
        if space is None and not create:
            return stand_in(spec)
        if space is None:
            with self._tx() as c:
                # checked again under the write lock: two processes may create it at once
                if not c.execute("SELECT 1 FROM spaces WHERE name = ?", (spec.name,)).fetchone():
                    cur = c.execute(
                        "INSERT INTO spaces (name, kind, backend, model, dims, params, standardize,"
                        " created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (spec.name, spec.kind, spec.backend, spec.model, spec.dims,
                         json.dumps(spec.params, sort_keys=True), int(spec.standardize), _now()),
                    )
                    c.execute(
                        f"CREATE VIRTUAL TABLE vec_{cur.lastrowid} USING vec0(item_id INTEGER "
                        f"PRIMARY KEY, embedding float[{spec.dims}] distance_metric=cosine)"
                    )
            space = self.get_space(spec.name)
        wanted = {"kind": spec.kind, "backend": spec.backend, "model": spec.model,
                  "dims": spec.dims, "standardize": spec.standardize,
                  **json.loads(json.dumps(spec.params, sort_keys=True))}
        stored = {"kind": space.kind, "backend": space.backend, "model": space.model,
                  "dims": space.dims, "standardize": space.standardize, **space.params}
        diff = {k: (stored.get(k), wanted.get(k)) for k in sorted(set(wanted) | set(stored))
                if stored.get(k) != wanted.get(k)}
        if diff:
            # only what a user can set can be put back; the rest is how this version of
            # beets-sonic computes its vectors
            settable = set(diff) <= _SETTABLE
            raise FatalError(
                f"the {spec.name!r} space in {self.path} was built "
                + ("with other settings" if settable else "by another version of beets-sonic")
                + f" ({_describe(diff)}). Vectors made differently are never mixed: run `{fix}` "
                f"to drop the {spec.name!r} vectors and compute them again"
                + (" with the new settings (or put the old settings back)." if settable else ".")
            )
        return space

    def drop_space(self, name: str) -> bool:
        space = self.get_space(name)
        if space is None:
            return False
        with self._tx() as c:
            c.execute(f"DROP TABLE IF EXISTS {space.table}")
            c.execute("DELETE FROM entries WHERE space_id = ?", (space.id,))
            c.execute("DELETE FROM spaces WHERE id = ?", (space.id,))
            c.execute("DELETE FROM meta WHERE key IN (?, ?)", (f"stamp:{space.id}", f"checked:{space.id}"))
        self._drop_matrix_file(space.id)
        return True

    # --- writes --------------------------------------------------------------

    def _upsert(self, c, space: Space, item_id: int, *, path, mtime, size, raw, vector, extra, error):
        c.execute("DELETE FROM entries WHERE space_id = ? AND item_id = ?", (space.id, item_id))
        c.execute(
            "INSERT INTO entries (space_id, item_id, path, mtime, size, computed_at, raw, vector, extra, error)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (space.id, item_id, path, mtime, size, _now(),
             None if raw is None else _blob(raw), None if vector is None else _blob(vector),
             None if extra is None else json.dumps(extra), error),
        )
        c.execute(f"DELETE FROM {space.table} WHERE item_id = ?", (item_id,))
        if vector is not None:
            c.execute(f"INSERT INTO {space.table} (item_id, embedding) VALUES (?, ?)",
                      (item_id, _blob(vector)))
        _bump(c, space.id)

    def put_vector(self, space: Space, item_id: int, *, vector: np.ndarray, raw: np.ndarray | None = None,
                   path: bytes | None = None, mtime: float | None = None, size: int | None = None,
                   extra: dict | None = None) -> None:
        """Store one item's vector atomically (replacing any earlier one)."""
        vector = np.asarray(vector, np.float32).ravel()
        if vector.size != space.dims:
            raise ValueError(f"vector has {vector.size} dims, space {space.name!r} has {space.dims}")
        with self._tx() as c:
            self._upsert(c, space, item_id, path=path, mtime=mtime, size=size, raw=raw,
                         vector=vector, extra=extra, error=None)

    def put_vectors(self, space: Space, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Bulk-load unit vectors ``(n, dims)`` for ``ids`` ``(n,)`` in one transaction
        (for imports from elsewhere and benchmarks; no file state is recorded)."""
        vectors = np.asarray(vectors, np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != space.dims or len(ids) != len(vectors):
            raise ValueError(f"expected ({len(ids)}, {space.dims}) vectors, got {vectors.shape}")
        now = _now()
        with self._tx() as c:
            for iid, v in zip(np.asarray(ids).tolist(), vectors):
                b = v.tobytes()
                c.execute("DELETE FROM entries WHERE space_id = ? AND item_id = ?", (space.id, iid))
                c.execute(f"DELETE FROM {space.table} WHERE item_id = ?", (iid,))
                c.execute("INSERT INTO entries (space_id, item_id, computed_at, vector) VALUES (?, ?, ?, ?)",
                          (space.id, iid, now, b))
                c.execute(f"INSERT INTO {space.table} (item_id, embedding) VALUES (?, ?)", (iid, b))
            _bump(c, space.id)

    def put_error(self, space: Space, item_id: int, error: str, *, path: bytes | None = None,
                  mtime: float | None = None, size: int | None = None) -> None:
        """Record that an item failed (its old vector, if any, is removed)."""
        with self._tx() as c:
            self._upsert(c, space, item_id, path=path, mtime=mtime, size=size, raw=None,
                         vector=None, extra=None, error=error)

    def keep_vector_after_failure(self, space: Space, item_id: int, error: str | None) -> bool:
        """A recomputation failed: keep the entry's vector (finished work is never lost) and
        its path/mtime/size (those the vector was computed from). ``error``: the reason,
        noted on the entry so that the next run tries again; None (the file is not there
        now, a worker died) leaves the entry untouched -- current again as soon as the same
        file is back. False when there is no vector to keep."""
        with self._tx() as c:
            if error is None:
                return c.execute("SELECT 1 FROM entries WHERE space_id = ? AND item_id = ? "
                                 "AND vector IS NOT NULL", (space.id, item_id)).fetchone() is not None
            return c.execute("UPDATE entries SET error = ? WHERE space_id = ? AND item_id = ? "
                             "AND vector IS NOT NULL", (error, space.id, item_id)).rowcount > 0

    def relocate(self, item_id: int, path: bytes, mtime: float | None, size: int | None,
                 *, old_path: bytes | None = None, old_mtime: float | None = None,
                 old_size: int | None = None) -> int:
        """Follow a file beets moved, copied or re-tagged: no audio changed.

        Only entries computed from ``old_path`` (if given) with ``old_mtime``/``old_size``
        (if given) follow -- an entry that was already stale stays stale.
        """
        sql = ("UPDATE entries SET path = ?, mtime = ?, size = ?, "
               "error = CASE WHEN vector IS NULL THEN error END WHERE item_id = ?")
        args: list[Any] = [path, mtime, size, item_id]
        for column, value in (("path", old_path), ("mtime", old_mtime), ("size", old_size)):
            if value is not None:
                sql += f" AND {column} = ?"
                args.append(value)
        with self._tx() as c:
            return c.execute(sql, args).rowcount

    def delete_items(self, item_ids: Iterable[int]) -> int:
        """Remove every space's entries and vectors for these items."""
        ids = list(item_ids)
        if not ids:
            return 0
        removed = 0
        with self._tx() as c:
            for space in self.spaces():
                for chunk in _chunks(ids, 500):
                    marks = ",".join("?" * len(chunk))
                    n = c.execute(f"DELETE FROM entries WHERE space_id = ? AND item_id IN ({marks})",
                                  (space.id, *chunk)).rowcount
                    c.execute(f"DELETE FROM {space.table} WHERE item_id IN ({marks})", chunk)
                    if n:
                        removed += n
                        # removing vectors leaves the others consistent: a space checked
                        # before stays checked (no re-derivation of every vector next run)
                        c.execute("UPDATE meta SET value = value + 1 WHERE key = ? AND value = "
                                  "(SELECT generation FROM spaces WHERE id = ?)",
                                  (f"checked:{space.id}", space.id))
                        _bump(c, space.id)
        return removed

    def item_ids(self) -> set[int]:
        """Every item id with an entry in any space."""
        return {r[0] for r in self._q("SELECT DISTINCT item_id FROM entries")}

    def set_state_and_vectors(self, space: Space, *, n: int, state: dict[str, np.ndarray] | None,
                              ids: np.ndarray, vectors: np.ndarray) -> None:
        """A newly fitted library state and the re-derived vectors, in one transaction.
        ``state=None`` keeps the state and rewrites only the given items' vectors."""
        with self._tx() as c:
            if state is None:
                _bump(c, space.id)
            else:
                c.execute("UPDATE spaces SET stats_n = ?, state = ? WHERE id = ?",
                          (n, pack_state(state), space.id))
                _bump(c, space.id)
                c.execute(f"DELETE FROM {space.table}")
            for iid, v in zip(ids.tolist(), vectors):
                b = _blob(v)
                c.execute("UPDATE entries SET vector = ? WHERE space_id = ? AND item_id = ?", (b, space.id, iid))
                if state is None:
                    c.execute(f"DELETE FROM {space.table} WHERE item_id = ?", (iid,))
                c.execute(f"INSERT INTO {space.table} (item_id, embedding) VALUES (?, ?)", (iid, b))

    def checked_generation(self, space: Space) -> int | None:
        """The space's generation when a writing run last left it consistent."""
        rows = self._q("SELECT value FROM meta WHERE key = ?", [f"checked:{space.id}"])
        return int(rows[0][0]) if rows else None

    def mark_checked(self, space: Space) -> None:
        gen = self._q("SELECT generation FROM spaces WHERE id = ?", [space.id])[0][0]
        if self.checked_generation(space) == gen:
            return
        with self._tx() as c:
            c.execute("INSERT OR REPLACE INTO meta (key, value) SELECT ?, generation FROM spaces "
                      "WHERE id = ?", (f"checked:{space.id}", space.id))
