"""Tempo, key and energy of one decoded span: the analysis that rides along with embedding.

The parts live in their own modules: :mod:`.onsets` (the spectral front end they share),
:mod:`.tempo` (metrical level judged on evidence, a confidence that is a probability),
:mod:`.tonality` (tuning, a harmonic pitch-class profile, key profiles), :mod:`.ending`
(the sound a track ends on) and :mod:`.energy`. This module runs them on one span and
says what they found.

The span is the middle :data:`SPAN` seconds of a track (all of a shorter one). Key and
energy are read from its middle :data:`WINDOW` seconds (the key's confidence asks whether
the windows either side hold it too; the end of the track's music may tell the key from
its relative); the tempo from that window and the windows either
side, whose evidence is averaged: on the real-music truth set the
tempo judged on 90 s is right for 93 of 115 tracks held out by source, on 30 s for 87
(docs/analysis.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import tempo as _tempo
from . import tonality
from .ending import final_profile
from .energy import energy
from .keys import Key
from .onsets import Onsets, onsets_of

__all__ = ["ANALYSIS_VERSION", "SPAN", "Onsets", "TempoKey", "analyse", "harmony", "key", "middle",
           "onsets_of", "side_chromagrams", "tempo", "windows"]

#: stored as ``sonic_analysis`` with every reading: ``beet embed --analysis`` re-runs
#: items read by an older version (1: the first analysis, which had no such field;
#: 2: tempo and key judged on evidence; 3: the tempo judged on 90 s; 4: the key's
#: confidence from how much of the span holds it; 5: drums alone have no harmony and a
#: doubtful key; 6: no bass note credited to the note a fifth below it, drums alone claim
#: no tempo level for sure, the key's confidence graded by how firmly each piece holds it;
#: 7: the key's confidence refitted on a truth set with folk tunes; 8: a key and its
#: relative nearly tied are told apart by the sound the track ends on)
ANALYSIS_VERSION = 8
#: seconds of a track the analysis reads (the middle), and of each window in it
SPAN, WINDOW = 90.0, 30.0
#: the most confidence a tempo read over drums alone (no pitched instrument:
#: :attr:`.tonality.Chroma.pitched`) may claim. Their beat is clear, but its metrical level
#: is a convention the hits do not carry (drum & bass written at 174 sounds a half-time 87,
#: dubstep at 140 a 70), and the truth set the confidence is calibrated on holds no
#: drums-only music: of twelve drums-only renders of written patterns (docs/analysis.md)
#: five read at the written level, and the seven others claimed 0.81-0.93. Above
#: :data:`.fields.DOUBTFUL_BELOW`: up to an octave the beat is right, which a mix forgives.
UNPITCHED_TEMPO_CONF = 0.6


@dataclass(frozen=True)
class TempoKey:
    bpm: float | None
    bpm_conf: float
    key: Key | None
    key_conf: float
    energy: float | None = None

    def to_json(self) -> dict:
        return {"bpm": self.bpm, "bpm_conf": round(self.bpm_conf, 3), "energy": self.energy,
                "key": self.key.name if self.key else None,
                "camelot": self.key.camelot if self.key else None,
                "key_conf": round(self.key_conf, 3), "version": ANALYSIS_VERSION}


def harmony(chroma: tonality.Chroma) -> _tempo.Harmony | None:
    """How the harmony of a window moves, for the tempo; ``None`` where no pitched
    instrument plays (drums alone: their chroma changes with every hit, not with chords)."""
    return _tempo.Harmony(tonality.harmonic_change(chroma.frames), chroma.fps) if chroma.pitched else None


def middle(y: np.ndarray, sr: int, seconds: float = WINDOW) -> np.ndarray:
    """The middle ``seconds`` of ``y`` (all of a shorter one)."""
    n = int(seconds * sr)
    start = max(0, (y.size - n) // 2)
    return y[start:start + n]


def windows(y: np.ndarray, sr: int, seconds: float = WINDOW) -> tuple[int, list[np.ndarray]]:
    """``(which is the middle, the windows of y)``: the middle window and one
    either side, shifted inside ``y`` where they would run past it (overlapping in a span
    shorter than three windows; a span no longer than one window is one window)."""
    n = int(seconds * sr)
    if y.size <= n:
        return 0, [y]
    mid = (y.size - n) // 2
    starts = sorted({min(max(mid + k * n, 0), y.size - n) for k in (-1, 0, 1)})
    return starts.index(mid), [y[s:s + n] for s in starts]


def tempo(y: np.ndarray, sr: int) -> tuple[float | None, float]:
    """``(bpm, confidence)`` of a mono span ``y``; ``(None, 0)`` when nothing pulses."""
    reading = analyse(y, sr, key_and_energy=False)
    return reading.bpm, reading.bpm_conf


def key(y: np.ndarray, sr: int) -> tuple[Key | None, float]:
    """``(key, confidence)`` of a mono span ``y`` (read in its middle window, trusted as
    far as the other windows hold it); ``(None, 0)`` for silence or noise."""
    i, spans = windows(y, sr)
    return _key(spans, i, sr, tonality.chromagram(spans[i], sr))


def side_chromagrams(spans: list[np.ndarray], i: int, sr: int) -> list[np.ndarray]:
    """Chromagrams of the windows other than the middle (``spans[i]``): they only vote on
    the middle's key (:func:`.tonality.stability`), so their STFT frames need not overlap."""
    return [tonality.chromagram(s, sr, overlap=1).frames for j, s in enumerate(spans) if j != i]


def _key(spans: list[np.ndarray], i: int, sr: int, chroma: tonality.Chroma,
         final: tonality.FinalProfile | None = None) -> tuple[Key | None, float]:
    return tonality.key(spans[i], sr, chroma=chroma, others=side_chromagrams(spans, i, sr), final=final)


def _final(end: np.ndarray | None, body: np.ndarray, sr: int) -> np.ndarray | None:
    return None if end is None else final_profile(end, sr, body=body)


def analyse(y: np.ndarray, sr: int, *, read_ending: Callable[[], np.ndarray | None] | None = None,
            key_and_energy: bool = True) -> TempoKey:
    """Tempo, key and energy of a mono span (:data:`SPAN`; one chromagram of its middle
    window serves key and tempo). ``read_ending``: gives the last seconds of the track's
    music (:data:`.ending.SECONDS`; None where they can't be read), whose held final sound
    tells a key from its relative; called only when the two nearly tie."""
    i, spans = windows(y, sr)
    onsets = [onsets_of(s, sr) for s in spans]
    chroma = tonality.chromagram(spans[i], sr)
    bpm, bconf = _tempo.tempo(onsets, harmony=harmony(chroma))
    if not chroma.pitched:
        bconf = min(bconf, UNPITCHED_TEMPO_CONF)
    if not key_and_energy:
        return TempoKey(bpm, bconf, None, 0.0)
    final = None if read_ending is None else (lambda: _final(read_ending(), spans[i], sr))
    k, kconf = _key(spans, i, sr, chroma, final)
    return TempoKey(bpm, bconf, k, kconf, energy(spans[i], sr, bpm=bpm, onsets=onsets[i]))
