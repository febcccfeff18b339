"""The sidecar's schema, changed only by numbered migrations (``PRAGMA user_version``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

# Each migration is a function of an open connection inside its own transaction;
# MIGRATIONS[i] brings ``PRAGMA user_version`` i to i + 1. Append, never edit.


def _m1_tables(c) -> None:
    c.execute("""
        CREATE TABLE spaces (
            id          INTEGER PRIMARY KEY,
            name        TEXT NOT NULL UNIQUE,
            kind        TEXT NOT NULL,
            backend     TEXT NOT NULL,
            model       TEXT NOT NULL,
            dims        INTEGER NOT NULL,
            params      TEXT NOT NULL,
            standardize INTEGER NOT NULL,
            created     TEXT NOT NULL,
            generation  INTEGER NOT NULL DEFAULT 0,
            stats_n     INTEGER NOT NULL DEFAULT 0,
            stats_mean  BLOB,
            stats_scale BLOB
        )""")
    c.execute("""
        CREATE TABLE entries (
            space_id    INTEGER NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
            item_id     INTEGER NOT NULL,
            path        BLOB,
            mtime       REAL,
            size        INTEGER,
            computed_at TEXT NOT NULL,
            raw         BLOB,
            vector      BLOB,
            extra       TEXT,
            error       TEXT,
            PRIMARY KEY (space_id, item_id)
        )""")
    c.execute("CREATE INDEX entries_item ON entries(item_id)")


def _m2_space_state(c) -> None:
    """One ``state`` BLOB per space for whatever its backend fits on the library
    (standardisation statistics, a projection...), replacing stats_mean/stats_scale;
    existing statistics are carried over."""
    from .records import pack_state

    c.execute("ALTER TABLE spaces ADD COLUMN state BLOB")
    rows = c.execute("SELECT id, stats_mean, stats_scale FROM spaces "
                     "WHERE stats_mean IS NOT NULL AND stats_scale IS NOT NULL").fetchall()
    for sid, mean, scale in rows:
        state = {"mean": np.frombuffer(mean, np.float32), "scale": np.frombuffer(scale, np.float32)}
        c.execute("UPDATE spaces SET state = ? WHERE id = ?", (pack_state(state), sid))
    c.execute("ALTER TABLE spaces DROP COLUMN stats_mean")
    c.execute("ALTER TABLE spaces DROP COLUMN stats_scale")


def _m3_sidecar_id(c) -> None:
    """A random id per sidecar: caches beside it record it and are trusted only by it."""
    import uuid

    c.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
    c.execute("INSERT INTO meta VALUES ('sidecar_id', ?)", (uuid.uuid4().bytes,))


def _m4_text_queries(c) -> None:
    """Text queries embedded by a hosted model (``beet similar --text``), so repeating
    a search costs no request; keyed by model, dimensions and the words."""
    c.execute("""
        CREATE TABLE text_queries (
            model   TEXT NOT NULL,
            dims    INTEGER NOT NULL,
            text    TEXT NOT NULL,
            vector  BLOB NOT NULL,
            created TEXT NOT NULL,
            PRIMARY KEY (model, dims, text)
        )""")


def _m5_entries_state_index(c) -> None:
    """What a status, a plan and a count read of every entry -- the file state, whether
    there is a vector and whether its last recomputation failed -- as a covering index:
    those scans no longer read the rows with their raw outputs (1.2 s -> 0.2 s at 50,000
    tracks; SQLite 3.41+ uses it as covering)."""
    c.execute("CREATE INDEX entries_state ON entries(space_id, item_id, path, mtime, size, "
              "(vector IS NOT NULL), (error IS NOT NULL))")


MIGRATIONS: list[Callable[[Any], None]] = [_m1_tables, _m2_space_state, _m3_sidecar_id,
                                           _m4_text_queries, _m5_entries_state_index]
