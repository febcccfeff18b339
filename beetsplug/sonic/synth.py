"""Generated test music: families of tracks that differ in timbre and rhythm.

Used by the demo, the tests and the benchmarks, so that similarity can be judged
on audio whose families we built to differ:

``acid``      four-on-the-floor kick, off-beat hats and a resonant 303-style
              sawtooth bassline, 125-130 BPM
``breaks``    syncopated breakbeat kick/snare with busy hats and a sub bass, 170 BPM
``pads``      slow sustained detuned chords, no percussion
``plucks``    plucked acoustic-like tones in loose arpeggios, no percussion

Every track of a family gets its own tempo, key, pattern and mix from a seed.
All synthesis is vectorised numpy; files are written through PyAV.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

SR = 44100
FAMILIES = ("acid", "breaks", "pads", "plucks")
GENRES = {"acid": "Acid Techno", "breaks": "Drum & Bass", "pads": "Ambient", "plucks": "Folk"}
CODECS = {  # extension -> (container format, codec)
    "mp3": ("mp3", "libmp3lame"),
    "flac": ("flac", "flac"),
    "ogg": ("ogg", "vorbis"),
    "m4a": ("ipod", "aac"),
    "wav": ("wav", "pcm_s16le"),
}


@dataclass(frozen=True)
class TrackSpec:
    family: str
    seed: int
    bpm: float
    key: str
    title: str
    artist: str


_NOTES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]


def spec(family: str, index: int) -> TrackSpec:
    """The deterministic description of track ``index`` of ``family``."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose from {', '.join(FAMILIES)}")
    seed = 1000 * (FAMILIES.index(family) + 1) + index
    rng = np.random.default_rng(seed)
    bpm = {
        "acid": rng.uniform(125, 130),
        "breaks": rng.uniform(168, 174),
        "pads": rng.uniform(60, 80),
        "plucks": rng.uniform(84, 100),
    }[family]
    root = int(rng.integers(0, 12))
    minor = family in ("acid", "breaks") or rng.random() < 0.5
    key = _NOTES[root] + ("m" if minor else "")
    artist = f"{family.title()} Unit {index % 3 + 1}"
    return TrackSpec(family, seed, round(float(bpm), 1), key, f"{family.title()} Study {index + 1}", artist)


# --- building blocks ---------------------------------------------------------


def _t(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.float64) / SR


def _midi_hz(m: float) -> float:
    return 440.0 * 2 ** ((m - 69) / 12)


def _place(buf: np.ndarray, sample: np.ndarray, at: float, gain: float = 1.0) -> None:
    i = int(at * SR)
    if i >= buf.size:
        return
    j = min(buf.size, i + sample.size)
    buf[i:j] += gain * sample[: j - i]


def _kick(rng) -> np.ndarray:
    t = _t(int(0.35 * SR))
    f = 45 + 110 * np.exp(-t * rng.uniform(25, 40))
    phase = 2 * np.pi * np.cumsum(f) / SR
    return np.sin(phase) * np.exp(-t * rng.uniform(7, 10))


def _noise_hit(rng, length: float, decay: float, bright: float) -> np.ndarray:
    n = int(length * SR)
    x = rng.standard_normal(n)
    # a crude high-pass: first difference, blended by brightness
    x = bright * np.diff(x, prepend=0.0) + (1 - bright) * x
    return x * np.exp(-_t(n) * decay) * 0.5


def _snare(rng) -> np.ndarray:
    t = _t(int(0.25 * SR))
    tone = np.sin(2 * np.pi * rng.uniform(180, 220) * t) * np.exp(-t * 30)
    return 0.6 * tone + _noise_hit(rng, 0.25, 18, 0.6)


_TABLE = 2048


def _table(amps: np.ndarray, f0: float) -> np.ndarray:
    """One cycle of a waveform with harmonic amplitudes ``amps``, band-limited for ``f0``."""
    k = np.arange(1, amps.size + 1)
    spec = np.zeros(_TABLE // 2 + 1, complex)
    keep = (k * f0 < SR / 2 - 500) & (k < _TABLE // 2)
    spec[k[keep]] = -1j * amps[keep] * (_TABLE / 2)
    return np.fft.irfft(spec, _TABLE)


def _osc(table: np.ndarray, f0: float, n: int, phase0: float = 0.0) -> np.ndarray:
    """Play a wavetable at ``f0`` Hz for ``n`` samples (linear interpolation)."""
    pos = ((phase0 + f0 * _t(n)) % 1.0) * _TABLE
    i = pos.astype(np.int64)
    frac = pos - i
    return table[i] * (1 - frac) + table[(i + 1) % _TABLE] * frac


def _acid_note(rng, f0: float, length: float, cutoff: float, reso: float) -> np.ndarray:
    n = int(length * SR)
    k = np.arange(1, 60)
    fk = k * f0
    # a resonant low-pass response over the harmonics of a sawtooth
    h = 1 / np.sqrt((1 - (fk / cutoff) ** 2) ** 2 + (fk / (cutoff * reso)) ** 2)
    note = _osc(_table((1 / k) * h, f0), f0, n)
    env = np.exp(-_t(n) * rng.uniform(6, 14))
    return np.tanh(1.5 * note * env)


# --- families ----------------------------------------------------------------


def _acid(s: TrackSpec, n: int, rng) -> np.ndarray:
    beat = 60 / s.bpm
    out = np.zeros(n)
    kick, hat = _kick(rng), _noise_hit(rng, 0.05, 80, 0.95)
    root = 36 + _NOTES.index(s.key.rstrip("m"))
    steps = rng.choice([0, 0, 0, 3, 7, 10, 12, 12, 15], size=16)
    accents = rng.random(16) < 0.3
    rests = rng.random(16) < 0.2
    reso = rng.uniform(4, 9)
    sweep = rng.uniform(0.05, 0.15)
    n_beats = int(n / SR / beat) + 1
    for b in range(n_beats):
        _place(out, kick, b * beat, 0.9)
        _place(out, hat, (b + 0.5) * beat, 0.35)
        for q in range(4):
            i = (4 * b + q) % 16
            if rests[i]:
                continue
            cutoff = 300 + 2200 * (0.5 + 0.5 * np.sin(2 * np.pi * sweep * b * beat))
            note = _acid_note(rng, _midi_hz(root + steps[i]), beat / 4 * 0.95,
                              cutoff * (1.6 if accents[i] else 1.0), reso)
            _place(out, note, (b + q / 4) * beat, 0.45 if accents[i] else 0.3)
    return out


def _breaks(s: TrackSpec, n: int, rng) -> np.ndarray:
    beat = 60 / s.bpm
    out = np.zeros(n)
    kick, snare = _kick(rng), _snare(rng)
    hat = _noise_hit(rng, 0.04, 90, 0.97)
    patterns = [
        ([0, 2.5], [1, 3]),
        ([0, 0.75, 2.5], [1, 3, 3.75]),
        ([0, 1.75, 2.5], [1, 3]),
    ]
    kicks, snares = patterns[int(rng.integers(len(patterns)))]
    root = 28 + _NOTES.index(s.key.rstrip("m"))
    bar = 4 * beat
    for b0 in range(int(n / SR / bar) + 1):
        t0 = b0 * bar
        for k in kicks:
            _place(out, kick, t0 + k * beat, 0.9)
        for sn in snares:
            _place(out, snare, t0 + sn * beat, 0.8)
        for h in range(16):
            if rng.random() < 0.85:
                _place(out, hat, t0 + h * beat / 4, rng.uniform(0.1, 0.3))
        f0 = _midi_hz(root + rng.choice([0, 3, 5, 7]))
        sub = _osc(_table(np.array([1.0, 0.3, 0.1]), f0), f0, int(bar * SR))
        _place(out, sub * np.exp(-_t(sub.size) * 0.8), t0, 0.35)
    return out


def _pads(s: TrackSpec, n: int, rng) -> np.ndarray:
    out = np.zeros(n)
    root = 48 + _NOTES.index(s.key.rstrip("m"))
    third = 3 if s.key.endswith("m") else 4
    chord_len = rng.uniform(6, 10)
    t = 0.0
    while t < n / SR:
        base = root + rng.choice([0, 5, 7, -2, 3])
        chord = np.zeros(int((chord_len + 3) * SR))
        env_t = _t(chord.size)
        env = np.minimum(env_t / 2.5, 1) * np.minimum((chord.size / SR - env_t) / 3, 1)
        for interval in (0, third, 7, 12):
            for det in (-0.004, 0.004):
                f0 = _midi_hz(base + interval) * (1 + det)
                chord += _osc(_table(1 / np.arange(1, 13) ** 1.8, f0), f0, chord.size, rng.random())
        _place(out, chord * env, t, 0.06)
        t += chord_len
    out += 0.01 * np.convolve(rng.standard_normal(n), np.ones(64) / 64, mode="same")
    return out


def _plucks(s: TrackSpec, n: int, rng) -> np.ndarray:
    out = np.zeros(n)
    root = 52 + _NOTES.index(s.key.rstrip("m"))
    scale = [0, 2, 3, 5, 7, 8, 10, 12] if s.key.endswith("m") else [0, 2, 4, 5, 7, 9, 11, 12]
    k = np.arange(1, 25)
    step = 60 / s.bpm / 2
    t = 0.0
    while t < n / SR:
        f0 = _midi_hz(root + rng.choice(scale) + 12 * rng.choice([0, 0, 1]))
        amps = np.sin(np.pi * k * rng.uniform(0.1, 0.3)) / k  # pluck position
        n_note = int(2.5 * SR)
        bright, dull = _osc(_table(amps, f0), f0, n_note), _osc(_table(amps[:3], f0), f0, n_note)
        fade = np.exp(-_t(n_note) * 6)  # high partials die first
        note = (fade * bright + (1 - fade) * dull) * np.exp(-_t(n_note) * 1.8)
        _place(out, note, t, rng.uniform(0.25, 0.45))
        t += step * rng.choice([1, 1, 2, 1.5]) * rng.uniform(0.95, 1.05)
    return out


# --- tracks with a known tempo and key (for tempo/key estimation) -------------------

#: rhythm styles of the truth set, each at the tempo DJ software prints for it:
#: four-on-the-floor 110-135, broken beats (drum & bass) 160-180, swung hip-hop 70-100
#: (snare on 2 and 4), fast four-on-the-floor (techno/trance) 135-150
STYLES = ("four", "broken", "swing", "fast")


def truth_spec(index: int) -> TrackSpec:
    """Track ``index`` of the truth set: tempo 70-180 BPM, all 24 keys in turn, styles
    rotating; the key is written ``C#m`` / ``Eb`` style, the family is ``truth-STYLE``."""
    rng = np.random.default_rng(50_000 + index)
    style = STYLES[index % len(STYLES)]
    lo, hi = {"four": (110, 135), "broken": (160, 180), "swing": (70, 100),
              "fast": (135, 150)}[style]
    bpm = round(float(rng.uniform(lo, hi)), 1)
    tonic, minor = (index * 7) % 12, (index // 12) % 2 == 1
    key = _NOTES[tonic] + ("m" if minor else "")
    return TrackSpec(f"truth-{style}", 50_000 + index, bpm, key, f"Truth {index + 1}",
                     f"Truth Unit {index % 5 + 1}")


def _truth(s: TrackSpec, n: int, rng) -> np.ndarray:
    style = s.family.split("-", 1)[1]
    beat = 60 / s.bpm
    out = np.zeros(n)
    kick, snare, hat = _kick(rng), _snare(rng), _noise_hit(rng, 0.04, 90, 0.97)
    tonic = _NOTES.index(s.key.rstrip("m"))
    minor = s.key.endswith("m")
    third = 3 if minor else 4
    # i-VI-iv-v in minor, I-V-vi-IV in major: roots in semitones above the tonic
    progression = [0, 8, 5, 7] if minor else [0, 7, 9, 5]
    qualities = [third, 4, 3, 3] if minor else [4, 4, 3, 4]
    bar = 4 * beat
    swing = 0.62 if style == "swing" else 0.5
    for b in range(int(n / SR / bar) + 1):
        t0 = b * bar
        if style in ("four", "fast"):
            kicks, snares = [0, 1, 2, 3], [1, 3]
        elif style == "broken":
            kicks, snares = ([0, 2.5], [1, 3]) if b % 2 == 0 else ([0, 0.75, 2.5], [1, 3])
        elif style == "swing":
            kicks, snares = [0, 1 + swing, 2.5], [1, 3]
        for k in kicks:
            _place(out, kick, t0 + k * beat, 0.9)
        for sn in snares:
            _place(out, snare, t0 + sn * beat, 0.7)
        for e in range(8):
            off = (e // 2) + (swing if e % 2 else 0.0)
            _place(out, hat, t0 + off * beat, 0.25 if e % 2 else 0.15)
        chord_root = 48 + tonic + progression[b % 4]
        pad = np.zeros(int(bar * SR))
        for interval in (0, qualities[b % 4], 7):
            f0 = _midi_hz(chord_root + interval)
            pad += _osc(_table(1 / np.arange(1, 8) ** 1.5, f0), f0, pad.size, rng.random())
        env = np.minimum(_t(pad.size) / 0.05, 1) * np.minimum((pad.size / SR - _t(pad.size)) / 0.1, 1)
        _place(out, pad * env, t0, 0.05)
        for e in range(8):  # the bass: chord root in eighths, octave jumps
            f0 = _midi_hz(chord_root - 24 + (12 if e % 4 == 3 else 0))
            note = _osc(_table(np.array([1.0, 0.5, 0.25, 0.1]), f0), f0, int(beat / 2 * SR * 0.9))
            _place(out, note * np.exp(-_t(note.size) * 4), t0 + e * beat / 2, 0.25)
    return out


def truth_library(folder: str, n: int, *, seconds: float = 30.0, ext: str = "mp3",
                  tags: bool = False) -> list[tuple[str, TrackSpec]]:
    """``n`` truth tracks; ``tags``: also write their bpm and key into the file."""
    os.makedirs(folder, exist_ok=True)
    out = []
    for i in range(n):
        s = truth_spec(i)
        path = os.path.join(folder, f"truth_{i + 1:03d}.{ext}")
        write(path, render(s, seconds))
        fields = {"artist": s.artist, "title": s.title, "genre": "Test"}
        if tags:
            fields.update(bpm=int(round(s.bpm)), key=s.key)
        tag(path, **fields)
        out.append((path, s))
    return out


_RENDER = {"acid": _acid, "breaks": _breaks, "pads": _pads, "plucks": _plucks,
           **{f"truth-{style}": _truth for style in STYLES}}


def render(s: TrackSpec, seconds: float) -> np.ndarray:
    """Stereo float32 samples ``(2, n)`` at :data:`SR`, peak-normalised to -1 dBFS."""
    rng = np.random.default_rng(s.seed)
    n = int(seconds * SR)
    mono = _RENDER[s.family](s, n, rng)
    peak = np.max(np.abs(mono)) or 1.0
    mono = mono / peak * 0.89
    width = np.convolve(rng.standard_normal(n) * 0.002, np.ones(8) / 8, mode="same")
    return np.stack([mono + width, mono - width]).astype(np.float32)


def write(path: str, y: np.ndarray, *, sr: int = SR) -> None:
    """Write ``(channels, n)`` float32 samples; the format follows the extension."""
    import av

    from .audio import write_samples

    ext = os.path.splitext(path)[1].lstrip(".").lower()
    if ext not in CODECS:
        raise ValueError(f"cannot write .{ext}; choose from {', '.join(CODECS)}")
    fmt, codec = CODECS[ext]
    y = np.atleast_2d(y)
    with av.open(path, "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=sr, layout="mono" if y.shape[0] == 1 else "stereo")
        if codec == "vorbis":
            stream.codec_context.options = {"strict": "experimental"}
        if codec == "libmp3lame":
            stream.bit_rate = 192_000
            stream.codec_context.options = {"compression_level": "9"}  # fastest LAME
        write_samples(out, stream, y, sr=sr)


def tag(path: str, **fields) -> None:
    """Write tags (artist, title, genre, bpm, key, ...) with beets' mediafile."""
    from mediafile import MediaFile

    mf = MediaFile(path)
    for name, value in fields.items():
        if name == "key":
            name = "initial_key"
        setattr(mf, name, value)
    mf.save()


def make_track(folder: str, s: TrackSpec, *, seconds: float = 40.0, ext: str = "mp3") -> str:
    """Render, write and tag one track; returns its path."""
    safe = s.title.replace(" ", "_").lower()
    path = os.path.join(folder, f"{s.family}_{safe}.{ext}")
    write(path, render(s, seconds))
    tag(path, artist=s.artist, title=s.title, album=f"{s.family.title()} Tracks",
        genre=GENRES[s.family], bpm=int(round(s.bpm)), key=s.key)
    return path


def make_library(folder: str, *, per_family: int = 5, seconds: float = 40.0,
                 formats: tuple[str, ...] = ("mp3",), families: tuple[str, ...] = FAMILIES) -> list[str]:
    """Generate ``per_family`` tracks of every family into ``folder``.

    Formats rotate through ``formats`` so a library can mix MP3, FLAC, Ogg, M4A, WAV.
    """
    os.makedirs(folder, exist_ok=True)
    paths = []
    for fam in families:
        for i in range(per_family):
            ext = formats[(len(paths)) % len(formats)]
            paths.append(make_track(folder, spec(fam, i), seconds=seconds, ext=ext))
    return paths
