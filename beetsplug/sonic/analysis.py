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


def loo_standing(S: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How each member of a set stands against the library, leave-one-out.

    ``S`` ``(m, d)``: the set's unit vectors; ``reference`` ``(n, d)``: library tracks
    outside the set. For member i, the centroid of the *other* members is its yardstick:
    returns ``(fit, top, spread)``, each ``(m,)``: i's cosine to that centroid, the
    percent of reference tracks at least as close to it, and the standard deviation of
    the reference tracks' cosines to it. A member at top 60% is no closer to the rest of
    the set than a typical library track; an intruder can't pull the yardstick its way.
    """
    S = normalize(_as_matrix(S))
    m = S.shape[0]
    C = normalize(S.sum(axis=0)[None, :] - S) if m > 1 else S.copy()
    fit_ = np.einsum("ij,ij->i", S, C)
    R = normalize(_as_matrix(reference))
    if R.shape[0] == 0:
        return fit_, np.full(m, np.nan), np.full(m, np.nan)
    F = R @ C.T  # (n, m)
    top = 100.0 * (F >= fit_[None, :]).sum(axis=0) / R.shape[0]
    return fit_, top, F.std(axis=0)


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
