"""Opening a SQLite connection with sqlite-vec loaded, on any Python."""

from __future__ import annotations

import os
import sqlite3

from ..errors import FatalError


def _stdlib_can_load() -> bool:
    return hasattr(sqlite3.Connection, "enable_load_extension")


def _load_vec(conn) -> None:
    import sqlite_vec

    conn.enable_load_extension(True)
    try:
        sqlite_vec.load(conn)
    finally:
        conn.enable_load_extension(False)


def connect(path: str, *, driver: str | None = None):
    """Open ``path`` with sqlite-vec loaded. Returns ``(connection, driver_name)``.

    ``driver``: ``"sqlite3"`` (the standard library, where this Python allows
    loading extensions), ``"sqlean"`` (the bundled SQLite of sqlean.py), or None
    to pick the first that works. ``BEETS_SONIC_SQLITE`` overrides None.
    """
    driver = driver or os.environ.get("BEETS_SONIC_SQLITE") or None
    if driver not in (None, "sqlite3", "sqlean"):
        raise FatalError(f"unknown SQLite driver {driver!r}: use sqlite3 or sqlean")
    tried = []
    if driver in (None, "sqlite3"):
        if _stdlib_can_load():
            conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            try:
                _load_vec(conn)
                return conn, "sqlite3"
            except Exception as exc:  # an old system SQLite, a blocked loader...
                conn.close()
                tried.append(f"sqlite3: {exc}")
        else:
            tried.append("sqlite3: this Python cannot load SQLite extensions")
    if driver in (None, "sqlean"):
        try:
            import sqlean
        except ImportError:
            tried.append("sqlean: not installed")
        else:
            conn = sqlean.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            _load_vec(conn)
            return conn, "sqlean"
    raise FatalError(
        "cannot load the sqlite-vec extension ("
        + "; ".join(tried)
        + "). Fix: pip install sqlean.py (a SQLite that can load extensions)"
    )
