"""The map's k nearest neighbours at any size: exact up to :data:`EXACT_UP_TO` tracks,
then from candidate pools (an inverted file: the tracks are split into cells around
k-means centroids, and each track's neighbours are sought in the cells nearest its
own), so the cost grows ~n^1.5 instead of n^2 and memory with one cell's pool.

Pure numpy. Recall against the exact search is measured in benchmarks/scale.py
(docs/performance.md).
"""

from __future__ import annotations

import numpy as np

from .. import analysis

#: below this many tracks the exact (quadratic) search is fast enough and is used
EXACT_UP_TO = 20_000
#: cells searched for each track's neighbours (its own and the nearest others)
PROBE = 10


def knn(X: np.ndarray, *, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(indices (n, k), similarities (n, k))``, best first, no track its own neighbour."""
    X = np.asarray(X, np.float32)
    if len(X) <= EXACT_UP_TO:
        return analysis.knn(X, k=k)
    return knn_cells(X, k=k, seed=seed)


def _kmeans(X: np.ndarray, cells: int, rng, *, rounds: int = 8) -> np.ndarray:
    """``(cells, d)`` unit centroids (spherical k-means on a sample)."""
    sample = X[rng.choice(len(X), min(len(X), 30 * cells), replace=False)]
    C = sample[rng.choice(len(sample), cells, replace=False)].copy()
    for _ in range(rounds):
        owner = np.argmax(sample @ C.T, axis=1)
        sums = np.zeros_like(C)
        np.add.at(sums, owner, sample)
        norms = np.linalg.norm(sums, axis=1)
        live = norms > 0
        C[live] = sums[live] / norms[live, None]
    return C


def knn_cells(X: np.ndarray, *, k: int, probe: int = PROBE, seed: int = 0,
              cells: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    n = len(X)
    k = min(int(k), n - 1)
    rng = np.random.default_rng(seed)
    cells = cells or max(2, int(np.sqrt(n)))
    C = _kmeans(X, cells, rng)
    owner = np.empty(n, np.int64)
    for start in range(0, n, 8192):  # bounded memory: 8192 x cells at a time
        owner[start: start + 8192] = np.argmax(X[start: start + 8192] @ C.T, axis=1)
    order = np.argsort(owner, kind="stable")
    bounds = np.searchsorted(owner[order], np.arange(cells + 1))
    members = [order[bounds[c]: bounds[c + 1]] for c in range(cells)]
    near = np.argsort(-(C @ C.T), axis=1)[:, :probe]
    idx = np.empty((n, k), np.int64)
    sim = np.empty((n, k), np.float32)
    for c in range(cells):
        queries = members[c]
        if not queries.size:
            continue
        pool = np.concatenate([members[o] for o in near[c]])
        if pool.size <= k:
            pool = np.arange(n)
        S = X[queries] @ X[pool].T
        S[pool[None, :] == queries[:, None]] = -np.inf  # never its own neighbour
        top, values = analysis._row_top_k(S, k)
        idx[queries] = pool[top]
        sim[queries] = values
    return idx, sim
