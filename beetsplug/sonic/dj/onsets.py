"""The spectral front end that tempo, key and energy share: pure numpy.

A power spectrogram, the positive log-spectral flux in 40 log-spaced bands, and from it
two onset envelopes: the whole spectrum's and the snare band's (1.5-6 kHz: snares and
claps, above kick and bass).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..spectrum import power_spectrogram

#: the snare band, Hz
SNARE_BAND = (1500.0, 6000.0)
#: the kick and bass band, Hz
LOW_BAND = (30.0, 150.0)


def _band_flux(y: np.ndarray, sr: int, hop: int) -> tuple[np.ndarray, np.ndarray, float, float]:
    """``(positive log-spectral flux (frames, 40), band centres in Hz, frames per second,
    spectral centroid in Hz)``; the flux in 40 log-spaced bands, 30 Hz-11 kHz."""
    S = power_spectrogram(y, 2 * hop, hop)
    freqs = np.linspace(0, sr / 2, S.shape[1])
    edges = np.geomspace(30, min(11000, sr / 2), 41)
    # the bins of each band are contiguous: sum them in one pass (empty bands stay 0)
    starts = np.searchsorted(freqs, edges, side="right")
    B = np.zeros((S.shape[0], 40), np.float32)
    filled = starts[1:] > starts[:-1]
    B[:, filled] = np.add.reduceat(S[:, :starts[-1]], starts[:-1][filled], axis=1)
    L = np.log1p(1000.0 * B / (B.max() + 1e-12))
    centroid = float(S.sum(axis=0) @ freqs / (S.sum() + 1e-12))
    return np.maximum(np.diff(L, axis=0), 0.0), np.sqrt(edges[:-1] * edges[1:]), sr / hop, centroid


def _detrend(flux: np.ndarray, fps: float) -> np.ndarray:
    """Local mean (0.4 s) removed, half-wave rectified."""
    w = max(1, int(0.4 * fps))
    return np.maximum(flux - np.convolve(flux, np.ones(w) / w, mode="same"), 0.0)


@dataclass(frozen=True)
class Onsets:
    """Onset envelopes of one segment: the whole spectrum's, the snare band's, the low
    band's; and, from the same spectrogram, the segment's spectral ``centroid`` in Hz (its
    brightness, for :func:`.energy.energy`)."""

    env: np.ndarray
    snare: np.ndarray
    fps: float
    low: np.ndarray | None = None
    centroid: float | None = None


def onsets_of(y: np.ndarray, sr: int, *, hop: int = 512) -> Onsets:
    """Positive log-spectral flux summed over 40 log-spaced bands (30 Hz-11 kHz), over
    the snare band and over the low band alone; each with its local mean (0.4 s)
    removed, half-wave rectified."""
    flux, centres, fps, centroid = _band_flux(y, sr, hop)
    snare = (centres >= SNARE_BAND[0]) & (centres <= SNARE_BAND[1])
    low = (centres >= LOW_BAND[0]) & (centres <= LOW_BAND[1])
    return Onsets(_detrend(flux.sum(axis=1), fps), _detrend(flux[:, snare].sum(axis=1), fps), fps,
                  _detrend(flux[:, low].sum(axis=1), fps), centroid)


def onset_peaks(env: np.ndarray) -> np.ndarray:
    """Frame indices of the onsets in an envelope: its peaks above a third of its 95th
    percentile."""
    if env.size < 3:
        return np.empty(0, int)
    floor = np.percentile(env, 95) / 3.0
    inner = (env[1:-1] > floor) & (env[1:-1] >= env[:-2]) & (env[1:-1] > env[2:])
    return np.flatnonzero(inner) + 1


def autocorrelation(env: np.ndarray) -> np.ndarray | None:
    """The normalised autocorrelation of ``env`` (mean removed; lag 0 = 1), ``None`` when flat."""
    env = env - env.mean()
    f = np.fft.rfft(env, 2 * env.size)
    acf = np.fft.irfft(f * np.conj(f))[: env.size]
    return acf / acf[0] if acf[0] > 1e-12 else None


def cross_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """``(2 * n - 1,)`` normalised cross-correlation of two envelopes of one length ``n``
    (means removed): index ``n - 1 + k`` is how much ``b`` follows ``a`` by ``k`` frames.
    ``None`` when either is flat."""
    a, b = a - a.mean(), b - b.mean()
    norm = np.sqrt(np.sum(a * a) * np.sum(b * b))
    if norm <= 1e-12:
        return None
    n = a.size
    f = np.fft.rfft(b, 2 * n) * np.conj(np.fft.rfft(a, 2 * n))
    r = np.fft.irfft(f)
    return np.concatenate([r[-(n - 1):], r[:n]]) / norm
