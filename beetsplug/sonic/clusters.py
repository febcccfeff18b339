"""Sonic clusters as beets fields: the communities of the nearest-neighbour graph (the
ones the map draws), each with a stable id and a readable name.

A cluster keeps its id when the library grows a little: each new community takes the id
stored on most of its members (more than half of them; the biggest overlaps first, each
old id once). A community without one -- new, or split off -- gets the smallest item id
among its members that no other cluster has. Its name is made of its members' dominant
genres ("Acid Techno / Drum & Bass"), else it is "cluster ID" -- the same number as its
``sonic_cluster``; a name two clusters share gets the id after it ("Techno #18").
Stored as ``sonic_cluster`` (integer) and ``sonic_cluster_name`` on each item, so
``beet ls sonic_cluster:12`` and ``beet similar --within sonic_cluster:12`` work.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from .graph import knn_graph, neighbours
from .store.library import Row


def genres_of(item: Any) -> list[str]:
    values = list(item.get("genres") or []) or ([item.get("genre")] if item.get("genre") else [])
    return [str(v) for v in values if str(v).strip()] or list(item.get("vibe_genre") or [])


def names(labels: np.ndarray, items: Sequence[Any], ids: Sequence[int] | None = None) -> list[str]:
    """A readable name per community (index = label): its one or two dominant genres
    (each on at least a quarter of the members), else "cluster ID" (``ids``: the cluster
    ids, default :func:`assign`'s); a shared name gets the id after it."""
    ids = list(ids) if ids is not None else assign(labels, items)[0]
    out = []
    for c in range(int(labels.max()) + 1 if len(labels) else 0):
        members = np.flatnonzero(labels == c)
        counts = Counter(g for i in members for g in dict.fromkeys(genres_of(items[i])))
        top = [g for g, n in counts.most_common(2) if n >= max(1, 0.25 * members.size)]
        out.append(" / ".join(top) or f"cluster {ids[c]}")
    shared = {n for n, k in Counter(out).items() if k > 1}
    return [f"{n} #{ids[c]}" if n in shared else n for c, n in enumerate(out)]


def assign(labels: np.ndarray, items: Sequence[Any]) -> tuple[list[int], list[str]]:
    """``(id, name)`` per community (index = label), the ids matched to the ``sonic_cluster``
    already stored on the members (see the module docstring)."""
    labels = np.asarray(labels)
    n = int(labels.max()) + 1 if len(labels) else 0
    sizes = np.bincount(labels, minlength=n) if n else np.zeros(0, int)
    old = Counter((int(c), int(o)) for c, o in zip(labels.tolist(), (it.get("sonic_cluster") for it in items))
                  if o is not None and o != "")
    ids: list[int | None] = [None] * n
    taken: set[int] = set()
    for (c, o), k in sorted(old.items(), key=lambda kv: (-kv[1], kv[0])):
        if ids[c] is None and o not in taken and 2 * k > sizes[c]:
            ids[c] = o
            taken.add(o)
    for c in range(n):
        if ids[c] is None:
            free = sorted(int(items[i].id) for i in np.flatnonzero(labels == c) if int(items[i].id) not in taken)
            ids[c] = free[0] if free else max(taken, default=0) + 1
            taken.add(ids[c])
    return ids, names(labels, items, ids)


def stable_ids(labels: np.ndarray, item_ids: Sequence[int]) -> list[int]:
    """Per community (index = label): the smallest item id among its members."""
    ids = np.asarray(item_ids, np.int64)
    return [int(ids[labels == c].min()) for c in range(int(labels.max()) + 1 if len(labels) else 0)]


def communities(X: np.ndarray, *, k: int = 4) -> np.ndarray:
    """Labels ``(n,)`` of the kNN graph's communities, as ``beet graph`` finds them."""
    idx, sim = neighbours.knn(np.asarray(X, np.float32), k=min(k, X.shape[0] - 1))
    return knn_graph.communities(idx, sim)


def store(lib, items: Sequence[Any], labels: np.ndarray) -> tuple[int, int]:
    """Write ``sonic_cluster`` and ``sonic_cluster_name`` on ``items`` (rows = labels);
    returns ``(items changed, clusters)``."""
    ids, titles = assign(labels, items)
    changed = 0
    with lib.transaction():
        for item, c in zip(items, labels.tolist()):
            if item.get("sonic_cluster") != ids[c] or item.get("sonic_cluster_name") != titles[c]:
                if isinstance(item, Row):  # a few columns of it were read: store the item itself
                    item = lib.get_item(item.id)
                    if item is None:
                        continue
                item["sonic_cluster"], item["sonic_cluster_name"] = ids[c], titles[c]
                item.store()
                changed += 1
    return changed, len(ids)
