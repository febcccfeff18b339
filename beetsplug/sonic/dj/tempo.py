"""Tempo from an onset envelope: candidates at every metrical level, judged on evidence.

1. Candidates: the peaks of a comb over the envelope's autocorrelation (the beat period
   and its multiples) between 30 and 300 BPM, and for the strongest one every related
   metrical level (x2, x1/2, x3/2, x2/3, x3, x1/3) at its own peak.
2. Evidence per candidate (:func:`features`): how strongly the envelope repeats at one,
   two, three and four beats and at the half and third beat (duple against triple
   grouping: a 3/4 piece at 180 repeats every bar of three beats, which a duple comb
   mistakes for two beats of 120) and at a quarter beat, the backbeat (a snare-band
   envelope repeating every two beats rather than every one), the kick band repeating every
   two beats, how many onsets fall in a beat, and where the tempo sits (a log-normal
   preference, learned like the rest). Given several windows of a track, candidates come
   from their mean autocorrelation and the evidence is averaged over them.
3. A linear score over that evidence, fitted on a development set of real compositions
   whose source files state their tempo (``tools/fit_analysis.py``: a conditional logit, one
   choice among each track's candidates). The winner's probability among the candidates
   is the confidence: tracks whose reading is ambiguous between levels get low values.
4. The winner's period refined to 0.01 BPM on a comb over up to 16 beats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .onsets import Onsets, autocorrelation, cross_correlation, onset_peaks

TEMPO_MIN, TEMPO_MAX = 30.0, 300.0
#: the candidate grid: 1/96 octave
GRID = TEMPO_MIN * 2.0 ** (np.arange(int(96 * np.log2(TEMPO_MAX / TEMPO_MIN)) + 1) / 96.0)
#: multiples of the beat period the candidate comb listens at
COMB = (0.5, 1, 2, 3, 4)
LEVELS = (2.0, 0.5, 1.5, 2 / 3, 3.0, 1 / 3)
N_CANDIDATES = 10
FEATURES = ("log2 tempo/120", "(log2 tempo/120)^2", "acf 1 beat", "acf 2 beats", "acf 3 beats",
            "acf 4 beats", "acf third beat", "backbeat", "log2 onsets per beat", "beat prominence",
            "harmony acf 1 beat", "harmony acf 2 beats", "harmony acf 4 beats",
            "kick-snare one beat apart", "acf quarter beat", "low band acf 2 beats")
#: weights of :data:`FEATURES`, fitted by tools/fit_analysis.py
WEIGHTS = np.array([-0.0997, -2.003, 3.985, -0.8788, 1.299, 3.888, -4.781, 1.344, 0.08057, 0.5281,
                    -2.362, 0.1048, -1.591, -0.6129, -1.104, 1.139])
#: the confidence: the winner's probability among the candidates, calibrated on held-out
#: tracks (Platt scaling of its log-odds, tools/fit_analysis.py)
CALIBRATION = (0.5714, 0.8917)
#: phases per beat when the envelope is folded at a candidate's period
PHASES = 24


def _at(acf: np.ndarray, lags: np.ndarray) -> np.ndarray:
    return np.interp(lags, np.arange(acf.size), acf, right=0.0)


def _comb(acf: np.ndarray, fps: float, bpms: np.ndarray, multiples=COMB) -> np.ndarray:
    lags = 60.0 * fps / bpms
    return np.mean([_at(acf, k * lags) for k in multiples], axis=0)


def _peaks_of(values: np.ndarray) -> np.ndarray:
    inner = (values[1:-1] > values[:-2]) & (values[1:-1] >= values[2:])
    return np.flatnonzero(inner) + 1


def candidates(acf: np.ndarray, fps: float) -> np.ndarray:
    """Candidate tempi (BPM) of one envelope's autocorrelation, strongest first."""
    comb = _comb(acf, fps, GRID)
    peaks = _peaks_of(comb)
    if peaks.size == 0:
        return np.empty(0)
    peaks = peaks[np.argsort(comb[peaks])[::-1]][:N_CANDIDATES]
    chosen = list(GRID[peaks])
    top = chosen[0]
    for ratio in LEVELS:
        target = top * ratio
        near = np.flatnonzero(np.abs(GRID / target - 1) <= 0.03)
        if near.size == 0:
            continue
        i = int(near[np.argmax(comb[near])])
        if all(abs(GRID[i] / c - 1) > 0.01 for c in chosen):
            chosen.append(float(GRID[i]))
    return np.array(chosen)


def onset_density(env: np.ndarray, fps: float) -> float:
    """Onsets per second (:func:`.onsets.onset_peaks`)."""
    return float(onset_peaks(env).size / (env.size / fps)) if env.size >= 3 else 0.0


def folded(env: np.ndarray, lag: float) -> np.ndarray:
    """``(PHASES,)`` the envelope's mean at each phase of a beat ``lag`` frames long,
    over the whole envelope (a beat grid laid at every phase)."""
    beats = np.arange(int((env.size - 1) / lag))
    pos = (np.arange(PHASES) / PHASES)[:, None] * lag + beats[None, :] * lag
    return np.interp(pos, np.arange(env.size), env).mean(axis=1)


def prominence(env: np.ndarray, lag: float) -> float:
    """How sharply a beat of ``lag`` frames shapes the envelope: its strongest phase over
    the mean of all phases (a beat grid at a level too fast folds strong and weak beats
    together; one at the right level lines up the accents)."""
    prof = folded(env, lag)
    return float(prof.max() / (prof.mean() + 1e-12))


@dataclass(frozen=True)
class Harmony:
    """How the harmony moves (:func:`.tonality.harmonic_change`), at ``fps`` frames a second."""

    change: np.ndarray
    fps: float


def _harmony_features(bpms: np.ndarray, harmony: Harmony | None) -> np.ndarray:
    """``(len(bpms), 3)``: how strongly the harmony repeats at one, two and four beats
    (chords change on the bar and half bar of the true beat, not of its half or double)."""
    acf = autocorrelation(harmony.change) if harmony is not None and harmony.change.size > 8 else None
    if acf is None:
        return np.zeros((bpms.size, 3))
    lag = 60.0 * harmony.fps / bpms
    return np.column_stack([_at(acf, k * lag) for k in (1, 2, 4)])


def _alternation(bpms: np.ndarray, o: Onsets) -> np.ndarray:
    """``(len(bpms),)``: how much the snare band follows the low band (and the low band the
    snare) one beat later, minus at the same time: a kick on 1 and 3 and a snare on 2 and 4
    alternate at the true beat, not at its half or double."""
    xc = cross_correlation(_smooth(o.low), _smooth(o.snare)) if o.low is not None else None
    if xc is None:
        return np.zeros(bpms.size)
    n = o.env.size
    lag = 60.0 * o.fps / bpms
    idx = np.arange(xc.size)
    ahead = np.interp(n - 1 + lag, idx, xc, right=0.0)
    behind = np.interp(n - 1 - lag, idx, xc, left=0.0)
    return (ahead + behind) / 2 - xc[n - 1]


@dataclass(frozen=True)
class _Window:
    """One window's onset envelopes, smoothed, and their autocorrelations."""

    onsets: Onsets
    smooth: np.ndarray
    acf: np.ndarray
    snare_acf: np.ndarray | None
    low_acf: np.ndarray | None
    density: float

    @classmethod
    def of(cls, o: Onsets) -> _Window | None:
        if o.env.size < 4 * o.fps or not np.any(o.env):
            return None
        smooth = _smooth(o.env)
        acf = autocorrelation(smooth)
        if acf is None:
            return None
        low = autocorrelation(_smooth(o.low)) if o.low is not None else None
        return cls(o, smooth, acf, autocorrelation(_smooth(o.snare)), low, onset_density(o.env, o.fps))


def _or_zero(acf: np.ndarray | None, lags: np.ndarray) -> np.ndarray:
    return _at(acf, lags) if acf is not None else np.zeros(lags.size)


def features(bpms: np.ndarray, w: _Window, harmony: np.ndarray) -> np.ndarray:
    """``(len(bpms), len(FEATURES))`` evidence for each candidate tempo in one window;
    ``harmony``: :func:`_harmony_features` of the candidates."""
    fps, acf = w.onsets.fps, w.acf
    lag = 60.0 * fps / bpms
    x = np.log2(bpms / 120.0)
    sn = _or_zero(w.snare_acf, 2 * lag) - _or_zero(w.snare_acf, lag)
    per_beat = np.log2(np.maximum(w.density * 60.0 / bpms, 1.0 / 16))
    prom = np.array([prominence(w.smooth, float(beat)) for beat in lag])
    return np.column_stack([x, x * x, _at(acf, lag), _at(acf, 2 * lag), _at(acf, 3 * lag),
                            _at(acf, 4 * lag), _at(acf, lag / 3), sn, per_beat, prom, harmony,
                            _alternation(bpms, w.onsets), _at(acf, lag / 4),
                            _or_zero(w.low_acf, 2 * lag)])


def refine(acf: np.ndarray, fps: float, bpm: float) -> float:
    """The period near ``bpm`` (within 2 %) that best fits every beat over up to 16 beats."""
    fine = bpm * np.linspace(0.98, 1.02, 401)
    beats = max(1, min(16, int(acf.size * 0.75 / (60.0 * fps / bpm))))
    return float(fine[np.argmax(_comb(acf, fps, fine, range(1, beats + 1)))])


def choose(feats: np.ndarray, weights: np.ndarray = WEIGHTS) -> tuple[int, float]:
    """``(index of the winning candidate, its probability among the candidates)``."""
    s = feats @ weights
    p = np.exp(s - s.max())
    p /= p.sum()
    i = int(np.argmax(p))
    return i, float(p[i])


def calibrated(p: float, calibration: tuple[float, float] = CALIBRATION) -> float:
    """The probability that a reading is right, from its share ``p`` among the candidates."""
    a, b = calibration
    z = np.log(max(p, 1e-6) / max(1 - p, 1e-6))
    return float(1 / (1 + np.exp(-(a * z + b))))


def _smooth(env: np.ndarray) -> np.ndarray:
    """A 5-frame Hann smoothing (about 0.1 s): onsets a frame early or late still line up
    with a period that falls between two frames."""
    w = np.hanning(7)[1:-1]
    return np.convolve(env, w / w.sum(), mode="same")


def evidence(onsets: Onsets | list[Onsets], harmony: Harmony | None = None,
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(acf, candidate BPMs, their features)`` of one window's onset envelopes or of
    several windows' (the candidates from their mean autocorrelation, the evidence
    averaged over them: a tempo the whole span agrees on), or None when nothing pulses.
    ``harmony``: how the harmony moves in one of them (the middle)."""
    windows = [w for w in map(_Window.of, [onsets] if isinstance(onsets, Onsets) else onsets) if w]
    if not windows:
        return None
    fps = windows[0].onsets.fps
    n = min(w.acf.size for w in windows)
    acf = np.mean([w.acf[:n] for w in windows], axis=0)
    bpms = candidates(acf, fps)
    if bpms.size == 0:
        return None
    bpms = np.array([refine(acf, fps, b) for b in bpms])
    moves = _harmony_features(bpms, harmony)
    return acf, bpms, np.mean([features(bpms, w, moves) for w in windows], axis=0)


def tempo(onsets: Onsets | list[Onsets], *, harmony: Harmony | None = None,
          weights: np.ndarray = WEIGHTS) -> tuple[float | None, float]:
    """``(bpm, confidence)`` from the onset envelopes of one window or several (and how
    the harmony moves, when known); ``(None, 0)`` when nothing pulses."""
    ev = evidence(onsets, harmony)
    if ev is None:
        return None, 0.0
    acf, bpms, feats = ev
    i, p = choose(feats, weights)
    return round(float(bpms[i]), 1), calibrated(p)
