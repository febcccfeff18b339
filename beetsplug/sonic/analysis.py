"""Vector maths: pure numpy, no I/O, no beets.

Conventions: rows are items. ``X`` is ``(n, d)`` float32 with unit rows unless
said otherwise; ``q`` is ``(d,)``. Options are keyword-only and inputs are
validated up front.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-12


def _as_matrix(X: np.ndarray, name: str = "X") -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (items x dims), got shape {X.shape}")
    return X


# --- normalisation and standardisation ----------------------------------------


def normalize(X: np.ndarray) -> np.ndarray:
    """L2-normalise rows of ``(n, d)`` (or one ``(d,)`` vector). Zero rows stay zero."""
    X = np.asarray(X, dtype=np.float32)
    norms = np.linalg.norm(X, axis=-1, keepdims=True)
    return X / np.maximum(norms, EPS)


def fit_standardizer(R: np.ndarray, *, min_scale: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension ``(mean (d,), scale (d,))`` of raw vectors ``R`` ``(n, d)``.

    With fewer than two rows there is no spread to learn: mean 0, scale 1.
    Scales are floored at ``min_scale`` times the median scale (and at
    ``min_scale``) so a constant dimension cannot explode.
    """
    R = _as_matrix(R, "R").astype(np.float64)
    d = R.shape[1]
    if R.shape[0] < 2:
        return np.zeros(d, np.float32), np.ones(d, np.float32)
    mean = R.mean(axis=0)
    scale = R.std(axis=0)
    floor = max(min_scale, min_scale * float(np.median(scale)))
    return mean.astype(np.float32), np.maximum(scale, floor).astype(np.float32)


def standardize(R: np.ndarray, *, mean: np.ndarray, scale: np.ndarray,
                weights: np.ndarray | None = None) -> np.ndarray:
    """``normalize((R - mean) / scale * weights)`` for ``(n, d)`` or ``(d,)`` input."""
    Z = (np.asarray(R, np.float32) - mean) / scale
    if weights is not None:
        Z = Z * weights
    return normalize(Z)


def needs_restandardize(*, stats_n: int, n: int, growth: float = 1.2, small: int = 200) -> bool:
    """Whether library statistics from ``stats_n`` items should be refitted on ``n``.

    Small libraries refit whenever they change; larger ones when they have grown
    by ``growth`` (or shrunk by the same factor), so the cost stays amortised.
    """
    if n < 2:
        return False
    if stats_n < 2 or (stats_n < small and n != stats_n):
        return True
    return n >= stats_n * growth or n * growth <= stats_n


# --- sets --------------------------------------------------------------------


def centroid(X: np.ndarray) -> np.ndarray:
    """The mean of the unit rows of ``X`` ``(n, d)`` -> ``(d,)`` (not normalised)."""
    X = _as_matrix(X)
    if X.shape[0] == 0:
        raise ValueError("centroid of an empty set")
    return normalize(X).mean(axis=0)


def cohesion(X: np.ndarray) -> float:
    """Length of the centroid of the unit rows: 1 = identical, ~1/sqrt(n) = unrelated."""
    return float(np.linalg.norm(centroid(X)))


def fit(X: np.ndarray) -> np.ndarray:
    """Per-item cosine to the normalised centroid, ``(n,)``."""
    U = normalize(_as_matrix(X))
    return U @ normalize(U.mean(axis=0))


def scaled(values: np.ndarray) -> np.ndarray:
    """Min-max scale to [0, 1] (best 1, worst 0); all-equal values give ones."""
    v = np.asarray(values, np.float64)
    lo, hi = v.min(), v.max()
    if hi - lo < 1e-9:
        return np.ones_like(v)
    return (v - lo) / (hi - lo)


def random_set_cohesions(X: np.ndarray, *, size: int, trials: int = 500,
                         seed: int = 0) -> np.ndarray:
    """Cohesion of ``trials`` random subsets of ``size`` rows of ``X``, ``(trials,)``."""
    X = normalize(_as_matrix(X))
    n = X.shape[0]
    if not 1 <= size <= n:
        raise ValueError(f"set size {size} must be between 1 and {n}")
    rng = np.random.default_rng(seed)
    idx = np.stack([rng.choice(n, size=size, replace=False) for _ in range(trials)])
    return np.linalg.norm(X[idx].mean(axis=1), axis=1)


def percentile_of(value: float, sample: np.ndarray) -> float:
    """Percent of ``sample`` strictly below ``value`` (ties count half)."""
    s = np.asarray(sample)
    return float(100.0 * ((s < value).sum() + 0.5 * (s == value).sum()) / max(s.size, 1))


def similarity_matrix(X: np.ndarray) -> np.ndarray:
    """Cosine similarities ``(n, n)`` of the rows of ``X``."""
    U = normalize(_as_matrix(X))
    return U @ U.T


# --- search ------------------------------------------------------------------


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest ``scores`` ``(n,)``, best first (ties by index)."""
    scores = np.asarray(scores)
    k = min(int(k), scores.size)
    if k <= 0:
        return np.zeros(0, np.int64)
    part = np.argpartition(-scores, k - 1)[:k] if k < scores.size else np.arange(scores.size)
    return part[np.lexsort((part, -scores[part]))]


def knn(X: np.ndarray, *, k: int, block: int | None = None, exclude_self: bool = True,
        Y: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """k nearest rows of ``X`` for each row of ``Y`` (default ``X``), by cosine.

    Computed in blocks of ``block`` query rows so memory stays
    ``O(block * n)`` (default: as many rows as keep a block near 256 MB). Returns ``(indices (m, k) int64, similarities (m, k))``,
    best first. With ``exclude_self`` (only when ``Y`` is ``X``) an item is not
    its own neighbour.
    """
    X = normalize(_as_matrix(X))
    Q = X if Y is None else normalize(_as_matrix(Y, "Y"))
    n, m = X.shape[0], Q.shape[0]
    self_mode = Y is None and exclude_self
    k = min(int(k), n - 1 if self_mode else n)
    if k < 1:
        return np.zeros((m, 0), np.int64), np.zeros((m, 0), np.float32)
    if block is None:
        block = int(np.clip((64 << 20) // max(n, 1), 64, 4096))
    idx = np.empty((m, k), np.int64)
    sim = np.empty((m, k), np.float32)
    for start in range(0, m, block):
        S = Q[start: start + block] @ X.T
        rows = np.arange(S.shape[0])
        if self_mode:
            S[rows, start + rows] = -np.inf
        bi, bs = _row_top_k(S, k)
        idx[start: start + S.shape[0]] = bi
        sim[start: start + S.shape[0]] = bs
    return idx, sim


def _row_top_k(S: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``S`` ``(m, n)`` the ``k`` largest (indices, values), best first.

    Small k: k passes of a vectorised argmax (numpy's row-wise argpartition is
    several times slower for k <= 16). ``S`` is overwritten.
    """
    m = S.shape[0]
    if k > 16:
        part = np.argpartition(-S, k - 1, axis=1)[:, :k]
        ps = np.take_along_axis(S, part, axis=1)
        order = np.argsort(-ps, axis=1, kind="stable")
        return np.take_along_axis(part, order, axis=1), np.take_along_axis(ps, order, axis=1)
    rows = np.arange(m)
    idx = np.empty((m, k), np.int64)
    val = np.empty((m, k), S.dtype)
    for j in range(k):
        am = S.argmax(axis=1)
        idx[:, j] = am
        val[:, j] = S[rows, am]
        S[rows, am] = -np.inf
    return idx, val


# --- the kNN graph -------------------------------------------------------------


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
        order = np.lexsort((lab, -gain, node))
        first = order[np.r_[True, node[order][1:] != node[order][:-1]]]
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


# --- ordering a set ---------------------------------------------------------------


def path_length(D: np.ndarray, order: np.ndarray) -> float:
    order = np.asarray(order)
    return float(D[order[:-1], order[1:]].sum()) if order.size > 1 else 0.0


def flow_order(S: np.ndarray, *, start: int | None = None) -> np.ndarray:
    """An order of a set's items where each next track is close to the previous one.

    ``S`` is the ``(n, n)`` cosine similarity matrix; distances are ``1 - S``.
    A greedy nearest-neighbour path from every start (or ``start``), the
    shortest kept, then improved by 2-opt (reversing a stretch when that
    shortens the open path) until no move helps.
    """
    S = np.asarray(S, np.float64)
    n = S.shape[0]
    if S.shape != (n, n):
        raise ValueError("flow_order needs a square similarity matrix")
    if n <= 2:
        return np.arange(n)
    D = 1.0 - S
    best, best_len = None, np.inf
    for s in ([start] if start is not None else range(n)):
        order = [s]
        left = np.ones(n, bool)
        left[s] = False
        for _ in range(n - 1):
            d = np.where(left, D[order[-1]], np.inf)
            nxt = int(np.argmin(d))
            order.append(nxt)
            left[nxt] = False
        length = path_length(D, np.array(order))
        if length < best_len - 1e-12:
            best, best_len = order, length
    order = np.array(best)
    improved = True
    while improved:
        improved = False
        for i in range(0, n - 1):
            for j in range(i + 1, n):
                if i == 0 and start is not None:
                    break
                # reverse order[i..j]; edges (i-1, i) and (j, j+1) change
                before = (D[order[i - 1], order[i]] if i > 0 else 0.0) + \
                         (D[order[j], order[j + 1]] if j < n - 1 else 0.0)
                after = (D[order[i - 1], order[j]] if i > 0 else 0.0) + \
                        (D[order[i], order[j + 1]] if j < n - 1 else 0.0)
                if after < before - 1e-12:
                    order[i: j + 1] = order[i: j + 1][::-1].copy()
                    improved = True
    return order
