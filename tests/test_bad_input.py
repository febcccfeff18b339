"""Bad input through the real import path: clear per-item messages, nothing else lost."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

from .badfiles import make_bad_files


@pytest.fixture(scope="module")
def bad_library(tmp_path_factory, family_audio):
    from .helpers import Beet

    tmp = tmp_path_factory.mktemp("bad")
    good = sorted(family_audio.glob("acid_*.mp3"))[0]
    incoming = tmp / "incoming"
    files = make_bad_files(incoming, good)
    for extra in sorted(family_audio.glob("pads_*"))[:2]:
        (incoming / extra.name).write_bytes(extra.read_bytes())
    beet = Beet(tmp / "home")
    result = beet("import", incoming)
    return beet, files, result


def _entries(beet):
    with beet.store() as store:
        space = store.get_space("spectral")
        return store.entries(space)


def test_import_goes_on_past_bad_files(bad_library):
    beet, files, result = bad_library
    assert result.returncode == 0
    titles = set(beet.ids())
    # beets itself refuses files it cannot read at all; everything else is in the library
    for title in ("Corrupt Middle", "Cut Short", "Pure Silence", "Two Seconds", "Phone Line",
                  "Studio Master", "Broken Floats", "Pads Study 1", "Pads Study 2"):
        assert title in titles
    assert "Traceback" not in result.output


def test_each_failure_is_a_clear_message_with_its_path(bad_library):
    beet, files, result = bad_library
    assert "could not embed" in result.output
    assert "silence.mp3: the analysed audio is silent" in result.output
    entries = _entries(beet)
    ids = beet.ids()
    failed = {e.item_id: e.error for e in entries.values() if not e.ok}
    assert failed == {ids["Pure Silence"]: "the analysed audio is silent"}


def test_awkward_but_real_audio_is_embedded(bad_library):
    beet, files, _ = bad_library
    entries = _entries(beet)
    ids = beet.ids()
    for title in ("Corrupt Middle", "Cut Short", "Two Seconds", "Phone Line", "Studio Master",
                  "Broken Floats", "Pads Study 1", "Pads Study 2"):
        assert entries[ids[title]].ok, title
    # the NaN stretch of the float file is read as silence: its tempo, key and energy are numbers
    fields = beet("ls", "-f", "$sonic_bpm|$sonic_key|$sonic_energy", "title:Broken Floats").stdout.strip()
    bpm, key, energy = fields.split("|")
    assert float(bpm) > 0 and key and 1 <= float(energy) <= 10, fields
    unicode_title = next(t for t in ids if t.startswith("</script>"))
    assert entries[ids[unicode_title]].ok


def test_unicode_and_html_tags_come_back_intact(bad_library):
    beet, _, _ = bad_library
    records = [json.loads(line) for line in
               beet("similar", "--json", "-n", "20", "title:Pads Study 1").stdout.splitlines()]
    titles = {r["title"] for r in records}
    assert "</script><script>alert(1)</script> Ünïcødé «東京» & \"quotes\"" in titles


def test_unreadable_files_are_reported_by_embed_too(tmp_path, beet):
    # Files beets cannot import never reach us, but items whose file turns bad later do.
    from beetsplug.sonic import synth

    incoming = tmp_path / "in"
    incoming.mkdir()
    path = incoming / "fine.mp3"
    synth.write(str(path), synth.render(synth.spec("acid", 3), 12.0))
    synth.tag(str(path), artist="A", title="Goes Bad")
    beet("import", incoming)
    item_path = beet("ls", "-p", "title:Goes Bad").stdout.strip()
    with open(item_path, "r+b") as f:  # same size, audio replaced by junk
        size = os.path.getsize(item_path)
        f.seek(0)
        f.write(b"\0" * size)
    os.utime(item_path, (1, 1))
    res = beet("embed", check=False)
    out = res.output
    assert f"failed: {item_path}: audio could not be decoded" in out
    assert "failed 1" in out
    assert res.returncode == 1 and "all 1 item(s) failed" in res.stderr  # a run where all failed


def test_file_deleted_after_import(beet, family_audio, copy_of):
    beet("import", copy_of(sorted(family_audio.glob("breaks_*"))[:3]))
    paths = beet("ls", "-p").stdout.split("\n")
    victim = paths[0]
    os.remove(victim)
    res = beet("embed", "--force", check=False)
    assert res.returncode == 1 and f"{victim}: file not found" in res.output
    assert "embedded 2" in res.output and "failed 1" in res.output
    # the sidecar is intact and the other two still answer
    con = sqlite3.connect(beet.sidecar)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    status = json.loads(beet("embed", "--status", "--json").stdout.splitlines()[0])
    # its finished vector is kept (the file may come back: an unmounted drive)
    assert (status["embedded"], status["unreachable"], status["failed"]) == (2, 1, 0)


def test_embed_analysis_goes_on_past_a_track_whose_analysis_breaks(bad_library, monkeypatch):
    # a bug that one file sets off (forced here: no real file is known to) costs that track
    # alone: `beet embed --analysis` reports it and analyses and stores the others
    from beets.library import Library

    from beetsplug.sonic.dj import run

    beet, _, _ = bad_library
    lib = Library(str(beet.library), directory=beet.config["directory"])
    items = [i for i in lib.items() if i.title in ("Pads Study 1", "Pads Study 2", "Phone Line")]
    broken, real = items[0].path, run.analyse_file

    def analyse_file(path, **options):
        if path == broken:
            raise IndexError("index 12 is out of bounds")
        return real(path, **options)

    monkeypatch.setattr(run, "analyse_file", analyse_file)
    done, failed = run.analyse(items, write_tags=False)
    assert done == len(items) - 1, failed
    assert failed == [(items[0], "unexpected IndexError: index 12 is out of bounds")]
