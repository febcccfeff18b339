"""``musicnn``: a neural music embedding on the CPU, no TensorFlow, no download at run time.

The MSD_musicnn checkpoint shipped in the ``musicnn`` wheel
(``pip install --no-deps musicnn==0.1.0``) is read by our own checkpoint reader and
run by a numpy port of the network (:mod:`beetsplug.sonic.musicnn`). Each segment
is cut into 3 s patches; the track vector is the 200-unit penultimate layer
averaged over all patches of all segments (measured against the pooled mid-end
and the tag probabilities in docs/performance.md). The 50 MSD tag probabilities,
averaged the same way, are kept as extras: ``beet similar -v`` shows them and the
offline vibe analyzer uses them as evidence.
"""

from __future__ import annotations

import numpy as np

from ..audio import load_segments
from ..musicnn.model import MSD_TAGS, SR, MusiCNN, log_mel, patches
from .base import Backend, Embedding

_MODEL: MusiCNN | None = None


def model() -> MusiCNN:
    global _MODEL
    if _MODEL is None:
        _MODEL = MusiCNN.load()
    return _MODEL


class MusicnnBackend(Backend):
    NAME = "musicnn"

    @classmethod
    def unavailable(cls, gemini) -> str | None:
        from ..musicnn.checkpoint import find_weights

        return None if find_weights() else "weights not installed (pip install --no-deps musicnn==0.1.0)"

    @property
    def dims(self) -> int:
        return 200

    @property
    def model(self) -> str:
        return "MSD_musicnn"

    def params(self) -> dict:
        return {**super().params(), "layer": "penultimate mean over 3 s patches", "sr": SR}

    def embed(self, path: str) -> Embedding:
        net = model()
        segments = load_segments(path, sr=SR, length=self.segment, positions=self.positions)
        X = np.concatenate([patches(log_mel(y)) for y in segments])
        out = net.forward(X)
        tags = out["taggram"].mean(axis=0)
        extra = {"tags": {t: round(float(p), 4) for t, p in zip(MSD_TAGS, tags)}}
        return Embedding(out["penultimate"].mean(axis=0).astype(np.float32), extra)


BACKEND = MusicnnBackend
