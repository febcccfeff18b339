"""What keeps big libraries fast, as behaviour (never as timings): a no-op run writes
nothing, a removal never makes the next run re-derive every vector, the library is
refitted when it shrinks, vectors of removed items count nowhere and are dropped by
the run that wrote them, and the import embeds through its worker pool."""

from __future__ import annotations

import fcntl
import json
import re
import sqlite3

import numpy as np
import pytest

from .helpers import Beet


def _space_row(beet: Beet) -> tuple[int, int, int | None]:
    """``(generation, stats_n, checked generation)`` of the spectral space."""
    c = sqlite3.connect(beet.sidecar)
    try:
        sid, gen, n = c.execute("SELECT id, generation, stats_n FROM spaces WHERE name = 'spectral'").fetchone()
        checked = c.execute("SELECT value FROM meta WHERE key = ?", (f"checked:{sid}",)).fetchone()
        return gen, n, None if checked is None else int(checked[0])
    finally:
        c.close()


def _vector_writes(beet: Beet) -> sqlite3.Connection:
    """A trigger that counts every vector written to the sidecar's entries from now on."""
    c = sqlite3.connect(beet.sidecar)
    c.executescript("CREATE TABLE IF NOT EXISTS t_writes (n INTEGER);"
                    "CREATE TRIGGER IF NOT EXISTS t_upd AFTER UPDATE OF vector ON entries "
                    "BEGIN INSERT INTO t_writes VALUES (1); END;"
                    "CREATE TRIGGER IF NOT EXISTS t_ins AFTER INSERT ON entries "
                    "BEGIN INSERT INTO t_writes VALUES (1); END;")
    c.commit()
    return c


def _writes(c: sqlite3.Connection) -> int:
    return c.execute("SELECT count(*) FROM t_writes").fetchone()[0]


@pytest.fixture
def six(tmp_path, family_audio, copy_of) -> Beet:
    beet = Beet(tmp_path / "home")
    beet("import", copy_of(sorted(family_audio.glob("acid_*"))[:3] + sorted(family_audio.glob("pads_*"))[:3]))
    return beet


def test_an_embed_with_nothing_to_do_writes_nothing(six):
    before = _space_row(six)
    c = _vector_writes(six)
    assert "0 to embed, 6 up to date" in six("embed").stdout
    assert _writes(c) == 0 and _space_row(six) == before
    st = json.loads(six("embed", "--status", "--json").stdout.splitlines()[0])
    assert (st["embedded"], st["stale"], st["missing"], st["failed"]) == (6, 0, 0, 0)


def test_a_removal_leaves_the_space_checked_and_the_shrunk_library_is_refitted(six):
    gen, n, checked = _space_row(six)
    assert n == 6 and checked == gen
    six("rm", "-f", "title:Acid Study 1")
    gen, n, checked = _space_row(six)
    assert checked == gen  # removing vectors never makes the next run re-derive them all
    out = six("embed").stdout
    assert "refit its statistics: 5 vector(s)" in out
    assert _space_row(six)[1] == 5  # statistics of the library as it is now
    c = _vector_writes(six)
    six("embed")
    assert _writes(c) == 0  # refitted once, not on every run


def test_vectors_of_removed_items_count_nowhere(six):
    six.config["plugins"] = []  # removed while the plugin was off: the vector stays behind
    six.write_config()
    six("rm", "-f", "title:Pads Study 1")
    six.config["plugins"] = ["sonic"]
    six.write_config()
    out = six("similar", "-n", "2", "title:Acid Study 1").stdout
    assert "share of your 4 tracks" in out  # 5 in the library, the seed aside: not the orphan


def _hold_writer_lock(beet: Beet):
    f = open(str(beet.sidecar) + ".lock", "a+b")
    fcntl.flock(f, fcntl.LOCK_EX)
    return f


def _wait_for(proc, text: str, *, patience: float = 300) -> None:
    """Read ``proc``'s output until it says ``text``. A process that waits silently never
    does: it is killed after ``patience`` seconds (a failure, not a measured time)."""
    import selectors
    import time

    seen, end = "", time.monotonic() + patience
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    while text not in seen:
        if time.monotonic() > end or proc.poll() is not None and not sel.select(0):
            proc.kill()
            raise AssertionError(f"{text!r} never said:\n{seen}")
        if sel.select(1):
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                proc.kill()
                raise AssertionError(f"{text!r} never said:\n{seen}")
            seen += line


def test_a_run_drops_the_vectors_of_items_removed_while_it_ran(tmp_path, family_audio, copy_of):
    beet = Beet(tmp_path / "home", auto=False)
    beet("import", copy_of(sorted(family_audio.glob("breaks_*"))[:3]))
    gone = beet.ids()["Breaks Study 2"]
    lock = _hold_writer_lock(beet)
    try:  # the run has read its items and waits for the writer lock ...
        proc = beet.popen("embed")
        _wait_for(proc, "another run is writing")
        beet("rm", "-f", "title:Breaks Study 2")  # ... while one of them is removed
    finally:
        lock.close()
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, out + err
    with beet.store() as store:
        assert gone not in store.item_ids()  # computed, written, then dropped: not an orphan
    st = json.loads(beet("embed", "--status", "--json").stdout.splitlines()[0])
    assert (st["embedded"], st["orphaned"]) == (2, 0)


def test_an_import_behind_a_running_writer_says_it_waits(tmp_path, family_audio, copy_of):
    beet = Beet(tmp_path / "home")
    beet("import", copy_of(sorted(family_audio.glob("plucks_*"))[:1]))
    lock = _hold_writer_lock(beet)
    try:
        proc = beet.popen("import", copy_of(sorted(family_audio.glob("plucks_*"))[1:3]))
        _wait_for(proc, "another run is writing to this sidecar")
    finally:
        lock.close()
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, out + err
    assert "sonic: embedded 2 new item(s)" in out


def test_the_import_embeds_through_its_worker_pool_past_a_bad_file(tmp_path, family_audio, copy_of):
    beet = Beet(tmp_path / "home", workers=2)
    good = sorted(family_audio.glob("acid_*"))[:4]
    folder = copy_of(good)
    src = good[0].read_bytes()
    (folder / "cut.mp3").write_bytes(src[: len(src) // 3])  # beets imports it; decoding fails late
    corrupt = bytearray(good[1].read_bytes())
    rng = np.random.default_rng(3)
    corrupt[len(corrupt) // 2:] = rng.integers(0, 256, len(corrupt) - len(corrupt) // 2, np.uint8).tobytes()
    (folder / "noise.mp3").write_bytes(bytes(corrupt))
    res = beet("import", folder)
    assert res.returncode == 0 and "Traceback" not in res.output
    m = re.search(r"sonic: embedded (\d+) new item\(s\)", res.output)
    assert m, res.output
    st = json.loads(beet("embed", "--status", "--json").stdout.splitlines()[0])
    assert st["missing"] == 0 and st["embedded"] + st["failed"] == len(beet.ids())
    assert st["embedded"] >= 4  # every good track, whatever became of the damaged ones


def test_the_refit_block_by_block_equals_the_refit_in_one_piece():
    from beetsplug.sonic.backends.musicnn import MusicnnBackend
    from beetsplug.sonic.backends.spectral import SpectralBackend

    rng = np.random.default_rng(0)
    for backend in (MusicnnBackend(segment=30, positions=(0.5,)), SpectralBackend(segment=30, positions=(0.5,))):
        R = (rng.standard_normal((300, backend.raw_dims)) * 3 + 50).astype(np.float32)
        whole = backend.fit(R)
        blocks = backend.fit_blocks(lambda R=R: (R[i:i + 64] for i in range(0, len(R), 64)))
        assert set(whole) == set(blocks)
        for key in whole:
            assert np.allclose(whole[key], blocks[key], rtol=1e-4, atol=1e-5), key
        assert np.allclose(backend.derive(R, whole), backend.derive(R, blocks), atol=1e-4)


def test_the_graph_of_a_big_library_finds_the_exact_neighbours_of_clustered_tracks():
    from beetsplug.sonic import analysis
    from beetsplug.sonic.graph.neighbours import knn_cells

    rng = np.random.default_rng(2)
    centers = rng.standard_normal((40, 32))
    X = centers[rng.integers(0, 40, 3000)] + 0.3 * rng.standard_normal((3000, 32))
    X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)
    idx, sim = knn_cells(X, k=4)
    exact, _ = analysis.knn(X, k=4)
    assert not (idx == np.arange(len(X))[:, None]).any()  # never its own neighbour
    recall = np.mean([len(set(a) & set(b)) / 4 for a, b in zip(idx, exact)])
    assert recall >= 0.95
    assert np.all(np.diff(sim, axis=1) <= 1e-6)  # best first
    again, _ = knn_cells(X, k=4)
    assert (again == idx).all()  # deterministic: stored clusters don't churn between runs
