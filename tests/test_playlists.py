"""Playlists by the playlist plugin's conventions: ``playlist:NAME`` terms resolved by
every sonic command (beets #6784), ``--m3u NAME`` into ``playlist_dir`` with entries as
``relative_to`` says, and ``--playlist`` on every command that takes a query."""

from __future__ import annotations

import json
import os

import pytest

from .helpers import Beet


@pytest.fixture(scope="module")
def listed(tmp_path_factory, family_audio):
    """A library with the playlist plugin (relative_to: library) and lists/warmup.m3u."""
    home = tmp_path_factory.mktemp("pl")
    beet = Beet(home / "home")
    beet.config["plugins"] = ["sonic", "playlist"]
    beet.config["playlist"] = {"playlist_dir": str(home / "lists"), "relative_to": "library"}
    beet.write_config()
    (home / "lists").mkdir()
    beet("import", family_audio)
    paths = dict(line.split("\t") for line in beet("ls", "-f", "$title\t$path").stdout.splitlines())
    warmup = ["Pads Study 1", "Pads Study 2", "Plucks Study 1", "Acid Study 1"]
    music = str(home / "home" / "music")
    (home / "lists" / "warmup.m3u").write_text(
        "#EXTM3U\n" + "".join(os.path.relpath(paths[t], music) + "\n" for t in warmup))
    return beet, home / "lists", warmup, paths


def titles(res) -> list[str]:
    return [json.loads(line)["title"] for line in res.stdout.splitlines()]


def test_playlist_terms_work_in_every_sonic_command(listed):
    beet, _, warmup, _ = listed
    data = json.loads(beet("cohesion", "--json", "playlist:warmup").stdout)
    assert sorted(t["title"] for t in data["tracks"]) == sorted(warmup)
    res = beet("-vv", "similar", "-n", "2", "playlist:warmup", "title:Pads")  # with another term
    assert "these 2 tracks together" in res.output and "#6784" in res.output
    assert "4 tracks" in beet("graph", "-o", listed[1] / "map.html", "playlist:warmup").stdout
    status = json.loads(beet("embed", "--status", "--json", "playlist:warmup").stdout.splitlines()[0])
    assert status["embedded"] == 4
    res = beet("set", "-n", "2", "--key", "any", "--bpm-range", "50", "--artist-gap", "0",
               "--curve", "flat", "--json", "playlist:warmup")
    assert len(titles(res)) == 2 and set(titles(res)) <= set(warmup)


def test_every_query_command_has_the_playlist_option(listed):
    beet = listed[0]
    for cmd in ("embed", "similar", "cohesion", "vibe", "graph", "set", "path"):
        assert "--playlist" in beet(cmd, "--help").stdout, cmd
    data = json.loads(beet("cohesion", "--json", "--playlist", "warmup").stdout)
    assert len(data["tracks"]) == 4


def test_m3u_by_name_goes_to_playlist_dir_and_round_trips(listed):
    beet, lists, _, paths = listed
    hits = titles(beet("similar", "--json", "-n", "3", "--m3u", "next", "title:Acid Study 1"))
    written = (lists / "next.m3u").read_text().splitlines()
    entries = [x for x in written if not x.startswith("#")]
    assert len(entries) == 3 and not any(os.path.isabs(e) for e in entries)  # relative_to: library
    music = os.path.dirname(os.path.dirname(os.path.dirname(paths["Acid Study 1"])))
    assert [os.path.join(music, e) for e in entries] == [paths[t] for t in hits]
    back = json.loads(beet("cohesion", "--json", "playlist:next").stdout)
    assert sorted(t["title"] for t in back["tracks"]) == sorted(hits)


def test_relative_to_playlist_and_explicit_paths(listed, tmp_path):
    beet, lists, _, paths = listed
    beet.config["playlist"]["relative_to"] = "playlist"
    beet.write_config()
    try:
        hits = titles(beet("similar", "--json", "-n", "2", "--m3u", "byplaylist.m3u", "title:Pads Study 1"))
        entries = [x for x in (lists / "byplaylist.m3u").read_text().splitlines() if not x.startswith("#")]
        assert [os.path.normpath(os.path.join(lists, e)) for e in entries] == [paths[t] for t in hits]
        # read back through relative_to: playlist, the same two tracks
        back = json.loads(beet("cohesion", "--json", "--playlist", "byplaylist").stdout)
        assert sorted(t["title"] for t in back["tracks"]) == sorted(hits)
        explicit = tmp_path / "out.m3u"
        beet("similar", "-n", "2", "--m3u", explicit, "title:Pads Study 1")
        entries = [x for x in explicit.read_text().splitlines() if not x.startswith("#")]
        assert entries == [paths[t] for t in hits]  # written where it says, absolute
    finally:
        beet.config["playlist"]["relative_to"] = "library"
        beet.write_config()
