"""``beet similar``: nearest neighbours of one item or of a set's centroid."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from . import analysis
from .store import Space, Store


@dataclass(frozen=True)
class Hit:
    item_id: int
    score: float


@dataclass
class Query:
    """The seed as the store sees it."""

    found: list[int]      # seed ids that have a vector
    missing: list[int]    # seed ids without one
    vector: np.ndarray | None  # unit query vector (d,)
    library_size: int = 0      # items with a vector, seeds excluded
    typical: float = 0.0       # median similarity of a library item to the query
    scores: np.ndarray | None = None  # every library item's similarity, ascending


#: below this many library tracks every hit is shown (no "typical" to compare with)
MIN_FOR_FLOOR = 10


@dataclass(frozen=True)
class Standing:
    """Where a hit stands in the query's similarity distribution over the library."""

    top_percent: float         # its rank as a share of the library (0.5 = top 0.5 %)
    match: bool                # closer than a typical (median) library track


def in_library(ids: np.ndarray, X: np.ndarray, library_ids: set[int] | None) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, X)`` without the rows of items no longer in the library (orphans: a
    ``beet rm`` while another process wrote); the same arrays when there are none."""
    if library_ids is None or not len(ids):
        return ids, X
    keep = np.isin(ids, np.fromiter(library_ids, np.int64, len(library_ids)))
    return (ids, X) if keep.all() else (ids[keep], np.asarray(X)[keep])


def rows_of(ids: np.ndarray, wanted: list[int]) -> tuple[np.ndarray, list[int]]:
    """Row numbers of ``wanted`` ids in sorted ``ids`` (query order kept) and the absent ids."""
    pos = np.searchsorted(ids, wanted)
    rows, missing = [], []
    for iid, p in zip(wanted, pos):
        if p < ids.size and ids[p] == iid:
            rows.append(int(p))
        else:
            missing.append(iid)
    return np.array(rows, np.int64), missing


def seed_vector(ids: np.ndarray, X: np.ndarray, seed_ids: Iterable[int]) -> Query:
    """The unit centroid of the seed items' vectors (one item: its own vector)."""
    wanted = list(dict.fromkeys(seed_ids))
    rows, missing = rows_of(ids, wanted)
    found = [int(ids[r]) for r in rows]
    if not found:
        return Query(found, missing, None)
    return Query(found, missing, analysis.normalize(analysis.centroid(X[rows])))


def rank(ids: np.ndarray, X: np.ndarray, q: np.ndarray, *, n: int,
         exclude: Iterable[int] = (), within: Iterable[int] | None = None,
         max_per_group: int | None = None, group_of: Callable[[int], str] | None = None,
         scores: np.ndarray | None = None) -> list[Hit]:
    """The ``n`` items most similar to ``q``, best first (exact: every row is scored).

    ``exclude``: ids never returned (the seed). ``within``: only these ids are
    candidates. ``max_per_group``/``group_of``: at most that many hits per group
    (e.g. per artist); the list is then filled from further down the ranking.
    """
    scores = np.array(X @ q if scores is None else scores, dtype=np.float32)  # a copy: masked below
    if n <= 0 or ids.size == 0:
        return []
    # rule candidates out by setting their score to -inf (no copies of the score vector)
    if within is not None:
        keep = np.isin(ids, np.fromiter(within, np.int64))
        scores[~keep] = -np.inf
    ex_rows, _ = rows_of(ids, list(exclude))
    scores[ex_rows] = -np.inf
    n_cand = int(np.count_nonzero(scores > -np.inf))
    if n_cand == 0:
        return []
    if not max_per_group:
        return [Hit(int(ids[i]), float(scores[i])) for i in analysis.top_k(scores, min(n, n_cand))]
    hits: list[Hit] = []
    per: dict[str, int] = {}
    k = min(n_cand, 4 * n)
    while True:
        hits, per = [], {}
        for i in analysis.top_k(scores, k):
            iid = int(ids[i])
            g = group_of(iid) if group_of else ""
            if per.get(g, 0) >= max_per_group:
                continue
            per[g] = per.get(g, 0) + 1
            hits.append(Hit(iid, float(scores[i])))
            if len(hits) == n:
                return hits
        if k >= n_cand:
            return hits
        k = min(n_cand, k * 4)


def similar(store: Store, space: Space, seed_ids: Iterable[int] = (), *, n: int = 10,
            vector: np.ndarray | None = None, within: Iterable[int] | None = None,
            max_per_group: int | None = None,
            group_of: Callable[[int], str] | None = None,
            library_ids: set[int] | None = None) -> tuple[Query, list[Hit]]:
    """The ``n`` nearest items to the seed items' centroid, or to ``vector`` (a track
    that is not in the library), with the library's similarity distribution
    (vectors of items not in ``library_ids``, when given, count nowhere)."""
    ids, X = in_library(*store.matrix(space), library_ids)
    query = seed_vector(ids, X, seed_ids) if vector is None else \
        Query([], [], analysis.normalize(np.asarray(vector, np.float32)))
    if query.vector is None:
        return query, []
    all_scores = np.asarray(X @ query.vector, np.float32)  # computed once for ranking and standing
    hits = rank(ids, X, query.vector, n=n, exclude=query.found + query.missing, within=within,
                max_per_group=max_per_group, group_of=group_of, scores=all_scores)
    others = np.ones(ids.size, bool)
    if query.found:
        others[rows_of(ids, query.found)[0]] = False
    scores = all_scores[others] if others.any() else np.zeros(1, np.float32)
    query.library_size, query.typical = int(others.sum()), float(np.median(scores))
    query.scores = np.sort(scores)
    return query, hits


def standing(query: Query, score: float) -> Standing:
    """A hit's rank among all library items for this query, and whether it is a match at
    all: a track no closer than the median library track is not presented as one."""
    better = query.scores.size - np.searchsorted(query.scores, score, side="right")
    typical_known = query.scores.size >= MIN_FOR_FLOOR  # a median of 3 tracks says nothing
    return Standing(100.0 * (better + 1) / max(query.scores.size, 1),
                    score > query.typical or not typical_known)


# --- albums: an album is the centroid of its tracks ---------------------------------------


def album_matrix(ids: np.ndarray, X: np.ndarray, album_of: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``(album ids ascending, unit centroids (a, d))`` of every album with a vector;
    ``album_of``: item id -> album id (singletons left out)."""
    rows, albums = [], []
    for r, iid in enumerate(ids.tolist()):
        a = album_of.get(iid)
        if a is not None:
            rows.append(r)
            albums.append(a)
    if not rows:
        return np.zeros(0, np.int64), np.zeros((0, X.shape[1]), np.float32)
    albums = np.asarray(albums, np.int64)
    order = np.argsort(albums, kind="stable")
    album_ids, start = np.unique(albums[order], return_index=True)
    sums = np.add.reduceat(np.asarray(X)[np.asarray(rows)[order]], start, axis=0)
    return album_ids, analysis.normalize(sums)

