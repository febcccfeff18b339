"""Nothing lost, nothing silently wrong (part two): failed re-embeds, backups, odd file
names, damaged caches, bad settings. Each test goes through the real CLI and fails on
the code before issue 22."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3

import numpy as np
import pytest

from .fake_gemini import error, gemini_beet
from .helpers import Beet


def status(beet) -> dict:
    return json.loads(beet("embed", "--status", "--json").stdout.splitlines()[0])


def same_vectors(a: dict[int, bytes], b: dict[int, bytes]) -> bool:
    """The same items with the same vectors (to float32 rounding: a run that re-derives
    every vector from the statistics, as ``--force`` does, may move the last bits)."""
    import numpy as np

    return a.keys() == b.keys() and all(
        np.allclose(np.frombuffer(a[k], np.float32), np.frombuffer(b[k], np.float32), atol=1e-5) for k in a)


def vectors(beet, space: str = "spectral") -> dict[int, bytes]:
    con = sqlite3.connect(beet.sidecar)
    try:
        return dict(con.execute("SELECT e.item_id, e.vector FROM entries e JOIN spaces s "
                                "ON s.id = e.space_id WHERE s.name = ? AND e.vector IS NOT NULL",
                                (space,)))
    finally:
        con.close()


def library(beet, tmp_path, files) -> Beet:
    folder = tmp_path / "incoming"
    folder.mkdir(exist_ok=True)
    for f in files:
        shutil.copy(f, folder)
    beet("import", folder)
    return beet


# --- 2. a failed re-embed never deletes a good vector -----------------------------------


def test_a_failed_recomputation_keeps_the_vector_marks_and_retries_it(beet, tmp_path, family_audio):
    library(beet, tmp_path, sorted(family_audio.glob("pads_*"))[:3])
    before = vectors(beet)
    path = beet("ls", "-p", "title:Pads Study 2").stdout.strip()
    st = os.stat(path)
    good = open(path, "rb").read()
    with open(path, "r+b") as f:  # unreadable now, with the size and mtime recorded
        f.write(b"\0" * st.st_size)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))

    res = beet("embed", "--force", check=False)
    assert res.returncode == 1  # a run with a failed item says so (issue 21)
    assert "failed 1" in res.output and "no audio could be decoded" in res.output
    assert same_vectors(vectors(beet), before)  # the good vector is still there, unchanged
    s = status(beet)
    assert (s["failed"], s["kept"]) == (1, 1)
    assert "keep their earlier vector" in beet("embed", "--status").stdout
    assert beet.similar_titles("-n", "2", "title:Pads Study 1")  # still answers with it
    assert "1 to embed, 2 up to date" in beet("embed", check=False).stdout  # retried

    with open(path, "wb") as f:
        f.write(good)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    out = beet("embed").stdout
    assert "1 to embed, 2 up to date" in out and "embedded 1" in out
    s = status(beet)
    assert (s["embedded"], s["failed"], s["kept"]) == (3, 0, 0)
    assert same_vectors(vectors(beet), before)


def test_a_service_outage_under_force_keeps_every_paid_vector(tmp_path, fake, family_audio):
    beet = gemini_beet(tmp_path / "h", fake, retries=1, batch_size=1)
    beet.set(auto=False)
    library(beet, tmp_path, sorted(family_audio.glob("acid_*"))[:4])
    beet("embed")
    paid = vectors(beet, "gemini")
    assert len(paid) == 4

    fake.fallback = error(503, "UNAVAILABLE", "the service is down")
    res = beet("embed", "--force", check=False)
    assert res.returncode != 0 and "Traceback" not in res.output  # 17: a hopeless run fails
    assert "3 requests in a row" in res.output and "no vector was lost" in res.output
    assert len(fake.embed_requests()) == 4 + 3 * 2  # stopped after three requests (2 tries each)
    assert vectors(beet, "gemini") == paid


# --- 3. huge finite values are no vector ------------------------------------------------


def test_huge_finite_values_from_the_service_fail_with_a_reason(tmp_path, fake, family_audio):
    beet = gemini_beet(tmp_path / "h", fake, retries=1, batch_size=1)
    beet.set(auto=False)
    library(beet, tmp_path, sorted(family_audio.glob("acid_*"))[:2])
    fake.script = [{"then": "ok", "value": 3e38}]
    res = beet("embed", check=False)
    assert res.returncode == 1  # a run with a failed item says so (issue 21)
    assert "embedded 1" in res.output and "failed 1" in res.output
    assert "could not be normalised" in res.output
    stored = vectors(beet, "gemini")
    assert len(stored) == 1
    v = np.frombuffer(next(iter(stored.values())), np.float32)
    assert abs(np.linalg.norm(v) - 1) < 1e-3
    assert "1 to embed" in beet("embed").stdout  # failed, so tried again


# --- 17. a hopeless service stops the run -----------------------------------------------


@pytest.mark.parametrize("fault", ["malformed", "empty", "timeout"])
def test_a_hopeless_service_stops_the_run_and_exits_non_zero(tmp_path, fake, family_audio, fault):
    beet = gemini_beet(tmp_path / "h", fake, retries=1, batch_size=1)
    beet.set(auto=False)
    library(beet, tmp_path, sorted(family_audio.glob("acid_*"))[:5])
    fake.fallback = {"sleep": 1.5, "then": "ok"} if fault == "timeout" else fault
    if fault == "timeout":
        beet.config["sonic"]["gemini"]["timeout"] = 0.5
        beet.write_config()
    res = beet("embed", check=False)
    assert res.returncode != 0 and "Traceback" not in res.output
    assert "requests in a row" in res.output
    assert len(fake.embed_requests()) < 5 * 2  # not every batch retried to the end


# --- 1. a sidecar restored from a backup never gets a stale cache ----------------------


def top(beet, query: str) -> tuple[int, float]:
    rec = json.loads(beet("similar", "--json", "-n", "1", query).stdout.splitlines()[0])
    return rec["id"], rec["score"]


def test_a_restored_backup_never_serves_a_stale_cache(beet, tmp_path, family_audio):
    files = sorted(family_audio.glob("pads_*"))[:3] + sorted(family_audio.glob("acid_*"))[:3]
    library(beet, tmp_path, files)
    ids = beet.ids()
    a, b = ids["Pads Study 1"], ids["Acid Study 1"]
    path_a = beet("ls", "-p", f"id:{a}").stdout.strip()
    path_b = beet("ls", "-p", f"id:{b}").stdout.strip()
    real_a = open(path_a, "rb").read()
    backup = tmp_path / "backup.db"
    shutil.copy(beet.sidecar, backup)

    shutil.copy(path_b, path_a)  # item a now sounds exactly like item b
    beet("embed")
    assert top(beet, f"id:{b}") == (a, pytest.approx(1.0, abs=1e-4))  # the cache holds this

    shutil.copy(backup, beet.sidecar)  # the documented remedy: restore the backup
    for extra in ("-wal", "-shm"):
        if os.path.exists(f"{beet.sidecar}{extra}"):
            os.remove(f"{beet.sidecar}{extra}")
    with open(path_a, "wb") as f:
        f.write(real_a)
    assert "1 to embed" in beet("embed").stdout  # as many writes as were lost
    best, score = top(beet, f"id:{b}")
    assert score < 0.999  # the real item a is not item b's twin
    con = sqlite3.connect(beet.sidecar)
    blob = dict(con.execute("SELECT item_id, vector FROM entries"))
    con.close()
    q = np.frombuffer(blob[b], np.float32)
    expected = max((float(np.frombuffer(v, np.float32) @ q), i) for i, v in blob.items() if i != b)
    assert (best, score) == (expected[1], pytest.approx(expected[0], abs=1e-3))


# --- 5. a damaged cache is rebuilt ------------------------------------------------------


def test_a_damaged_cache_data_area_is_rebuilt_from_the_sidecar(beet, tmp_path, family_audio):
    library(beet, tmp_path, sorted(family_audio.glob("pads_*"))[:3] + sorted(family_audio.glob("acid_*"))[:3])
    good = beet("similar", "--json", "-n", "5", "title:Pads Study 1").stdout
    (cache,) = (beet.home / "library.sonic.db-cache").glob("*.f32")
    size = cache.stat().st_size
    with open(cache, "r+b") as f:  # the header intact, the vectors garbage
        f.seek(256)
        f.write(np.full((size - 256) // 4, 3e38, np.float32).tobytes())
    res = beet("similar", "--json", "-n", "5", "title:Pads Study 1")
    assert res.stdout == good and "Warning" not in res.stderr and "overflow" not in res.stderr
    assert beet("similar", "--json", "-n", "5", "title:Pads Study 1").stdout == good


# --- also: a space made by another version ------------------------------------------------


def test_a_space_from_another_version_names_the_rebuild_not_the_settings(beet, tmp_path, family_audio):
    library(beet, tmp_path, sorted(family_audio.glob("pads_*"))[:2])
    con = sqlite3.connect(beet.sidecar)
    params = json.loads(con.execute("SELECT params FROM spaces WHERE name = 'spectral'").fetchone()[0])
    params["feature_version"] = -1
    con.execute("UPDATE spaces SET params = ? WHERE name = 'spectral'", (json.dumps(params),))
    con.commit()
    con.close()
    res = beet("embed", check=False)
    assert res.returncode != 0 and "Traceback" not in res.output
    assert "another version of beets-sonic" in res.output and "`beet embed --rebuild`" in res.output
    assert "old settings" not in res.output


# --- 9, 10, 11. output files: odd file names, atomic writes, folders -------------------

BAD = b"bad\xff\xfe-latin1-\xe9.ogg"
EVIL = b"evil\n#EXTINF:1,Injected - Entry\ninjected.ogg"


@pytest.fixture
def odd_names(tmp_path, family_audio) -> Beet:
    """Four tracks, one named with bytes that aren't UTF-8 and one with line breaks in its
    name, all imported in place (beets keeps their names)."""
    beet = Beet(tmp_path / "h")
    folder = tmp_path / "music-in-place"
    folder.mkdir()
    oggs = sorted(family_audio.glob("*.ogg"))
    for f in oggs[:2]:
        shutil.copy(f, folder)
    for name, f in ((BAD, oggs[2]), (EVIL, oggs[3])):
        with open(os.path.join(os.fsencode(folder), name), "wb") as out:
            out.write(f.read_bytes())
    beet("import", "-C", folder)
    assert len(beet.ids()) == 4 and status(beet)["embedded"] == 4
    beet.plain = [os.fsencode(f.name) for f in oggs[:2]]
    return beet


def test_odd_file_names_in_every_output_file(odd_names, tmp_path):
    beet = odd_names
    page = tmp_path / "map.html"
    page.write_text("the previous page")
    res = beet("graph", "-o", page)
    assert "Traceback" not in res.output and "4 tracks" in res.output
    assert "the previous page" not in page.read_text(encoding="utf-8")

    export = tmp_path / "vectors.json"
    beet("embed", "--export", export)
    doc = json.loads(export.read_text(encoding="utf-8"))
    assert len(doc["items"]) == 4
    assert any("bad\ufffd\ufffd-latin1-\ufffd.ogg" in r["path"] for r in doc["items"])

    m3u = tmp_path / "next.m3u"
    res = beet("similar", "-n", "3", "--m3u", m3u, "title:" + beet("ls", "-f", "$title").stdout.split("\n")[0])
    assert "Traceback" not in res.output
    assert "line break" in res.output  # the one name that can't be an M3U entry is said
    entries = [line for line in m3u.read_bytes().split(b"\n") if line and not line.startswith(b"#")]
    assert len(entries) == 2  # three hits, one left out; nothing injected
    assert all(os.path.isfile(e) for e in entries), entries
    assert not any(b"injected" in e or b"Injected" in e for e in m3u.read_bytes().split(b"\n"))
    if any(BAD in e for e in entries):  # written as its very bytes: players find the file
        assert os.path.isfile([e for e in entries if BAD in e][0])


def test_the_m3u_never_splits_a_path_and_keeps_odd_bytes(odd_names, tmp_path):
    beet = odd_names
    m3u = tmp_path / "all.m3u"
    res = beet("cohesion", "--m3u", m3u)
    assert "Traceback" not in res.output
    entries = [line for line in m3u.read_bytes().split(b"\n") if line and not line.startswith(b"#")]
    assert sorted(os.path.basename(e) for e in entries) == sorted([BAD, *beet.plain])
    assert all(os.path.isfile(e) for e in entries)
    # read back by every sonic command: exactly the three tracks written, no injected one
    res = beet("cohesion", "--playlist", m3u, "--json")
    assert json.loads(res.stdout)["tracks_in_set"] == 3


@pytest.mark.parametrize("option", [["graph", "-o"], ["embed", "--export"],
                                    ["similar", "-n", "1", "title:a", "--m3u"],
                                    ["cohesion", "--heatmap"]])
def test_an_output_path_that_is_a_folder_is_one_line(beet, tmp_path, option):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    res = beet(*option, folder, check=False)
    assert res.returncode != 0 and "Traceback" not in res.output
    assert "it is a folder" in res.output and len(res.stderr.strip().splitlines()) == 1


def test_a_failed_page_write_keeps_the_previous_page(tmp_path, family_audio):
    from .test_faults import Mounts

    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a small tmpfs needs root and mount(8)")
    mounts = Mounts()
    disk = tmp_path / "disk"
    disk.mkdir()
    try:
        mounts.tmpfs(disk, "64k")
        beet = Beet(tmp_path / "h")
        library(beet, tmp_path, sorted(family_audio.glob("pads_*"))[:3])
        page = disk / "map.html"
        previous = "<html>the previous page</html>" + " " * 40_000
        page.write_text(previous)
        res = beet("graph", "-o", page, check=False)
        assert res.returncode != 0 and "Traceback" not in res.output
        assert "cannot write" in res.output and "previous file" in res.output
        assert page.read_text() == previous
        assert sorted(p.name for p in disk.iterdir()) == ["map.html"]  # no temporary file left
    finally:
        mounts.undo()


# --- 12. a `sonic:` section of the wrong shape --------------------------------------------


@pytest.mark.parametrize("where, value", [("sonic", ["a"]), ("sonic", "hello"), ("sonic", None),
                                          ("vibe", [1]), ("gemini", 5)])
def test_a_section_of_the_wrong_shape_is_one_line_and_beets_keeps_working(tmp_path, where, value):
    beet = Beet(tmp_path / "h")
    if where == "sonic":
        beet.config["sonic"] = value
    else:
        beet.config["sonic"][where] = value
    beet.write_config()
    res = beet("ls", check=False)
    key = "`sonic:`" if where == "sonic" else f"`sonic: {where}`"
    assert res.returncode == 0 and "Traceback" not in res.output
    assert res.output.count(f"config {key} must be a section") == 1, res.output
    res = beet("embed", "--status", check=False)
    assert res.returncode != 0 and "Traceback" not in res.output
    assert "unknown command" not in res.output and "fix it in your beets config.yaml" in res.output
    assert res.output.count(f"config {key} must be a section") == 1


# --- 13. a relative or odd `sidecar:` ------------------------------------------------------


def test_a_relative_sidecar_is_beside_the_library_whatever_the_current_folder(tmp_path, family_audio):
    beet = Beet(tmp_path / "h", sidecar="vectors/side.db")
    (beet.home / "vectors").mkdir()
    library(beet, tmp_path, sorted(family_audio.glob("pads_*"))[:2])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    import subprocess

    from .helpers import BEET

    out = subprocess.run([*BEET, "embed", "--status", "--json"], cwd=elsewhere, env=beet.env(),
                         capture_output=True, text=True, check=True).stdout
    assert json.loads(out.splitlines()[0])["embedded"] == 2
    assert (beet.home / "vectors" / "side.db").exists() and not list(elsewhere.iterdir())


@pytest.mark.parametrize("value", [["a"], {"x": 1}, 5, "folder/"])
def test_a_sidecar_that_is_not_a_file_path_is_one_line(beet, value):
    beet.set(sidecar=value)
    res = beet("embed", "--status", check=False)
    assert res.returncode != 0 and "Traceback" not in res.output
    assert "config `sonic: sidecar`" in res.output
    assert not [p for p in beet.home.iterdir() if p.name.startswith(("[", "{", "5"))]


# --- 14. every `gemini:` value checked, the key at fault named ------------------------------


@pytest.mark.parametrize("key, value", [("max_backoff", -5), ("base_url", "not a url"),
                                        ("min_interval", -1), ("retries", -1), ("concurrency", 0),
                                        ("timeout", 0), ("backoff", -1), ("retry_wait", -2),
                                        ("batch_size", 101), ("model", ""), ("api_key", 12345)])
def test_every_gemini_value_is_checked_and_named(beet, key, value):
    beet.set(backend="gemini", gemini={"api_key": "AIzaTEST-secret-key", key: value})
    res = beet("embed", "--status", check=False)
    assert res.returncode != 0 and "Traceback" not in res.output
    assert f"config `sonic: gemini: {key}`" in res.output, res.output
    assert "AIzaTEST" not in res.output


# --- 4. a copy is checked like a tag write -------------------------------------------------


def test_a_same_size_replacement_is_not_reblessed_by_a_copy(beet, tmp_path, family_audio):
    library(beet, tmp_path, sorted(family_audio.glob("*.wav"))[:3])
    ids = beet.ids()
    a, b, c = (ids[t] for t in sorted(ids))
    path_a = beet("ls", "-p", f"id:{a}").stdout.strip()
    path_b = beet("ls", "-p", f"id:{b}").stdout.strip()
    size = os.path.getsize(path_a)
    other = open(path_b, "rb").read()[:size]  # other audio (trailing bytes of its tags aside)
    with open(path_a, "wb") as f:
        f.write(other + b"\0" * (size - len(other)))
    assert os.path.getsize(path_a) == size and status(beet)["stale"] == 1

    copies = tmp_path / "copies"
    copies.mkdir()
    beet("mv", "-c", "-d", copies, f"id:{a}", ",", f"id:{c}")
    assert beet("ls", "-p", f"id:{a}").stdout.startswith(str(copies))
    st = status(beet)
    assert (st["stale"], st["embedded"]) == (1, 2)  # c followed its copy, a did not
    out = beet("embed").stdout
    assert "1 to embed, 2 up to date" in out and "embedded 1" in out


# --- 6. damage anywhere in the sidecar is reported ----------------------------------------


def damage_page(sidecar, table: str) -> None:
    """Overwrite the root page of ``table`` (an index or a table) with garbage, as a bad
    sector or a torn copy would, after folding the write-ahead log into the file."""
    from beetsplug.sonic.store import connect

    con, _ = connect(str(sidecar))
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    (root,) = con.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    con.close()
    with open(sidecar, "r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(bytes(range(256)) * (page_size // 256))


@pytest.mark.parametrize("table", ["entries_item", "vec_1_vector_chunks00"])
def test_damage_outside_the_vectors_is_reported_and_named_on_write(beet, tmp_path, family_audio, table):
    library(beet, tmp_path, sorted(family_audio.glob("pads_*"))[:3])
    damage_page(beet.sidecar, table)
    res = beet("embed", "--status", check=False)
    assert res.returncode != 0 and "Traceback" not in res.output
    assert "failed its check" in res.output and "restore it from a backup" in res.output
    assert res.output.count("damaged") == 1
    res = beet("embed", "--force", check=False)  # a write that meets the damage
    assert res.returncode != 0 and "Traceback" not in res.output
    assert "damaged" in res.output and "writable" not in res.output, res.output


# --- also: a dry run writes nothing; --status says a fatal error once ---------------------


def test_a_dry_run_writes_nothing(beet, tmp_path, family_audio):
    beet.set(auto=False)
    library(beet, tmp_path, sorted(family_audio.glob("pads_*"))[:2])
    existed = beet.sidecar.exists()
    assert "2 to embed, 0 up to date" in beet("embed", "--dry-run").stdout
    assert beet.sidecar.exists() == existed  # not even an empty sidecar is created
    if existed:
        con = sqlite3.connect(beet.sidecar)
        assert con.execute("SELECT count(*) FROM spaces").fetchone()[0] == 0  # nor a space
        con.close()
    beet("embed", "--limit", "1")
    con = sqlite3.connect(beet.sidecar)
    before = con.execute("SELECT name FROM spaces").fetchall()
    con.close()
    beet.set(segment=20.0)  # another space would be needed: --rebuild --dry-run drops nothing
    assert "2 to embed, 0 up to date" in beet("embed", "--rebuild", "--dry-run").stdout
    beet.set(segment=30.0)
    assert "1 to embed, 1 up to date" in beet("embed", "--dry-run").stdout
    con = sqlite3.connect(beet.sidecar)
    assert con.execute("SELECT name FROM spaces").fetchall() == before
    assert con.execute("SELECT count(*) FROM entries WHERE vector IS NOT NULL").fetchone()[0] == 1
    con.close()


def test_status_says_a_fatal_error_once(beet):
    beet.sidecar.write_bytes(b"this is not a database, but it is not empty either" * 100)
    res = beet("embed", "--status", check=False)
    assert res.returncode != 0 and "Traceback" not in res.output
    assert res.output.count("cannot read the sonic sidecar") + res.output.count(
        "cannot open the sonic sidecar") == 1, res.output


# --- 15. a read-only write-ahead log beside a writable sidecar ----------------------------


def test_a_read_only_wal_beside_a_writable_sidecar_is_named(tmp_path, family_audio):
    from .test_faults import Mounts

    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a read-only bind mount needs root and mount(8)")
    beet = Beet(tmp_path / "h")
    library(beet, tmp_path, sorted(family_audio.glob("pads_*"))[:3])
    wal, shm = (f"{beet.sidecar}{x}" for x in ("-wal", "-shm"))
    for f in (wal, shm):  # as a run that could only read the sidecar leaves them
        open(f, "ab").close()
    mounts = Mounts()
    try:
        mounts.read_only(wal)  # even root can't write it now (a chmod can't help either)
        assert beet.similar_titles("-n", "1", "title:Pads Study 1")  # reads still work
        res = beet("embed", "--force", check=False)
        assert res.returncode != 0 and "Traceback" not in res.output
        assert f"{wal} is not" in res.output and "chmod u+w" in res.output, res.output
    finally:
        mounts.undo()
    assert "3 to embed" in beet("embed", "--force").stdout  # writable again: all is well


def test_an_empty_sidecar_file_is_said(beet, tmp_path, family_audio):
    beet.set(auto=False)
    library(beet, tmp_path, sorted(family_audio.glob("pads_*"))[:2])
    if beet.sidecar.exists():
        beet.sidecar.unlink()
    beet.sidecar.write_bytes(b"")
    res = beet("embed")
    assert res.output.count("is an empty file (0 bytes)") == 1 and "restore it from a backup" in res.output
    assert "2 to embed" in res.output
    assert "empty file" not in beet("embed").output  # said once: it is a sidecar now
