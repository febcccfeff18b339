"""The sound a track ends on: the last note or chord, held while the music stops.

Tonal music ends on its tonic far more often than anywhere else (of the 44 folk tunes in
the real-music truth set, 35 end on the tonic note), while the body of a melody often says
no more than its key signature: a tune in E minor and one in G major use the same seven
notes. So where the body of a track leaves a key and its relative nearly tied, the final
sound decides (:func:`.tonality.decide`).

A track *ends* on a sound only where its music stops after one last onset held for a while
(a final note, a last chord ringing out). A loop cut off mid-bar or a fade-out keeps
striking notes to its last second, and the chord it stops on is any chord of its
progression: such an ending says nothing, and none is taken from it.
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


def final_sound(y: np.ndarray, sr: int) -> np.ndarray | None:
    """The held final sound of ``y``, the end of a track's music: from its last onset to
    its end, when that lasts at least :data:`HELD`; ``None`` when the music moves to its
    last second."""
    o = onsets_of(y, sr)
    peaks = onset_peaks(o.env)
    if peaks.size == 0:
        return None
    start = int(peaks[-1] / o.fps * sr)
    return y[start:] if y.size - start >= HELD * sr else None


def final_profile(y: np.ndarray, sr: int) -> np.ndarray | None:
    """``(12,)`` pitch-class profile (C = 0) of the held final sound at the end ``y`` of a
    track's music (its first :data:`PITCH_SECONDS`); ``None`` where it holds none, or no
    pitched instrument plays in it."""
    final = final_sound(y, sr)
    if final is None:
        return None
    chroma = tonality.chromagram(final[:int(PITCH_SECONDS * sr)], sr)
    profile = chroma.frames.sum(axis=0)
    return profile if chroma.pitched and np.any(profile) else None
