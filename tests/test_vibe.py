"""`beet vibe`: the rule table, stored fields, the vibe space, and the Gemini analyzer."""

from __future__ import annotations

import json

import pytest

from beetsplug.sonic import synth
from beetsplug.sonic.errors import ItemError
from beetsplug.sonic.vibe import local
from beetsplug.sonic.vibe.llm import parse, schema
from beetsplug.sonic.vibe.space import parse_words
from beetsplug.sonic.vibe.vocabulary import Assessment, Vocabulary

from .fake_gemini import FakeGemini, quota_error
from .helpers import Beet

VOCAB = Vocabulary()


class FakeItem(dict):
    def get(self, key, default=None):
        return super().get(key, default)


@pytest.mark.parametrize("text, category, term", [
    ("Acid House", "genre", "Acid House"),
    ("acid-techno", "genre", "Acid Techno"),
    ("DnB", "genre", "Drum & Bass"),
    ("D&B", "genre", "Drum & Bass"),
    ("drum n bass", "genre", "Drum & Bass"),
    ("Drum & Bass", "genre", "Drum & Bass"),
    ("Drum'n'Bass", "genre", "Drum & Bass"),
    ("UKG", "genre", "UK Garage"),
    ("2-step", "genre", "UK Garage"),
    ("Speed Garage", "genre", "UK Garage"),
    ("garage", "genre", "UK Garage"),
    ("Electro", "genre", "Electro"),
    ("Schranz", "genre", "Hard Techno"),
    ("Tech-House", "genre", "Tech House"),
    ("Dub Techno", "genre", "Dub Techno"),
    ("Breaks", "genre", "Breakbeat"),
    ("Nu-Disco", "genre", "Disco"),
    ("Psy-Trance", "genre", "Trance"),
    ("Electronic Body Music", "genre", "EBM"),
    ("303", "character", "303 Bassline"),
    ("TB-303 squelch", "character", "303 Bassline"),
    ("lo-fi", "character", "Lo-fi"),
    ("after hours", "texture", "Late Night"),
    ("peak-time", "texture", "Peak Time"),
])
def test_rule_table_spellings(text, category, term):
    assert (category, term) in local.match(text.lower())


@pytest.mark.parametrize("text, wrong", [
    ("Electronic", ("genre", "Electro")),
    ("Electronica", ("genre", "Electro")),
    ("Garage Rock", ("genre", "UK Garage")),
    ("Acid Jazz", ("character", "303 Bassline")),
    ("Deep House", ("texture", "Deep")),
    ("Techno", ("genre", "Hard Techno")),
])
def test_rule_table_does_not_overreach(text, wrong):
    assert wrong not in local.match(text.lower())


def test_acid_alone_is_placed_by_tempo():
    fast = local.assess(FakeItem(genres=["Acid"], bpm=138), VOCAB)
    slow = local.assess(FakeItem(genres=["Acid"], bpm=122), VOCAB)
    assert fast.genres == ["Acid Techno", "Techno"] and slow.genres == ["Acid House", "House"]
    assert "303 Bassline" in fast.characters


def test_no_evidence_no_tags():
    only_bpm = local.assess(FakeItem(genres=["Polka"], bpm=140), VOCAB)
    assert only_bpm.genres == only_bpm.characters == only_bpm.textures == []
    assert only_bpm.energy >= 8 and only_bpm.placement == "Peak Time"
    with pytest.raises(ItemError, match="not assessable"):
        local.assess(FakeItem(title="Untitled"), VOCAB)
    with pytest.raises(ItemError, match="not assessable"):  # a year alone places nothing
        local.assess(FakeItem(title="Untitled", year=1994), VOCAB)


@pytest.mark.parametrize("tag, genres", [
    ("Techno", ["Techno"]), ("House", ["House"]), ("Drum & Bass", ["Drum & Bass"]),
    ("Ambient", ["Ambient"]), ("Disco", ["Disco"]), ("Trance", ["Trance"]),
    ("Hip Hop", ["Hip Hop"]), ("Hip-Hop", ["Hip Hop"]), ("Rap", ["Hip Hop"]), ("Rock", ["Rock"]),
    ("Indie Rock", ["Rock"]), ("Classical", ["Classical"]), ("Soundtrack", ["Soundtrack"]),
    ("Dub Techno", ["Dub Techno", "Techno"]), ("Jungle", ["Jungle", "Drum & Bass"]),
    ("Deep House", ["Deep House", "House"]),
])
def test_plain_tags_of_a_real_library_get_a_genre(tag, genres):
    assert local.assess(FakeItem(genres=[tag], bpm=120), VOCAB).genres == genres


def test_words_match_whole_words_only():
    a = local.assess(FakeItem(genres=["Classical"], bpm=90), VOCAB)
    assert "Classic" not in a.textures and a.genres == ["Classical"]
    found, _ = parse_words("classical", VOCAB)
    assert found["genres"] == ["Classical"] and found["textures"] == []


def test_energy_and_placement_follow_anchors():
    ambient = local.assess(FakeItem(genres=["Ambient"], bpm=120), VOCAB)
    assert ambient.energy == 2.0 and ambient.placement == "Warm-up"
    warm = local.assess(FakeItem(genres=["Deep House"], bpm=118), VOCAB)
    assert 4 <= warm.energy <= 5 and warm.placement in ("Warm-up", "Early Set")
    peak = local.assess(FakeItem(style="Hard Techno, Peak Time", bpm=142), VOCAB)
    assert peak.energy >= 9 and peak.placement == "Peak Time"
    late = local.assess(FakeItem(comments="late night dub techno", bpm=122), VOCAB)
    assert late.placement == "After-hours"


def test_musicnn_tags_are_evidence_above_threshold():
    a = local.assess(FakeItem(bpm=100), VOCAB, musicnn_tags={"ambient": 0.6, "funk": 0.1})
    assert a.genres == ["Ambient"] and "Funky" not in a.characters


def test_vibe_text_has_only_sonic_descriptors():
    a = Assessment(["Acid Techno", "Minimal Techno"], ["Dark", "Driving", "Hypnotic"], [], 9,
                   "Peak Time", "local")
    assert a.text() == ("Styles: acid techno, minimal techno. Energy: 9. Placement: Peak Time. "
                        "Vibe: dark, driving, hypnotic")


def test_schema_enums_are_the_vocabulary_and_answers_are_checked():
    s = schema(VOCAB)
    assert s["properties"]["genres"]["items"]["enum"] == list(VOCAB.genres)
    assert s["properties"]["placement"]["enum"] == list(VOCAB.placements)
    ok = json.dumps({"genres": ["Dub Techno"], "characters": ["Hypnotic"], "textures": ["Deep"],
                     "energy": 5, "placement": "Warm-up"})
    assert parse(ok, VOCAB, source="m").genres == ["Dub Techno", "Techno"]  # the parent added
    bad = json.dumps({"genres": ["Polka"], "characters": [], "textures": [], "energy": 5,
                      "placement": "Warm-up"})
    with pytest.raises(ItemError, match="'Polka' is not in the vocabulary"):
        parse(bad, VOCAB, source="m")
    with pytest.raises(ItemError, match="outside 1-10"):
        parse(ok.replace('"energy": 5', '"energy": 14'), VOCAB, source="m")


def test_word_queries_map_onto_the_vocabulary():
    found, unknown = parse_words("dark hypnotic peak time warehouse banana", VOCAB)
    assert found["characters"] == ["Hypnotic", "Dark", "Warehouse"]
    assert found["placement"] == "Peak Time" and unknown == ["banana"]


# --- through the beets CLI -------------------------------------------------------------

PLANTED = {  # title -> (family of audio, genre tag, style, bpm)
    "Acid One": ("acid", "Acid Techno", "Warehouse, Hypnotic", 132),
    "Acid Two": ("acid", "Acid", "Dark", 134),
    "Acid Three": ("acid", "Acid Techno", "Driving", 133),
    "Deep One": ("pads", "Deep House", "Warm, Soulful", 120),
    "Deep Two": ("pads", "Deep House", "Late Night", 118),
    "Deep Three": ("pads", "Deep House", "Dreamy", 121),
    "Roller One": ("breaks", "Drum & Bass", "Bass-heavy", 172),
    "Roller Two": ("breaks", "DnB", "Jungle", 174),
    "Roller Three": ("breaks", "Drum n Bass", "Dark", 170),
    "Liar": ("acid", "Deep House", "Soulful, Warm", 120),  # tagged deep house, sounds acid
}


@pytest.fixture(scope="module")
def vibe_library(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("vibe")
    incoming = tmp / "in"
    incoming.mkdir()
    for i, (title, (fam, genre, style, bpm)) in enumerate(PLANTED.items()):
        path = incoming / f"{i:02d}.mp3"
        synth.write(str(path), synth.render(synth.spec(fam, 20 + i), 20.0))
        synth.tag(str(path), artist=f"DJ {i}", title=title, genre=genre, bpm=bpm)
    beet = Beet(tmp / "home")
    beet("import", incoming)
    for (title, (_, _, style, _)) in PLANTED.items():
        beet("modify", "-y", f"title:{title}", f"style={style}")
    out = beet("vibe").stdout
    assert "vibe (local): 10 to assess" in out and "10 assessed, 0 not assessed" in out
    return beet


def test_fields_are_queryable_with_ranges(vibe_library):
    peak = vibe_library("ls", "-f", "$title", "vibe_placement:Peak Time", "vibe_energy:8..").stdout.split("\n")
    assert {t for t in peak if t} == {"Roller One", "Roller Two", "Roller Three"}
    warm = vibe_library("ls", "-f", "$title", "vibe_energy:..5.5").stdout.split("\n")
    assert {"Deep One", "Deep Two", "Deep Three"} <= {t for t in warm if t}
    acid = vibe_library("ls", "-f", "$title", "vibe_genre:Acid Techno").stdout.split("\n")
    assert {t for t in acid if t} == {"Acid One", "Acid Two", "Acid Three"}
    shown = vibe_library("ls", "-f", "$vibe_genre|$vibe_source", "title:Roller Two").stdout.strip()
    assert shown.startswith("Drum & Bass") and shown.endswith("|local")
    sorted_titles = vibe_library("ls", "-f", "$title", "vibe_energy+").stdout.split("\n")
    assert sorted_titles[0].startswith("Deep") or sorted_titles[0] == "Liar"


def test_vibe_space_similarity_and_search(vibe_library):
    top = vibe_library.similar_titles("--space", "vibe", "-n", "2", "title:Roller One")
    assert set(top) == {"Roller Two", "Roller Three"}
    res = vibe_library("vibe", "--search", "dark acid warehouse banana", "-n", "3", "-f", "$title")
    lines = res.stdout.splitlines()
    assert lines[0] == "not in the vibe vocabulary (ignored): banana"
    assert set(lines[1:]) <= {"Acid One", "Acid Two", "Acid Three"} and len(lines) == 4
    res = vibe_library("vibe", "--search", "banana", check=False)
    assert res.returncode != 0 and "none of the words" in res.output
    # a parent genre finds its sub-genres; results are never padded with 0.000 non-matches
    res = vibe_library("vibe", "--search", "techno", "-n", "10", "-f", "$sonic_score $title")
    assert {line.split(" ", 1)[1] for line in res.stdout.splitlines()} == {"Acid One", "Acid Two", "Acid Three"}
    assert "0.000" not in res.stdout
    assert "no vibe shares" in vibe_library("vibe", "--search", "hip hop").stdout
    shown = vibe_library("vibe", "--search", "techno", "-n", "1").stdout
    assert "[Acid Techno, Techno | " in shown and "[ |" not in shown
    # `similar --text ... --space vibe` is the same search under the listing verb
    for words in ("dark acid warehouse banana", "techno", "deep"):
        old = vibe_library("vibe", "--search", words, "-n", "3", "--json").stdout.splitlines()
        new = vibe_library("similar", "--text", words, "--space", "vibe", "-n", "3", "--json")
        assert [json.loads(x)["id"] for x in new.stdout.splitlines()] == [json.loads(x)["id"] for x in old]
        assert [json.loads(x)["score"] for x in new.stdout.splitlines()] == [json.loads(x)["score"] for x in old]
    res = vibe_library("similar", "--text", "dark acid warehouse banana", "--space", "vibe", "-n", "2")
    assert "not understood (left out of the search): banana" in res.stdout
    coh = json.loads(vibe_library("cohesion", "--json", "--space", "vibe", "title:Deep").stdout)
    assert coh["space"] == "vibe-local" and coh["percentile"] > 90
    out = vibe_library("graph", "--space", "vibe", "-o", vibe_library.home / "vibes.html").stdout
    assert "10 tracks, 40 links" in out and (vibe_library.home / "vibes.html").exists()


def test_discrepancy_finds_the_track_that_sounds_unlike_its_tags(vibe_library):
    vibe_library("embed")
    out = vibe_library("vibe", "--discrepancy", "-n", "1").stdout
    assert out.splitlines()[0].split("  ", 1)[1].startswith("DJ 9 - Liar")
    assert "sounds like: " in out and "Acid" in out.splitlines()[1]
    # the score is the share of sound neighbours the vibe does not share: 0..1, most first
    scores = [json.loads(x)["score"] for x in
              vibe_library("vibe", "--discrepancy", "-n", "50", "--json").stdout.splitlines()]
    assert scores and all(0.0 <= x <= 1.0 for x in scores) and scores == sorted(scores, reverse=True)


def test_pretend_json_and_force(vibe_library):
    lines = vibe_library("vibe", "--pretend", "--json", "title:Acid Two").stdout.splitlines()
    (record,) = [json.loads(x) for x in lines]  # --json: only JSON lines on stdout
    assert record["vibe"]["genres"] == ["Acid Techno", "Techno"] and "303 Bassline" in record["vibe"]["characters"]
    assert "0 to assess" in vibe_library("vibe").stdout
    assert "1 to assess" in vibe_library("vibe", "--force", "title:Acid Two").stdout


def test_changed_vocabulary_is_an_error_naming_the_rebuild(tmp_path, family_audio, copy_of):
    beet = Beet(tmp_path / "h")
    beet("import", copy_of(sorted(family_audio.glob("acid_*"))[:2]))
    assert "2 to assess" in beet("vibe").stdout
    beet.set(vibe={"genres": ["Acid Techno", "Ambient", "Other"]})
    res = beet("vibe", check=False)
    assert res.returncode != 0 and "Traceback" not in res.output
    assert "vocabulary" in res.output and "beet vibe --rebuild" in res.output
    with beet.store() as store:  # nothing was dropped by the failed run
        assert store.count(store.get_space("vibe-local")) == 2
    assert "2 to assess" in beet("vibe", "--rebuild", "-y").stdout
    assert "0 to assess" in beet("vibe").stdout


def test_vibe_on_import(tmp_path, family_audio, copy_of):
    beet = Beet(tmp_path / "h", vibe={"auto": True})
    beet("import", copy_of(sorted(family_audio.glob("breaks_*"))[:2]))
    out = beet("ls", "-f", "$vibe_genre $vibe_energy", "vibe_source:local").stdout.splitlines()
    assert len(out) == 2 and all(line.startswith("Drum & Bass 8.5") for line in out)


# --- the Gemini analyzer through the real SDK ---------------------------------------------


def gemini_vibe_beet(home, fake) -> Beet:
    return Beet(home, backend="spectral", vibe={"analyzer": "gemini"},
                gemini={"api_key": "k-123", "base_url": fake.url, "min_interval": 0,
                        "retries": 1, "backoff": 0.05, "retry_wait": 0.05, "timeout": 5})


def test_gemini_analyzer_prompt_schema_and_rejection(tmp_path, family_audio, copy_of):
    answers = [
        {"genres": ["Polka"], "characters": [], "textures": [], "energy": 5, "placement": "Warm-up"},
        {"genres": ["Acid Techno"], "characters": ["Dark", "Hypnotic", "Warehouse"],
         "textures": ["Underground"], "energy": 9, "placement": "Peak Time"},
        {"genres": ["Acid Techno"], "characters": ["Driving"], "textures": ["Underground"],
         "energy": 8.5, "placement": "Peak Time"},
        {"genres": ["Yodel"], "characters": [], "textures": [], "energy": 5, "placement": "Warm-up"},
        {"genres": ["Yodel"], "characters": [], "textures": [], "energy": 5, "placement": "Warm-up"},
    ]
    fake = FakeGemini(generate=lambda body: answers.pop(0))
    try:
        beet = gemini_vibe_beet(tmp_path / "h", fake)
        beet("import", copy_of(sorted(family_audio.glob("acid_*"))[:3]))
        beet("modify", "-y", "title:Acid Study 1", "label=Trax Records", "year=1988",
             "style=Acid", "comments=classic jack track")
        res = beet("vibe", check=False)
        assert res.returncode == 1 and "2 assessed, 1 not assessed" in res.stdout
        assert "rejected the model's answer twice: genre 'Yodel' is not in the vocabulary" in res.stdout
        gens = [r for r in fake.log if r.path.endswith(":generateContent")]
        assert len(gens) == 5 and gens[0].path == "/v1beta/models/gemini-2.5-flash:generateContent"
        cfg = gens[0].body["generationConfig"]
        assert cfg["responseMimeType"] == "application/json"
        assert cfg["responseSchema"]["properties"]["genres"]["items"]["enum"] == list(VOCAB.genres)
        prompt = gens[0].body["contents"][0]["parts"][0]["text"]
        for needle in ("Acid Study 1", "Acid Unit 1", "Trax Records", "1988", "Acid Techno",
                       "classic jack track", '"style": "Acid"', '"bpm"', '"key"'):
            assert needle in prompt, needle
        assert "underground DJ" in json.dumps(gens[0].body["systemInstruction"])
        embeds = [r for r in fake.log if r.path.endswith(":batchEmbedContents")]
        assert all(r.path == "/v1beta/models/gemini-embedding-001:batchEmbedContents" for r in embeds)
        texts = [r.body["requests"][0]["content"]["parts"][0]["text"] for r in embeds]
        assert texts[0] == ("Styles: acid techno, techno, underground. Energy: 9. Placement: Peak Time. "
                            "Vibe: dark, hypnotic, warehouse")
        assert not any("Trax" in t or "1988" in t or "Acid Unit" in t for t in texts)
        shown = beet("ls", "-f", "$vibe_source $vibe_energy", "vibe_placement:Peak Time").stdout.split("\n")
        assert sorted(s for s in shown if s) == ["gemini-2.5-flash 8.5", "gemini-2.5-flash 9.0"]
        hits = beet("vibe", "--search", "dark hypnotic warehouse", "-n", "1", "--json").stdout
        assert json.loads(hits.splitlines()[0])["title"] == "Acid Study 1"
        # the words' vector is cached in the sidecar: asking again (here or through
        # similar --text) sends nothing
        asked = len([r for r in fake.log if r.path.endswith(":batchEmbedContents")])
        again = beet("vibe", "--search", "dark  hypnotic warehouse", "-n", "1", "--json").stdout
        same = beet("similar", "--text", "dark hypnotic warehouse", "--space", "vibe", "-n", "1", "--json").stdout
        assert json.loads(again.splitlines()[0])["title"] == json.loads(same.splitlines()[0])["title"] == "Acid Study 1"
        assert len([r for r in fake.log if r.path.endswith(":batchEmbedContents")]) == asked
    finally:
        fake.close()


def test_gemini_analyzer_quota_stops_cleanly(tmp_path, family_audio, copy_of):
    answer = {"genres": ["Ambient"], "characters": [], "textures": [], "energy": 2, "placement": "Warm-up"}
    fake = FakeGemini(generate=lambda body: answer)
    try:
        beet = gemini_vibe_beet(tmp_path / "h", fake)
        beet("import", copy_of(sorted(family_audio.glob("pads_*"))[:3]))
        fake.script = ["ok", "ok", quota_error(per_day=True)]  # generate + embed, then quota
        res = beet("vibe", check=False)
        assert res.returncode != 0 and "daily quota" in res.output and "finished vibes are saved" in res.output
        assert "Traceback" not in res.output
        fake.script = []
        assert "2 to assess, 1 already have one" in beet("vibe").stdout
    finally:
        fake.close()
