"""Key from mono audio: tuning, a harmonic pitch-class profile, key profiles. Pure numpy.

1. Spectral peaks of a long-window STFT (8192 points at 22.05 kHz), their frequency and
   level refined by a parabola through the log magnitudes.
2. Tuning: the peaks' deviation from equal temperament at A4 = 440 Hz (a circular mean
   in cents, weighted by level) moves the reference; a track tuned to 432 or 446 Hz
   would otherwise smear every pitch class into its neighbour.
3. The pitch-class profile: each peak counts for its own pitch class and, more weakly,
   for the fundamentals it may be a harmonic of (an octave, a twelfth, two octaves
   below: :data:`HARMONICS`). Without that, the third harmonic of every note (an octave
   and a fifth up) tilts the profile towards the dominant and the key reads a fifth up.
   Never for a fundamental below the lowest a bass plays (:data:`F0_MIN`), or every bass
   note would count for the note a fifth below it.
4. The key: the profile's correlation with the 24 rotations of a major and a minor key
   profile (:data:`PROFILES`); two keys a fifth apart and nearly tied are told apart by
   the degree their scales differ in, a key and its relative by the sound the track ends
   on (:func:`decide`, :mod:`.ending`). The confidence: how much of the
   span holds the key (:func:`stability`: how each 10 s piece of its windows scores it),
   scaled down where the peaks share no tuning (drums alone: :data:`MIN_COHERENCE`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import NamedTuple

import numpy as np

from ..spectrum import power_spectrogram
from .keys import Key

#: major and minor key profiles (C = index 0)
PROFILES = {
    # Krumhansl & Kessler (1982): probe-tone ratings
    "krumhansl": (np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88]),
                  np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])),
    # Temperley (1999): a corpus of tonal scores
    "temperley": (np.array([5.0, 2.0, 3.5, 2.0, 4.5, 4.0, 2.0, 4.5, 2.0, 3.5, 1.5, 4.0]),
                  np.array([5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 1.5, 4.0])),
    # Albrecht & Shanahan (2013): pitch-class distributions of a classical corpus
    "albrecht": (np.array([0.238, 0.006, 0.111, 0.006, 0.137, 0.094, 0.016, 0.214, 0.009, 0.080,
                           0.008, 0.081]),
                 np.array([0.220, 0.006, 0.104, 0.123, 0.019, 0.103, 0.012, 0.214, 0.062, 0.022,
                           0.061, 0.052])),
}


def _z(v: np.ndarray) -> np.ndarray:
    return (v - v.mean()) / v.std()


# both at once (the mean of their standardised values): Albrecht's corpus counts read the
# real-music truth set best, Krumhansl's ratings keep generated timbres from a fifth down
PROFILES["mixed"] = tuple((_z(a) + _z(k)) / 2 for a, k in zip(PROFILES["albrecht"], PROFILES["krumhansl"]))
DEFAULT_PROFILE = "mixed"
#: (divisor, weight): a peak also counts for the pitch of f / divisor. Measured on the
#: real-music truth set (docs/analysis.md): the previous analysis, without it, read 11 of
#: its 18 wrong keys a fifth up; with it 4 of 10 (3 of 9 with :func:`decide`'s tie rule)
HARMONICS = ((1, 1.0), (2, 0.5), (3, 0.5), (4, 0.25), (5, 0.2), (6, 0.2))
FMIN, FMAX = 50.0, 2000.0
#: the lowest fundamental a peak is credited to (Hz; E1, the lowest string of a bass guitar
#: and a double bass): a bass note at 100 Hz is a note, not the third harmonic of a 33 Hz
#: one. Crediting every bass note's fifth below tilted band music towards the subdominant
#: (docs/analysis.md: on the truth set 37 keys of 46 exact with it, 35 without)
F0_MIN = 41.2
#: peak amplitudes are compressed by this exponent: a loud melody note does not drown the
#: chord under it
POWER = 0.5
#: below this margin between two keys a fifth apart, their scales' telling degree decides
#: (:func:`decide`; measured on the truth set: 0.05-0.1 turn one fifth-up into a hit and
#: keep the generated set, 0.2 reads five generated tracks wrong)
FIFTH_TIE = 0.05
#: below this margin between a key and its relative, the final sound of the track decides
#: (:func:`decide`) when the other key's tonic is its strongest pitch class, more than
#: :data:`FINAL_RATIO` times the chosen key's. Measured on the truth sets (docs/analysis.md): margins of 0.2 and 0.3,
#: ratios of 1.5 to 3 each turn three relative misses into hits and no hit into a miss (a
#: margin of 0.1 only one); the generated loops hold no final sound and keep their keys
RELATIVE_TIE, FINAL_RATIO = 0.2, 2.0
#: each window of the span is cut in this many pieces (10 s) for :func:`stability`
PIECES = 3
#: the key confidence: P(right) = sigmoid(a * stability + b), fitted on the truth set
#: (tools/fit_analysis.py). The margin of the best key's correlation over the runner-up's
#: does not tell right from wrong there (AUC 0.50 on 44 keys); the stability does (0.70 on
#: 46, 0.71 on 90 with folk tunes; the pieces' yes/no vote 0.66 on 46)
KEY_CALIBRATION = (12.91, 2.194)
#: below this :func:`tuning` coherence a window's spectral peaks share no tuning: no pitched
#: instrument plays (drums, noise), its chroma follows drum resonances, a key read from it
#: is a guess and its harmony says nothing about the beat. Measured: nine GM drum loops
#: (fluidsynth) 0.009-0.023; the real-music truth set 0.022-0.54, 2nd percentile 0.074 (the
#: 0.022 is a piece of drums, timpani and sound effects)
MIN_COHERENCE = 0.04


class Chroma(NamedTuple):
    """A chromagram: ``frames`` ``(n, 12)`` of unit length (C = 0; silent frames 0), ``fps``
    frames a second, and ``coherence``, how well its spectral peaks share one tuning
    (:func:`tuning`)."""

    frames: np.ndarray
    fps: float
    coherence: float

    @property
    def pitched(self) -> bool:
        """Whether a pitched instrument plays (:data:`MIN_COHERENCE`)."""
        return self.coherence >= MIN_COHERENCE


def _peaks(y: np.ndarray, sr: int, n_fft: int, hop: int, fmin: float = FMIN, fmax: float = FMAX,
           ) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """``(frames, frame index, frequency in Hz, linear amplitude)`` of every spectral peak
    in ``fmin``-``fmax`` within 60 dB of its frame's loudest."""
    P = power_spectrogram(y, n_fft, hop)
    lo, hi = max(1, int(fmin * n_fft / sr)), min(P.shape[1] - 2, int(fmax * n_fft / sr) + 1)
    L = 20 * np.log10(np.sqrt(P[:, lo - 1:hi + 1]) + 1e-9)  # dB, only the bins searched
    a, b, c = L[:, :-2], L[:, 1:-1], L[:, 2:]
    floor = 20 * np.log10(np.sqrt(P.max(axis=1, keepdims=True)) + 1e-9) - 60.0
    f_idx, k = np.nonzero((b > a) & (b >= c) & (b > floor))
    a, b, c = a[f_idx, k], b[f_idx, k], c[f_idx, k]
    den = a - 2 * b + c
    delta = np.where(den < 0, 0.5 * (a - c) / np.where(den < 0, den, -1.0), 0.0)
    level = b - 0.25 * (a - c) * delta
    return P.shape[0], f_idx, (lo + k + delta) * sr / n_fft, 10 ** (level / 20)


def tuning(freqs: np.ndarray, amps: np.ndarray) -> tuple[float, float]:
    """``(reference A4 in Hz, coherence)`` of spectral peaks: the circular mean of their
    deviation from 440 Hz equal temperament, weighted by amplitude, and its length (1: every
    peak on one equal-tempered grid; near 0 when they fall anywhere, as the resonances of
    drums and the peaks of noise do)."""
    if freqs.size == 0:
        return 440.0, 0.0
    cents = 1200 * np.log2(freqs / 440.0)
    z = np.sum(amps * np.exp(2j * np.pi * cents / 100.0))
    dev = np.angle(z) / (2 * np.pi) * 100.0 if abs(z) > 1e-12 else 0.0
    return float(440.0 * 2 ** (dev / 1200)), float(abs(z) / (np.sum(amps) + 1e-12))


@cache
def _by_pitch_class(harmonics: tuple[tuple[int, float], ...]) -> list[tuple[float, list[tuple[int, float]]]]:
    """``harmonics`` grouped by the semitones (mod 12) they move a peak down: divisors an
    octave apart (1, 2, 4; 3, 6) credit one pitch class through one window, so the
    chromagram makes one pass per group, not per divisor."""
    groups: dict[int, tuple[float, list]] = {}
    for divisor, weight in harmonics:
        shift = 12 * np.log2(divisor)
        groups.setdefault(round(shift * 1e6) % 12_000_000, (shift % 12, []))[1].append((divisor, weight))
    return list(groups.values())


def chromagram(y: np.ndarray, sr: int, *, harmonics=HARMONICS, fmin: float = FMIN,
               fmax: float = FMAX, power: float = POWER, overlap: int = 4) -> Chroma:
    """The :class:`Chroma` of mono ``y``. ``power``: the amplitudes' exponent (1 = linear);
    ``overlap``: frames per STFT window (1: a quarter of the work, for a coarser look)."""
    n_fft = 8192 if sr > 16000 else 4096
    hop = n_fft // overlap
    n_frames, frame, freqs, amps = _peaks(y, sr, n_fft, hop, fmin, fmax)
    C = np.zeros((n_frames, 12))
    coherence = 0.0
    if freqs.size:
        amps = amps ** power
        ref, coherence = tuning(freqs, amps)
        pitch = 69 + 12 * np.log2(freqs / ref)
        for shift, members in _by_pitch_class(tuple(harmonics)):
            shifted = pitch - shift
            near = np.round(shifted)
            # a cos^2 window: full credit on the semitone, none half a semitone away
            weight = sum(w * (freqs >= divisor * F0_MIN) for divisor, w in members)
            w = weight * amps * np.cos(np.pi * (shifted - near)) ** 2
            C += np.bincount(frame * 12 + near.astype(int) % 12, w, n_frames * 12).reshape(n_frames, 12)
        C /= np.linalg.norm(C, axis=1, keepdims=True) + 1e-12
    return Chroma(C, sr / hop, coherence)


def pitch_profile(y: np.ndarray, sr: int, **options) -> np.ndarray:
    """``(12,)`` pitch-class profile (C = 0) of mono ``y``; frames count equally
    (``options``: those of :func:`chromagram`)."""
    return chromagram(y, sr, **options)[0].sum(axis=0)


def harmonic_change(C: np.ndarray) -> np.ndarray:
    """``(frames,)`` how much the harmony moves at each frame of a chromagram: one minus
    the cosine to the frame before (0 for the first and for silence)."""
    if C.shape[0] < 2:
        return np.zeros(C.shape[0])
    sim = np.sum(C[1:] * C[:-1], axis=1)
    voiced = (np.any(C[1:], axis=1) & np.any(C[:-1], axis=1))
    return np.concatenate([[0.0], np.where(voiced, 1.0 - sim, 0.0)])


@cache
def _rotations(profiles: str) -> np.ndarray:
    """``(24, 12)``: the standardised major and minor profiles rotated to every tonic."""
    z = [(prof - prof.mean()) / prof.std() for prof in PROFILES[profiles]]
    return np.array([np.roll(zm, t) for zm in z for t in range(12)])


def key_scores(profile: np.ndarray, *, profiles: str = DEFAULT_PROFILE) -> np.ndarray:
    """``(24,)`` correlations: index ``tonic`` for the major keys, ``12 + tonic`` minor."""
    p = (profile - profile.mean()) / (profile.std() + 1e-12)
    return _rotations(profiles) @ p / 12


def relative(index: int) -> int:
    """The relative key of a key index of :func:`key_scores` (A minor for C major)."""
    return (index + 9) % 12 + 12 if index < 12 else (index + 3) % 12


#: the pitch-class profile of the sound a track ends on (:func:`.ending.final_profile`), or
#: None where it holds none: asked for only when a key and its relative nearly tie, since
#: reading it means decoding the end of the file
FinalProfile = Callable[[], "np.ndarray | None"]


def decide(profile: np.ndarray, *, final: FinalProfile | None = None, profiles: str = DEFAULT_PROFILE,
           ) -> int:
    """The key (its index in :func:`key_scores`) of a pitch-class profile: the best
    correlation's. When the two best are keys a fifth apart in one mode and less than
    :data:`FIFTH_TIE` apart, the scale degree that tells their scales apart decides: the
    lower key's fourth (F in C major) against the upper key's leading tone (F# in G major)
    — a profile over all twelve pitch classes is what leaves the two that close. When the
    key and its relative are less than :data:`RELATIVE_TIE` apart, the sound the track ends
    on (``final``: :data:`FinalProfile`) may decide: music ends on its tonic, so the
    relative key wins where its tonic is the final sound's strongest pitch class and more
    than :data:`FINAL_RATIO` times the chosen key's."""
    s = key_scores(profile, profiles=profiles)
    order = np.argsort(s)[::-1]
    best, second = int(order[0]), int(order[1])
    margin = float(s[best] - s[second])
    step = (second - best) % 12
    if margin < FIFTH_TIE and (best >= 12) == (second >= 12) and step in (5, 7):
        lower, upper = (best, second) if step == 7 else (second, best)
        major = lower % 12 if lower < 12 else (lower + 3) % 12  # of the lower key's scale
        best = lower if profile[(major + 5) % 12] > profile[(major + 6) % 12] else upper
    other = relative(best)
    if final is not None and s[best] - s[other] < RELATIVE_TIE:
        end = final()
        if (end is not None and int(np.argmax(end)) == other % 12
                and end[other % 12] > FINAL_RATIO * end[best % 12]):
            best = other
    return best


def stability(best: int, chromas: Sequence[np.ndarray], *, profiles: str = DEFAULT_PROFILE,
              pieces: int = PIECES) -> float:
    """How firmly a span's pieces (each chromagram cut in ``pieces``) hold the key ``best``:
    the mean over the pieces of how far ``best``'s correlation falls short of the piece's
    own best key's (0 when every piece reads ``best``; -1 with no piece to ask). A key the
    whole span holds is trusted; one the rest of the track contradicts (a modulation, a
    bridge in another key, a tonic never settled on) is doubtful, the more the clearer the
    other key is; a piece that only leans to a neighbouring key costs little. (A yes/no
    vote of the pieces, used before, sorted right from wrong keys worse on the truth set:
    held out by source, log-loss 0.54 against 0.48.)"""
    parts = [p.sum(axis=0) for c in chromas for p in np.array_split(c, pieces) if np.any(p)]
    if not parts:
        return -1.0
    scores = np.array([key_scores(p, profiles=profiles) for p in parts])
    return float(np.mean(scores[:, best] - scores.max(axis=1)))


def evidence(C: np.ndarray, others: Sequence[np.ndarray] = (), *, final: FinalProfile | None = None,
             profiles: str = DEFAULT_PROFILE) -> tuple[int, float] | None:
    """``(key index as in :func:`key_scores`, :func:`stability`)`` of a chromagram ``C``,
    asking ``others`` (the span's other windows) whether they hold the key too (``final``:
    as for :func:`decide`); ``None`` for silence or noise."""
    c = C.sum(axis=0)
    if not np.any(c) or np.std(c) < 1e-6:
        return None
    best = decide(c, final=final, profiles=profiles)
    return best, stability(best, [C, *others], profiles=profiles)


def key(y: np.ndarray, sr: int, *, profiles: str = DEFAULT_PROFILE, chroma: Chroma | None = None,
        others: Sequence[np.ndarray] = (), final: FinalProfile | None = None) -> tuple[Key | None, float]:
    """``(key, confidence)`` of mono ``y``; ``(None, 0)`` for silence or noise.
    ``chroma``: :func:`chromagram` of ``y``, when the caller has it already; ``others``: the
    chromagram frames of the span's other windows (:func:`evidence`); ``final``: the sound
    the track ends on (:func:`decide`)."""
    chroma = chromagram(y, sr) if chroma is None else chroma
    found = evidence(chroma.frames, others, final=final, profiles=profiles)
    if found is None:
        return None, 0.0
    best, stable = found
    return Key(best % 12, best >= 12), key_confidence(stable, chroma.coherence)


def key_confidence(stable: float, coherence: float = 1.0,
                   calibration: tuple[float, float] = KEY_CALIBRATION) -> float:
    """The probability that a key is right, from how firmly the span holds it
    (:func:`stability`); a key read where no pitched instrument plays (a :func:`tuning`
    coherence under :data:`MIN_COHERENCE`) is doubtful in proportion."""
    a, b = calibration
    return float(min(1.0, coherence / MIN_COHERENCE) / (1 + np.exp(-(a * stable + b))))
