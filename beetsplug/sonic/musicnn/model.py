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
from ..spectrum import power_spectrogram
from . import checkpoint

SR = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
N_FRAMES = 187  # 3 s patches
#: temporal kernels at least this long run as one Toeplitz GEMM (measured faster)
TOEPLITZ_MIN = 96
EPS = 1e-3
MSD_TAGS = ["rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
            "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists",
            "classic rock", "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s",
            "chill", "instrumental", "punk", "oldies", "blues", "hard rock", "ambient", "acoustic",
            "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country",
            "easy listening", "sexy", "catchy", "funk", "electro", "heavy metal", "Progressive rock",
            "60s", "rnb", "indie pop", "sad", "House", "happy"]
#: The MagnaTagATune checkpoint's 50 tags: instruments, voices, moods.
MTT_TAGS = ["guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast",
            "piano", "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male",
            "singing", "vocals", "no vocals", "harpsichord", "loud", "quiet", "flute", "woman",
            "male vocal", "no vocal", "pop", "soft", "sitar", "solo", "man", "classic", "choir", "voice",
            "new age", "dance", "male voice", "female vocal", "beats", "harp", "cello", "no voice",
            "weird", "country", "metal", "female voice", "choral"]


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
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)
    power = power_spectrogram(y, N_FFT, HOP, window=window)
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
        """Fold batch norms, and drop the filters training left dead.

        Most front-end filters of the shipped checkpoint have all-zero kernels
        (|w| < 1e-20: 164 of 204 and 183 of 204 timbral, 26/15/10 of 51 temporal,
        44 of 64 in the first mid-end layer). A dead filter's output is the
        constant ``bn(relu(bias))``; we compute only live filters and fill in the
        constants -- and fold the constant channels' effect on the first mid-end
        convolution into a per-frame offset (edge frames see zero padding).
        """
        w = self.w

        def conv(name, bn, shape_kind):
            k = w[f"{name}/kernel"]
            alive = np.abs(k).reshape(-1, k.shape[-1]).max(axis=0) > 1e-20
            scale, shift = self._bn(bn)
            const = np.maximum(w[f"{name}/bias"], 0.0) * scale + shift
            return {"kernel": k, "alive": alive, "bias": w[f"{name}/bias"], "scale": scale,
                    "shift": shift, "const": const.astype(np.float32)}

        self.bn_in = self._bn("batch_normalization")
        self.timbral = [conv("conv2d", "batch_normalization_1", "t"),
                        conv("conv2d_1", "batch_normalization_2", "t")]
        self.temporal = [conv(f"conv2d_{i}", f"batch_normalization_{i + 1}", "s") for i in (2, 3, 4)]
        for layer in self.timbral + self.temporal:
            k, a = layer["kernel"], layer["alive"]
            layer["k_alive"] = np.ascontiguousarray(k[..., a].reshape(-1, int(a.sum())))
        for layer in self.timbral:
            layer["bands"] = self._band_blocks(layer)
        for layer in self.temporal:
            if layer["kernel"].shape[0] >= TOEPLITZ_MIN:
                layer["toeplitz"] = self._toeplitz_blocks(layer)
        self.front_const = np.concatenate([layer["const"] for layer in self.timbral + self.temporal])
        self.front_alive = np.concatenate([layer["alive"] for layer in self.timbral + self.temporal])
        self.mid = [conv(f"conv2d_{i}", f"batch_normalization_{i + 1}", "m") for i in (5, 6, 7)]
        first = self.mid[0]
        k1 = first["kernel"][:, :, 0, :]  # (7, 561, 64)
        dead_in = ~self.front_alive
        first["k_in_alive"] = np.ascontiguousarray(k1[:, self.front_alive, :].reshape(-1, k1.shape[-1]))
        # each tap's contribution of the constant (dead) input channels: (7, 64)
        first["tap_const"] = np.einsum("c,tco->to", self.front_const[dead_in], k1[:, dead_in, :])
        self._edge_cache: dict[int, np.ndarray] = {}
        for layer in self.mid[1:]:
            layer["k_flat"] = layer["kernel"].reshape(-1, layer["kernel"].shape[-1])
        self.bn_pool = self._bn("batch_normalization_9")
        self.dense = (w["dense/kernel"], w["dense/bias"])
        self.bn_dense = self._bn("batch_normalization_10")
        self.out = (w["dense_1/kernel"], w["dense_1/bias"])

    @staticmethod
    def _band_blocks(layer: dict, blocks: int = 4) -> list[tuple[slice, np.ndarray]]:
        """A timbral (7 x width) convolution as a few GEMMs over frequency blocks.

        For frequency positions ``p0..p1`` only bins ``p0..p1 + width - 1`` matter, so each
        block multiplies a contiguous slice of the 7-frame windows (laid out bin-major:
        column ``f * 7 + dt``) by a band matrix ``((p1 - p0 + width - 1) * 7, (p1 - p0) * A)``
        -- no frequency im2col copy, and about half the work of one full band matrix.
        """
        k = layer["kernel"][:, :, 0, :][:, :, layer["alive"]]  # (7, width, A)
        width, A = k.shape[1], k.shape[2]
        P = N_MELS - width + 1
        out = []
        edges = np.linspace(0, P, min(blocks, P) + 1).astype(int)
        for p0, p1 in zip(edges[:-1], edges[1:]):
            W = np.zeros((p1 - p0 + width - 1, 7, p1 - p0, A), np.float32)
            for p in range(p0, p1):
                W[p - p0: p - p0 + width, :, p - p0, :] = k.transpose(1, 0, 2)
            out.append((slice(p0 * 7, (p1 + width - 1) * 7), W.reshape(-1, (p1 - p0) * A)))
        return out

    @staticmethod
    def _toeplitz_blocks(layer: dict, blocks: int = 4) -> list[tuple[slice, slice, np.ndarray]]:
        """A long temporal (L x 1) convolution as Toeplitz GEMMs over time blocks: frames
        ``t0..t1`` need padded input ``t0..t1 + L - 1`` times ``(t1 - t0 + L - 1, (t1 - t0) * A)``."""
        k = layer["kernel"][:, 0, 0, :][:, layer["alive"]]  # (L, A)
        L, A = k.shape
        out = []
        edges = np.linspace(0, N_FRAMES, blocks + 1).astype(int)
        for t0, t1 in zip(edges[:-1], edges[1:]):
            W = np.zeros((t1 - t0 + L - 1, t1 - t0, A), np.float32)
            for t in range(t1 - t0):
                W[t: t + L, t, :] = k
            out.append((slice(t0, t1 + L - 1), slice(t0, t1), W.reshape(t1 - t0 + L - 1, -1)))
        return out

    @staticmethod
    def _pool_finish(z: np.ndarray, layer: dict, axis: int) -> np.ndarray:
        """ReLU -> batch norm -> max over ``axis``, computed as max (or min, for a negative
        batch-norm scale) BEFORE the elementwise steps: both are monotone per filter, so
        the result is exactly the same on an array ``axis`` times smaller."""
        a = layer["alive"]
        scale = layer["scale"][a]
        pos = scale > 0
        if pos.all():
            z = z.max(axis=axis)
        else:
            z = np.where(pos, z.max(axis=axis), z.min(axis=axis))
        return np.maximum(z + layer["bias"][a], 0.0) * scale + layer["shift"][a]

    def _front_gemm(self, x: np.ndarray) -> list[np.ndarray]:
        """The live front-end channels, each ``(B, T, alive)``, through a few large GEMMs."""
        B, T, F = x.shape
        xp = np.pad(x, ((0, 0), (3, 3), (0, 0)))
        cols = np.ascontiguousarray(sliding_window_view(xp, 7, axis=1))  # (B, T, F, 7)
        cols = cols.reshape(B * T, F * 7)  # 7-frame windows, bin-major
        live = []
        for layer in self.timbral:
            A = int(layer["alive"].sum())
            # per frequency block: max over its positions (finished), then max over blocks
            parts = [self._pool_finish((cols[:, cs] @ W).reshape(B * T, -1, A), layer, axis=1)
                     for cs, W in layer["bands"]]
            live.append(np.maximum.reduce(parts).reshape(B, T, A))
        for layer in self.temporal:
            length = layer["kernel"].shape[0]
            before = (length - 1) // 2
            xt = np.pad(x, ((0, 0), (before, length - 1 - before), (0, 0)))
            A = int(layer["alive"].sum())
            if "toeplitz" in layer and T == N_FRAMES:
                rows = np.ascontiguousarray(xt.transpose(0, 2, 1)).reshape(B * F, -1)
                out = np.empty((B, T, A), np.float32)
                for src, dst, W in layer["toeplitz"]:
                    z = (rows[:, src] @ W).reshape(B, F, dst.stop - dst.start, A)
                    out[:, dst] = self._pool_finish(z, layer, axis=1)
                live.append(out)
            else:
                win = np.ascontiguousarray(sliding_window_view(xt, length, axis=1))  # (B, T, F, L)
                z = (win.reshape(-1, length) @ layer["k_alive"]).reshape(B, T, F, A)
                live.append(self._pool_finish(z, layer, axis=2))
        return live

    def _front_im2col(self, x: np.ndarray) -> list[np.ndarray]:
        """The first version's front end (im2col per layer); kept as the reference the
        fast path is checked and benchmarked against."""
        B, T, F = x.shape
        live = []
        xp = np.pad(x, ((0, 0), (3, 3), (0, 0)))
        for layer in self.timbral:
            width = layer["kernel"].shape[1]
            fw = sliding_window_view(xp, width, axis=2)  # (B, T + 6, F', width), no copy
            cols = np.empty((B, T, F - width + 1, 7, width), np.float32)
            for dt in range(7):
                cols[:, :, :, dt, :] = fw[:, dt: dt + T]
            z = self._finish(cols.reshape(-1, 7 * width) @ layer["k_alive"], layer)
            live.append(z.reshape(B, T, F - width + 1, -1).max(axis=2))
        for layer in self.temporal:
            length = layer["kernel"].shape[0]
            before = (length - 1) // 2
            xt = np.pad(x, ((0, 0), (before, length - 1 - before), (0, 0)))
            cols = np.ascontiguousarray(sliding_window_view(xt, length, axis=1))  # (B, T, F, length)
            z = self._finish(cols.reshape(-1, length) @ layer["k_alive"], layer)
            live.append(z.reshape(B, T, F, -1).max(axis=2))
        return live

    def _edges(self, T: int) -> np.ndarray:
        """``(T, 64)``: the dead channels' summed effect on the first mid-end layer per frame."""
        if T not in self._edge_cache:
            valid = np.array([[0 <= t + dt - 3 < T for dt in range(7)] for t in range(T)], np.float32)
            self._edge_cache[T] = valid @ self.mid[0]["tap_const"]
        return self._edge_cache[T]

    @staticmethod
    def _finish(z: np.ndarray, layer: dict) -> np.ndarray:
        a = layer["alive"]
        return np.maximum(z + layer["bias"][a], 0.0) * layer["scale"][a] + layer["shift"][a]

    def forward(self, X: np.ndarray, *, front: str = "gemm") -> dict[str, np.ndarray]:
        """Run patches ``(B, 187, 96)``; returns the layers the embedding can use.

        ``front``: ``gemm`` (fast, the default) or ``im2col`` (the first version's
        formulation, the reference); they agree to float32 rounding.
        """
        X = np.asarray(X, np.float32)
        B, T, F = X.shape
        x = X * self.bn_in[0] + self.bn_in[1]
        live = self._front_gemm(x) if front == "gemm" else self._front_im2col(x)
        live_front = np.concatenate(live, axis=2)  # (B, T, live channels)
        front = np.empty((B, T, self.front_alive.size), np.float32)
        front[:, :, self.front_alive] = live_front
        front[:, :, ~self.front_alive] = self.front_const[~self.front_alive]
        outs = [front]
        h = live_front
        for i, layer in enumerate(self.mid):
            hp = np.pad(h, ((0, 0), (3, 3), (0, 0)))
            C = h.shape[2]
            cols = np.empty((B, T, 7, C), np.float32)
            for dt in range(7):
                cols[:, :, dt, :] = hp[:, dt: dt + T]
            if i == 0:
                z = (cols.reshape(B * T, -1) @ layer["k_in_alive"]).reshape(B, T, -1) + self._edges(T)
            else:
                z = (cols.reshape(B * T, -1) @ layer["k_flat"]).reshape(B, T, -1)
            z = np.maximum(z + layer["bias"], 0.0) * layer["scale"] + layer["shift"]
            h = z if i == 0 else z + h
            outs.append(h)
        mid = np.concatenate(outs, axis=2)  # (B, T, 753)
        max_pool, mean_pool = mid.max(axis=1), mid.mean(axis=1)
        pooled = np.stack([max_pool, mean_pool], axis=2).reshape(B, -1) * self.bn_pool[0] + self.bn_pool[1]
        dense = pooled @ self.dense[0] + self.dense[1]
        penultimate = np.maximum(dense, 0.0) * self.bn_dense[0] + self.bn_dense[1]
        logits = penultimate @ self.out[0] + self.out[1]
        return {"taggram": 1.0 / (1.0 + np.exp(-logits)), "logits": logits,
                "penultimate": penultimate, "dense": dense,
                "mean_pool": mean_pool, "max_pool": max_pool}
