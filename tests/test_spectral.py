"""The spectral backend on generated families that differ in timbre and rhythm."""

from __future__ import annotations

import numpy as np
import pytest

from beetsplug.sonic import analysis, audio, synth
from beetsplug.sonic.backends import get_backend
from beetsplug.sonic.backends.spectral import FEATURE_DIMS, group_weights, segment_features
from beetsplug.sonic.dj import run
from beetsplug.sonic.errors import FatalError, ItemError


@pytest.fixture(scope="module")
def family_vectors(family_audio):
    backend = get_backend("spectral", segment=30, positions=(0.5,))
    paths = sorted(family_audio.iterdir())
    R = np.stack([backend.embed(str(p)).vector for p in paths])
    mean, scale = analysis.fit_standardizer(R)
    V = analysis.standardize(R, mean=mean, scale=scale, weights=group_weights())
    families = [p.name.split("_")[0] for p in paths]
    return V, families


def test_every_track_nearest_neighbours_are_own_family(family_vectors):
    V, families = family_vectors
    idx, _ = analysis.knn(V, k=3)
    for i, row in enumerate(idx):
        assert {families[j] for j in row} == {families[i]}, (i, families[i], [families[j] for j in row])


def test_cosine_spread_is_wide(family_vectors, record_property):
    V, families = family_vectors
    S = analysis.similarity_matrix(V)
    off = S[~np.eye(len(V), dtype=bool)]
    spread = float(off.max() - off.min())
    record_property("spectral_cosine_spread", round(spread, 3))
    print(f"spectral cosine: max {off.max():.3f} min {off.min():.3f} spread {spread:.3f}")
    assert spread > 1.0  # the seed's mean-of-28-features had 0.09
    same = np.equal.outer(families, families) & ~np.eye(len(V), dtype=bool)
    assert S[same].min() > S[~np.equal.outer(families, families)].max() - 0.5
    assert S[same].mean() - S[~np.equal.outer(families, families)].mean() > 0.8


def test_feature_vector_shape_and_finiteness():
    y = synth.render(synth.spec("acid", 9), 8.0)[0]
    from beetsplug.sonic.backends.spectral import SR

    y = np.interp(np.arange(0, y.size, synth.SR / SR), np.arange(y.size), y).astype(np.float32)
    f = segment_features(y)
    assert f.shape == (FEATURE_DIMS,) and np.isfinite(f).all()
    assert group_weights().shape == (FEATURE_DIMS,)
    # each group carries its configured weight in total
    from beetsplug.sonic.backends.spectral import GROUPS

    assert float((group_weights() ** 2).sum()) == pytest.approx(sum(w for _, w in GROUPS.values()), rel=1e-5)


def test_rhythm_profile_finds_the_tempo():
    # four-on-the-floor at 128 BPM: the low-band onset autocorrelation peaks near 128 (or 64/256)
    from beetsplug.sonic.backends.spectral import SR, TEMPO_BPM

    y = synth.render(synth.spec("acid", 5), 20.0)[0]
    y = np.interp(np.arange(0, y.size, synth.SR / SR), np.arange(y.size), y).astype(np.float32)
    f = segment_features(y)
    low_acf = f[38 + 27 + 8 + 2: 38 + 27 + 8 + 2 + TEMPO_BPM.size]
    bpm = synth.spec("acid", 5).bpm
    best = TEMPO_BPM[int(np.argmax(low_acf))]
    assert min(abs(np.log2(best / b)) for b in (bpm / 2, bpm, bpm * 2)) < 0.1


def test_segments_come_from_the_middle():
    assert audio.plan_segments(300.0, length=30, positions=(0.5,)) == [audio.Segment(135.0, 30)]
    assert audio.plan_segments(300.0, length=30, positions=(0.25, 0.75)) == [
        audio.Segment(60.0, 30), audio.Segment(210.0, 30)]
    assert audio.plan_segments(20.0, length=30, positions=(0.5,)) == [audio.Segment(0.0, 20.0)]
    assert audio.plan_segments(100.0, length=30, positions=(0.99,)) == [audio.Segment(70.0, 30)]


def test_decoded_segment_is_the_midpoint(tmp_path):
    # a WAV whose left channel is a ramp: the decoded middle must be the ramp's middle
    sr = 16000
    ramp = np.linspace(-0.9, 0.9, sr * 60, dtype=np.float32)
    path = tmp_path / "ramp.wav"
    synth.write(str(path), np.stack([ramp, ramp]), sr=sr)
    (y,) = audio.load_segments(str(path), sr=sr, length=10, positions=(0.5,))
    assert y.size == sr * 10
    np.testing.assert_allclose(y[[0, -1]], ramp[[sr * 25, sr * 35 - 1]], atol=2e-3)


@pytest.mark.parametrize("lead, tail", [(0, 150), (150, 0), (20, 20)])
def test_the_analysis_reads_the_middle_of_the_music_not_of_the_silence_around_it(tmp_path, lead, tail):
    # 100 s of music (a ramp, to tell where a sample came from) in silence: a rendered
    # file's silent tail, a long silent lead-in. The span is the music's middle 90 s (all of
    # the music when the file is no longer than the span)
    sr = run.SR
    ramp = np.linspace(-0.9, 0.9, sr * 100, dtype=np.float32)
    y = np.concatenate([np.zeros(sr * lead, np.float32), ramp, np.zeros(sr * tail, np.float32)])
    path = tmp_path / "padded.flac"
    synth.write(str(path), np.stack([y, y]), sr=sr)
    span = run.analysis_span(str(path))
    assert span.size == sr * 90
    np.testing.assert_allclose(span[[0, -1]], ramp[[sr * 5, sr * 95 - 1]], atol=2e-3)


def test_a_file_too_long_to_decode_whole_keeps_the_middle_of_the_file(tmp_path, monkeypatch):
    # hours of a DJ mix are not decoded whole to find where the music ends
    monkeypatch.setattr(audio, "MAX_WHOLE", 200.0)
    sr = run.SR
    ramp = np.linspace(-0.9, 0.9, sr * 100, dtype=np.float32)
    path = tmp_path / "long.flac"
    synth.write(str(path), np.stack([np.concatenate([ramp, np.zeros(sr * 150, np.float32)])] * 2), sr=sr)
    span = run.analysis_span(str(path))
    assert span.size == sr * 90 and abs(span[0] - ramp[sr * 80]) < 2e-3 and not np.any(span[sr * 21:])


def test_a_short_file_in_silence_is_read_where_its_music_is(tmp_path):
    sr = run.SR
    ramp = np.linspace(0.1, 0.9, sr * 40, dtype=np.float32)
    y = np.concatenate([np.zeros(sr * 20, np.float32), ramp, np.zeros(sr * 20, np.float32)])
    path = tmp_path / "short.wav"
    synth.write(str(path), np.stack([y, y]), sr=sr)
    span = run.analysis_span(str(path))
    assert abs(span.size - ramp.size) <= sr // 10 and span.min() > 0.09


def test_multi_point_sampling_averages_segments(family_audio):
    path = str(sorted(family_audio.glob("acid_*"))[0])
    one = get_backend("spectral", segment=10, positions=(0.5,)).embed(path).vector
    three = get_backend("spectral", segment=10, positions=(0.25, 0.5, 0.75)).embed(path).vector
    assert one.shape == three.shape and not np.allclose(one, three)


def test_silence_and_missing_files_are_item_errors(tmp_path):
    backend = get_backend("spectral", segment=30, positions=(0.5,))
    silent = tmp_path / "s.wav"
    synth.write(str(silent), np.zeros((2, synth.SR * 5), np.float32))
    with pytest.raises(ItemError, match="silent"):
        backend.embed(str(silent))
    with pytest.raises(ItemError, match="file not found"):
        backend.embed(str(tmp_path / "nope.mp3"))


def test_unknown_backend_lists_the_choices():
    with pytest.raises(FatalError, match="choose one of: .*spectral"):
        get_backend("nonesuch", segment=30, positions=(0.5,))


@pytest.mark.parametrize("ext", ["mp3", "flac", "ogg", "m4a", "wav"])
def test_graph_and_frame_decoders_give_the_same_audio_in_place(tmp_path, ext):
    # the filter graph (the fast path) and PyAV's frame loop (its fallback) decode the
    # same audio, the whole requested length, and the graph's segment starts where asked
    import av

    rng = np.random.default_rng(7)
    t = np.arange(synth.SR * 40) / synth.SR
    y = (0.3 * np.sin(2 * np.pi * (200 + 20 * t) * t)
         + 0.02 * rng.standard_normal(t.size)).astype(np.float32)
    # a name FFmpeg's filter-option syntax would choke on, were it ever parsed as a string
    path = tmp_path / f"Björk, 'Jóga' [a:b]; x=1 %d.{ext}"
    synth.write(str(path), np.stack([y, y]))
    with av.open(str(path)) as c:  # the fast path really is taken for such a name
        assert audio._decode_graph(c, sr=16000, start=1.0, length=1.0).size >= 16000

    def lag(a, b):  # the shift of b that best matches a, in samples
        inner = slice(2000, 20000)
        return max(range(-1500, 1501), key=lambda L: float(np.dot(a[inner], np.roll(b, L)[inner])))

    for sr, start, length in ((22050, 15.0, 10.0), (16000, 31.5, 3.0)):
        with av.open(str(path)) as c:
            fast = audio._decode_span(c, sr=sr, start=start, length=length)
        with av.open(str(path)) as c:
            slow = audio._decode_frames(c, sr=sr, start=start, length=length)[: int(length * sr)]
            slow = slow * audio._mono_gain(c)
        truth = np.interp(np.arange(int(start * sr), int((start + length) * sr)) * synth.SR / sr,
                          np.arange(y.size), y)
        assert fast.size == int(length * sr) and slow.size == int(length * sr), (fast.size, slow.size)
        # within 30 ms of the truth: after a seek an MP3 decoder may shift by its priming
        # delay (1,105 samples at 44.1 kHz = 25 ms); every other format lands exactly
        tolerance = 0.03 * sr if ext == "mp3" else 2
        assert abs(lag(truth, fast)) <= tolerance and abs(lag(truth, slow)) <= tolerance, (
            lag(truth, fast), lag(truth, slow))
        L = lag(fast, slow)
        inner = slice(2000, -2000)
        assert np.corrcoef(fast[inner], np.roll(slow, L)[inner])[0, 1] > 0.99
        assert np.std(fast[inner]) == pytest.approx(np.std(slow[inner]), rel=0.02)


def test_load_segments_falls_back_to_frames_when_no_graph_can_be_built(tmp_path, monkeypatch):
    import av

    sr = 16000
    ramp = np.linspace(-0.9, 0.9, sr * 60, dtype=np.float32)
    path = tmp_path / "ramp.flac"
    synth.write(str(path), np.stack([ramp, ramp]), sr=sr)
    fast = audio.load_segments(str(path), sr=sr, length=10, positions=(0.5,))[0]

    def no_graph(*a, **k):
        raise av.FFmpegError(-1, "no such filter")

    monkeypatch.setattr(av.filter, "Graph", no_graph)
    (slow,) = audio.load_segments(str(path), sr=sr, length=10, positions=(0.5,))
    assert slow.size == fast.size == sr * 10
    np.testing.assert_allclose(slow[[0, -1]], ramp[[sr * 25, sr * 35 - 1]], atol=2e-3)
    np.testing.assert_allclose(slow, fast, atol=2e-3)
