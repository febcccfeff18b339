"""How track vectors are made from per-patch model outputs: pooling, library
normalisation, fusion, the track-identity projection, and query-time hub reduction.

Pure numpy (house rule 7). ``P`` is a list with one ``(patches, D)`` array per track;
``X`` is ``(n, D)`` with one row per track. Everything that is fitted on the library
returns a small object the store can keep beside the space.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPS = 1e-12
#: neighbours whose mean similarity is a track's "hub score" in CSLS
CSLS_K = 10


def _unit(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, np.float64)
    return X / np.maximum(np.linalg.norm(X, axis=-1, keepdims=True), EPS)


def pool(P: list[np.ndarray], *, how: str = "mean") -> np.ndarray:
    """One row per track from its patches: ``mean``, ``meanstd`` or ``meanmax``."""
    if how not in ("mean", "meanstd", "meanmax"):
        raise ValueError(f"unknown pooling {how!r}")
    rows = []
    for p in P:
        p = np.asarray(p, np.float64)
        parts = [p.mean(axis=0)]
        if how == "meanstd":
            parts.append(p.std(axis=0))
        elif how == "meanmax":
            parts.append(p.max(axis=0))
        rows.append(np.concatenate(parts))
    return np.stack(rows)


def normalise(X: np.ndarray, *, how: str = "zscore", floor: float = 1e-3) -> np.ndarray:
    """Unit rows after a library-fitted normalisation of ``X`` ``(n, D)``.

    ``none``: L2 only. ``zscore``: each dimension standardised. ``pca``: whitened by
    the library's principal axes (eigenvalues floored at ``floor`` x the largest).
    ``zscore-pc1``: standardised, then the first principal direction removed.
    """
    X = np.asarray(X, np.float64)
    if how == "none":
        return _unit(X)
    Z = X - X.mean(axis=0)
    if how in ("zscore", "zscore-pc1"):
        Z = Z / np.maximum(X.std(axis=0), 1e-6)
        if how == "zscore-pc1":
            _, _, vt = np.linalg.svd(Z, full_matrices=False)
            Z = Z - np.outer(Z @ vt[0], vt[0])
        return _unit(Z)
    if how == "pca":
        cov = Z.T @ Z / max(len(Z) - 1, 1)
        w, v = np.linalg.eigh(cov)
        w = np.maximum(w, floor * w.max())
        return _unit(Z @ v / np.sqrt(w))
    raise ValueError(f"unknown normalisation {how!r}")


def fuse(A: np.ndarray, B: np.ndarray, *, weight: float) -> np.ndarray:
    """Unit rows whose cosine is ``(1 - weight) cos_A + weight cos_B``."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError("weight must be in [0, 1]")
    return np.concatenate([np.sqrt(1 - weight) * _unit(A), np.sqrt(weight) * _unit(B)], axis=1)


@dataclass(frozen=True)
class Projection:
    """The track-identity projection fitted on a library (see :func:`fit_track_projection`)."""

    mean: np.ndarray    # (D,) patch mean
    scale: np.ndarray   # (D,) patch standard deviation
    W: np.ndarray       # (D, dims)


def fit_track_projection(P: list[np.ndarray], *, dims: int = 32, shrink: float = 0.05) -> Projection:
    """An LDA/WCCN-style linear map fitted on the library itself, each track's patches
    being one class: directions that vary inside a track (within-track scatter) are
    suppressed, those that tell tracks apart (between-track scatter) are kept.

    No labels are used -- only which patches came from which track. ``shrink`` pulls
    the within-track scatter towards a scaled identity (regularisation); the result is
    whitened within tracks (``W.T @ Sw @ W = I``).
    """
    if len(P) < 2:
        raise ValueError("a projection needs at least two tracks")
    X = np.concatenate([np.asarray(p, np.float64) for p in P])
    D = X.shape[1]
    dims = int(min(dims, D, len(P) - 1))
    owner = np.repeat(np.arange(len(P)), [len(p) for p in P])
    mean = X.mean(axis=0)
    scale = np.maximum(X.std(axis=0), 1e-6)
    Z = (X - mean) / scale
    counts = np.bincount(owner).astype(np.float64)
    M = np.zeros((len(P), D))
    np.add.at(M, owner, Z)
    M /= counts[:, None]
    W_in = Z - M[owner]
    Sw = W_in.T @ W_in / len(Z)
    Sb = (M * counts[:, None]).T @ M / len(Z)
    return projection_from_scatter(mean, scale, Sw, Sb, tracks=len(P), dims=dims, shrink=shrink)


def projection_from_scatter(mean: np.ndarray, scale: np.ndarray, Sw: np.ndarray, Sb: np.ndarray, *,
                            tracks: int, dims: int, shrink: float) -> Projection:
    """The projection from the standardised within-track ``Sw`` and between-track ``Sb``
    scatter ``(D, D)`` (each divided by the number of patches), however they were summed."""
    D = Sw.shape[0]
    dims = int(min(dims, D, tracks - 1))
    Sw = (1 - shrink) * Sw + shrink * np.trace(Sw) / D * np.eye(D)
    L = np.linalg.cholesky(Sw)
    Linv = np.linalg.inv(L)
    vals, vecs = np.linalg.eigh(Linv @ Sb @ Linv.T)
    top = np.argsort(vals)[::-1][:dims]
    W = Linv.T @ vecs[:, top]
    return Projection(mean.astype(np.float32), scale.astype(np.float32), W.astype(np.float32))


def apply_track_projection(proj: Projection, P: list[np.ndarray]) -> np.ndarray:
    """Unit track vectors ``(n, dims)``: each track's mean standardised patch, projected."""
    M = np.stack([((np.asarray(p, np.float64) - proj.mean) / proj.scale).mean(axis=0) for p in P])
    return _unit(M @ proj.W)


def hub_scores(S: np.ndarray, *, k: int = CSLS_K) -> np.ndarray:
    """``(n,)`` each item's mean similarity to its ``k`` nearest, from ``S`` ``(n, n)``
    with the diagonal excluded (-inf). CSLS ranks candidates by ``2 cos - r``."""
    k = max(1, min(k, S.shape[1] - 1))
    return np.sort(S, axis=1)[:, -k:].mean(axis=1)
