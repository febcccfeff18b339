"""The seed's broken approach, rebuilt for comparison: the mean of 28 frame features.

MFCC 1-12, spectral centroid, rolloff, zero-crossing rate, RMS and 12 chroma
bins, averaged over the frames of a 30 s midpoint segment, L2-normalised, no
standardisation. Used by ``spectral_quality.py``.
"""

from __future__ import annotations

import numpy as np
from _audio import ROOT  # noqa: F401  (puts the plugin on sys.path)

from beetsplug.sonic.audio import load_segments
from beetsplug.sonic.backends.spectral import HOP, N_FFT, SR, dct_matrix, mel_filterbank, power_spectrogram


def chroma_filterbank(sr: int, n_fft: int) -> np.ndarray:
    freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)[1:]
    pc = np.round(12 * np.log2(freqs / 440.0) + 69).astype(int) % 12
    fb = np.zeros((n_fft // 2 + 1, 12), np.float32)
    fb[np.arange(1, n_fft // 2 + 1), pc] = 1.0
    fb[freqs.size:, :] *= 1
    return fb


def seed_features(path: str, *, segment: float = 30.0) -> np.ndarray:
    (y,) = load_segments(path, sr=SR, length=segment, positions=(0.5,))
    S = power_spectrogram(y, N_FFT, HOP)
    freqs = np.linspace(0, SR / 2, S.shape[1])
    logmel = 10 * np.log10(np.maximum(S @ mel_filterbank(SR, N_FFT, 40), 1e-10))
    mfcc = (logmel @ dct_matrix(40, 13))[:, 1:13]
    total = S.sum(axis=1) + 1e-10
    centroid = (S @ freqs) / total
    cum = np.cumsum(S, axis=1)
    rolloff = freqs[np.minimum((cum < 0.85 * cum[:, -1:]).sum(axis=1), freqs.size - 1)]
    n = 1 + (y.size - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(y, (n, N_FFT), (4 * HOP, 4))
    zcr = (np.abs(np.diff(np.sign(frames), axis=1)) > 0).mean(axis=1)
    rms = np.sqrt((frames ** 2).mean(axis=1))
    chroma = S @ chroma_filterbank(SR, N_FFT)
    chroma = chroma / (chroma.sum(axis=1, keepdims=True) + 1e-10)
    feats = np.concatenate([mfcc.mean(0), [centroid.mean(), rolloff.mean(), zcr.mean(), rms.mean()],
                            chroma.mean(0)])
    return feats.astype(np.float32)
