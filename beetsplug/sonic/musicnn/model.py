"""MusiCNN (Pons & Serra) forward pass in numpy, inference only.

Shapes: a batch of ``B`` patches of ``T = 187`` frames x ``F = 96`` mel bands.

front end   batch norm of the input; two timbral convolutions (7x38, 7x67 -> 204
            filters each) and three temporal ones (128x1, 64x1, 32x1 -> 51 each),
            each ReLU -> batch norm -> max over frequency        -> (B, T, 561)
mid end     three 7-frame convolutions over all features to 64 channels with
            residual connections; front end and mid-end outputs concatenated
                                                                  -> (B, T, 753)
back end    max and mean over time (interleaved per feature)      -> (B, 1506)
            batch norm -> dense 200 ReLU -> batch norm = "penultimate" (B, 200)
            -> dense 50 -> sigmoid = MSD tag probabilities        (B, 50)

The original pads time 3 frames each side before the 7-frame convolutions and
uses TensorFlow's 'same' padding (63 before / 64 after for 128) for the temporal
ones; batch norm epsilon is TF's default 1e-3.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import FatalError
from . import checkpoint

SR = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
N_FRAMES = 187  # 3 s patches
EPS = 1e-3
MSD_TAGS = ["rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
            "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists",
            "classic rock", "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s",
            "chill", "instrumental", "punk", "oldies", "blues", "hard rock", "ambient", "acoustic",
            "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country",
            "easy listening", "sexy", "catchy", "funk", "electro", "heavy metal", "Progressive rock",
            "60s", "rnb", "indie pop", "sad", "House", "happy"]


# --- the mel front end (librosa's defaults, in float32) ------------------------------


def _hz_to_mel(f):
    f = np.asarray(f, np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    mels = f / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_hz / f_sp + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, mels)


def _mel_to_hz(m):
    m = np.asarray(m, np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


@lru_cache(maxsize=2)
def mel_filters(sr: int = SR, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """Slaney mel filters with Slaney area normalisation, ``(n_fft // 2 + 1, n_mels)``."""
    fft_freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sr / 2), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2: n_mels + 2] - mel_f[:n_mels]))[:, None]
    return weights.T.astype(np.float32)


def log_mel(y: np.ndarray) -> np.ndarray:
    """``log10(10000 * mel + 1)`` of mono 16 kHz ``y`` -> ``(frames, 96)`` float32.

    Centred frames (zero padding of n_fft/2), periodic Hann window, power 2 --
    librosa's defaults, computed in float32 throughout (the original casts to
    float16 before the log, which overflows under NumPy 2).
    """
    y = np.pad(np.asarray(y, np.float32), N_FFT // 2)
    n = 1 + (y.size - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(y, (n, N_FFT), (y.strides[0] * HOP, y.strides[0]))
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)
    spec = np.fft.rfft(frames * window, axis=1)
    power = (spec.real ** 2 + spec.imag ** 2).astype(np.float32)
    return np.log10(10000.0 * (power @ mel_filters()) + 1.0).astype(np.float32)


def patches(mel: np.ndarray, n_frames: int = N_FRAMES) -> np.ndarray:
    """Non-overlapping ``(B, n_frames, 96)`` patches; a short input is repeat-padded."""
    if mel.shape[0] < n_frames:
        reps = -(-n_frames // max(mel.shape[0], 1))
        mel = np.tile(mel, (reps, 1))[:n_frames]
    b = mel.shape[0] // n_frames
    return np.ascontiguousarray(mel[: b * n_frames].reshape(b, n_frames, mel.shape[1]))


# --- the network ---------------------------------------------------------------------------


class MusiCNN:
    def __init__(self, weights: dict[str, np.ndarray]):
        self.w = weights
        try:
            self._prepare()
        except KeyError as exc:
            raise FatalError(f"the musicnn checkpoint lacks tensor {exc}: is it MSD_musicnn?") from None

    @classmethod
    def load(cls, prefix: str | None = None) -> "MusiCNN":
        prefix = prefix or checkpoint.find_weights()
        if prefix is None:
            raise FatalError("the musicnn weights are not installed: "
                             "pip install --no-deps musicnn==0.1.0")
        return cls(checkpoint.load(prefix))

    def _bn(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Batch norm as ``x * scale + shift``."""
        g, b = self.w[f"{name}/gamma"], self.w[f"{name}/beta"]
        m, v = self.w[f"{name}/moving_mean"], self.w[f"{name}/moving_variance"]
        scale = g / np.sqrt(v + EPS)
        return scale.astype(np.float32), (b - m * scale).astype(np.float32)

    def _prepare(self) -> None:
        w = self.w
        self.bn_in = self._bn("batch_normalization")
        self.timbral = []
        for conv, bn in (("conv2d", "batch_normalization_1"), ("conv2d_1", "batch_normalization_2")):
            k = w[f"{conv}/kernel"]  # (7, width, 1, 204)
            self.timbral.append((k.shape[1], k.reshape(-1, k.shape[-1]), w[f"{conv}/bias"], self._bn(bn)))
        self.temporal = []
        for conv, bn in (("conv2d_2", "batch_normalization_3"), ("conv2d_3", "batch_normalization_4"),
                         ("conv2d_4", "batch_normalization_5")):
            k = w[f"{conv}/kernel"]  # (length, 1, 1, 51)
            self.temporal.append((k.shape[0], k.reshape(k.shape[0], -1), w[f"{conv}/bias"], self._bn(bn)))
        self.mid = []
        for conv, bn in (("conv2d_5", "batch_normalization_6"), ("conv2d_6", "batch_normalization_7"),
                         ("conv2d_7", "batch_normalization_8")):
            k = w[f"{conv}/kernel"]  # (7, in, 1, 64)
            self.mid.append((k.reshape(-1, k.shape[-1]), w[f"{conv}/bias"], self._bn(bn)))
        self.bn_pool = self._bn("batch_normalization_9")
        self.dense = (w["dense/kernel"], w["dense/bias"])
        self.bn_dense = self._bn("batch_normalization_10")
        self.out = (w["dense_1/kernel"], w["dense_1/bias"])

    @staticmethod
    def _conv_relu_bn(windows: np.ndarray, kernel: np.ndarray, bias: np.ndarray, bn) -> np.ndarray:
        flat = windows.reshape(-1, kernel.shape[0])
        z = np.maximum(flat @ kernel + bias, 0.0)
        return (z * bn[0] + bn[1]).reshape(*windows.shape[:-2 if windows.ndim > 3 else -1], -1)

    def forward(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Run patches ``(B, 187, 96)``; returns the layers the embedding can use."""
        X = np.asarray(X, np.float32)
        B, T, F = X.shape
        x = X * self.bn_in[0] + self.bn_in[1]
        feats = []
        xp = np.pad(x, ((0, 0), (3, 3), (0, 0)))
        for width, kernel, bias, bn in self.timbral:
            win = sliding_window_view(xp, (7, width), axis=(1, 2))  # (B, T, F-width+1, 7, width)
            z = np.maximum(win.reshape(-1, 7 * width) @ kernel + bias, 0.0) * bn[0] + bn[1]
            feats.append(z.reshape(B, T, F - width + 1, -1).max(axis=2))
        for length, kernel, bias, bn in self.temporal:
            before = (length - 1) // 2
            xt = np.pad(x, ((0, 0), (before, length - 1 - before), (0, 0)))
            win = sliding_window_view(xt, length, axis=1)  # (B, T, F, length)
            z = np.maximum(win.reshape(-1, length) @ kernel + bias, 0.0) * bn[0] + bn[1]
            feats.append(z.reshape(B, T, F, -1).max(axis=2))
        front = np.concatenate(feats, axis=2)  # (B, T, 561)
        outs = [front]
        h = front
        for i, (kernel, bias, bn) in enumerate(self.mid):
            hp = np.pad(h, ((0, 0), (3, 3), (0, 0)))
            win = sliding_window_view(hp, 7, axis=1)  # (B, T, C, 7) -> need (7, C) order
            win = win.transpose(0, 1, 3, 2).reshape(B * T, -1)
            z = (np.maximum(win @ kernel + bias, 0.0) * bn[0] + bn[1]).reshape(B, T, -1)
            h = z if i == 0 else z + h
            outs.append(h)
        mid = np.concatenate(outs, axis=2)  # (B, T, 753)
        max_pool, mean_pool = mid.max(axis=1), mid.mean(axis=1)
        pooled = np.stack([max_pool, mean_pool], axis=2).reshape(B, -1) * self.bn_pool[0] + self.bn_pool[1]
        dense = np.maximum(pooled @ self.dense[0] + self.dense[1], 0.0)
        penultimate = dense * self.bn_dense[0] + self.bn_dense[1]
        logits = penultimate @ self.out[0] + self.out[1]
        return {"taggram": 1.0 / (1.0 + np.exp(-logits)), "penultimate": penultimate,
                "mean_pool": mean_pool, "max_pool": max_pool}
