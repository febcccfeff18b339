"""A library over time: changes, removals, settings, interruptions, concurrent readers."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time

import pytest

from beetsplug.sonic import synth


def status(beet) -> dict:
    return json.loads(beet("embed", "--status", "--json").stdout.splitlines()[0])


@pytest.fixture
def small(beet, family_audio, copy_of):
    files = sorted(family_audio.glob("acid_*"))[:2] + sorted(family_audio.glob("pads_*"))[:2]
    beet("import", copy_of(files))
    return beet


def test_changed_file_is_stale_then_reembedded(small):
    path = small("ls", "-p", "title:Pads Study 1").stdout.strip()
    synth.write(path, synth.render(synth.spec("breaks", 30), 20.0))  # new audio, same item
    assert status(small)["stale"] == 1
    out = small("embed").stdout
    assert "1 to embed, 3 up to date" in out and "embedded 1" in out
    assert status(small)["embedded"] == 4


def test_beets_writing_tags_does_not_make_items_stale(small):
    small("modify", "-y", "title:Acid Study 1", "comments=retagged by beets")
    small("write")
    assert status(small)["stale"] == 0
    assert "0 to embed" in small("embed").stdout


def test_force_limit_and_dry_run(small):
    assert "4 to embed, 0 up to date" in small("embed", "--force", "--dry-run").stdout
    out = small("embed", "--force", "--limit", "1").stdout
    assert "1 to embed" in out and "embedded 1" in out


def test_remove_deletes_vectors_and_prune_cleans_leftovers(small):
    ids = small.ids()
    small("rm", "-f", "title:Acid Study 1")
    with small.store() as store:
        assert ids["Acid Study 1"] not in store.item_ids()
    # an item removed while the plugin was off leaves orphans; --prune removes them
    small.config["plugins"] = []
    small.write_config()
    small("rm", "-f", "title:Pads Study 1")
    small.config["plugins"] = ["sonic"]
    small.write_config()
    assert status(small)["orphaned"] == 1
    # with a query, items that merely don't match it are not "removed items"
    st = json.loads(small("embed", "--status", "--json", "title:Acid").stdout.splitlines()[0])
    assert st["orphaned"] == 1 and st["embedded"] == 1
    assert "pruned 1 vector(s) of 1 item(s)" in small("embed", "--prune").stdout
    assert status(small)["orphaned"] == 0


def test_changed_settings_are_an_error_with_the_fix(small):
    small.set(segment=20)
    res = small("embed", check=False)
    assert res.returncode != 0
    assert "segment 30.0 -> 20.0" in res.output and "beet embed --rebuild" in res.output
    assert "Traceback" not in res.output
    res = small("similar", "title:Acid Study 1", check=False)
    assert res.returncode != 0 and "--rebuild" in res.output
    res = small("embed", "--rebuild", input="n\n", check=False)  # asks first; "no" keeps everything
    assert res.returncode != 0 and "nothing changed" in res.output
    with small.store() as store:
        assert store.count(store.get_space("spectral")) == 4
    out = small("embed", "--rebuild", "-y").stdout
    assert "4 to embed" in out and "embedded 4" in out
    assert small.similar_titles("-n", "1", "title:Acid Study 1") == ["Acid Study 2"]


def test_status_still_counts_after_a_settings_change(small):
    small.set(segment=20)
    res = small("embed", "--status")
    assert "segment 30.0 -> 20.0" in res.output and "4 embedded" in res.output


def test_a_rebuilt_sidecar_never_answers_from_the_old_cache(small):
    """Sidecar moved aside (as the damaged-file message advises), settings changed, embed
    again: the generations count up to the same numbers, and the old cache is not served."""

    small("similar", "title:Acid Study 1")  # writes <sidecar>-cache/space-1.f32
    assert list((small.home / "library.sonic.db-cache").iterdir())
    small.sidecar.rename(small.home / "aside.db")
    small.set(segment=20)
    small("embed")
    hit = json.loads(small("similar", "--json", "-n", "1", "title:Acid Study 1").stdout.splitlines()[0])
    ids = small.ids()
    with small.store() as store:
        _, _, vids, X = store._vectors_from_db(store.get_space("spectral").id)
    row = {int(i): k for k, i in enumerate(vids)}
    expected = float(X[row[ids["Acid Study 1"]]] @ X[row[hit["id"]]])
    assert abs(hit["score"] - expected) < 1e-3


def test_bad_config_values_are_named(small):
    small.set(positions=[0.5, 1.5])
    res = small("embed", check=False)
    assert res.returncode != 0 and "sonic: positions" in res.output
    small.set(positions=[0.5], backend="nonesuch")
    res = small("embed", check=False)
    assert "unknown sonic backend 'nonesuch'" in res.output and "spectral" in res.output


def test_items_without_vectors_get_a_message_naming_the_command(beet, family_audio, copy_of):
    beet.set(auto=False)
    beet("import", copy_of(sorted(family_audio.glob("plucks_*"))[:2]))
    res = beet("similar", "title:Plucks Study 1", check=False)
    assert res.returncode != 0
    assert "no vectors in the spectral space yet" in res.output and "beet embed" in res.output
    beet("embed", "title:Plucks Study 2")
    res = beet("similar", "title:Plucks Study 1", check=False)
    assert "has a vector in the spectral space yet: run `beet embed title:Plucks Study 1`" in res.output


def test_parallel_workers_give_the_same_vectors(beet, family_audio, copy_of):
    beet.set(auto=False)
    beet("import", copy_of(sorted(family_audio.iterdir())[:6]))
    beet("embed", "--workers", "2")
    with beet.store() as store:
        ids, parallel = store.matrix(store.get_space("spectral"))
        parallel = parallel.copy()
    beet("embed", "--force", "--workers", "1")
    with beet.store() as store:
        ids2, serial = store.matrix(store.get_space("spectral"))
    assert ids.tolist() == ids2.tolist()
    assert abs(parallel - serial).max() < 1e-5


def count_vectors(sidecar) -> int:
    """Vectors in the sidecar, read with plain sqlite3 as another process would."""
    try:
        con = sqlite3.connect(sidecar, timeout=30)
        try:
            return con.execute("SELECT count(*) FROM entries WHERE vector IS NOT NULL").fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0  # not created yet


def wait_for(predicate, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def unembedded(tmp_path, family_audio, copy_of):
    from .helpers import Beet

    beet = Beet(tmp_path / "run", auto=False)
    beet("import", copy_of(sorted(family_audio.iterdir())))
    return beet, len(beet.ids())


@pytest.mark.slow
def test_killed_run_resumes_without_redoing_work(unembedded):
    beet, total = unembedded
    proc = beet.popen("embed", "--workers", "1")
    wait_for(lambda: count_vectors(beet.sidecar) >= 3)
    # a second beet process reads while the first one writes
    assert json.loads(beet("embed", "--status", "--json").stdout.splitlines()[0])["embedded"] >= 3
    wait_for(lambda: count_vectors(beet.sidecar) >= 5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    con = sqlite3.connect(beet.sidecar)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    kept = count_vectors(beet.sidecar)
    assert 5 <= kept < total
    out = beet("embed").stdout
    assert f"{total - kept} to embed, {kept} up to date" in out
    assert status(beet)["embedded"] == total


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_keeps_finished_work(unembedded, sig):
    beet, total = unembedded
    proc = beet.popen("embed", "--workers", "2")
    wait_for(lambda: count_vectors(beet.sidecar) >= 3)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "interrupted" in err and "finished item(s) are saved" in err
    assert "Traceback" not in err
    kept = status(beet)["embedded"]
    assert 3 <= kept < total
    assert f"{total - kept} to embed" in beet("embed").stdout


def test_sidecar_location_is_configurable(tmp_path, family_audio, copy_of):
    from .helpers import Beet

    elsewhere = tmp_path / "vectors" / "my.sonic.db"
    elsewhere.parent.mkdir()
    beet = Beet(tmp_path / "h", sidecar=str(elsewhere))
    beet("import", copy_of(sorted(family_audio.glob("acid_*"))[:2]))
    assert elsewhere.exists() and not beet.sidecar.exists()
    assert status(beet)["embedded"] == 2
    beet.set(sidecar=str(tmp_path / "missing-folder" / "x.db"))
    res = beet("embed", check=False)
    assert res.returncode != 0 and "does not exist" in res.output and "Traceback" not in res.output


def test_missing_files_never_cost_their_vectors(beet, family_audio, copy_of):
    """An unmounted drive: embed finds no files, and the vectors survive until they return."""
    beet("import", copy_of(sorted(family_audio.glob("acid_*"))[:3]))
    music = beet.home / "music"
    away = beet.home / "music-away"
    music.rename(away)
    res = beet("embed", check=False)
    out = res.stdout
    assert "failed 3" in out and "file not found" in out
    assert res.returncode == 1  # a run in which every item failed says so in its exit code
    with beet.store() as store:
        assert store.count(store.get_space("spectral")) == 3
    status = json.loads(beet("embed", "--status", "--json").stdout.splitlines()[0])
    assert status["unreachable"] == 3 and status["embedded"] == 0
    away.rename(music)
    status = json.loads(beet("embed", "--status", "--json").stdout.splitlines()[0])
    assert (status["embedded"], status["failed"], status["stale"]) == (3, 0, 0)
    assert "0 to embed, 3 up to date" in beet("embed").stdout


def test_a_tag_write_never_blesses_a_stale_vector(beet, family_audio, copy_of):
    beet("import", copy_of(sorted(family_audio.glob("pads_*"))[:1]))
    path = beet("ls", "-p").stdout.strip()
    other = sorted(family_audio.glob("plucks_*"))[0]
    data = open(other, "rb").read()  # new audio at the same path (another format is fine:
    with open(path, "wb") as f:      # the decoder sniffs the content)
        f.write(data)
    assert json.loads(beet("embed", "--status", "--json").stdout.splitlines()[0])["stale"] == 1
    beet("modify", "-y", "-w", "comments=retagged")   # beets writes the file's tags
    assert json.loads(beet("embed", "--status", "--json").stdout.splitlines()[0])["stale"] == 1
    assert "1 to embed" in beet("embed", "--dry-run").stdout


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def _is_worker(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read()
    except OSError:
        return False
    return b"spawn_main" in cmd  # not the resource tracker


@pytest.mark.slow
def test_every_worker_runs_one_blas_thread(unembedded):
    """Workers start when tasks are submitted, not when the pool is made: each must still
    inherit one BLAS thread (two workers x two threads on two cores made -w 2 slower
    than -w 1)."""
    beet, total = unembedded
    proc = beet.popen("embed", "--workers", "2")
    seen: dict[int, bytes] = {}

    def both_workers_read() -> bool:
        for pid in _children(proc.pid):
            if _is_worker(pid) and pid not in seen:
                try:
                    with open(f"/proc/{pid}/environ", "rb") as f:
                        seen[pid] = f.read()
                except OSError:
                    pass
        return len(seen) >= 2 or proc.poll() is not None

    wait_for(both_workers_read)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert len(seen) >= 2, "the run ended before both workers could be looked at"
    for env in seen.values():
        assert b"OPENBLAS_NUM_THREADS=1\0" in env and b"OMP_NUM_THREADS=1\0" in env


@pytest.mark.slow
def test_a_dead_worker_never_hangs_the_run(unembedded):
    """kill -9 one worker (as the OOM killer would): its track is reported, the rest is
    embedded by a fresh pool, the run ends, and the next run picks up the lost track."""
    beet, total = unembedded
    proc = beet.popen("embed", "--workers", "2")
    is_worker = _is_worker

    # killed as soon as it exists: its pool has tasks in flight from the start, so the
    # kill always lands mid-run, however fast or loaded the machine is
    wait_for(lambda: any(is_worker(c) for c in _children(proc.pid)), timeout=120)
    workers = [c for c in _children(proc.pid) if is_worker(c)]
    os.kill(workers[0], signal.SIGKILL)
    out, err = proc.communicate(timeout=300)  # a hang would end here, as a failure
    assert "Traceback" not in err, err
    assert "worker process died" in out
    done = status(beet)["embedded"]
    assert done < total
    out = beet("embed").stdout
    assert f"{total - done} to embed" in out
    assert status(beet)["embedded"] == total


KILL_AT_ONCE = r"""
import os, signal, sys, threading, time
from beetsplug.sonic import runner
from beetsplug.sonic.backends import get_backend

def kill_first_worker(me):
    while True:
        try:
            kids = open(f"/proc/{me}/task/{me}/children").read().split()
        except OSError:
            kids = []
        for k in kids:
            try:
                if b"spawn_main" in open(f"/proc/{k}/cmdline", "rb").read():
                    os.kill(int(k), signal.SIGKILL)
                    return
            except OSError:
                pass
        time.sleep(0.002)

if __name__ == "__main__":
    threading.Thread(target=kill_first_worker, args=(os.getpid(),), daemon=True).start()
    backend = get_backend("spectral", segment=30.0, positions=(0.5,))
    tasks = [(i + 1, os.fsencode(p)) for i, p in enumerate(sys.argv[1:])]
    print(sum(1 for _ in runner.outcomes(backend, tasks, 2, {"segment": 30.0, "positions": (0.5,)})))
"""


@pytest.mark.slow
def test_a_worker_killed_while_the_pool_starts_never_hangs_the_exit(tmp_path, family_audio):
    """The first worker killed the moment it exists, while the pool is still starting the
    second: CPython's broken-pool handling then joins a worker it never signalled, and
    the interpreter's exit waited for it forever (2 runs in 16 before the fix)."""
    import subprocess
    import sys

    script = tmp_path / "kill_at_once.py"
    script.write_text(KILL_AT_ONCE)
    files = [str(p) for p in sorted(family_audio.iterdir())[:8]]
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(__file__)))
    for _ in range(6):
        done = subprocess.run([sys.executable, str(script), *files], capture_output=True,
                              text=True, timeout=120, env=env)  # a hang fails here
        assert done.returncode == 0 and done.stdout.strip() == str(len(files)), done.stderr


@pytest.mark.slow
def test_two_writers_take_turns_and_leave_consistent_vectors(unembedded):
    """Two `beet embed` at once on a fresh sidecar: no item is computed twice, and every
    stored vector is exactly what the space's final statistics make of its raw output."""
    beet, total = unembedded
    procs = [beet.popen("embed", "-w", "1", "--limit", "6") for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    embedded = [int(o.split("embedded ", 1)[1].split(",")[0]) for o, _ in outs]
    assert sum(embedded) == count_vectors(beet.sidecar) == 12
    assert_consistent(beet)


def assert_consistent(beet) -> None:
    """Every stored vector is exactly what the space's statistics make of its raw output."""
    import numpy as np

    from beetsplug.sonic.backends import get_backend

    with beet.store() as store:
        space = store.get_space("spectral")
        ids, R = store.raw_matrix(space)
        _, X = store.matrix(space)
        expected = get_backend("spectral", segment=30.0, positions=(0.5,)).derive(R, space.state)
        assert np.abs(np.asarray(X) - expected).max() < 1e-5


def test_a_broken_sidecar_never_stops_beets_itself(beet, family_audio, copy_of):
    """`beet rm` removes every item even when the sidecar can't be written; the sidecar is
    reconciled later. Reads of a damaged sidecar are one line naming the file, no traceback."""
    beet("import", copy_of(sorted(family_audio.glob("plucks_*"))[:3]))
    data = bytearray(beet.sidecar.read_bytes())
    page = 4096
    assert len(data) > 3 * page
    data[2 * page: len(data)] = b"\xff" * (len(data) - 2 * page)  # damaged past its first pages
    beet.sidecar.write_bytes(bytes(data))
    for suffix in ("-wal", "-shm"):
        (beet.home / f"library.sonic.db{suffix}").unlink(missing_ok=True)
    res = beet("similar", "title:Plucks Study 1", check=False)
    assert res.returncode != 0 and "Traceback" not in res.output
    assert str(beet.sidecar) in res.output and len(res.output.strip().splitlines()) == 1
    res = beet("rm", "-f", "title:Plucks", check=False)
    assert res.returncode == 0 and "Traceback" not in res.output
    assert beet("ls").stdout.strip() == ""


def test_import_says_what_it_embedded(beet, family_audio, copy_of):
    out = beet("import", copy_of(sorted(family_audio.glob("breaks_*"))[:2])).output
    assert "sonic: embedded 2 new item(s) in " in out and "so far" not in out
    out = beet("import", copy_of(sorted(family_audio.iterdir()))).output  # 18 new, 2 known
    assert "sonic: 10 new item(s) embedded so far" in out and "sonic: embedded 18 new item(s)" in out


def test_hostile_titles_never_add_playlist_entries(beet, family_audio, copy_of, tmp_path):
    beet("import", copy_of(sorted(family_audio.glob("pads_*"))[:2]))
    beet("modify", "-y", "title:Pads Study 2", "title=Pads Study 2\n/etc/shadow\n#EXTINF:1,x")
    m3u = tmp_path / "out.m3u"
    beet("similar", "-n", "1", "--m3u", str(m3u), "title:Pads Study 1")
    lines = m3u.read_text().splitlines()
    assert "/etc/shadow" not in lines and len([x for x in lines if not x.startswith("#")]) == 1


def test_nonsense_options_and_values_are_clear_errors_before_work(beet, family_audio, copy_of, tmp_path):
    beet("import", copy_of(sorted(family_audio.glob("acid_*"))[:2]))
    checks = [
        (("similar", "-n", "0", "title:Acid"), "-n/--number must be 1 or more"),
        (("similar", "--max-per-artist", "0", "title:Acid"), "--max-per-artist must be 1 or more"),
        (("similar", "--m3u", str(tmp_path / "nowhere" / "x.m3u"), "title:Acid"), "does not exist"),
        (("graph", "-o", str(tmp_path / "nowhere" / "map.html")), "does not exist"),
        (("cohesion", "--m3u", str(tmp_path / "nowhere" / "x.m3u"), "title:Acid"), "does not exist"),
        (("embed", "--export", str(tmp_path / "nowhere" / "v.npz")), "does not exist"),
        (("embed", "-w", "-1"), "--workers must be 0"),
        (("vibe", "--search", ""), "--search needs words"),
    ]
    for args, words in checks:
        res = beet(*args, check=False)
        assert res.returncode != 0 and words in res.output and "Traceback" not in res.output, args
    assert "sonic: sonic:" not in beet("similar", "-n", "0", "title:Acid", check=False).output
    assert not beet("ls", "vibe_source:local").stdout.strip()  # the empty search wrote nothing
    beet.set(auto="maybe")
    res = beet("embed", "--status", check=False)
    assert "Traceback" not in res.output and "must be yes or no" in res.output
    assert "unknown command" not in res.output


def test_space_errors_name_the_right_fix(small):
    checks = [
        (("similar", "--space", "vibe", "title:Acid Study 1"), "run `beet vibe`"),
        (("similar", "--space", "musicnn", "title:Acid Study 1"), "set `sonic: backend: musicnn`"),
        (("cohesion", "--space", "nope", "title:Acid"), "(spaces: spectral"),
        (("embed", "--drop-space", "nope", "-y"), "(spaces: spectral"),
    ]
    for args, words in checks:
        res = small(*args, check=False)
        assert res.returncode != 0 and words in res.output and "Traceback" not in res.output, args
    assert "to build it" not in small("embed", "--drop-space", "nope", "-y", check=False).output
    res = small("embed", "--drop-space", "spectral", input="n\n", check=False)  # asks first
    assert res.returncode != 0 and "nothing changed" in res.output
    assert status(small)["embedded"] == 4
