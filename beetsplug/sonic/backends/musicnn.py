"""``musicnn``: a neural music embedding on the CPU, no TensorFlow, no download at run time.

The recipe (chosen on real music, docs/quality.md):

1. **Where to listen**: 9 patches of 3 s spread evenly over the body of the track
   (10 % to 90 % of its length) -- the network was trained on 3 s patches, so they
   can sit anywhere; spreading them hears the whole track for the price of 27 s.
2. **What the network says**: the MSD_musicnn checkpoint shipped in the ``musicnn``
   wheel (``pip install --no-deps musicnn==0.1.0``), run by our numpy port; per
   patch its 200-unit penultimate layer.
3. **What the library teaches**: a track-identity projection fitted on the library
   itself (:func:`..recipe.fit_track_projection`, 32 dims): the directions along which
   patches of one track vary are suppressed, those that tell tracks apart are kept.
   Refitted with the library, like standardisation statistics; small libraries
   shrink it towards plain standardisation (:func:`shrinkage`).
4. **Fused with the signal**: the ``spectral`` backend's rhythm and timbre statistics
   of the ``segment``/``positions`` segments, standardised, with weight 0.3 of the
   cosine.

The raw output kept per track is every patch's penultimate layer and the spectral
features, so the projection can be refitted without decoding again. The 50 MSD tag
probabilities (patch average) are kept as extras (``beet similar --tags``, evidence for
the offline vibe analyzer).
"""

from __future__ import annotations

import numpy as np

from .. import analysis, recipe
from ..audio import load_segments
from ..musicnn.model import MSD_TAGS, SR, MusiCNN, log_mel, patches
from .base import Backend, Embedding
from .spectral import FEATURE_DIMS, SpectralBackend

PATCHES = 9
SPAN = (0.1, 0.9)
LAYER = "penultimate"
LAYER_DIMS = 200
PROJECTION_DIMS = 32
SPECTRAL_WEIGHT = 0.3
RECIPE_VERSION = 2

_MODEL: MusiCNN | None = None


def model() -> MusiCNN:
    global _MODEL
    if _MODEL is None:
        _MODEL = MusiCNN.load()
    return _MODEL


def patch_positions() -> tuple[float, ...]:
    return tuple(float(p) for p in np.round(np.linspace(*SPAN, PATCHES), 4))


def shrinkage(n_tracks: int) -> float:
    """How far the projection is pulled towards plain standardisation: 0.05 from about
    160 tracks up (the measured sweet spot, flat over 0.01-0.3), more for smaller
    libraries, 1.0 (PCA of standardised track means) under 9 tracks."""
    return float(np.clip(8.0 / max(n_tracks, 1), 0.05, 1.0))


class MusicnnBackend(Backend):
    NAME = "musicnn"

    def __init__(self, **options):
        super().__init__(**options)
        self.spectral = SpectralBackend(segment=self.segment, positions=self.positions)

    @classmethod
    def unavailable(cls, gemini) -> str | None:
        from ..musicnn.checkpoint import find_weights

        return None if find_weights() else "weights not installed (pip install --no-deps musicnn==0.1.0)"

    @property
    def dims(self) -> int:
        return PROJECTION_DIMS + FEATURE_DIMS

    @property
    def raw_dims(self) -> int:
        return PATCHES * LAYER_DIMS + FEATURE_DIMS

    @property
    def model(self) -> str:
        return "MSD_musicnn"

    def params(self) -> dict:
        return {**super().params(), "recipe": RECIPE_VERSION, "sr": SR, "patches": PATCHES,
                "span": list(SPAN), "layer": LAYER, "projection": PROJECTION_DIMS,
                "spectral_weight": SPECTRAL_WEIGHT, "spectral": self.spectral.params()}

    def embed(self, path: str) -> Embedding:
        segments = load_segments(path, sr=SR, length=3.0, positions=patch_positions())
        X = np.concatenate([patches(log_mel(y)) for y in segments])
        X = X[np.resize(np.arange(len(X)), PATCHES)]  # a very short track repeats its patches
        out = model().forward(X)
        tags = out["taggram"].mean(axis=0)
        extra = {"tags": {t: round(float(p), 4) for t, p in zip(MSD_TAGS, tags)}}
        sp = self.spectral.embed(path)  # also tempo and key (extras["dj"])
        return Embedding(np.concatenate([out[LAYER].ravel(), sp.vector]).astype(np.float32),
                         {**extra, **sp.extras})

    @staticmethod
    def _split(R: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        R = np.asarray(R, np.float32)
        P = R[:, : PATCHES * LAYER_DIMS].reshape(len(R), PATCHES, LAYER_DIMS)
        return list(P), R[:, PATCHES * LAYER_DIMS:]

    def fit(self, R: np.ndarray) -> dict[str, np.ndarray]:
        P, S = self._split(R)
        proj = recipe.fit_track_projection(P, dims=PROJECTION_DIMS, shrink=shrinkage(len(P)))
        W = np.zeros((LAYER_DIMS, PROJECTION_DIMS), np.float32)
        W[:, : proj.W.shape[1]] = proj.W  # a library of n tracks has at most n - 1 directions
        sp = self.spectral.fit(S)
        return {"mean": proj.mean, "scale": proj.scale, "W": W,
                "spectral_mean": sp["mean"], "spectral_scale": sp["scale"]}

    def fit_blocks(self, blocks) -> dict[str, np.ndarray]:
        """:meth:`fit`, accumulated block by block (a 50,000-track library's raw outputs
        are 370 MB; the scatter matrices are 200 x 200)."""
        from ..streaming import Moments, TrackScatter

        scatter, spectral = TrackScatter(), Moments()
        for R in blocks():
            R = np.asarray(R, np.float32)
            scatter.add(R[:, : PATCHES * LAYER_DIMS].reshape(len(R), PATCHES, LAYER_DIMS))
            spectral.add(R[:, PATCHES * LAYER_DIMS:])
        proj = scatter.projection(dims=PROJECTION_DIMS, shrink=shrinkage(scatter.tracks))
        W = np.zeros((LAYER_DIMS, PROJECTION_DIMS), np.float32)
        W[:, : proj.W.shape[1]] = proj.W
        mean, scale = spectral.standardizer(dims=FEATURE_DIMS)
        return {"mean": proj.mean, "scale": proj.scale, "W": W,
                "spectral_mean": mean, "spectral_scale": scale}

    def derive(self, R: np.ndarray, state: dict[str, np.ndarray]) -> np.ndarray:
        P, S = self._split(R)
        if not state:  # the first track of a library: nothing to compare with yet
            V = analysis.normalize(np.stack([p.mean(axis=0)[:PROJECTION_DIMS] for p in P]))
            return np.asarray(recipe.fuse(V, analysis.normalize(S), weight=SPECTRAL_WEIGHT), np.float32)
        proj = recipe.Projection(state["mean"], state["scale"], state["W"])
        V = recipe.apply_track_projection(proj, P)
        Sv = self.spectral.derive(S, {"mean": state["spectral_mean"], "scale": state["spectral_scale"]})
        return np.asarray(recipe.fuse(V, Sv, weight=SPECTRAL_WEIGHT), np.float32)


BACKEND = MusicnnBackend
