"""End to end through the real ``beet`` CLI: import embeds, similar answers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from beetsplug.sonic import synth

from .helpers import PER_FAMILY, family_of

N_TRACKS = PER_FAMILY * len(synth.FAMILIES)


def test_import_embeds_every_format(family_library):
    status = family_library("embed", "--status", "--json").stdout
    record = json.loads(status.splitlines()[0])
    assert record["space"] == "spectral"
    assert (record["embedded"], record["failed"], record["missing"]) == (N_TRACKS, 0, 0)
    formats = set(family_library("ls", "-f", "$format").stdout.split())
    assert formats == {"MP3", "FLAC", "OGG", "AAC", "WAVE"}


def test_embed_after_import_has_nothing_to_do(family_library):
    # Import copied the files (new paths, new mtimes): the vectors followed them.
    out = family_library("embed").stdout
    assert f"0 to embed, {N_TRACKS} up to date" in out


def test_every_track_nearest_neighbours_are_its_family(family_library):
    for title in family_library.ids():
        top = family_library.similar_titles("-n", "3", f"title:{title}")
        assert len(top) == 3
        assert {family_of(t) for t in top} == {family_of(title)}, (title, top)


def test_scores_descend_and_json_has_fields(family_library):
    lines = family_library("similar", "--json", "-n", "6", "title:Acid Study 1").stdout.splitlines()
    records = [json.loads(line) for line in lines]
    scores = [r["score"] for r in records]
    assert scores == sorted(scores, reverse=True) and len(records) == 6
    assert {"id", "path", "score", "artist", "title", "bpm", "key"} <= set(records[0])
    assert all(r["title"] != "Acid Study 1" for r in records)  # the seed is not its own neighbour


def test_default_format_shows_score_artist_title_bpm_key(family_library):
    header, first = family_library("similar", "-n", "1", "title:Pads Study 1").stdout.splitlines()[:2]
    assert header.startswith("sounds like Pads Unit 1 - Pads Study 1 (score 1 = the same sound")
    score, top, rest = first.split("  ", 2)
    assert top.startswith("top ") and top.endswith("%")
    assert 0.0 < float(score) <= 1.0
    assert "Pads" in rest and "BPM" in rest


def test_several_seeds_use_their_centroid(family_library):
    # "more like these": two plucks seeds -> the remaining plucks come first
    top = family_library.similar_titles("-n", str(PER_FAMILY - 2), "title:Plucks Study 1", ",",
                                        "title:Plucks Study 2")
    assert {family_of(t) for t in top} == {"plucks"}
    assert "Plucks Study 1" not in top and "Plucks Study 2" not in top


def test_within_restricts_candidates(family_library):
    top = family_library.similar_titles("-n", "50", "--within", "bpm:160..180", "title:Acid Study 1")
    assert top and {family_of(t) for t in top} == {"breaks"}
    assert len(top) == PER_FAMILY


def test_max_per_artist(family_library):
    out = family_library("similar", "-n", "8", "--max-per-artist", "1", "-f", "$artist",
                         "title:Acid Study 1").stdout.split("\n")
    artists = [a for a in out if a]
    assert len(artists) == len(set(artists)) and len(artists) >= 4


def test_m3u_is_written(family_library, tmp_path):
    m3u = tmp_path / "set.m3u"
    titles = family_library.similar_titles("-n", "4", "--m3u", m3u, "title:Breaks Study 2")
    lines = m3u.read_text().splitlines()
    assert lines[0] == "#EXTM3U"
    entries = [line for line in lines[1:] if not line.startswith("#")]
    assert len(entries) == len(titles) == 4
    assert all(line.startswith(str(family_library.home / "music")) for line in entries)
    assert sum(1 for line in lines if line.startswith("#EXTINF:")) == 4


def test_query_matching_nothing_says_so(family_library):
    res = family_library("similar", "title:no such track anywhere", check=False)
    assert res.returncode != 0
    assert "no items match" in res.output and "Traceback" not in res.output


def test_unknown_space_names_the_fix(family_library):
    res = family_library("similar", "--space", "nonesuch", "title:Acid Study 1", check=False)
    assert res.returncode != 0 and "(spaces: spectral)" in res.output
    assert "to build it" not in res.output  # no backend is called nonesuch: nothing to build


def test_sql_interface_gives_the_same_top_k_as_similar(family_library):
    """The sidecar read by any SQL client with sqlite-vec (docs/how-it-works.md)."""
    import sqlean
    import sqlite_vec

    from .helpers import vec0_top_k

    seed = family_library.ids("title:Breaks Study 2")["Breaks Study 2"]
    expected = [json.loads(line)["id"] for line in
                family_library("similar", "--json", "-n", "5", f"id:{seed}").stdout.splitlines()]
    conn = sqlean.connect(str(family_library.sidecar))
    conn.enable_load_extension(True)
    sqlite_vec.load(conn)
    (vector,) = conn.execute("SELECT e.vector FROM entries e JOIN spaces s ON s.id = e.space_id "
                             "WHERE s.name = 'spectral' AND e.item_id = ?", (seed,)).fetchone()
    got = [iid for iid, _ in vec0_top_k(conn, "spectral", np.frombuffer(vector, np.float32), 6)]
    conn.close()
    assert got[0] == seed and got[1:] == expected


def test_scores_are_placed_in_the_library_and_weak_hits_are_not_matches(family_library):
    """Asking for everything lists only tracks closer than a typical library track, each
    with its standing; the rest is counted, not passed off as matches."""
    lines = family_library("similar", "--json", "-n", "100", "title:Acid Study 1").stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert PER_FAMILY - 1 <= len(records) < N_TRACKS - 1
    tops = [r["top_percent"] for r in records]
    assert tops == sorted(tops) and tops[0] == pytest.approx(100 / (N_TRACKS - 1), rel=0.01)
    text = family_library("similar", "-n", "100", "title:Acid Study 1").stdout
    assert "no closer than a typical track of your library" in text
    multi = family_library("similar", "-n", "2", "title:Acid Study 1", ",", "title:Acid Study 2").stdout
    assert multi.startswith("sounds like these 2 tracks together")
