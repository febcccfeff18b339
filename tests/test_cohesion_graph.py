"""`beet cohesion` and `beet graph` on a real library of generated audio, and the map in a
real headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from beetsplug.sonic import synth

from .browser import Page
from .helpers import family_of

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
XSS_SCRIPT = "</script><script>alert(1)</script>"
XSS_IMG = '"><img src=x onerror="window.__pwned=1;alert(2)">'


def fit_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if "%" in line and " - " in line]


def test_planted_outlier_is_flagged_and_a_tight_set_is_not(family_library):
    res = family_library("cohesion", "title:Acid Study", ",", "title:Pads Study 3")
    first_line, flagged, *rest = res.stdout.splitlines()
    assert first_line.startswith("cohesion ") and "random 6-track sets" in first_line
    assert flagged == "1 track(s) don't belong"
    lines = fit_lines(res.stdout)
    assert len(lines) == 6 and "BPM" in lines[0]  # tempo and key in the listing
    assert lines[0].endswith("Pads Study 3   <- doesn't belong")
    assert not any("doesn't belong" in line for line in lines[1:])
    # a tight set: no flag, and its worst member still shows a full-ish bar, not 0%
    tight = family_library("cohesion", "title:Acid Study").stdout
    assert "no track stands out" in tight and "doesn't belong" not in tight
    data = json.loads(family_library("cohesion", "--json", "title:Acid Study").stdout)
    assert [t["outlier"] for t in data["tracks"]] == [False] * 5
    assert all(t["top_percent"] < 25 and t["bpm"] and t["camelot"] for t in data["tracks"])
    pair = json.loads(family_library("cohesion", "--json", "title:Pads Study 1", ",",
                                     "title:Pads Study 2").stdout)
    assert [t["outlier"] for t in pair["tracks"]] == [False, False]


def test_family_set_beats_random_sets(family_library):
    res = json.loads(family_library("cohesion", "--json", "title:Breaks Study").stdout)
    assert res["percentile"] >= 95 and res["cohesion"] > res["random_median"]
    mixed = json.loads(family_library("cohesion", "--json", "title:Study 1").stdout)
    assert mixed["cohesion"] < res["cohesion"]
    tops = [t["top_percent"] for t in mixed["tracks"]]
    assert tops == sorted(tops, reverse=True)  # least fitting first


def test_the_whole_library_is_not_compared_with_random_sets(family_library):
    out = family_library("cohesion").stdout
    assert "random" not in out and "most of your library" in out
    data = json.loads(family_library("cohesion", "--json").stdout)
    assert data["percentile"] is None and not any(t["outlier"] for t in data["tracks"])


def test_suggest_proposes_the_same_family(family_library):
    # four of five acid tracks plus one pad: the pad's replacement is the fifth acid track
    res = json.loads(family_library("cohesion", "--json", "--suggest", "--worst", "1",
                                    "title:Acid Study", "^title:Acid Study 5", ",",
                                    "title:Pads Study 2").stdout)
    ids = family_library.ids()
    (worst, hits), = res["suggestions"].items()
    assert int(worst) == ids["Pads Study 2"]
    assert hits[0]["id"] == ids["Acid Study 5"]
    text = family_library("cohesion", "--suggest", "--worst", "1", "title:Acid Study",
                          "^title:Acid Study 5", ",", "title:Pads Study 2").stdout
    assert "instead of Pads Unit" in text and "Acid Study 5" in text.split("better fits")[1]
    assert "nothing flagged" in family_library("cohesion", "--suggest", "title:Acid Study").stdout


def test_each_flagged_slot_gets_its_own_replacements(family_library):
    """Two intruders in a breaks set, in running order: each slot's replacements fit its
    own neighbours, and no track is proposed twice."""
    res = json.loads(family_library("cohesion", "--json", "--suggest", "title:Breaks Study",
                                    "^title:Breaks Study 5", "^title:Breaks Study 4", ",",
                                    "title:Pads Study 1", ",", "title:Plucks Study 2").stdout)
    ids = family_library.ids()
    assert {int(k) for k in res["suggestions"]} == {ids["Pads Study 1"], ids["Plucks Study 2"]}
    proposed = [h["id"] for hits in res["suggestions"].values() for h in hits]
    assert len(proposed) == len(set(proposed)) == 6
    assert {ids["Breaks Study 4"], ids["Breaks Study 5"]} <= set(proposed)  # the two left out
    assert ids["Breaks Study 4"] in {hits[0]["id"] for hits in res["suggestions"].values()}


def test_order_keeps_families_together(family_library, tmp_path):
    query = ["title:Study 1", ",", "title:Study 2", ",", "title:Study 3"]
    m3u = tmp_path / "flow.m3u"
    res = json.loads(family_library("cohesion", "--json", "--order", "--m3u", m3u, *query).stdout)
    titles = {v: k for k, v in family_library.ids().items()}
    families = [family_of(titles[i]) for i in res["order"]]
    changes = sum(a != b for a, b in zip(families, families[1:]))
    assert len(families) == 12 and changes == 3, families
    written = [line for line in m3u.read_text().splitlines() if line.startswith("#EXTINF")]
    assert [line.split(" - ", 1)[1] for line in written] == [titles[i] for i in res["order"]]
    assert len(res["transitions"]) == 11


def test_matrix_and_heatmap(family_library, tmp_path):
    png = tmp_path / "heat.png"
    out = family_library("cohesion", "--matrix", "--heatmap", png, "title:Plucks Study").stdout
    table = out.split("\n| # |", 1)[1]
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert len(rows) == 5 and rows[0].count("|") == 7
    assert "1. Plucks Unit" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # families given interleaved come out in blocks: the flowing order, not the query's
    mixed = ["title:Acid Study 1", ",", "title:Pads Study 1", ",", "title:Acid Study 2", ",",
             "title:Pads Study 2", ",", "title:Acid Study 3", ",", "title:Pads Study 3"]
    legend = [line for line in family_library("cohesion", "--matrix", *mixed).stdout.splitlines()
              if re.match(r"^\d+\. ", line)]
    families = [line.split(" - ")[1].split()[0] for line in legend]
    assert len(families) == 6 and sum(a != b for a, b in zip(families, families[1:])) == 1


def test_heatmap_without_matplotlib_names_the_fix(family_library, tmp_path):
    import subprocess
    import sys

    code = ("import sys; sys.modules['matplotlib'] = None; from beets.ui import main; "
            f"main(['cohesion', '--heatmap', {str(tmp_path / 'h.png')!r}, 'title:Pads Study'])")
    res = subprocess.run([sys.executable, "-c", code], env=family_library.env(), capture_output=True,
                         text=True)
    assert res.returncode != 0 and "pip install 'beets-sonic[plot]'" in res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "h.png").exists()


def test_cohesion_needs_two_tracks(family_library):
    res = family_library("cohesion", "title:Acid Study 1", check=False)
    assert res.returncode != 0 and "at least two tracks" in res.output


def test_cohesion_of_an_m3u_playlist(family_library, tmp_path):
    paths = family_library("ls", "-p", "title:Pads Study").stdout.splitlines()
    pdir = tmp_path / "playlists"
    pdir.mkdir()
    (pdir / "warmup.m3u").write_text("#EXTM3U\n" + "\n".join(paths[:3]) + "\n/not/in/library.mp3\n")
    res = family_library("cohesion", "--json", "--playlist", pdir / "warmup.m3u")
    data = json.loads(res.stdout)  # --json: the one JSON document, nothing else on stdout
    assert data["tracks_in_set"] == 3
    assert {family_of(t["title"]) for t in data["tracks"]} == {"pads"}
    assert "1 of 4 playlist entries are not in the library" in res.stderr


def test_cohesion_with_the_playlist_plugin_query(tmp_path, family_audio):
    """`playlist:NAME` from beets' own plugin, for files imported in place (beets 2.14
    matches playlist queries only against paths outside its music directory, #6784)."""
    from .helpers import Beet

    music = tmp_path / "crate"
    music.mkdir()
    files = sorted(family_audio.glob("breaks_*"))[:3] + sorted(family_audio.glob("acid_*"))[:1]
    for p in files:
        shutil.copy(p, music)
    beet = Beet(tmp_path / "home")
    beet.config["import"]["copy"] = False
    pdir = tmp_path / "playlists"
    pdir.mkdir()
    (pdir / "peak.m3u").write_text("\n".join(str(music / p.name) for p in files) + "\n")
    beet.config["plugins"] = ["sonic", "playlist"]
    beet.config["playlist"] = {"playlist_dir": str(pdir)}
    beet.write_config()
    beet("import", music)
    data = json.loads(beet("cohesion", "--json", "playlist:peak").stdout)
    assert data["tracks_in_set"] == 4
    assert family_of(data["tracks"][0]["title"]) == "acid"  # the odd one out first
    by_name = json.loads(beet("cohesion", "--json", "--playlist", "peak").stdout)
    assert by_name["tracks"] == data["tracks"]


# --- beet graph -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def map_library(tmp_path_factory, family_audio):
    """The family tracks plus two with hostile titles."""
    from .helpers import Beet

    tmp = tmp_path_factory.mktemp("map")
    incoming = tmp / "in"
    incoming.mkdir()
    for p in sorted(family_audio.iterdir()):
        shutil.copy(p, incoming)
    for i, title in enumerate((XSS_SCRIPT, XSS_IMG)):
        path = incoming / f"xss{i}.mp3"
        synth.write(str(path), synth.render(synth.spec("plucks", 60 + i), 20.0))
        synth.tag(str(path), artist=f"Hostile {i} <b>&amp;", title=title, genre="Folk", bpm=90, key="Am")
    beet = Beet(tmp / "home")
    beet("import", incoming)
    out = tmp / "map.html"
    res = beet("graph", "-o", out, "--color-by", "genres")
    assert "22 tracks, 88 links" in res.stdout
    return beet, out


def test_graph_html_is_self_contained_and_escaped(map_library):
    _, out = map_library
    text = out.read_text()
    assert "<script src" not in text and "<link" not in text
    assert "http://" not in text and "https://" not in text
    assert XSS_SCRIPT not in text and "<img src=x" not in text
    assert "acoustically" not in text  # the legend says "in sound" or "in vibe" by the space
    assert text.count("</script>") == 2  # the data block and the program, nothing injected


@pytest.mark.browser
def test_graph_page_in_chromium(map_library, browser):
    beet, out = map_library
    page = Page(browser, out.as_uri())
    try:
        page.wait_stable()
        data = page.js("JSON.parse(document.getElementById('sonic-data').textContent)")
        assert page.js("__sonic.n") == 22 == data["n"]
        assert page.js("__sonic.drawn") == 22
        assert page.errors == [] and page.dialogs == []
        assert page.requests == [out.as_uri()]  # nothing but the file itself
        assert page.js("typeof window.__pwned") == "undefined"

        # hover shows the right tooltip
        i = data["title"].index("Acid Study 2")
        x, y = page.js(f"__sonic.screenOf({i})")
        page.page.mouse.move(x, y)
        page.page.wait_for_timeout(100)
        tip = page.page.inner_text("#tip")
        assert "Acid Study 2" in tip and data["artist"][i] in tip and "BPM" in tip
        nbr_lines = tip.split("nearest neighbours:")[1].strip().splitlines()
        assert len(nbr_lines) == 4
        first_nbr = data["nbr"][i * 4]
        assert nbr_lines[0].startswith(f"{data['sim'][i * 4]:.3f}") and data["title"][first_nbr] in nbr_lines[0]

        # the hostile titles show as text and run nothing
        j = data["title"].index(XSS_IMG)
        x, y = page.js(f"__sonic.screenOf({j})")
        page.page.mouse.move(x, y)
        page.page.wait_for_timeout(100)
        assert XSS_IMG in page.page.inner_text("#tip")
        assert page.js("document.querySelectorAll('img').length") == 0

        # click isolates a neighbourhood; the search box finds a track
        page.page.mouse.click(*page.js(f"__sonic.screenOf({i})"))
        assert page.js("__sonic.selected()") == i
        page.page.fill("#search", "breaks study 4")
        assert page.page.inner_text("#found") == "1 found"
        assert data["title"][page.js("__sonic.selected()")] == "Breaks Study 4"
        page.page.keyboard.press("Escape")

        # switching the colour mode changes the drawing and the legend
        before = page.js("document.getElementById('map').toDataURL()")
        legend_before = page.page.inner_text("#legend")
        page.page.select_option("#mode", "connectors")
        page.page.wait_for_timeout(100)
        assert page.js("__sonic.mode()") == "connectors"
        assert page.js("document.getElementById('map').toDataURL()") != before
        assert page.page.inner_text("#legend") != legend_before
        page.page.select_option("#mode", "field")
        page.page.wait_for_timeout(100)
        assert "Acid Techno" in page.page.inner_text("#legend")
        assert page.errors == [] and page.dialogs == []
    finally:
        page.close()


def test_graph_stores_sonic_clusters(map_library):
    beet, _ = map_library
    rows = beet("ls", "-f", "$sonic_cluster\t$sonic_cluster_name\t$title").stdout.splitlines()
    by_title = {t: (int(c), n) for c, n, t in (line.split("\t") for line in rows)}
    acid = {by_title[t] for t in by_title if t.startswith("Acid Study")}
    (cid, name), = acid  # one cluster, named after its dominant genre
    assert name == "Acid Techno"
    assert cid == min(beet.ids("title:Acid Study").values())  # stable: its oldest member's id
    listed = beet("ls", "-f", "$title", f"sonic_cluster:{cid}").stdout.split("\n")
    assert sorted(t for t in listed if t) == [f"Acid Study {i}" for i in range(1, 6)]
    hits = beet.similar_titles("--within", f"sonic_cluster:{cid}", "title:Acid Study 1")
    assert len(hits) == 4 and all(h.startswith("Acid Study") for h in hits)
    assert "(0 changed)" in beet("embed", "--clusters").stdout  # the same communities
    beet("graph", "-o", map_library[1].parent / "acid.html", "title:Acid")  # a part: fields kept
    assert beet("ls", "-f", "$sonic_cluster", "title:Pads Study 1").stdout.strip() != ""


@pytest.mark.browser
def test_map_colours_names_picks_and_plays(map_library, browser):
    beet, out = map_library
    page = Page(browser, out.as_uri())
    try:
        page.wait_stable()
        data = page.js("JSON.parse(document.getElementById('sonic-data').textContent)")
        names = page.js("__sonic.clusterNames()")
        assert "Acid Techno" in names and "Drum & Bass" in names  # drawn on the canvas
        modes = page.js("[...document.querySelectorAll('#mode option')].map(o => o.value)")
        assert {"bpm", "energy", "key", "genre"} <= set(modes)
        for mode, words in (("bpm", "120\u2013125 BPM"), ("key", "8A / 8B"), ("energy", "unknown"),
                            ("genre", "Acid Techno")):
            page.page.select_option("#mode", mode)
            page.page.wait_for_timeout(50)
            assert words in page.page.inner_text("#legend"), mode
        assert "acoustically" not in page.page.inner_text("#legend")

        # search covers album and genre, not only artist and title
        page.page.fill("#search", "pads tracks")
        assert page.page.inner_text("#found") == "5 found"
        page.page.fill("#search", "drum & bass")
        assert page.page.inner_text("#found") == "5 found"
        page.page.keyboard.press("Escape")

        # shift-click picks tracks; the export is an M3U download of their paths
        paths = dict(line.split("\t") for line in beet("ls", "-f", "$title\t$path").stdout.splitlines())
        picks = [data["title"].index("Acid Study 1"), data["title"].index(XSS_SCRIPT)]
        page.page.keyboard.down("Shift")
        for i in picks:
            page.page.mouse.click(*page.js(f"__sonic.screenOf({i})"))
        page.page.keyboard.up("Shift")
        assert page.js("__sonic.picked()") == sorted(picks)
        with page.page.expect_download() as dl:
            page.page.click("#export")
        text = open(dl.value.path(), encoding="utf-8").read()
        entries = [x for x in text.splitlines() if not x.startswith("#")]
        assert sorted(entries) == sorted(paths[data["title"][i]] for i in picks)

        # a click shows the play button; it plays the local file in an <audio> element
        i = data["title"].index("Pads Study 2")
        page.page.mouse.click(*page.js(f"__sonic.screenOf({i})"))
        assert "Pads Study 2" in page.page.inner_text("#now")
        page.page.click("#play")
        for _ in range(200):  # (wait_for_function would eval a string: the page's CSP forbids it)
            if page.js("__sonic.player().readyState >= 2 || !!__sonic.player().error"):
                break
            page.page.wait_for_timeout(100)
        assert page.js("__sonic.player().readyState") >= 2
        assert page.js("__sonic.player().error") is None
        assert page.js("__sonic.player().src") == page.js(f"__sonic.fileUrl({json.dumps(paths['Pads Study 2'])})")
        assert all(u.startswith("file://") or u.startswith("blob:") for u in page.requests), page.requests
        assert page.errors == [] and page.dialogs == []
        assert page.js("typeof window.__pwned") == "undefined"
    finally:
        page.close()


@pytest.mark.browser
def test_graph_screenshot_artifact(map_library, browser):
    """A fresh page of the demo-style library, saved for a person to look at."""
    _, out = map_library
    page = Page(browser, out.as_uri())
    try:
        page.wait_stable()
        data = page.js("JSON.parse(document.getElementById('sonic-data').textContent)")
        i = data["title"].index("Breaks Study 3")
        page.page.mouse.move(*page.js(f"__sonic.screenOf({i})"))
        page.page.wait_for_timeout(100)
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "graph-families.png"
        page.page.screenshot(path=str(shot))
        assert shot.stat().st_size > 10_000
        assert page.errors == []
    finally:
        page.close()


def test_export_vectors(map_library, tmp_path):
    beet, _ = map_library
    out = tmp_path / "v.json"
    beet("embed", "--export", out, "genres:Ambient")
    data = json.loads(out.read_text())
    assert data["space"] == "spectral" and data["dims"] == 156
    assert len(data["items"]) == 5
    assert {"id", "path", "artist", "title", "vector"} <= set(data["items"][0])
    assert abs(sum(v * v for v in data["items"][0]["vector"]) - 1) < 1e-4
