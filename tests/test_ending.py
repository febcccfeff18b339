"""The sound a track ends on tells a key from its relative: a held final note is found, a
loop cut off mid-bar or faded out holds none, the end of the music is read past a silent
tail, and a damaged end costs nothing — through files on disk and the real ``beet import``."""

from __future__ import annotations

import numpy as np
import pytest

from beetsplug.sonic import audio, synth
from beetsplug.sonic.dj import ending, estimate, keys, run, tonality

from .helpers import Beet, mono_22k

SR = 22050
#: C major's scale up and down in eighth notes at 120 BPM: every note of C major and of
#: A minor, the two keys all but tied
SCALE = [60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62]
A_MINOR, C_MAJOR = keys.Key(9, True), keys.Key(0, False)


def _note(midi: int, seconds: float, decay: float) -> np.ndarray:
    """A plucked tone of ten harmonics falling as 1/h."""
    t = np.arange(int(SR * seconds)) / SR
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    return sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 11)) * np.exp(-t * decay)


def _melody(final: int | None, seconds: float = 40.0) -> np.ndarray:
    """``seconds`` of the scale, then the note ``final`` held 2.5 s (None: cut off mid-bar)
    and a second of silence."""
    body = np.concatenate([_note(m, 0.25, 3.0) for m in SCALE * int(seconds / 0.25 / len(SCALE) + 1)])
    body = body[: int(seconds * SR)]
    end = [_note(final, 2.5, 1.5), np.zeros(SR)] if final is not None else []
    return (np.concatenate([body, *end]) / 10).astype(np.float32)


def _write(path, y: np.ndarray) -> str:
    synth.write(str(path), y[None, :], sr=SR)
    return str(path)


@pytest.mark.parametrize("ext", ["flac", "mp3", "m4a"])
def test_a_melody_between_a_key_and_its_relative_reads_the_key_it_ends_on(tmp_path, ext):
    # lossy formats too: the end of the file is reached by a seek (MP3 and AAC frames, their
    # priming delay)
    paths = [_write(tmp_path / f"a.{ext}", _melody(57)), _write(tmp_path / f"c.{ext}", _melody(60))]
    spans = [run.analysis_span(p) for p in paths]
    for span in spans:  # the body can't tell C major from A minor
        scores = tonality.key_scores(tonality.chromagram(estimate.middle(span, SR), SR).frames.sum(axis=0))
        assert abs(scores[0] - scores[21]) < tonality.RELATIVE_TIE
    assert [run.analyse_file(p).key for p in paths] == [A_MINOR, C_MAJOR]
    # without their ends, both tracks read the one key their bodies lean to
    assert len({estimate.analyse(span, SR).key for span in spans}) == 1


def test_a_clear_key_is_not_moved_by_the_note_it_ends_on_and_never_decodes_it():
    # a profile of A minor (clear of C major by far more than the tie): its end is never
    # asked for (no decoding of the file's end), and a last note of C would not move it
    clear = np.roll(tonality.PROFILES["krumhansl"][1], 9)
    asked = []
    c_note = np.zeros(12)
    c_note[0] = 1.0

    def final():
        asked.append(True)
        return c_note

    assert tonality.decide(clear) == tonality.decide(clear, final=final) == 21
    assert not asked


def test_the_relative_key_of_every_key():
    for index in range(24):
        other = tonality.relative(index)
        assert tonality.relative(other) == index and (other >= 12) != (index >= 12)
        major, minor = (index, other) if index < 12 else (other, index)
        assert (minor - 12 - major) % 12 == 9  # A minor is C major's relative
    assert tonality.relative(0) == 21 and tonality.relative(21) == 0


def test_the_chromagram_credits_harmonics_as_one_pass_per_pitch_class_did_per_divisor():
    y = _melody(57, 10.0)
    n_frames, frame, freqs, amps = tonality._peaks(y, SR, 8192, 2048)
    amps = amps ** tonality.POWER
    ref, _ = tonality.tuning(freqs, amps)
    pitch = 69 + 12 * np.log2(freqs / ref)
    naive = np.zeros((n_frames, 12))
    for divisor, weight in tonality.HARMONICS:
        shifted = pitch - 12 * np.log2(divisor)
        near = np.round(shifted)
        w = weight * amps * np.cos(np.pi * (shifted - near)) ** 2 * (freqs >= divisor * tonality.F0_MIN)
        naive += np.bincount(frame * 12 + near.astype(int) % 12, w, n_frames * 12).reshape(n_frames, 12)
    naive /= np.linalg.norm(naive, axis=1, keepdims=True) + 1e-12
    assert np.allclose(tonality.chromagram(y, SR).frames, naive, atol=1e-6)


def test_the_final_sound_is_the_held_last_note_and_a_cut_loop_has_none():
    y = _melody(57)
    tail = y[-int(ending.SECONDS * SR):]
    final = ending.final_sound(tail, SR)
    assert final is not None and abs(final.size / SR - 3.5) < 0.1  # 2.5 s note + 1 s of silence
    profile = ending.final_profile(tail, SR)
    assert int(np.argmax(profile)) == 9  # A
    # loops rendered at four tempi, cut off mid-bar, and the scale stopped after a short
    # note: each strikes notes to its last second
    for i in (0, 1, 2, 3):
        loop = mono_22k(synth.truth_spec(i), 12.0)[-int(ending.SECONDS * SR):]
        assert ending.final_sound(loop, SR) is None
    assert ending.final_sound(_melody(None)[-int(ending.SECONDS * SR):], SR) is None


def test_the_faint_last_notes_of_a_fade_out_are_no_final_sound():
    # the scale faded out over its last 10 s: its last notes fall below the onset threshold
    # and ring on like a held sound, but they are 20 dB and more below the body of the track
    y = _melody(None)
    fade = np.ones_like(y)
    fade[-10 * SR:] = np.linspace(1, 0, 10 * SR) ** 2
    faded = y * fade
    _, silent = audio._silent_ends(faded, SR)
    tail = faded[:faded.size - silent][-int(ending.SECONDS * SR):]
    body = ending.loudness(estimate.middle(y, SR), SR)
    assert ending.final_sound(tail, SR) is not None  # rings on, as a final note would
    assert ending.final_sound(tail, SR, body=body) is None
    # a final note struck as loud as the body is one
    assert ending.final_sound(_melody(57)[-int(ending.SECONDS * SR):], SR, body=body) is not None


def test_a_held_noise_at_the_end_has_no_pitch_to_read():
    # the scale, then a 2 s burst of noise ringing out (a cymbal, a drum outro's last hit)
    rng = np.random.default_rng(3)
    t = np.arange(2 * SR) / SR
    tail = np.concatenate([_melody(None, 4.0), (rng.standard_normal(t.size) * np.exp(-t * 1.5) / 4)])
    tail = tail.astype(np.float32)
    assert ending.final_sound(tail, SR) is not None
    assert ending.final_profile(tail, SR) is None


def test_the_ending_is_read_before_a_silent_tail(tmp_path):
    y = np.concatenate([_melody(57, 20.0), np.zeros(3 * SR, np.float32)])
    got = audio.load_ending(_write(tmp_path / "tail.flac", y), sr=SR, length=ending.SECONDS)
    assert got is not None and got.size == int(ending.SECONDS * SR)
    # its last 100 ms still sound (the silence is gone), and it is the melody's end
    assert np.abs(got[-SR // 10:]).max() >= audio.QUIET_PEAK
    assert int(np.argmax(ending.final_profile(got, SR))) == 9


@pytest.mark.parametrize("damage", ["missing", "not audio", "truncated", "silent"])
def test_a_damaged_or_missing_end_is_no_ending_and_costs_the_track_nothing(tmp_path, damage):
    path = tmp_path / "t.flac"
    if damage == "truncated":
        data = open(_write(path, _melody(57)), "rb").read()
        path.write_bytes(data[: len(data) // 3])  # the header still promises 43.5 s
    elif damage == "not audio":
        path.write_bytes(b"ID3" + bytes(range(256)) * 40)
    elif damage == "silent":
        _write(path, np.concatenate([_melody(57, 30.0), np.zeros(25 * SR, np.float32)]))
    assert audio.load_ending(str(path), sr=SR, length=ending.SECONDS) is None
    if damage in ("truncated", "silent"):
        # the rest of the track is read exactly as it is without its end
        span = run.analysis_span(str(path))
        assert run.analyse_file(str(path)).to_json() == estimate.analyse(span, SR).to_json()


def test_untagged_imports_read_the_key_their_music_ends_on(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name, final in (("Ends on A", 57), ("Ends on C", 60)):
        path = _write(src / f"{name}.flac", _melody(final))
        synth.tag(path, title=name)
    beet = Beet(tmp_path / "home")
    beet("import", src)
    read = dict(line.split("|") for line in beet("ls", "-f", "$title|$sonic_key").stdout.splitlines())
    assert read == {"Ends on A": "A minor", "Ends on C": "C major"}
