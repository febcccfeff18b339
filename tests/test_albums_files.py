"""Albums as units (`similar -a`, `cohesion -a`) and a seed that is not in the library
(`similar --file`), through the real CLI on an album import."""

from __future__ import annotations

import json
import shutil

import pytest

from beetsplug.sonic import synth

from .helpers import Beet, family_of


@pytest.fixture(scope="module")
def albums(tmp_path_factory, family_audio):
    """Each family split into two albums ("Acid A": tracks 1-3, "Acid B": 4-5), imported
    as albums."""
    tmp = tmp_path_factory.mktemp("albums")
    for path in sorted(family_audio.iterdir()):
        family = path.name.split("_", 1)[0]
        half = "A" if int(path.stem.rsplit("_", 1)[1]) <= 3 else "B"
        folder = tmp / "in" / f"{family}_{half}"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, folder)
        synth.tag(str(folder / path.name), album=f"{family.title()} {half}",
                  albumartist=f"{family.title()} Collective")
    beet = Beet(tmp / "home")
    beet.config["import"]["singletons"] = False
    beet.write_config()
    beet("import", tmp / "in")
    assert len(beet("ls", "-a").stdout.splitlines()) == 8
    return beet


def test_similar_albums_lists_albums_per_album(albums):
    lines = albums("similar", "-a", "--json", "-n", "3", "album:Acid A").stdout.splitlines()
    hits = [json.loads(x) for x in lines]
    assert hits[0]["album"] == "Acid B" and len(hits) == 3
    assert "Acid A" not in [h["album"] for h in hits] and hits[0]["tracks"] == 2
    text = albums("similar", "-a", "-n", "1", "album:Pads B").stdout
    assert "each album as all its tracks together" in text and "Pads A (3 tracks)" in text


def test_cohesion_of_albums_flags_the_odd_album(albums):
    data = json.loads(albums("cohesion", "-a", "--json", "album:Breaks", ",", "album:Pads A").stdout)
    assert data["albums"] and data["tracks_in_set"] == 3
    assert data["tracks"][0]["album"] == "Pads A"  # least fitting first
    assert data["judged"] is False  # 5 other albums are too few to flag against (10 needed)
    res = albums("cohesion", "-a", "--order", "album:Breaks", check=False)
    assert res.returncode != 0 and "don't apply" in res.output


def test_similar_from_a_file_outside_the_library(albums, tmp_path):
    outside = tmp_path / "new.flac"
    synth.write(str(outside), synth.render(synth.spec("plucks", 99), 30.0))
    before = albums("ls").stdout
    res = albums("similar", "--file", outside, "-n", "3", "-f", "$title")
    assert [family_of(t) for t in res.stdout.splitlines()] == ["plucks"] * 3
    assert albums("ls").stdout == before  # nothing stored in the library
    with albums.store() as store:
        assert store.count(store.get_space("spectral")) == 20  # nor in the sidecar
    top_album = json.loads(albums("similar", "-a", "--file", outside, "--json", "-n", "1").stdout)
    assert top_album["album"].startswith("Plucks")
    for args, words in [(("--file", tmp_path / "none.mp3"), "no such file"),
                        (("--file", outside, "title:x"), "give no query"),
                        (("--file", outside, "--mix"), "--mix needs a library track")]:
        res = albums("similar", *args, check=False)
        assert res.returncode != 0 and words in res.output and "Traceback" not in res.output
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"not audio at all" * 100)
    res = albums("similar", "--file", bad, check=False)
    assert res.returncode != 0 and "cannot embed" in res.output and "Traceback" not in res.output
