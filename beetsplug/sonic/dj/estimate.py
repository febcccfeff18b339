"""Tempo, key and energy of one decoded segment: the analysis that rides along with embedding.

The parts live in their own modules: :mod:`.onsets` (the spectral front end they share),
:mod:`.tempo` (metrical level judged on evidence, a confidence that is a probability),
:mod:`.tonality` (tuning, a harmonic pitch-class profile, key profiles) and
:mod:`.energy`. This module runs them on one segment and says what they found.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import tempo as _tempo
from . import tonality
from .energy import energy
from .keys import Key
from .onsets import Onsets, onsets_of

__all__ = ["ANALYSIS_VERSION", "Onsets", "TempoKey", "analyse", "key", "onsets_of", "tempo"]

#: stored as ``sonic_analysis`` with every reading: ``beet embed --analysis`` re-runs
#: items read by an older version (1: the first analysis, which had no such field)
ANALYSIS_VERSION = 2


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


def _harmony(chroma: np.ndarray, fps: float) -> _tempo.Harmony:
    return _tempo.Harmony(tonality.harmonic_change(chroma), fps)


def tempo(y: np.ndarray, sr: int, *, onsets: Onsets | None = None) -> tuple[float | None, float]:
    """``(bpm, confidence)`` of mono ``y``; ``(None, 0)`` when nothing pulses.
    ``onsets``: :func:`onsets_of` ``y``, when the caller has them already."""
    return _tempo.tempo(onsets or onsets_of(y, sr), harmony=_harmony(*tonality.chromagram(y, sr)))


def key(y: np.ndarray, sr: int) -> tuple[Key | None, float]:
    """``(key, confidence)`` of mono ``y``; ``(None, 0)`` for silence or noise."""
    return tonality.key(y, sr)


def analyse(y: np.ndarray, sr: int) -> TempoKey:
    """Tempo, key and energy of one mono segment (one chromagram serves key and tempo)."""
    onsets = onsets_of(y, sr)
    chroma, fps = tonality.chromagram(y, sr)
    bpm, bconf = _tempo.tempo(onsets, harmony=_harmony(chroma, fps))
    k, kconf = tonality.key(y, sr, chroma=chroma)
    return TempoKey(bpm, bconf, k, kconf, energy(y, sr, bpm=bpm, onsets=onsets))
