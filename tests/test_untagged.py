"""Untagged music is first class: a track without title/artist is named by its file in
every line of every command, in M3U ``#EXTINF`` lines and on the map (issue 21)."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from beetsplug.sonic import synth

from .browser import Page
from .helpers import Beet

#: untagged files: name -> family (rendered like the family tracks, no tags at all)
UNTAGGED = {"promo_01.mp3": "acid", "promo_02.mp3": "acid", "promo_03.mp3": "pads",
            "promo_04.mp3": "breaks", "promo_05.mp3": "plucks", "promo_06.mp3": "pads"}


def blank_name(line: str) -> bool:
    """A line that names a track as a blank `` - `` (an empty artist and title)."""
    return bool(re.search(r"(^|\s)-\s*$|(^|\s{2})-(\s{2}|\s*$)|\?\s\u2014\s\?", line))


@pytest.fixture(scope="module")
def untagged(tmp_path_factory, family_audio) -> Beet:
    """The family tracks plus six untagged files: a quarter of the library untagged."""
    tmp = tmp_path_factory.mktemp("untagged")
    incoming = tmp / "in"
    incoming.mkdir()
    for p in sorted(family_audio.iterdir()):
        shutil.copy(p, incoming)
    for i, (name, family) in enumerate(UNTAGGED.items()):
        synth.write(str(incoming / name), synth.render(synth.spec(family, 40 + i), 30.0))
    beet = Beet(tmp / "home")
    # beets' quiet import skips files with the same (empty) artist and title as duplicates
    beet.config["import"].update(duplicate_action="keep", copy=False)
    beet.write_config()
    beet("import", incoming)
    return beet


def ids_of(beet: Beet) -> dict[str, int]:
    out = beet("ls", "-f", "$id\t$path").stdout
    return {line.split("\t")[1].rsplit("/", 1)[1]: int(line.split("\t")[0]) for line in out.splitlines()}


def check_lines(text: str) -> None:
    bad = [line for line in text.splitlines() if blank_name(line)]
    assert not bad, bad


def test_the_blank_detector_can_fail():
    assert blank_name("0.912  top 1.0%   - ") and blank_name(" 1.  E 5.0  124.0 BPM  8A  start   - ")
    assert blank_name("  0.90   -   ->  Acid Unit 1 - Acid Study 1   (sound 0.9)")
    assert not blank_name("0.912  top 1.0%  Acid Unit 1 - Acid Study 1  124.0 BPM")
    assert not blank_name("0.912  promo_01.mp3   <- doesn't belong")


def test_every_command_names_an_untagged_track_by_its_file(untagged, tmp_path):
    beet = untagged
    ids = ids_of(beet)
    assert set(UNTAGGED) <= set(ids), "every untagged file is imported"
    one = f"id:{ids['promo_01.mp3']}"
    outputs = {
        "similar": beet("similar", one),
        "similar --mix": beet("similar", "--mix", "--loose", "--key", "any", "--bpm-range", "50", one),
        "cohesion": beet("cohesion", "--suggest", "--transitions", "--order", "title:Acid Study", ",",
                         f"id:{ids['promo_03.mp3']}", ",", one),
        "set": beet("set", "-n", "4", "--loose", "--key", "any", "--bpm-range", "50", "--explain",
                    "--artist-gap", "0", check=False),
        "path": beet("path", "--steps", "3", one, f"id:{ids['promo_03.mp3']}"),
        "vibe": beet("vibe", "--pretend", f"id:{ids['promo_02.mp3']}", check=False),
    }
    for what, res in outputs.items():
        check_lines(res.stdout)
    assert "promo_01.mp3" in outputs["similar"].stdout.splitlines()[0]  # the seed line
    assert "promo_02.mp3" in outputs["similar"].stdout  # its family neighbour, by its file
    coh = outputs["cohesion"].stdout
    flagged = [line for line in coh.splitlines() if "doesn't belong" in line and "<-" in line]
    assert flagged and "promo_03.mp3" in flagged[0], coh
    assert "instead of promo_03.mp3" in coh
    assert "promo_03.mp3" in outputs["path"].stdout and "promo_01.mp3" in outputs["path"].stdout
    # JSON lines name it too
    rec = json.loads(beet("similar", "--json", "-n", "1", f"id:{ids['promo_02.mp3']}").stdout.splitlines()[0])
    assert rec["name"] and (rec["title"] or rec["name"].endswith(".mp3"))


def test_m3u_extinf_names_the_file(untagged, tmp_path):
    beet = untagged
    ids = ids_of(beet)
    out = tmp_path / "next.m3u"
    beet("similar", "-n", "30", "--m3u", out, f"id:{ids['acid_acid_study_1.mp3']}")
    extinf = [line for line in out.read_text().splitlines() if line.startswith("#EXTINF")]
    assert len(extinf) >= 5
    assert any(line.endswith(",promo_01.mp3") for line in extinf), extinf
    assert not [line for line in extinf if line.endswith(" - ") or line.endswith(",")]


def test_ls_template_fields(untagged):
    beet = untagged
    out = beet("ls", "-f", "$sonic_name|$sonic_tempo|$sonic_keyname", "path::promo_0").stdout.splitlines()
    assert sorted(x.split("|")[0] for x in out) == sorted(UNTAGGED)
    assert all(re.fullmatch(r"promo_0\d\.mp3\|\d+\.\d BPM\|\d{1,2}[AB] [A-G][b#]? (major|minor)", x) for x in out), out


@pytest.mark.browser
def test_map_tooltip_and_panel_name_untagged_tracks(untagged, browser, tmp_path):
    beet = untagged
    out = tmp_path / "map.html"
    beet("graph", "-o", out)
    page = Page(browser, out.as_uri())
    try:
        page.wait_stable()
        data = page.js("JSON.parse(document.getElementById('sonic-data').textContent)")
        i = data["path"].index(next(p for p in data["path"] if p.endswith("promo_04.mp3")))
        x, y = page.js(f"__sonic.screenOf({i})")
        page.page.mouse.move(x, y)
        page.page.wait_for_timeout(100)
        tip = page.page.inner_text("#tip")
        assert tip.splitlines()[0] == "promo_04.mp3", tip
        assert not blank_name(tip) and "?" not in tip.splitlines()[0]
        # one notation: the key as Camelot plus name, the tempo with one decimal
        assert re.search(r"\d+\.\d BPM \u00b7 \d{1,2}[AB] [A-G][b#]? (major|minor)", tip), tip
        page.page.mouse.click(x, y)
        now = page.page.inner_text("#now")
        assert "promo_04.mp3" in now and re.search(r"\d+\.\d BPM \u00b7 \d{1,2}[AB] [A-G]", now), now
        assert page.errors == []
    finally:
        page.close()


# --- similar: the tempo and key the plugin uses, errors that fit the cause ----------------


def test_similar_shows_tempo_and_key_from_the_audio_when_untagged(untagged):
    beet = untagged
    ids = ids_of(beet)
    out = beet("similar", "-n", "30", f"id:{ids['acid_acid_study_1.mp3']}").stdout.splitlines()
    row = next(line for line in out if "promo_0" in line)
    assert re.search(r"\d+\.\d BPM  \d{1,2}[AB] [A-G][b#]? (major|minor)$", row), row
    recs = [json.loads(x) for x in beet("similar", "--json", "-n", "30",
                                        f"id:{ids['acid_acid_study_1.mp3']}").stdout.splitlines()]
    rec = next(r for r in recs if r["name"].startswith("promo_0"))
    assert rec["bpm"] and rec["bpm_source"] == "audio" and rec["key_source"] == "audio"
    assert re.fullmatch(r"\d{1,2}[AB] [A-G][b#]? (major|minor)", rec["key"]) and rec["camelot"]
    tagged = next(r for r in recs if r["title"])
    assert tagged["bpm_source"] == "tag"


def test_an_empty_playlist_is_written_with_a_warning(untagged, tmp_path):
    beet = untagged
    ids = ids_of(beet)
    out = tmp_path / "none.m3u"
    res = beet("similar", "--within", "bpm:300..400", "--m3u", out, f"id:{ids['promo_01.mp3']}")
    assert out.read_text().strip() == "#EXTM3U"
    assert "EMPTY playlist" in res.stderr
    full = tmp_path / "some.m3u"
    assert "EMPTY" not in beet("similar", "--m3u", full, f"id:{ids['promo_01.mp3']}").stderr


def test_readme_within_example_queries_the_tempo_the_plugin_uses(untagged):
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    example = re.search(r"beet similar -n 20 --within (\S+)", readme).group(1)
    assert example.startswith("sonic_bpm:"), example
    beet = untagged
    ids = ids_of(beet)
    lo, hi = (float(x) for x in example.split(":")[1].split(".."))
    listed = [json.loads(x) for x in beet("similar", "--json", "--within", f"sonic_bpm:{lo}..{hi}",
                                          f"id:{ids['promo_01.mp3']}").stdout.splitlines()]
    assert all(lo <= r["bpm"] <= hi for r in listed if r["bpm_source"] == "audio")


def test_similar_without_a_query_is_an_error(untagged):
    res = untagged("similar", check=False)
    assert res.returncode != 0 and "similar to what?" in res.stderr and "Traceback" not in res.stderr
    assert res.stdout == ""


def test_mix_marks_tracks_that_sound_far_away(untagged):
    beet = untagged
    ids = ids_of(beet)
    args = ["similar", "--mix", "-n", "40", "--key", "any", "--bpm-range", "50", f"id:{ids['promo_01.mp3']}"]
    recs = [json.loads(x) for x in beet(*args, "--json").stdout.splitlines()]
    far = [r for r in recs if not r["match"]]
    assert far and all(r["score"] < min(x["score"] for x in recs if x["match"]) for r in far)
    lines = beet(*args).stdout.splitlines()
    marked = [line for line in lines if "far in sound" in line and not line.startswith("(")]
    assert len(marked) == len(far)


def test_file_already_in_the_library_says_so_and_does_not_list_itself(untagged):
    beet = untagged
    path = beet("ls", "-f", "$path", "path::promo_02").stdout.strip()
    res = beet("similar", "--file", path)
    assert "already in your library" in res.stdout and "promo_02.mp3" in res.stdout.splitlines()[0]
    assert not [line for line in res.stdout.splitlines()[2:] if "promo_02.mp3" in line]
    assert "1.000" not in res.stdout


@pytest.mark.parametrize("args, says", [
    (("set", "artist:nobody"), "no items match 'artist:nobody'"),
    (("graph", "-o", "/tmp/never-written.html", "artist:nobody"), "no items match 'artist:nobody'"),
    (("cohesion", "playlist:NOSUCH"), "no playlist file 'NOSUCH'"),
    (("similar", "playlist:NOSUCH"), "no playlist file 'NOSUCH'"),
])
def test_remedies_fit_the_cause(untagged, args, says):
    res = untagged(*args, check=False)
    assert res.returncode != 0 and says in res.stderr, res.stderr
    assert "beet embed" not in res.stderr and "Traceback" not in res.stderr


# --- answers that explain themselves: path hops, curve misses, vibe evidence --------------


def test_path_shows_every_hop_and_mix_names_the_hop_it_could_not_mix(untagged):
    beet = untagged
    titles = beet.ids()
    a, b = f"id:{titles['Acid Study 1']}", f"id:{titles['Breaks Study 2']}"
    lines = beet("path", "--steps", "4", a, b).stdout.splitlines()
    assert len(lines) == 6 and "start" in lines[0]
    assert not [line for line in lines[1:] if "start" in line], lines
    assert all(re.search(r"\b[01]\.\d\d \S+ ([+-]\d+\.\d%|\?)", line) for line in lines[1:]), lines
    steps = [json.loads(x) for x in beet("path", "--json", "--steps", "4", a, b).stdout.splitlines()]
    assert steps[0]["transition"] is None
    assert all(s["transition"] is not None and s["key_relation"] and s["tempo_change"] is not None
               for s in steps[1:]), steps
    for args in (("--key", "any"), ("--bpm-range", "2")):
        res = beet("path", "--mix", "--json", "--steps", "4", *args, a, b)
        hops = [json.loads(x) for x in res.stdout.splitlines()][1:]
        bad = [h for h in hops if not h["mixable"]]
        assert all(abs(h["tempo_change"]) <= (2 if "2" in args else 6) for h in hops if h["mixable"])
        # every hop mixable, the last one into B included -- or the command names each one
        assert len(re.findall(r"hop \d+ -> \d+ .* is not mixable", res.stderr)) == len(bad), res.stderr
    res = beet("path", "--mix", "--json", "--steps", "4", "--bpm-range", "2", a, b)
    assert "-> B) is not mixable" in res.stderr  # 127 -> 170 BPM within 2 %: not with these tracks


def test_set_says_where_and_why_it_missed_the_curve(untagged):
    beet = untagged
    args = ("set", "-n", "4", "--curve", "10,10,10,10", "--artist-gap", "0", "title:Acid Study")
    out = beet(*args).stdout
    assert "the energy curve could not be followed at" in out, out
    miss = [line for line in out.splitlines() if "missed by" in line]
    assert miss and all(re.search(r"target 10\.0: missed by \d+\.\d; (the pool|closer tracks were ruled out by)", m)
                        for m in miss), miss
    recs = [json.loads(x) for x in beet(*args, "--json").stdout.splitlines()]
    assert all(r["curve_missed_by"] and r["curve_limited_by"] for r in recs if r["energy"] < 8.5)
    # each line says which energy it used
    rows = [line for line in out.splitlines() if re.match(r"\s*\d+\.\s{2}E", line)]
    assert len(rows) == 4 and all(re.search(r"E\s+\d+\.\d (vibe|audio|default)", r) for r in rows), rows


def test_offline_vibe_assesses_untagged_tracks_from_the_audio_analysis(untagged):
    beet = untagged
    res = beet("vibe", "--pretend", "--json", check=False)
    recs = [json.loads(x) for x in res.stdout.splitlines()]  # only JSON lines on stdout
    assert len(recs) == 26
    untagged_recs = [r for r in recs if r["name"] in UNTAGGED]
    assert len(untagged_recs) == 6
    assert all(r.get("error") is None and r["vibe"]["energy_basis"] == "audio energy"
               for r in untagged_recs), untagged_recs
    assessed = [r for r in recs if not r.get("error")]
    assert len(assessed) / len(recs) >= 0.9


def test_set_prefers_measured_energy_over_a_vibes_default(untagged):
    beet = untagged
    ids = ids_of(beet)
    one = f"id:{ids['promo_01.mp3']}"
    measured = float(beet("ls", "-f", "$sonic_energy", one).stdout)
    # an offline vibe stored before vibe_energy_basis: the default 6 for a track without a bpm tag
    beet("modify", "-y", one, "vibe_energy=6.0", "vibe_source=local")
    try:
        recs = [json.loads(x) for x in beet("set", "-n", "2", "--json", "--key", "any", "--bpm-range", "50",
                                            "--from", one, one, ",", f"id:{ids['promo_02.mp3']}").stdout.splitlines()]
        first = next(r for r in recs if r["id"] == ids["promo_01.mp3"])
        assert first["energy_source"] == "audio" and first["energy"] == round(measured, 1) != 6.0
        beet("modify", "-y", one, "vibe_energy_basis=default")
        out = beet("set", "-n", "2", "--key", "any", "--bpm-range", "50", "--from", one, one, ",",
                   f"id:{ids['promo_02.mp3']}").stdout
        assert "sonic_energy (measured from the audio) for 2" in out
        beet("modify", "-y", one, "vibe_energy_basis=audio energy")  # a vibe from evidence wins
        rec = json.loads(beet("set", "-n", "2", "--json", "--key", "any", "--bpm-range", "50", "--from", one,
                              one, ",", f"id:{ids['promo_02.mp3']}").stdout.splitlines()[0])
        assert rec["energy_source"] == "vibe" and rec["energy"] == 6.0
    finally:
        beet("modify", "-y", one, "vibe_energy!", "vibe_source!", "vibe_energy_basis!")


def test_demo_imports_every_untagged_file_of_a_folder(tmp_path):
    """`./dev demo DIR` on 25 untagged files: all 25 imported (beets' quiet import alone
    skips 24 of them as duplicates of the first), the demo says so and finishes."""
    import subprocess
    import sys

    folder = tmp_path / "promos"
    folder.mkdir()
    for i in range(25):
        s = synth.spec(synth.FAMILIES[i % 4], 70 + i)
        synth.write(str(folder / f"promo {i:02d}.mp3"), synth.render(s, 6.0))
    home = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "beetsplug.sonic.demo", str(folder), "--home", str(home),
                           "--backend", "spectral"], capture_output=True, text=True, timeout=900,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"imported 25 of the 25 audio files in {folder}" in proc.stdout
    assert "doesn't belong" in proc.stdout or "no track stands out" in proc.stdout  # cohesion ran
    assert "Open the map in a browser" in proc.stdout
    assert not [line for line in proc.stdout.splitlines() if blank_name(line)]
    assert "promo 00.mp3" in proc.stdout


def test_an_untagged_file_keeps_its_name_when_beets_renames_its_copy(tmp_path):
    # beets' default import copies each file to its own paths: the copy of an untagged
    # file is Non-Album.mp3, Non-Album.1.mp3 ... Every command still names it by the file
    # it came from (sonic_filename, kept before the copy)
    folder = tmp_path / "in"
    folder.mkdir()
    for i, (name, family) in enumerate((("promo_a.mp3", "acid"), ("promo_b.mp3", "pads"),
                                        ("promo_c.mp3", "acid"))):
        synth.write(str(folder / name), synth.render(synth.spec(family, 3 + i), 20.0))
    beet = Beet(tmp_path / "home")
    beet.config["import"].update(duplicate_action="keep", copy=True)
    beet.write_config()
    beet("import", folder)
    listed = [line.split("\t") for line in beet("ls", "-f", "$path\t$sonic_name").stdout.splitlines()]
    assert sorted(name for _, name in listed) == ["promo_a.mp3", "promo_b.mp3", "promo_c.mp3"]
    assert all("Non-Album" in path for path, _ in listed)
    out = beet("similar", "-n", "2", "sonic_filename:promo_a").stdout
    assert "promo_a.mp3" in out and "promo_b.mp3" in out and "promo_c.mp3" in out
    assert "Non-Album" not in out


def test_a_run_with_items_not_assessed_exits_non_zero(untagged):
    beet = untagged
    ids = ids_of(beet)
    one = f"id:{ids['promo_05.mp3']}"
    saved = beet("ls", "-f", "$sonic_bpm $sonic_energy", one).stdout.split()
    beet("modify", "-y", one, "sonic_bpm!", "sonic_energy!")
    try:
        res = beet("vibe", "--pretend", one, ",", f"id:{ids['promo_06.mp3']}", check=False)
        assert res.returncode == 1 and "1 item(s) not assessed" in res.stderr
        assert "not assessed: " in res.stdout and "promo_05.mp3" in res.stdout
        assert beet("vibe", "--pretend", f"id:{ids['promo_06.mp3']}").returncode == 0
    finally:
        beet("modify", "-y", one, f"sonic_bpm={saved[0]}", f"sonic_energy={saved[1]}")


def test_no_progress_line_is_printed_into_beets_import_prompt(tmp_path, family_audio, copy_of):
    """An interactive import (not quiet) prompts for each track while our stage embeds the
    earlier ones: a progress line then lands inside the prompt. Only the summary is said,
    after the last prompt; a quiet import still says how it goes."""
    files = sorted(family_audio.iterdir())[:12]
    beet = Beet(tmp_path / "home")
    beet.config["import"].update(quiet=False, autotag=True, copy=False)
    beet.config["ui"] = {"color": False}
    beet.write_config()
    res = beet("import", copy_of(files), input="U\n" * 40)
    assert res.output.count("Use as-is") >= 12  # beets asked about every track
    assert "so far" not in res.output
    # the summary comes last, after the last prompt (on its line, or on one of its own)
    assert res.stdout.splitlines()[-1].endswith("sonic: embedded 12 new item(s) in "
                                                + res.stdout.rsplit(" in ", 1)[1].strip())
    quiet = Beet(tmp_path / "quiet")
    assert "10 new item(s) embedded so far" in quiet("import", copy_of(files)).output


# --- clusters: ids and names agree, and stay when the library grows a little --------------


@pytest.fixture(scope="module")
def crate(tmp_path_factory, family_audio) -> Beet:
    """The family tracks with every tag stripped, family by family (so the cluster ids,
    the smallest member ids, are not 1, 2, 3)."""
    from mediafile import MediaFile

    tmp = tmp_path_factory.mktemp("crate")
    incoming = tmp / "in"
    incoming.mkdir()
    for n, p in enumerate(sorted(family_audio.iterdir())):
        dest = incoming / f"cut {n + 1:02d}{p.suffix}"
        shutil.copy(p, dest)
        MediaFile(str(dest)).delete()
    beet = Beet(tmp / "home")
    beet.config["import"].update(duplicate_action="keep", copy=False)
    beet.write_config()
    beet("import", incoming)
    return beet


def clusters_of(beet: Beet) -> dict[str, tuple[int, str]]:
    rows = beet("ls", "-f", "$path\t$sonic_cluster\t$sonic_cluster_name", "path::cut ").stdout.splitlines()
    return {p.rsplit("/", 1)[1]: (int(c), n) for p, c, n in (r.split("\t") for r in rows)}


def test_cluster_ids_and_names_agree_and_stay_when_the_library_grows(crate, tmp_path):
    beet = crate
    beet("graph", "-o", tmp_path / "map.html")
    before = clusters_of(beet)
    ids = {c for c, _ in before.values()}
    assert len(ids) >= 3 and ids != set(range(1, len(ids) + 1))  # ids are not community numbers
    assert all(name == f"cluster {cid}" for cid, name in before.values()), before  # no genres here
    # two more tracks: the clusters keep their ids and names
    more = tmp_path / "more"
    more.mkdir()
    for i, family in enumerate(("acid", "pads")):
        synth.write(str(more / f"late {i}.mp3"), synth.render(synth.spec(family, 5 + i), 40.0))
    beet("import", more)
    beet("graph", "-o", tmp_path / "map2.html")
    after = clusters_of(beet)
    kept = [f for f in before if after[f] == before[f]]
    assert len(kept) >= 0.9 * len(before), (before, after)
    assert all(name == f"cluster {cid}" for cid, name in after.values()), after


def test_cluster_ids_follow_the_overlap_not_the_smallest_member():
    """The use case on its own: a community whose smallest member left keeps its id."""
    from beetsplug.sonic.clusters import assign

    class It(dict):
        def __init__(self, id_, cluster=None):
            super().__init__(sonic_cluster=cluster)
            self.id = id_

    items = [It(1, 1), It(2, 1), It(3, 1), It(4, 4), It(5, 4), It(6, 4), It(7, 4), It(8)]
    labels = __import__("numpy").array([1, 0, 0, 1, 1, 1, 1, 1])  # item 1 moved; 8 is new
    ids, names = assign(labels, items)
    assert ids == [1, 4] and names == ["cluster 1", "cluster 4"]
    # a new community with no stored majority takes its smallest free member id
    ids, _ = assign(__import__("numpy").array([0, 0, 0, 1, 1, 1, 1, 2]), items)
    assert ids == [1, 4, 8]


@pytest.mark.browser
def test_map_opens_coloured_by_named_clusters(crate, browser, tmp_path):
    beet = crate
    out = tmp_path / "map.html"
    beet("graph", "-o", out)
    stored = {name for _, name in clusters_of(beet).values()}
    page = Page(browser, out.as_uri())
    try:
        page.wait_stable()
        assert page.js("__sonic.mode()") == "clusters"
        legend = page.page.inner_text("#legend")
        assert all(name in legend for name in stored), (legend, stored)
        page.page.select_option("#mode", "isolation")  # one click away
        assert page.js("__sonic.mode()") == "isolation"
        assert page.errors == []
    finally:
        page.close()


def test_untagged_albums_are_named_by_their_folder(tmp_path, family_audio):
    from mediafile import MediaFile

    incoming = tmp_path / "in"
    for folder, family in (("Promos A", "acid"), ("Promos B", "pads"), ("Promos C", "acid")):
        (incoming / folder).mkdir(parents=True)
        for p in sorted(family_audio.glob(f"{family}_*"))[:2 if folder != "Promos C" else 5][-2:]:
            shutil.copy(p, incoming / folder / p.name)
            MediaFile(str(incoming / folder / p.name)).delete()
    beet = Beet(tmp_path / "home")
    beet.config["import"].update(duplicate_action="keep", copy=False, singletons=False)
    beet.write_config()
    beet("import", incoming)
    albums = dict(line.split("\t") for line in beet("ls", "-a", "-f", "$sonic_name\t$id").stdout.splitlines())
    assert set(albums) == {"Promos A", "Promos B", "Promos C"}, albums
    out = beet("similar", "-a", f"id:{albums['Promos A']}").stdout
    check_lines(out)
    assert "Promos C (2 tracks)" in out and "Promos B (2 tracks)" in out
    coh = beet("cohesion", "-a", "--suggest").stdout
    check_lines(coh)
    assert "Promos B" in coh


def test_a_track_without_a_vibe_gets_the_vibe_remedy(untagged):
    """(Last in this module: it stores vibes.) `similar --space vibe` of a track without a
    vibe names `beet vibe`, not `beet embed`."""
    beet = untagged
    ids = ids_of(beet)
    beet("vibe", f"id:{ids['promo_01.mp3']}", ",", f"id:{ids['promo_02.mp3']}")
    res = beet("similar", "--space", "vibe", f"id:{ids['promo_03.mp3']}", check=False)
    assert res.returncode != 0 and "run `beet vibe id:" in res.stderr, res.stderr
    assert "beet embed" not in res.stderr
    assert beet("similar", "--space", "vibe", f"id:{ids['promo_01.mp3']}").returncode == 0
