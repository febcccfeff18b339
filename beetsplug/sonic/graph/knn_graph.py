"""The kNN graph of a library: hubs, isolation, communities, connectors, a layout seed.

Pure numpy, like :mod:`..analysis` (rows are items; ``idx``/``sim`` are the ``(n, k)``
neighbour indices and similarities from :func:`..analysis.knn`).
"""

from __future__ import annotations

import numpy as np

from ..analysis import _as_matrix


def in_degree(idx: np.ndarray, *, n: int) -> np.ndarray:
    """How many items list each item among their k nearest: ``(n,)`` (hubs score high)."""
    return np.bincount(np.asarray(idx).ravel(), minlength=n)[:n]


def rank01(values: np.ndarray) -> np.ndarray:
    """Ranks scaled to [0, 1] (ties share their mean rank); one value gives 0.5."""
    v = np.asarray(values, np.float64)
    if v.size == 1:
        return np.array([0.5])
    order = np.argsort(v, kind="stable")
    ranks = np.empty(v.size)
    ranks[order] = np.arange(v.size)
    # average the ranks of ties
    uniq, inv = np.unique(v, return_inverse=True)
    if uniq.size < v.size:
        ranks = (np.bincount(inv, ranks) / np.bincount(inv))[inv]
    return ranks / (v.size - 1)


def isolation(sim: np.ndarray) -> np.ndarray:
    """How acoustically alone each item is, in [0, 1] (1 = the most isolated).

    ``sim`` is the ``(n, k)`` similarity to each item's k nearest neighbours. An
    item is isolated when its mean similarity to its nearest neighbours is low
    *compared with the rest of the library*: the score is the item's rank from
    the top, so it reads the same in any space.
    """
    sim = np.asarray(sim, np.float64)
    if sim.ndim != 2 or sim.shape[1] == 0:
        raise ValueError("isolation needs an (n, k) similarity matrix with k >= 1")
    return 1.0 - rank01(sim.mean(axis=1))


def _undirected(idx: np.ndarray, sim: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edge lists ``(a, b, weight)`` of the kNN graph with every edge both ways."""
    idx = np.asarray(idx)
    n, k = idx.shape
    w = np.maximum(np.asarray(sim, np.float64), 1e-6).ravel()
    src = np.repeat(np.arange(n), k)
    dst = idx.ravel()
    return np.concatenate([src, dst]), np.concatenate([dst, src]), np.concatenate([w, w])


def _local_moves(a: np.ndarray, b: np.ndarray, w: np.ndarray, n: int, *,
                 resolution: float = 1.0, max_rounds: int = 50) -> np.ndarray:
    """Louvain's local-moving phase, vectorised: labels ``(n,)`` for a weighted graph.

    ``a, b, w``: every edge in both directions (self-loops once). Each round,
    half of the nodes (alternating parity, so neighbours don't swap back and
    forth) move to the neighbouring community with the largest modularity gain,
    if it beats staying; ties go to the smallest label.
    """
    degree = np.bincount(a, w, minlength=n)
    m2 = degree.sum()
    labels = np.arange(n)
    ext = a != b
    a, b, w = a[ext], b[ext], w[ext]
    if a.size == 0 or m2 <= 0:
        return labels
    quiet = 0
    for rnd in range(max_rounds):
        tot = np.bincount(labels, degree, minlength=n)
        keys = a * n + labels[b]
        uniq, inv = np.unique(keys, return_inverse=True)
        w_to = np.bincount(inv, w)
        node, lab = uniq // n, uniq % n
        own = lab == labels[node]
        gain = w_to - resolution * degree[node] * (tot[lab] - np.where(own, degree[node], 0.0)) / m2
        stay = np.zeros(n)  # gain of staying (0 when no neighbour shares the label)
        stay -= resolution * degree * (tot[labels] - degree) / m2
        stay[node[own]] = gain[own]
        # per node (uniq is sorted by node, then label) the best gain, ties to the smallest
        # label -- segment maxima instead of a three-key sort of every edge every round
        starts = np.flatnonzero(np.r_[True, node[1:] != node[:-1]])
        seg = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, node.size]))
        cand = np.flatnonzero(gain == np.maximum.reduceat(gain, starts)[seg])
        first = cand[np.r_[True, seg[cand][1:] != seg[cand][:-1]]]
        bn, bl, bg = node[first], lab[first], gain[first]
        move = (bl != labels[bn]) & (bg > stay[bn] + 1e-12) & ((bn + rnd) % 2 == 0)
        labels[bn[move]] = bl[move]
        quiet = 0 if move.any() else quiet + 1
        if quiet >= 2:
            break
    _, labels = np.unique(labels, return_inverse=True)
    return labels


def communities(idx: np.ndarray, sim: np.ndarray, *, resolution: float = 0.3) -> np.ndarray:
    """Communities of the kNN graph by modularity (Louvain), labels ``(n,)``.

    The directed kNN edges become undirected, weighted by cosine similarity
    (floored just above 0). Louvain alternates local moves (each item joins the
    neighbouring community that raises modularity most) with aggregation (each
    community becomes one node) until nothing moves. Deterministic. Labels are
    numbered 0.. by community size, largest first.

    ``resolution`` below 1 favours fewer, larger communities. The default 0.3
    is deliberate: a kNN graph of one homogeneous genre has no inner structure,
    yet at the textbook 1.0 modularity still cuts it in two, and the cut shows up
    as false "bridges". At 0.3, separated clusters are still recovered exactly
    (tests/test_analysis.py) while homogeneous ones stay whole.
    """
    a, b, w = _undirected(idx, sim)
    n = np.asarray(idx).shape[0]
    member = np.arange(n)
    size = n
    while True:
        labels = _local_moves(a, b, w, size, resolution=resolution)
        new_size = int(labels.max()) + 1
        member = labels[member]
        if new_size == size:
            break
        keys = labels[a] * new_size + labels[b]
        uniq, inv = np.unique(keys, return_inverse=True)
        w = np.bincount(inv, w)
        a, b = uniq // new_size, uniq % new_size
        size = new_size
    _, inv, counts = np.unique(member, return_inverse=True, return_counts=True)
    rank = np.empty(counts.size, np.int64)
    rank[np.lexsort((np.arange(counts.size), -counts))] = np.arange(counts.size)
    return rank[inv]


def connector_scores(idx: np.ndarray, sim: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """How much each item bridges communities, in [0, 1) (0 = all links in one).

    Over the item's out- and in-links in the kNN graph (weighted by similarity),
    the share of link weight that does NOT go to the most-linked community.
    A track between two genres, linked half to each, scores 0.5.
    """
    node, other, wt = _undirected(idx, sim)
    n = np.asarray(idx).shape[0]
    labels = np.asarray(labels)
    keys = node * (int(labels.max()) + 1) + labels[other]
    uniq, inv = np.unique(keys, return_inverse=True)
    score = np.bincount(inv, wt)
    owner = uniq // (int(labels.max()) + 1)
    top = np.zeros(n)
    np.maximum.at(top, owner, score)
    total = np.bincount(node, wt, minlength=n)
    return np.where(total > 0, 1.0 - top / np.maximum(total, 1e-12), 0.0)


def layout_seed(X: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """A 2-D starting layout ``(n, 2)``: the top two principal components, scaled to ~[-1, 1].

    The browser's force simulation starts from here, so clusters begin apart.
    """
    X = _as_matrix(X)
    n = X.shape[0]
    if n < 3:
        return np.random.default_rng(seed).uniform(-1, 1, (n, 2)).astype(np.float32)
    Xc = X - X.mean(axis=0)
    # power iteration on the covariance through X, never forming (d, d)
    rng = np.random.default_rng(seed)
    V = np.linalg.qr(rng.standard_normal((X.shape[1], 2)))[0].astype(np.float32)
    for _ in range(30):
        V = np.linalg.qr(Xc.T @ (Xc @ V))[0].astype(np.float32)
    P = Xc @ V
    P /= np.maximum(np.abs(P).max(axis=0), 1e-9)
    jitter = rng.uniform(-0.02, 0.02, P.shape)
    return (P + jitter).astype(np.float32)
