"""The sidecar store against the real sqlite-vec extension, through both SQLite drivers."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from beetsplug.sonic import analysis
from beetsplug.sonic.errors import FatalError
from beetsplug.sonic.store import MIGRATIONS, SpaceSpec, Store, connect

from .helpers import VEC0_TOP_K, vec0_top_k

SPEC = SpaceSpec(name="spectral", kind="audio", backend="spectral", model="spectral", dims=8,
                 params={"segment": 30.0, "positions": [0.5]}, standardize=True)


def unit(rng, n, d=8):
    return analysis.normalize(rng.standard_normal((n, d)))


@pytest.fixture
def store(tmp_path):
    with Store(str(tmp_path / "lib.sonic.db"), driver="sqlean") as s:
        yield s


def test_new_sidecar_is_migrated_and_in_wal_mode(store):
    assert store.schema_version == len(MIGRATIONS)
    assert store._q("PRAGMA journal_mode")[0][0] == "wal"
    assert store.spaces() == []


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "x.db"
    Store(str(path), driver="sqlean").close()
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    con.commit()
    con.close()
    with pytest.raises(FatalError, match="newer beets-sonic"):
        Store(str(path), driver="sqlean")


def test_damaged_sidecar_names_the_fix(tmp_path):
    path = tmp_path / "x.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(FatalError, match="move it aside"):
        Store(str(path), driver="sqlean")


def test_space_settings_mismatch_is_an_error_naming_the_fix(store):
    store.ensure_space(SPEC)
    changed = SpaceSpec(**{**SPEC.__dict__, "params": {"segment": 20.0, "positions": [0.5]}})
    with pytest.raises(FatalError) as err:
        store.ensure_space(changed)
    msg = str(err.value)
    assert "segment 30.0 -> 20.0" in msg and "beet embed --rebuild" in msg
    assert store.ensure_space(SPEC).params == SPEC.params  # same settings open fine


def test_put_get_and_vec0_knn_agree_with_numpy(store):
    rng = np.random.default_rng(0)
    space = store.ensure_space(SPEC)
    X = unit(rng, 50)
    for i, v in enumerate(X, start=1):
        store.put_vector(space, i, vector=v, raw=v * 3, path=f"/m/{i}.mp3".encode(), mtime=1.5, size=10)
    ids, M = store.matrix(space)
    assert ids.tolist() == list(range(1, 51))
    np.testing.assert_allclose(M, X, atol=1e-7)
    q = X[7]
    exact = analysis.top_k(X @ q, 5) + 1
    assert [iid for iid, _ in vec0_top_k(store.conn, space.name, q, 5)] == exact.tolist()
    entry = store.entries(space)[3]
    assert (entry.path, entry.mtime, entry.size, entry.ok) == (b"/m/3.mp3", 1.5, 10, True)


def test_wrong_dims_rejected(store):
    space = store.ensure_space(SPEC)
    with pytest.raises(ValueError, match="9 dims"):
        store.put_vector(space, 1, vector=np.ones(9))


def test_error_replaces_vector_everywhere(store):
    space = store.ensure_space(SPEC)
    store.put_vector(space, 1, vector=np.eye(8)[0])
    store.put_vector(space, 2, vector=np.eye(8)[1])
    store.put_error(space, 1, "the analysed audio is silent", path=b"/x.mp3")
    assert not store.entries(space)[1].ok
    assert store.entries(space)[1].error == "the analysed audio is silent"
    assert [i for i, _ in vec0_top_k(store.conn, space.name, np.eye(8)[0], 5)] == [2]
    assert store.matrix(space)[0].tolist() == [2]


def test_matrix_cache_follows_every_write(store):
    space = store.ensure_space(SPEC)
    store.put_vector(space, 1, vector=np.eye(8)[0])
    assert store.matrix(space)[0].tolist() == [1]
    cache = Path(store._matrix_path(space.id))
    assert cache.exists()
    store.put_vector(space, 2, vector=np.eye(8)[1])
    assert store.matrix(space)[0].tolist() == [1, 2]
    store.delete_items([1])
    assert store.matrix(space)[0].tolist() == [2]
    cache.write_bytes(b"garbage")  # a damaged cache is rebuilt, never trusted
    assert store.matrix(space)[0].tolist() == [2]


def test_relocate_and_delete(store):
    space = store.ensure_space(SPEC)
    store.put_vector(space, 1, vector=np.eye(8)[0], path=b"/in/a.mp3", mtime=1.0, size=5)
    assert store.relocate(1, b"/lib/a.mp3", 2.0, 6, old_path=b"/other.mp3") == 0
    assert store.relocate(1, b"/lib/a.mp3", 2.0, 6, old_path=b"/in/a.mp3") == 1
    e = store.entries(space)[1]
    assert (e.path, e.mtime, e.size) == (b"/lib/a.mp3", 2.0, 6)
    assert store.delete_items([1]) == 1
    assert store.entries(space) == {}
    assert vec0_top_k(store.conn, space.name, np.eye(8)[0], 3) == []


def test_drop_space_removes_table_and_cache(store):
    space = store.ensure_space(SPEC)
    store.put_vector(space, 1, vector=np.eye(8)[0])
    store.matrix(space)
    assert store.drop_space("spectral")
    assert store.get_space("spectral") is None
    assert not os.path.exists(store._matrix_path(space.id))
    assert not store._q("SELECT name FROM sqlite_master WHERE name = ?", [space.table])


def test_restandardize_rewrites_vectors_atomically(store):
    from beetsplug.sonic.backends import Backend
    from beetsplug.sonic.indexer import restandardize

    class Fake(Backend):
        NAME = "fake"
        dims = 8

        def __init__(self):
            super().__init__(segment=1, positions=(0.5,))

        def embed(self, path):
            raise NotImplementedError

    space = store.ensure_space(SPEC)
    rng = np.random.default_rng(1)
    R = rng.standard_normal((10, 8)) * np.arange(1, 9) + 100
    for i, r in enumerate(R, start=1):
        store.put_vector(space, i, vector=analysis.normalize(r), raw=r)
    assert restandardize(store, space, Fake())
    space = store.get_space("spectral")
    assert space.stats_n == 10
    ids, X = store.matrix(space)
    mean, scale = analysis.fit_standardizer(R)
    np.testing.assert_allclose(X, analysis.standardize(R, mean=mean, scale=scale), atol=1e-6)
    assert not restandardize(store, space, Fake())  # nothing changed: no refit


def test_sqlean_driver_can_be_forced(tmp_path):
    conn, name = connect(str(tmp_path / "a.db"), driver="sqlean")
    assert name == "sqlean"
    assert conn.execute("select vec_version()").fetchone()[0].startswith("v")
    conn.close()


def test_unknown_driver_is_refused(tmp_path):
    with pytest.raises(FatalError, match="unknown SQLite driver"):
        connect(str(tmp_path / "a.db"), driver="mysql")


def test_driver_fallback_matches_this_python(tmp_path):
    conn, name = connect(str(tmp_path / "a.db"))
    can = hasattr(sqlite3.Connection, "enable_load_extension")
    assert name == ("sqlite3" if can else "sqlean")
    conn.close()


def _python_with_loadable_sqlite() -> str | None:
    """A Python 3 on this machine whose stdlib sqlite3 can load extensions."""
    candidates = [sys.executable, "/usr/bin/python3", shutil.which("python3") or ""]
    for exe in candidates:
        if exe and os.path.exists(exe):
            probe = subprocess.run(
                [exe, "-c", "import sqlite3,sys; sys.exit(0 if hasattr(sqlite3.Connection,"
                 "'enable_load_extension') and sys.version_info[:2] == ({}, {}) else 1)"
                 .format(*sys.version_info[:2])], capture_output=True)
            if probe.returncode == 0:
                return exe
    return None


def test_stdlib_sqlite3_path_with_a_python_that_allows_it(tmp_path):
    """Same store code through the standard library's sqlite3, on a Python that can load it.

    The project's venv Python (pyenv) cannot load extensions, so this runs the
    store in Debian's system Python 3.11 with our venv's packages on its path.
    """
    exe = _python_with_loadable_sqlite()
    if exe is None:
        pytest.skip("no Python 3 on this machine whose sqlite3 can load extensions")
    import numpy
    import sqlite_vec

    paths = [str(Path(__file__).resolve().parents[1]),
             str(Path(numpy.__file__).parents[1]), str(Path(sqlite_vec.__file__).parents[1])]
    db = tmp_path / "std.db"
    script = textwrap.dedent(f"""
        import sys, json
        sys.path[:0] = {paths!r}
        import numpy as np
        from beetsplug.sonic.store import Store, SpaceSpec
        s = Store({str(db)!r}, driver="sqlite3")
        sp = s.ensure_space(SpaceSpec("t", "audio", "t", "t", 4))
        s.put_vector(sp, 7, vector=np.array([1, 0, 0, 0], np.float32))
        blob = np.array([1, 0, 0, 0], np.float32).tobytes()
        sql = {VEC0_TOP_K.format(space_id=1)!r}
        print(json.dumps([s.driver, s.conn.execute(sql, (blob, 1)).fetchall()]))
    """)
    out = subprocess.run([exe, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    driver, hits = json.loads(out.stdout)
    assert driver == "sqlite3" and hits[0][0] == 7
    # and the file it wrote opens through the bundled driver too
    with Store(str(db), driver="sqlean") as s:
        assert s.matrix(s.get_space("t"))[0].tolist() == [7]


def test_migration_2_carries_statistics_into_the_space_state(tmp_path, monkeypatch):
    from beetsplug.sonic import store as store_mod
    from beetsplug.sonic.store import migrations

    path = str(tmp_path / "old.db")
    monkeypatch.setattr(store_mod, "MIGRATIONS", migrations.MIGRATIONS[:1])
    with Store(path, driver="sqlean") as old:  # a sidecar of the first version
        old.conn.execute("INSERT INTO spaces (name, kind, backend, model, dims, params, standardize, "
                         "created, stats_n, stats_mean, stats_scale) VALUES ('s', 'audio', 's', 's', 2, "
                         "'{}', 1, 'now', 5, ?, ?)",
                         (np.array([1, 2], np.float32).tobytes(), np.array([3, 4], np.float32).tobytes()))
    monkeypatch.setattr(store_mod, "MIGRATIONS", migrations.MIGRATIONS)
    with Store(path, driver="sqlean") as new:
        space = new.get_space("s")
        assert new.schema_version == len(migrations.MIGRATIONS) and space.stats_n == 5
        assert space.state["mean"].tolist() == [1, 2] and space.state["scale"].tolist() == [3, 4]


def test_a_cache_is_only_trusted_by_the_sidecar_that_wrote_it(tmp_path):
    """Recreate the sidecar (moved aside, rebuilt): its generations count up to the same
    numbers, and the old cache file beside it must not be served."""
    path = str(tmp_path / "lib.sonic.db")
    with Store(path, driver="sqlean") as first:
        space = first.ensure_space(SPEC)
        first.put_vector(space, 1, vector=np.eye(8)[0])
        assert first.matrix(space)[1][0, 0] == 1.0  # writes the cache
    os.rename(path, path + ".aside")
    for suffix in ("-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.rename(path + suffix, path + ".aside" + suffix)
    with Store(path, driver="sqlean") as second:
        space = second.ensure_space(SPEC)
        second.put_vector(space, 1, vector=np.eye(8)[1])  # same generation as before
        ids, X = second.matrix(space)
        assert ids.tolist() == [1] and X[0, 1] == 1.0 and X[0, 0] == 0.0


def test_migration_4_adds_the_text_query_cache_to_an_existing_sidecar(tmp_path, monkeypatch):
    from beetsplug.sonic import store as store_mod
    from beetsplug.sonic.store import migrations, textcache

    path = str(tmp_path / "v3.db")
    monkeypatch.setattr(store_mod, "MIGRATIONS", migrations.MIGRATIONS[:3])
    with Store(path, driver="sqlean") as old:
        assert old.schema_version == 3
        sid = old.sidecar_id
    monkeypatch.setattr(store_mod, "MIGRATIONS", migrations.MIGRATIONS)
    with Store(path, driver="sqlean") as new:
        assert new.schema_version == len(migrations.MIGRATIONS) and new.sidecar_id == sid
        v = np.array([0.6, 0.8], np.float32)
        assert textcache.get(new, model="m", dims=2, text="calm") is None
        assert textcache.put(new, model="m", dims=2, text="calm", vector=v)
        assert textcache.get(new, model="m", dims=2, text="calm").tolist() == v.tolist()
        assert textcache.get(new, model="m", dims=3, text="calm") is None  # other dims: not this vector
