"""Tempo, key and mixing: notations, estimation on tracks of known truth, the fields through
a real `beet import`, `similar --mix`, `cohesion --transitions`."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from beetsplug.sonic import synth
from beetsplug.sonic.dj import estimate, keys, mixing
from beetsplug.sonic.dj import tempo as dj_tempo
from beetsplug.sonic.dj.fields import Mixable

from .helpers import Beet, mono_22k


@pytest.mark.parametrize("text, camelot", [
    ("Am", "8A"), ("A minor", "8A"), ("Amin", "8A"), ("A min", "8A"), ("8A", "8A"), ("08A", "8A"),
    ("1m", "8A"), ("1d", "8B"), ("C", "8B"), ("C major", "8B"), ("F#m", "11A"), ("F♯m", "11A"),
    ("Gbm", "11A"), ("Bb", "6B"), ("B♭", "6B"), ("Bbm", "3A"), ("Ebm", "2A"), ("D#m", "2A"),
    ("12B", "12B"), ("E", "12B"), ("c#m", "12A"), ("Db minor", "12A"), ("5d", "12B"), ("6d", "1B"), ("12m", "7A"),
])
def test_every_common_key_notation(text, camelot):
    assert keys.parse(text).camelot == camelot


@pytest.mark.parametrize("text", ["", "   ", "xyz", "13A", "H", "Am7b5?", None])
def test_unreadable_keys_are_none_not_errors(text):
    assert keys.parse(text) is None


def test_relations_on_the_wheel():
    k = keys.parse
    assert keys.relation(k("8A"), k("8A")) == "same"
    assert keys.relation(k("8A"), k("9A")) == "+1"
    assert keys.relation(k("1A"), k("12A")) == "-1"
    assert keys.relation(k("8A"), k("8B")) == "relative"
    assert keys.relation(k("8A"), k("10A")) == "boost"
    assert keys.relation(k("8A"), k("3B")) == "clash"


def test_tempo_match_tries_half_and_double_time():
    assert mixing.tempo_match(128, 125.0).change == pytest.approx(2.4)
    half = mixing.tempo_match(128, 64.5)
    assert half.factor == 2.0 and half.flag == "double-time" and abs(half.change) < 1
    assert mixing.tempo_match(85, 172).factor == 0.5


def test_transition_score_prefers_compatible_pairs():
    a = Mixable(1, 128.0, "tag", keys.parse("8A"), "tag")
    good = mixing.relate(a, Mixable(2, 127.0, "tag", keys.parse("9A"), "tag"))
    clash = mixing.relate(a, Mixable(3, 128.0, "tag", keys.parse("3B"), "tag"))
    s_good, _ = mixing.transition(0.6, good)
    s_clash, parts = mixing.transition(0.6, clash)
    assert s_good > s_clash
    assert mixing.weakest_reason(parts, clash, a, Mixable(3, 128.0, "tag", keys.parse("3B"), "tag"),
                                 0.6) == "key clash 8A→3B"


def test_estimates_on_tracks_of_known_tempo_and_key():
    """24 generated tracks (all 24 keys, 4 rhythm styles, 70-180 BPM): rates, not single
    tracks, so the test reads like the accuracy table in docs/performance.md."""
    tempo_ok = octave_ok = key_ok = near_ok = 0
    for i in range(24):
        s = synth.truth_spec(i)
        tk = estimate.analyse(mono_22k(s), 22050)
        truth = keys.parse(s.key)
        ratio = tk.bpm / s.bpm
        tempo_ok += abs(ratio - 1) <= 0.02
        octave_ok += any(abs(ratio / r - 1) <= 0.02 for r in (1, 2, 0.5))
        rel = keys.relation(truth, tk.key)
        key_ok += rel == "same"
        near_ok += rel in ("same", "relative", "+1", "-1")
    # the metrical level too: drum & bass at 170 (not 85), swung hip-hop at 85 (not 170)
    assert tempo_ok >= 23 and octave_ok == 24      # within 2 %: the floor is 95 %
    assert key_ok >= 22 and near_ok >= 23


def _pulses(period: float, seconds: float, fps: float, *, phase: float = 0.0) -> np.ndarray:
    env = np.zeros(int(seconds * fps))
    env[(np.arange(phase, seconds, period) * fps).astype(int)] = 1.0
    return env


def test_the_backbeat_settles_the_metrical_level():
    # one full-band envelope, hits every 0.353 s (170 BPM, or 85 in half time); only the
    # snare band differs: a snare every 0.706 s is on 2 and 4 of 170, every 1.41 s of 85
    fps = 22050 / 512
    env = _pulses(60 / 170, 30, fps) + 0.3 * _pulses(60 / 340, 30, fps, phase=60 / 340)
    fast = estimate.Onsets(env, _pulses(60 / 85, 30, fps, phase=60 / 170), fps)
    slow = estimate.Onsets(env, _pulses(120 / 85, 30, fps, phase=60 / 85), fps)
    assert abs(dj_tempo.tempo(fast)[0] / 170 - 1) < 0.02
    assert abs(dj_tempo.tempo(slow)[0] / 85 - 1) < 0.02
    # no backbeat in the snare band (none, or a hit on every beat): the prior's reading
    plain = [dj_tempo.tempo(estimate.Onsets(env, snare, fps))[0]
             for snare in (np.zeros_like(env), _pulses(60 / 170, 30, fps))]
    assert plain[0] == plain[1]


def test_four_on_the_floor_without_a_snare_is_not_halved():
    # acid: kick on every beat, off-beat hats, a 16-step 303 line that repeats every bar
    # (which, at half the tempo, looks like a backbeat); no snare at all
    for i in range(12):
        s = synth.spec("acid", i)
        bpm = estimate.tempo(mono_22k(s), 22050)[0]
        assert abs(bpm / s.bpm - 1) <= 0.02, (i, s.bpm, bpm)


def test_silence_and_noise_give_no_estimate():
    assert estimate.tempo(np.zeros(22050 * 10, np.float32), 22050) == (None, 0.0)
    assert estimate.key(np.zeros(22050 * 10, np.float32), 22050) == (None, 0.0)


def test_the_spectrogram_in_batches_is_the_spectrogram_in_one_go(monkeypatch):
    # frames are transformed a batch at a time for speed; a frame lost, doubled or shifted at
    # a batch's edge would change every reading. 1000 frames do not divide into batches of 16
    from beetsplug.sonic import spectrum

    y = np.random.default_rng(3).standard_normal(512 * 999 + 1024).astype(np.float32)
    batched = spectrum.power_spectrogram(y, 1024, 512)
    monkeypatch.setattr(spectrum, "BATCH_BYTES", 4 * 1024 * 16)
    small = spectrum.power_spectrogram(y, 1024, 512)
    frames = np.lib.stride_tricks.sliding_window_view(y, 1024)[::512]
    whole = np.abs(np.fft.rfft(frames * np.hanning(1024), axis=1)) ** 2
    assert batched.shape == small.shape == whole.shape == (1000, 513)
    np.testing.assert_allclose(batched, whole, rtol=1e-3, atol=1e-3 * whole.max())
    np.testing.assert_allclose(small, whole, rtol=1e-3, atol=1e-3 * whole.max())
    short = spectrum.power_spectrogram(y[:300], 1024, 512)  # shorter than one frame: padded to one
    assert short.shape == (1, 513) and np.all(np.isfinite(short))


# --- through the real CLI ----------------------------------------------------------------


def _tagged(folder, name: str, spec: synth.TrackSpec, *, bpm=None, key=None, seconds=20.0) -> str:
    path = str(folder / f"{name}.mp3")
    synth.write(path, synth.render(spec, seconds))
    fields = {"artist": spec.artist, "title": name, "genre": "Test"}
    if bpm is not None:
        fields["bpm"] = bpm
    if key is not None:
        fields["key"] = key
    synth.tag(path, **fields)
    return path


@pytest.fixture(scope="module")
def mix_library(tmp_path_factory) -> Beet:
    """Acid tracks whose tags plant the relations; one truth track left untagged."""
    src = tmp_path_factory.mktemp("mixsrc")
    acid = [synth.spec("acid", i) for i in range(5)]
    _tagged(src, "Seed", acid[0], bpm=128, key="Am")
    _tagged(src, "Clash", acid[1], bpm=128, key="Bbm")        # 3A: clashes with 8A
    _tagged(src, "Neighbour", acid[2], bpm=126, key="Em")     # 9A: +1, -1.6 %
    _tagged(src, "Relative", acid[3], bpm=131, key="C")       # 8B: relative, +2.3 %
    _tagged(src, "HalfTime", acid[4], bpm=64, key="8A")       # same key, half time
    _tagged(src, "Far", synth.spec("pads", 0), bpm=128, key="Am")   # mixable but sounds unlike
    _tagged(src, "Untagged", synth.truth_spec(0), seconds=30.0)     # tempo/key from the audio only
    beet = Beet(tmp_path_factory.mktemp("mixlib"))
    beet("import", src)
    return beet


def test_fields_are_stored_and_queryable(mix_library):
    out = mix_library("ls", "-f", "$title|$sonic_bpm|$sonic_camelot|$sonic_key", "title:Untagged").stdout
    title, bpm, camelot, key = out.strip().split("|")
    truth = synth.truth_spec(0)
    assert abs(float(bpm) / truth.bpm - 1) <= 0.02 or abs(float(bpm) / truth.bpm / 2 - 1) <= 0.02
    assert keys.parse(camelot) is not None and keys.parse(key).camelot == camelot
    lo, hi = int(float(bpm)) - 1, int(float(bpm)) + 1
    assert "Untagged" in mix_library("ls", "-f", "$title", f"sonic_bpm:{lo}..{hi}").stdout
    assert "Untagged" in mix_library("ls", "-f", "$title", f"sonic_camelot:{camelot}").stdout
    # confidences print as stored (three decimals), not rounded to one as beets prints a float
    confs = mix_library("ls", "-f", "$sonic_bpm_conf $sonic_key_conf", "title:Untagged").stdout.split()
    assert len(confs) == 2 and all(re.fullmatch(r"[01]\.\d{3}", c) for c in confs), confs


def test_similar_mix_keeps_only_what_mixes(mix_library):
    plain = mix_library.similar_titles("-n", "6", "title:Seed")
    assert "Clash" in plain
    lines = mix_library("similar", "--mix", "--json", "-n", "6", "title:Seed").stdout.splitlines()
    hits = {r["title"]: r for r in map(json.loads, lines)}
    assert "Clash" not in hits and "Untagged" not in hits
    assert hits["Neighbour"]["key_relation"] == "+1" and hits["Neighbour"]["tempo_change"] == pytest.approx(1.6)
    assert hits["Relative"]["key_relation"] == "relative" and hits["Relative"]["bpm_source"] == "tag"
    assert hits["HalfTime"]["tempo_factor"] == 2.0 and hits["HalfTime"]["camelot"] == "8A"
    scores = [r["score"] for r in map(json.loads, lines)]
    assert scores == sorted(scores, reverse=True)  # ranked by sound among the mixable
    text = mix_library("similar", "--mix", "-n", "6", "title:Seed").stdout
    assert "mixing into" in text and "8A" in text and "double-time" in text
    tight = mix_library.similar_titles("--mix", "--key", "same", "-n", "6", "title:Seed")
    assert set(tight) <= {"HalfTime", "Far"}


def test_mix_options_need_mix(mix_library):
    res = mix_library("similar", "--loose", "title:Seed", check=False)
    assert res.returncode != 0 and "only apply with --mix" in res.output


def test_transitions_name_the_planted_clash(mix_library, tmp_path):
    ids = mix_library.ids()
    music = {t: mix_library("ls", "-p", f"title:{t}").stdout.strip() for t in
             ("Seed", "Neighbour", "Clash", "Relative")}
    m3u = tmp_path / "set.m3u"
    m3u.write_text("\n".join(music[t] for t in ("Seed", "Neighbour", "Clash", "Relative")) + "\n")
    out = mix_library("cohesion", "--transitions", "--playlist", str(m3u)).stdout
    assert "weakest: " in out
    weakest = out.split("weakest: ", 1)[1]
    assert "Clash" in weakest and "key clash" in weakest
    doc = json.loads(mix_library("cohesion", "--transitions", "--json", "--playlist", str(m3u)).stdout)
    rated = doc["rated_transitions"]
    assert [r["from"] for r in rated] == [ids["Seed"], ids["Neighbour"], ids["Clash"]]
    assert min(rated, key=lambda r: r["score"])["key_relation"] == "clash"


def test_analysis_fills_fields_without_touching_vectors_and_write_tags(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    _tagged(src, "One", synth.truth_spec(4), seconds=30.0)
    _tagged(src, "Two", synth.truth_spec(8), seconds=30.0, bpm=140, key="Dm")
    beet = Beet(tmp_path / "home")
    beet("import", src)
    beet("modify", "-y", "sonic_bpm!", "sonic_camelot!", "sonic_key!", "sonic_bpm_conf!",
         "sonic_key_conf!", "sonic_energy!")
    with beet.store() as store:
        before = store.matrix(store.get_space("spectral"))[1].copy()
    assert "2 to analyse" in beet("embed", "--analysis").stdout
    assert "0 to analyse" in beet("embed", "--analysis").stdout   # resumable: done is done
    with beet.store() as store:
        np.testing.assert_array_equal(store.matrix(store.get_space("spectral"))[1], before)
    beet.set(analysis={"write_tags": True})
    beet("embed", "--analysis", "--force")
    out = beet("ls", "-f", "$title|$bpm|$initial_key|$sonic_camelot").stdout.splitlines()
    rows = {line.split("|")[0]: line.split("|")[1:] for line in out}
    assert rows["Two"][:2] == ["140", "Dm"]              # never overwritten
    assert rows["One"][0] not in ("", "0") and keys.parse(rows["One"][1]).camelot == rows["One"][2]


@pytest.mark.parametrize("bpm, bpm_range, folded", [
    (87.0, (88, 175), 174.0),      # drum & bass read at half time
    (70.0, (88, 175), 140.0),      # dubstep's half-time feel
    (350.0, (88, 175), 175.0),     # two octaves down
    (124.0, (88, 175), 124.0),     # inside: as read
    (87.6, (88, 175), 175.2),      # in the gap of a range short of an octave: the nearest octave
    (60.0, (70, 140), 120.0),
    (60.0, None, 60.0),
])
def test_a_djs_bpm_range_moves_readings_by_octaves(bpm, bpm_range, folded):
    from beetsplug.sonic.dj.fields import fold

    assert fold(bpm, bpm_range) == pytest.approx(folded)


def test_bpm_range_through_import_and_analysis(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    spec = synth.spec("acid", 2)
    _tagged(src, "Acid", spec, seconds=30.0)
    beet = Beet(tmp_path / "home")
    beet.set(analysis={"bpm_range": "55-110"})
    beet("import", src)
    read = float(beet("ls", "-f", "$sonic_bpm").stdout)
    assert abs(read * 2 / spec.bpm - 1) <= 0.02, (read, spec.bpm)   # the acid's 120-ish, halved
    assert "0 to analyse" in beet("embed", "--analysis").stdout
    # a new range: the readings outside it are analysed again and moved
    beet.set(analysis={"bpm_range": [100, 200]})
    assert "1 to analyse" in beet("embed", "--analysis").stdout
    assert abs(float(beet("ls", "-f", "$sonic_bpm").stdout) / spec.bpm - 1) <= 0.02
    beet.set(analysis={"bpm_range": "100-150"})
    res = beet("embed", "--analysis", check=False)
    assert res.returncode != 0 and "sonic: analysis: bpm_range" in res.output and "88-175" in res.output


def test_unreadable_initial_key_is_ignored(tmp_path):
    from beets.library import Item

    from beetsplug.sonic.dj.fields import mixable

    m = mixable(Item(id=1, initial_key="not a key", bpm=0, sonic_camelot="8A", sonic_bpm=127.9))
    assert (m.key.camelot, m.key_source, m.bpm, m.bpm_source) == ("8A", "audio", 127.9, "audio")
    src = tmp_path / "src"
    src.mkdir()
    _tagged(src, "Odd", synth.truth_spec(2), seconds=30.0, key="not a key")
    beet = Beet(tmp_path / "home")
    res = beet("import", src)
    assert "Traceback" not in res.output
    out = beet("ls", "-f", "$sonic_camelot", "title:Odd").stdout.strip()
    assert keys.parse(out) is not None  # the audio estimate stands in for the bad tag
