"""Library statistics accumulated block by block: a refit reads the raw outputs a few
thousand rows at a time and never holds them all (docs/performance.md, "Refit").

Pure numpy (house rule 7). Sums are kept in float64 around a shift (the first block's
mean), so the variance and scatter of values far from zero lose no precision. The
results equal :func:`.analysis.fit_standardizer` and
:func:`.recipe.fit_track_projection` on the whole matrix (tested to 1e-5).
"""

from __future__ import annotations

import numpy as np

from . import recipe


class Moments:
    """Per-dimension mean and standard deviation of the rows added, ``(n, d)`` blocks."""

    def __init__(self) -> None:
        self.n = 0
        self.shift: np.ndarray | None = None
        self.s1: np.ndarray | None = None
        self.s2: np.ndarray | None = None

    def add(self, R: np.ndarray) -> None:
        R = np.asarray(R, np.float64)
        if not len(R):
            return
        if self.shift is None:
            self.shift = R.mean(axis=0)
            self.s1 = np.zeros(R.shape[1])
            self.s2 = np.zeros(R.shape[1])
        D = R - self.shift
        self.s1 += D.sum(axis=0)
        self.s2 += np.einsum("ij,ij->j", D, D)
        self.n += len(R)

    @property
    def mean(self) -> np.ndarray:
        return self.shift + self.s1 / self.n

    @property
    def std(self) -> np.ndarray:
        m = self.s1 / self.n
        return np.sqrt(np.maximum(self.s2 / self.n - m * m, 0.0))

    def standardizer(self, *, dims: int, min_scale: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, scale)`` exactly as :func:`.analysis.fit_standardizer` gives them."""
        if self.n < 2:
            return np.zeros(dims, np.float32), np.ones(dims, np.float32)
        scale = self.std
        floor = max(min_scale, min_scale * float(np.median(scale)))
        return self.mean.astype(np.float32), np.maximum(scale, floor).astype(np.float32)


class TrackScatter:
    """The within- and between-track scatter of patches, for the track-identity
    projection, from blocks of tracks ``(b, patches, D)``."""

    def __init__(self) -> None:
        self.moments = Moments()  # over every patch
        self.tracks = 0
        self.within: np.ndarray | None = None  # sum over tracks of the patches' scatter about their track mean
        self.means: np.ndarray | None = None   # sum of count * (track mean - shift) outer itself

    def add(self, P: np.ndarray) -> None:
        P = np.asarray(P, np.float64)
        b, p, d = P.shape
        if not b:
            return
        self.moments.add(P.reshape(b * p, d))
        if self.within is None:
            self.within = np.zeros((d, d))
            self.means = np.zeros((d, d))
        M = P.mean(axis=1)                      # (b, d) track means
        W = (P - M[:, None, :]).reshape(b * p, d)
        self.within += W.T @ W
        C = M - self.moments.shift
        self.means += p * (C.T @ C)
        self.tracks += b

    def projection(self, *, dims: int, shrink: float) -> recipe.Projection:
        """What :func:`.recipe.fit_track_projection` fits on the same patches."""
        if self.tracks < 2:
            raise ValueError("a projection needs at least two tracks")
        m = self.moments
        N = m.n
        scale = np.maximum(m.std, 1e-6)
        e = m.mean - m.shift
        Sb_raw = self.means - N * np.outer(e, e)
        inv = 1.0 / scale
        Sw = self.within * np.outer(inv, inv) / N
        Sb = Sb_raw * np.outer(inv, inv) / N
        return recipe.projection_from_scatter(m.mean, scale, Sw, Sb, tracks=self.tracks,
                                              dims=dims, shrink=shrink)
