"""Tempo and key from mono audio: pure numpy, cheap enough to ride along with embedding.

Tempo: a log-mel onset envelope (positive spectral flux, local mean removed), its
autocorrelation, and a comb over the first four multiples of each candidate beat
period (60-200 BPM in 0.05 BPM steps), weighted by a broad prior centred on 120 BPM
(half an octave wide). Then the metrical level: popular music puts its snare or clap on
beats 2 and 4, so the beat is the level at which a snare-band (1.5-6 kHz) onset envelope
repeats every two beats and not every one. When that backbeat is clear at half, 3/2 or
twice the prior's reading and not at the reading itself, the backbeat's level wins: drum &
bass reads 170, not 85 or 113; swung hip-hop reads 85, not 170. Music without a clear
backbeat keeps the prior's reading. Confidence: how far the winning comb score stands
above the typical one (0-1).

Key: a chromagram from the spectral peaks of a long-window STFT (2.7 Hz bins,
55 Hz-2 kHz, each peak credited to its nearest semitone), frames normalised so loud
passages don't dominate, summed, and correlated with the 24 rotations of the Krumhansl-Kessler
major and minor profiles. Confidence: the margin between the best and the
second-best key's correlation, 0.1 or more = 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .keys import Key

TEMPO_MIN, TEMPO_MAX, TEMPO_STEP = 60.0, 200.0, 0.05
PRIOR_CENTRE, PRIOR_OCTAVES = 120.0, 0.5
#: the snare band, Hz: snares and claps, above kick and bass
SNARE_BAND = (1500.0, 6000.0)
#: other metrical levels the backbeat may move a reading to
LEVELS = (0.5, 1.5, 2.0)
#: how clear a backbeat must be to move the reading: snare-band autocorrelation at two
#: beats minus at one beat (generated backbeats 0.51-1.0; real tracks the rule would
#: move at 0.3 mostly disagree with Essentia, docs/performance.md), and by how much it
#: must beat the reading's own
BACKBEAT_MIN, BACKBEAT_MARGIN = 0.5, 0.1
#: multiples of the beat period the comb listens at: the half beat, then 1-4 beats
COMB = (0.5, 1, 2, 3, 4)
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


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
                "key_conf": round(self.key_conf, 3)}


def _stft_power(y: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """``(frames, n_fft // 2 + 1)`` power spectrogram, Hann window."""
    y = np.asarray(y, np.float32)
    if y.size < n_fft:
        y = np.pad(y, (0, n_fft - y.size))
    n = 1 + (y.size - n_fft) // hop
    frames = np.lib.stride_tricks.as_strided(y, (n, n_fft), (y.strides[0] * hop, y.strides[0]))
    spec = np.fft.rfft(frames * np.hanning(n_fft).astype(np.float32), axis=1)
    return (spec.real ** 2 + spec.imag ** 2).astype(np.float32)


def _band_flux(y: np.ndarray, sr: int, hop: int) -> tuple[np.ndarray, np.ndarray, float]:
    """``(positive log-spectral flux (frames, 40), band centres in Hz, frames per second)``
    in 40 log-spaced bands, 30 Hz-11 kHz."""
    S = _stft_power(y, 2 * hop, hop)
    freqs = np.linspace(0, sr / 2, S.shape[1])
    edges = np.geomspace(30, min(11000, sr / 2), 41)
    band = np.searchsorted(edges, freqs) - 1
    valid = (band >= 0) & (band < 40)
    B = np.zeros((S.shape[0], 40), np.float32)
    np.add.at(B.T, band[valid], S[:, valid].T)
    L = np.log1p(1000.0 * B / (B.max() + 1e-12))
    return np.maximum(np.diff(L, axis=0), 0.0), np.sqrt(edges[:-1] * edges[1:]), sr / hop


def _detrend(flux: np.ndarray, fps: float) -> np.ndarray:
    """Local mean (0.4 s) removed, half-wave rectified."""
    w = max(1, int(0.4 * fps))
    return np.maximum(flux - np.convolve(flux, np.ones(w) / w, mode="same"), 0.0)


@dataclass(frozen=True)
class Onsets:
    """Onset envelopes of one segment: the whole spectrum's, the snare band's."""

    env: np.ndarray
    snare: np.ndarray
    fps: float


def onsets_of(y: np.ndarray, sr: int, *, hop: int = 512) -> Onsets:
    """Positive log-spectral flux summed over 40 log-spaced bands (30 Hz-11 kHz), and over
    the snare band alone; each with its local mean (0.4 s) removed, half-wave rectified."""
    flux, centres, fps = _band_flux(y, sr, hop)
    snare = (centres >= SNARE_BAND[0]) & (centres <= SNARE_BAND[1])
    return Onsets(_detrend(flux.sum(axis=1), fps), _detrend(flux[:, snare].sum(axis=1), fps), fps)


def _acf(env: np.ndarray) -> np.ndarray | None:
    env = env - env.mean()
    f = np.fft.rfft(env, 2 * env.size)
    acf = np.fft.irfft(f * np.conj(f))[: env.size]
    return acf / acf[0] if acf[0] > 1e-12 else None


def backbeat(acf: np.ndarray, fps: float, bpm: float) -> float:
    """How much more a snare-band envelope (its autocorrelation ``acf``) repeats every two
    beats of ``bpm`` than every one: high when the snare lands on 2 and 4."""
    beat = 60.0 * fps / bpm
    lags = np.arange(acf.size)
    return float(np.interp(2 * beat, lags, acf, right=0.0) - np.interp(beat, lags, acf, right=0.0))


def _metrical_level(bpms: np.ndarray, comb: np.ndarray, best: int, snare: np.ndarray,
                    fps: float) -> int:
    """The index of the reading the backbeat settles on (``best`` when it is unclear):
    each other level is taken at its own comb peak within 3 %. A reading whose snare band
    repeats more every beat than every two (off-beat hats, a 16th-note synth line) is
    never halved: its beats are marked already, and a pattern that repeats every bar
    would pass for a backbeat at half its tempo."""
    acf = _acf(snare)
    if acf is None:
        return best
    own = backbeat(acf, fps, bpms[best])
    choice, clearest = best, own
    for ratio in LEVELS:
        if ratio < 1 and own < 0:
            continue
        near = np.flatnonzero(np.abs(bpms / (bpms[best] * ratio) - 1) <= 0.03)
        if near.size:
            i = int(near[np.argmax(comb[near])])
            b = backbeat(acf, fps, bpms[i])
            if b > clearest:
                choice, clearest = i, b
    if clearest >= BACKBEAT_MIN and clearest - own >= BACKBEAT_MARGIN:
        return choice
    return best


def tempo(y: np.ndarray, sr: int, *, onsets: Onsets | None = None) -> tuple[float | None, float]:
    """``(bpm, confidence)`` of mono ``y``; ``(None, 0)`` when nothing pulses.
    ``onsets``: :func:`onsets_of` ``y``, when the caller has them already."""
    o = onsets or onsets_of(y, sr)
    env, fps = o.env, o.fps
    if env.size < 4 * fps or not np.any(env):
        return None, 0.0
    acf = _acf(env)
    if acf is None:
        return None, 0.0
    n = acf.size
    bpms = np.arange(TEMPO_MIN, TEMPO_MAX + TEMPO_STEP / 2, TEMPO_STEP)
    lags = 60.0 * fps / bpms
    comb = np.mean([np.interp(k * lags, np.arange(n), acf, right=0.0) for k in COMB], axis=0)
    prior = np.exp(-0.5 * (np.log2(bpms / PRIOR_CENTRE) / PRIOR_OCTAVES) ** 2)
    score = np.maximum(comb, 0.0) * prior
    best = int(np.argmax(score))
    if score[best] <= 0:
        return None, 0.0
    best = _metrical_level(bpms, comb, best, o.snare, fps)
    conf = float(np.clip((comb[best] - np.median(comb)) / (abs(comb[best]) + 1e-9), 0.0, 1.0))
    return round(float(bpms[best]), 1), conf


def chroma(y: np.ndarray, sr: int) -> np.ndarray:
    """``(12,)`` pitch-class profile (C = 0) of mono ``y``, frames weighted equally."""
    n_fft = 8192 if sr > 16000 else 4096
    S = np.sqrt(_stft_power(y, n_fft, n_fft))
    # spectral peaks only: drums' broadband energy would otherwise colour every pitch class
    peak = np.zeros_like(S)
    local = (S[:, 1:-1] > S[:, :-2]) & (S[:, 1:-1] >= S[:, 2:])
    peak[:, 1:-1] = S[:, 1:-1] * local
    S = peak
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    use = (freqs >= 55.0) & (freqs <= 2000.0)
    midi = 69 + 12 * np.log2(freqs[use] / 440.0)
    pc = np.round(midi).astype(int) % 12
    weight = 1.0 - np.abs(midi - np.round(midi))  # a bin between two semitones counts less
    C = np.zeros((S.shape[0], 12), np.float32)
    np.add.at(C.T, pc, (S[:, use] * weight).T)
    C /= np.linalg.norm(C, axis=1, keepdims=True) + 1e-9
    return C.sum(axis=0)


def key(y: np.ndarray, sr: int) -> tuple[Key | None, float]:
    """``(key, confidence)`` of mono ``y``; ``(None, 0)`` for silence or noise."""
    c = chroma(y, sr)
    if not np.any(c) or np.std(c) < 1e-6:
        return None, 0.0
    scores = []
    for minor, profile in ((False, KK_MAJOR), (True, KK_MINOR)):
        for tonic in range(12):
            scores.append((float(np.corrcoef(c, np.roll(profile, tonic))[0, 1]), tonic, minor))
    scores.sort(reverse=True)
    (r1, tonic, minor), (r2, _, _) = scores[0], scores[1]
    return Key(tonic, minor), float(np.clip((r1 - r2) / 0.1, 0.0, 1.0))


def analyse(y: np.ndarray, sr: int) -> TempoKey:
    """Tempo, key and energy (dj.energy) of one mono segment."""
    from .energy import energy

    onsets = onsets_of(y, sr)
    bpm, bconf = tempo(y, sr, onsets=onsets)
    k, kconf = key(y, sr)
    return TempoKey(bpm, bconf, k, kconf, energy(y, sr, bpm=bpm, onsets=onsets))
