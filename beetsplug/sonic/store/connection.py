"""Opening a SQLite connection with sqlite-vec loaded, on any Python."""

from __future__ import annotations

import errno
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


def connect(path: str, *, driver: str | None = None, read_only: str = ""):
    """Open ``path`` with sqlite-vec loaded. Returns ``(connection, driver_name)``.

    ``driver``: ``"sqlite3"`` (the standard library, where this Python allows
    loading extensions), ``"sqlean"`` (the bundled SQLite of sqlean.py), or None
    to pick the first that works. ``BEETS_SONIC_SQLITE`` overrides None.
    ``read_only``: ``"ro"`` opens the file read-only; ``"immutable"`` also tells SQLite
    that nothing can change it (a read-only folder or filesystem, where a WAL file's
    shared memory can't be created).
    """
    target, uri = path, False
    if read_only:
        from urllib.parse import quote

        target = "file:" + quote(os.path.abspath(path)) + ("?immutable=1" if read_only == "immutable" else "?mode=ro")
        uri = True
    driver = driver or os.environ.get("BEETS_SONIC_SQLITE") or None
    if driver not in (None, "sqlite3", "sqlean"):
        raise FatalError(f"unknown SQLite driver {driver!r}: use sqlite3 or sqlean")
    tried = []
    if driver in (None, "sqlite3"):
        if _stdlib_can_load():
            conn = sqlite3.connect(target, timeout=30, isolation_level=None, check_same_thread=False,
                                   uri=uri)
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
            conn = sqlean.connect(target, timeout=30, isolation_level=None, check_same_thread=False,
                                  uri=uri)
            _load_vec(conn)
            return conn, "sqlean"
    raise FatalError(
        "cannot load the sqlite-vec extension ("
        + "; ".join(tried)
        + "). Fix: pip install sqlean.py (a SQLite that can load extensions)"
    )


def open_sidecar(path: str, driver: str | None):
    """``(connection, driver, read_only, full)``. Opened read-only where the file or its
    folder can't be written (a read-only mount, permissions) or the disk is full
    (``full``: the cause to name when a write is tried): reading commands still work."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.exists(path) and not (os.access(path, os.W_OK) and os.access(folder, os.W_OK)):
        return (*_open_read_only(path, driver), True, None)
    stuck = _read_only_companions(path)
    if stuck:  # the sidecar can be written, but not its write-ahead log: reads still work
        return (*_open_read_only(path, driver), True, stuck)
    try:
        conn, driver_used = connect(path, driver=driver)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
        except Exception as exc:  # a file that is read-only after all: keep its mode
            if not is_sqlite_error(exc) or "readonly" not in str(exc).replace("-", ""):
                raise
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn, driver_used, False, None
    except Exception as exc:
        # a full disk can't even hold the WAL's shared memory: read what is there
        if not (is_sqlite_error(exc) and os.path.exists(path) and _disk_full(folder, exc)):
            raise
        return (*_open_read_only(path, driver), True, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))


class ReadOnlyCompanions(OSError):
    """The sidecar is writable but its ``-wal``/``-shm`` files are not (SQLite gives them
    the sidecar's permissions: a run that opened a read-only sidecar leaves them so)."""

    def __init__(self, files: list[str]):
        super().__init__(f"{' and '.join(files)} read-only")
        self.files = files


def _read_only_companions(path: str) -> ReadOnlyCompanions | None:
    """Companion files that can't be written, after making those we own writable again
    (as the sidecar itself is)."""
    stuck = []
    for companion in (path + "-wal", path + "-shm"):
        if not os.path.exists(companion) or os.access(companion, os.W_OK):
            continue
        try:
            os.chmod(companion, os.stat(companion).st_mode | (os.stat(path).st_mode & 0o222))
        except OSError:
            pass
        if not os.access(companion, os.W_OK):
            stuck.append(companion)
    return ReadOnlyCompanions(stuck) if stuck else None


def _open_read_only(path: str, driver: str | None):
    try:
        conn, driver_used = connect(path, driver=driver, read_only="ro")
        conn.execute("PRAGMA user_version").fetchone()
        return conn, driver_used
    except Exception as exc:
        # a WAL file in a folder where its shared memory can't be created: nothing can
        # change the file there, so SQLite may read it as immutable -- unless a
        # write-ahead log holds pages the file doesn't (immutable would skip them)
        wal = path + "-wal"
        if not is_sqlite_error(exc) or (os.path.exists(wal) and os.path.getsize(wal)):
            raise
        return connect(path, driver=driver, read_only="immutable")


def is_full(exc: BaseException) -> bool:
    """The disk is full: SQLite's SQLITE_FULL, or an OS write error ENOSPC -- judged by the
    error, never by a path that happens to contain the word."""
    return getattr(exc, "errno", None) == errno.ENOSPC or "database or disk is full" in str(exc)


def _disk_full(folder: str, exc: BaseException) -> bool:
    """SQLite says "disk is full", or "disk I/O error" where its shared memory couldn't
    grow: either way, less than a MiB is left."""
    if is_full(exc):
        return True
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):  # Windows has no statvfs
        return False
    return st.f_bavail * st.f_frsize < 1 << 20


def is_sqlite_error(exc: BaseException) -> bool:
    """An error of either SQLite driver (the stdlib's, or sqlean's own classes)."""
    return isinstance(exc, sqlite3.Error) or type(exc).__module__.split(".")[0] in ("sqlite3", "sqlean")


#: what SQLite and sqlite-vec say when the file's own bytes are wrong
DAMAGE = ("not a database", "malformed", "corrupt", "blob read error", "opening blob failed",
          "Could not fetch vector data", "integrity")


DAMAGED_FIX = ("The file is damaged: restore it from a backup, or move it aside and run "
               "`beet embed` to build a new one")


def is_damage(exc: BaseException | str) -> bool:
    return any(w in str(exc) for w in DAMAGE)


def failure(path: str, exc: BaseException, verb: str) -> str:
    """One line naming the file, the cause and the fix. Only damage gets the way out
    (restore, or rebuild): a sidecar that is merely unreachable is never advised away."""
    text = str(exc)
    if isinstance(exc, ReadOnlyCompanions):
        names = " and ".join(exc.files)
        return (f"cannot {verb} the sonic sidecar {path}: the sidecar is writable, but {names} "
                f"{'is' if len(exc.files) == 1 else 'are'} not (left by a run that could only read "
                f"it, or a read-only mount). Make {'it' if len(exc.files) == 1 else 'them'} "
                "writable like the sidecar (chmod u+w), and run the command again; finished work "
                "is kept")
    if is_full(exc):
        return (f"cannot {verb} the sonic sidecar {path}: the disk is full ({text}). Free some "
                "space and run the command again; finished work is kept")
    if is_damage(exc):
        return f"cannot {verb} the sonic sidecar {path}: {text}. {DAMAGED_FIX}"
    if verb == "write":
        return (f"cannot write the sonic sidecar {path}: {text}. Check that the file and its "
                "folder are writable and the disk has room; finished work is kept")
    return (f"cannot {verb} the sonic sidecar {path}: {text}. Check that the file and its "
            "folder exist and are readable (and writable, for commands that write)")


@contextmanager
def sqlite_errors(path: str, *, writing: bool, cause: BaseException | None = None) -> Iterator[None]:
    """SQLite failures (read-only file, full disk, damage) as one-line FatalErrors;
    ``cause``: what is known to be behind them (a full disk found on open)."""
    try:
        yield
    except Exception as exc:
        if not is_sqlite_error(exc):
            raise
        raise FatalError(failure(path, cause or exc, "write" if writing else "read")) from None


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
    try:
        f = open(lock_path, "a+b")
    except OSError as exc:
        raise FatalError(failure(lock_path[:-len(".lock")], exc, "write")) from None
    with f:
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
