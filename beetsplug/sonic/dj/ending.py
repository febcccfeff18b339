"""The sound a track ends on: the last note or chord, held while the music stops.

Tonal music ends on its tonic far more often than anywhere else (of the 44 folk tunes with
a key in the real-music truth set, 35 end on the tonic note), while the body of a melody often says
no more than its key signature: a tune in E minor and one in G major use the same seven
notes. So where the body of a track leaves a key and its relative nearly tied, the final
sound decides (:func:`.tonality.decide`).

A track *ends* on a sound only where its music stops after one last onset, struck about as
loud as the body of the track and held for a while (a final note, a last chord ringing
out). A loop cut off mid-bar strikes notes to its last second; a fade-out's last notes are
faint. The chord either stops on is any chord of its progression: such an ending says
nothing, and none is taken from it.
"""

from __future__ import annotations

import numpy as np

from . import tonality
from .onsets import onset_peaks, onsets_of

#: seconds of the end of a track's music searched for its final sound
SECONDS = 6.0
#: seconds of the final sound whose pitch classes count: its attack and what rings after
#: (a reverb tail adds nothing but work)
PITCH_SECONDS = 2.0
#: the least a last sound must be held (seconds, from its onset to where the music stops)
#: to end a track. Measured on the truth sets (docs/analysis.md): the 90 rendered
#: compositions with a key hold their last sound 0.1-4.2 s (median 1.04 s), the generated
#: loops, cut off mid-bar, 0.1-0.5 s. Any value in 0.7-0.9 s reads the same; at 0.6 a short
#: demo in Bb major whose last 0.66 s ring a G minor chord reads G minor, at 1.0 a tune
#: whose last note rings 0.94 s keeps the wrong relative
HELD = 0.8
#: the least level of the final sound's attack (dB, against :func:`loudness` of the body of
#: the track): a final note or chord is struck, the last faint notes of a fade-out are not.
#: Measured: the held final sounds of the truth set -34 to +6 dB (median -3.9; the three
#: keys it fixes -4.3 to -1.9; +2.4 for a game piece whose signature allows either key,
#: moved to its relative), generated loops faded out over their last 10-30 s -21 to -37 dB
STRUCK = -15.0
#: seconds a level is measured over, and the seconds of the final sound its attack's level
#: is the loudest of
BLOCK, ATTACK = 0.05, 0.3


def _levels(y: np.ndarray, sr: int) -> np.ndarray:
    """dB of each :data:`BLOCK` of ``y`` (its RMS)."""
    hop = max(1, int(BLOCK * sr))
    n = y.size // hop
    return 10 * np.log10(np.mean(y[:n * hop].reshape(n, hop) ** 2, axis=1) + 1e-18)


def loudness(y: np.ndarray, sr: int) -> float:
    """How loud the loud part of ``y`` is: the 95th percentile of its :data:`BLOCK` levels, dB."""
    levels = _levels(y, sr)
    return float(np.percentile(levels, 95)) if levels.size else -180.0


def final_sound(y: np.ndarray, sr: int, *, body: float | None = None) -> np.ndarray | None:
    """The held final sound of ``y``, the end of a track's music: from its last onset to
    its end, when that lasts at least :data:`HELD` and, given the :func:`loudness` ``body``
    of the track, its attack reaches :data:`STRUCK` against it; ``None`` when the music
    moves to its last second or fades out. (The onset is placed at the start of the frames
    whose flux found it: up to two 23 ms hops early.)"""
    o = onsets_of(y, sr)
    peaks = onset_peaks(o.env)
    if peaks.size == 0:
        return None
    start = int(peaks[-1] / o.fps * sr)
    if y.size - start < HELD * sr:
        return None
    if body is not None and _levels(y[start:start + int(ATTACK * sr)], sr).max() < body + STRUCK:
        return None
    return y[start:]


def final_profile(y: np.ndarray, sr: int, *, body: np.ndarray | None = None) -> np.ndarray | None:
    """``(12,)`` pitch-class profile (C = 0) of the held final sound at the end ``y`` of a
    track's music (its first :data:`PITCH_SECONDS`; ``body``: samples of the track's body,
    whose :func:`loudness` its attack is held against); ``None`` where it holds none, or no
    pitched instrument plays in it."""
    final = final_sound(y, sr, body=None if body is None else loudness(body, sr))
    if final is None:
        return None
    chroma = tonality.chromagram(final[:int(PITCH_SECONDS * sr)], sr)
    profile = chroma.frames.sum(axis=0)
    return profile if chroma.pitched and np.any(profile) else None
