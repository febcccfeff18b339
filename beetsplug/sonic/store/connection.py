"""Opening a SQLite connection with sqlite-vec loaded, on any Python."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

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


def is_sqlite_error(exc: BaseException) -> bool:
    """An error of either SQLite driver (the stdlib's, or sqlean's own classes)."""
    return isinstance(exc, sqlite3.Error) or type(exc).__module__.split(".")[0] in ("sqlite3", "sqlean")


@contextmanager
def sqlite_errors(path: str, *, writing: bool) -> Iterator[None]:
    """SQLite failures (read-only file, full disk, damage) as one-line FatalErrors."""
    try:
        yield
    except Exception as exc:
        if not is_sqlite_error(exc):
            raise
        if writing:
            raise FatalError(
                f"cannot write the sonic sidecar {path}: {exc}. Check that the file and "
                "its folder are writable and the disk has room; finished work is kept") from None
        raise FatalError(
            f"cannot read the sonic sidecar {path}: {exc}. If it is damaged, restore it "
            "from a backup, or move it aside and run `beet embed` to build a new one") from None


@contextmanager
def writer_lock(lock_path: str, *, on_wait=None) -> Iterator[None]:
    """One writing run at a time per sidecar (an OS file lock that dies with its process).
    A second writer waits -- calling ``on_wait()`` first -- and then plans afresh, so no
    item is computed twice and statistics are refitted by one process at a time. Readers
    never take it."""
    try:
        import fcntl
    except ImportError:  # Windows: SQLite's own locking still keeps every write atomic
        yield
        return
    with open(lock_path, "a+b") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait:
                on_wait()
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
