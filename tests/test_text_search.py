"""``beet similar --text WORDS`` through the real CLI: musicnn tags offline, Gemini through
the real SDK against the local fake server, the vibe space."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from beetsplug.sonic import textvocab
from beetsplug.sonic.textsearch import FEATURES

from .browser import Page
from .fake_gemini import KEY, gemini_beet, text_vector
from .helpers import Beet, family_of

DOCS = Path(__file__).parent.parent / "docs" / "text-search.md"


def test_every_vocabulary_tag_is_an_msd_tag_and_every_word_is_documented():
    doc = DOCS.read_text()
    for words, weights in textvocab.vocabulary():
        assert set(weights) <= set(FEATURES), words
        for w in words:
            assert f"`{w}`" in doc, f"{w!r} is understood but not in docs/text-search.md"
        for tag, weight in weights.items():
            assert f"{tag} {weight:+g}" in doc, (words, tag)
    for w in (*textvocab.NEGATIONS, *textvocab.FILLER):
        assert f"`{w}`" in doc, w


@pytest.mark.parametrize("text, terms, unknown", [
    ("dark rolling bassline, no vocals", ["dark", "bassline", "no vocals"], ["rolling"]),
    ("female vocals without drums", ["female vocals", "no drums"], []),
    ("non-vocal hard rock", ["no vocal", "hard rock"], []),
    ("calm banana not", ["calm"], ["banana", "not"]),
])
def test_words_become_terms_and_unknown_words_are_kept(text, terms, unknown):
    parsed = textvocab.parse(text)
    assert [t.describe() for t in parsed.terms] == terms
    assert parsed.unknown == unknown


def test_negation_flips_the_weights():
    assert textvocab.parse("no vocals").weights() == {
        "male vocalists": -1.0, "female vocalists": -1.0, "female vocalist": -0.6, "instrumental": 1.0}


@pytest.fixture(scope="module")
def nn_library(tmp_path_factory, family_audio):
    beet = Beet(tmp_path_factory.mktemp("nntext"), backend="musicnn")
    beet("import", family_audio)
    return beet


@pytest.mark.parametrize("text, families", [
    ("ambient pads", {"pads"}), ("acid techno", {"acid"}), ("calm", {"pads"}),
    # the plain opposites an outside check asks for: the top 5 lean the right way
    ("electronic", {"acid", "breaks"}), ("acoustic", {"plucks"}), ("energetic", {"acid", "breaks"}),
])
def test_words_find_the_family_offline(nn_library, text, families):
    top = nn_library.similar_titles("--text", text, "-n", "5")
    assert len(top) == 5 and {family_of(t) for t in top} <= families, top


def test_text_listing_reports_the_words_and_has_every_listing_option(nn_library, tmp_path):
    res = nn_library("similar", "--text", "dark rolling bassline, no vocals", "-n", "3")
    lines = res.stdout.splitlines()
    assert lines[0].startswith("words understood: dark, bassline, no vocals (musicnn tags: ")
    assert "instrumental +1" in lines[0]
    assert lines[1] == "not understood (left out of the search): rolling"
    assert lines[2].startswith("described by 'dark rolling bassline, no vocals' (musicnn space")
    assert 1 <= len(lines) - 3 <= 3
    # --json stays JSON; the words go to the log (stderr)
    res = nn_library("similar", "--text", "acid banana", "--json", "-n", "4")
    recs = [json.loads(x) for x in res.stdout.splitlines()]
    assert len(recs) == 4 and "not understood (left out of the search): banana" in res.stderr
    scores = [r["score"] for r in recs]
    assert scores == sorted(scores, reverse=True) and all(family_of(r["title"]) == "acid" for r in recs)
    # --within, --max-per-artist, --m3u
    top = nn_library.similar_titles("--text", "acid techno", "--within", "title:1", "-n", "3")
    assert top[0] == "Acid Study 1" and all(t.endswith(" 1") for t in top if "(" not in t)
    res = nn_library("similar", "--text", "acid techno", "--max-per-artist", "1", "--json", "-n", "5")
    artists = [json.loads(x)["artist"] for x in res.stdout.splitlines()]
    assert len(artists) == len(set(artists)) and sorted(artists[:3]) == [f"Acid Unit {i}" for i in (1, 2, 3)]
    m3u = tmp_path / "acid.m3u"
    out = nn_library.similar_titles("--text", "acid techno", "-n", "3", "--m3u", m3u)
    assert len([x for x in m3u.read_text().splitlines() if x and not x.startswith("#")]) == len(out) == 3


@pytest.mark.parametrize("args, words", [
    (["--text", "acid", "--mix"], "--mix needs a seed track"),
    (["--text", "acid", "title:Acid"], "--text is the query"),
    (["--text", "banana split"], "none of the words 'banana split' is in the vocabulary"),
    (["--text", "  "], "--text needs words"),
])
def test_text_refusals_are_one_clear_line(nn_library, args, words):
    res = nn_library("similar", *args, check=False)
    assert res.returncode != 0 and words in res.output and "Traceback" not in res.output


def test_a_space_without_words_says_which_do(beet, copy_of, family_audio):
    beet("import", copy_of(sorted(family_audio.iterdir())[:3]))
    res = beet("similar", "--text", "acid", check=False)
    assert res.returncode != 0 and "the spectral space cannot read words" in res.output
    assert "musicnn" in res.output and "--space vibe" in res.output


# --- gemini: the real SDK against the fake server ------------------------------------------

def test_gemini_text_is_one_cached_request_ranked_by_the_model(tmp_path, fake, family_audio):
    beet = gemini_beet(tmp_path / "h", fake, retries=1, batch_size=8, dims=256)
    incoming = tmp_path / "in"
    incoming.mkdir()
    for f in sorted(family_audio.iterdir())[::3]:
        (incoming / f.name).write_bytes(f.read_bytes())
    beet("import", incoming)
    beet("embed")
    before = len(fake.embed_requests())
    res = beet("similar", "--text", "ambient  pads", "--json", "-n", "4")
    new = fake.embed_requests()[before:]
    assert len(new) == 1
    (req,) = new
    assert req.path.endswith("models/gemini-embedding-2-preview:batchEmbedContents")
    (one,) = req.body["requests"]
    assert one["content"]["parts"] == [{"text": "ambient pads"}]
    assert one["outputDimensionality"] == 256
    assert "asking Gemini (gemini-embedding-2-preview, 256 dims)" in res.stderr and KEY not in res.output
    got = [json.loads(x)["id"] for x in res.stdout.splitlines()]
    # the ranking is the model's: cosine of its text vector with each track's audio vector
    with beet.store() as store:
        ids, R = store.raw_matrix(store.get_space("gemini"))
    q = np.asarray(text_vector("ambient pads", 256))
    R = np.asarray(R) / np.linalg.norm(R, axis=1, keepdims=True)
    scores = R @ q
    want = [int(ids[i]) for i in np.argsort(-scores, kind="stable")]
    shown = [i for i in want if i in got]
    assert got == shown and got == want[: len(got)] and got
    # the second identical search (whitespace aside) is answered from the sidecar
    res2 = beet("similar", "--text", "ambient pads", "--json", "-n", "4")
    assert len(fake.embed_requests()) == before + 1
    assert [json.loads(x)["id"] for x in res2.stdout.splitlines()] == got
    assert "asking Gemini" not in res2.stderr
    with beet.store() as store:
        from beetsplug.sonic.store import textcache

        assert textcache.count(store) == 1
    # the map of a Gemini space says describing in words needs the command line
    page = (tmp_path / "map.html")
    beet("graph", "-o", page)
    data = json.loads(re.search(r'<script id="sonic-data" type="application/json">(.*?)</script>',
                                page.read_text(), re.S).group(1))
    assert data["words"]["method"] == "gemini" and "command line" in data["words"]["note"]
    assert len(fake.embed_requests()) == before + 1  # drawing the map asks nothing


def test_gemini_text_offline_is_one_line(tmp_path, fake, family_audio):
    beet = gemini_beet(tmp_path / "h", fake, retries=3, retry_wait=0.01, batch_size=8)
    incoming = tmp_path / "in"
    incoming.mkdir()
    for f in sorted(family_audio.iterdir())[:2]:
        (incoming / f.name).write_bytes(f.read_bytes())
    beet("import", incoming)
    beet("embed")
    beet.config["sonic"]["gemini"]["base_url"] = "http://127.0.0.1:9"  # nothing listens there
    beet.write_config()
    res = beet("similar", "--text", "calm", check=False)
    assert res.returncode != 0 and "cannot reach Gemini" in res.output and "Traceback" not in res.output
    assert re.search(r"no network\?", res.output)


# --- the map's "describe" box ------------------------------------------------------------

@pytest.mark.browser
def test_map_describe_box_scores_words_like_the_cli(nn_library, family_library, browser):
    out = nn_library.home / "map.html"
    nn_library("graph", "-o", out)
    page = Page(browser, out.as_uri())
    try:
        page.wait_stable()
        titles = dict(zip(*page.js("[JSON.parse(document.getElementById('sonic-data').textContent).id,"
                                   " JSON.parse(document.getElementById('sonic-data').textContent).title]")))
        for text, family in (("ambient pads", "pads"), ("acid techno", "acid")):
            got = page.js(f"__sonic.describe({json.dumps(text)})")
            cli = [json.loads(x)["id"] for x in
                   nn_library("similar", "--text", text, "--json", "-n", "5").stdout.splitlines()]
            assert [family_of(titles[i]) for i in got["ids"][:5]] == [family] * 5
            assert set(got["ids"][:5]) == set(cli)  # the same tracks as the command line
        page.page.fill("#describe", "dark banana, no vocals")
        shown = page.page.inner_text("#described")
        assert shown.startswith("best ") and "dark, no vocals" in shown and "not understood: banana" in shown
        assert page.js("__sonic.describe('non-vocal calm').terms") == ["no vocal", "calm"]
        assert page.errors == [] and page.requests == [out.as_uri()]
    finally:
        page.close()
    # a map of a space without words has no box
    plain = family_library.home / "plain.html"
    family_library("graph", "-o", plain)
    page = Page(browser, plain.as_uri())
    try:
        assert page.js("document.getElementById('describe').hidden") is True
        assert page.js("__sonic.describe('acid')") is None
    finally:
        page.close()
