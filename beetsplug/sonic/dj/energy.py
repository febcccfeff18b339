"""Energy 1-10 from the audio, on the vibe scale (2 ambient/drone, 4 warm-up, 6 mid-set,
7.5 floor-filler, 9 peak, 10 extreme): cheap, from the segment already decoded.

    energy = 1 + 9 * (0.35 density + 0.40 tempo + 0.10 loudness + 0.15 brightness)

density   = onsets per second (peaks of the onset envelope), 0 -> 0, 8/s and more -> 1
tempo     = 70 BPM -> 0, 175 BPM -> 1 (0 without a pulse; a half-time reading doubled when
            there are more than 1.75 onsets per beat: drum & bass read at 85; a reading
            over 140 halved when there are fewer than 0.85: plucks read at 180)
loudness  = RMS -30 dBFS -> 0, -8 dBFS -> 1
brightness = spectral centroid 400 Hz -> 0, 3500 Hz -> 1 (log scale)
"""

from __future__ import annotations

import numpy as np

from .onsets import Onsets, onsets_of

WEIGHTS = {"density": 0.35, "tempo": 0.40, "loudness": 0.10, "brightness": 0.15}
#: onsets per beat above which a reading under 100 BPM is taken as half time: plucked
#: acoustic patterns at 85-97 BPM have 1.3-1.6, broken beats read at 85 have 2.0-3.0
BUSY_PER_BEAT = 1.75
#: onsets per beat below which a reading over 140 BPM is taken as double time: plucked
#: patterns at 85-96 read at 170-192 have 0.72-0.75 (most "beats" empty), drum & bass
#: read at 170 has 1.0-1.5
SPARSE_PER_BEAT = 0.85
ONSET_MIN = 5.0


def _ramp(x: float, lo: float, hi: float) -> float:
    return float(np.clip((x - lo) / (hi - lo), 0.0, 1.0))


def energy(y: np.ndarray, sr: int, *, bpm: float | None,
           onsets: Onsets | None = None) -> float:
    """Energy 1-10 of mono ``y`` (one decimal); ``onsets``: :func:`onsets_of` ``y``, if known."""
    y = np.asarray(y, np.float32)
    if y.size < sr or not np.any(y):
        return 1.0
    o = onsets if onsets is not None and onsets.centroid is not None else onsets_of(y, sr)
    env = o.env
    # an absolute threshold: drum hits reach 30-60 on this envelope, a pad's swells about 5
    peaks = (env[1:-1] > ONSET_MIN) & (env[1:-1] >= env[:-2]) & (env[1:-1] > env[2:])
    density = peaks.sum() / (y.size / sr)
    if bpm and density < 1.0:
        bpm = None  # no pulse to speak of: a tempo reading is noise
    elif bpm and bpm < 100 and density > BUSY_PER_BEAT * bpm / 60:
        bpm *= 2  # busy half-time reading (drum & bass read at 85): count the fast pulse
    elif bpm and bpm > 140 and density < SPARSE_PER_BEAT * bpm / 60:
        bpm /= 2  # sparse double-time reading (plucks at 90 read at 180): count the felt pulse
    rms_db = 10 * np.log10(float(np.mean(y.astype(np.float64) ** 2)) + 1e-12)
    parts = {
        "density": _ramp(density, 0.0, 8.0),
        "tempo": 0.0 if not bpm else _ramp(bpm, 70.0, 175.0),
        "loudness": _ramp(rms_db, -30.0, -8.0),
        "brightness": _ramp(np.log(max(o.centroid, 1.0)), np.log(400.0), np.log(3500.0)),
    }
    return round(1.0 + 9.0 * sum(WEIGHTS[k] * v for k, v in parts.items()), 1)
