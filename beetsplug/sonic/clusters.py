"""Sonic clusters as beets fields: the communities of the nearest-neighbour graph (the
ones the map draws), each with a stable id and a readable name.

The id of a cluster is the smallest item id among its members -- the same cluster keeps
its id when tracks are added elsewhere or the community numbering changes -- and its
name is made of its members' dominant genres ("Acid Techno / Drum & Bass").
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


def names(labels: np.ndarray, items: Sequence[Any]) -> list[str]:
    """A readable name per community (index = label): its one or two dominant genres
    (each on at least a quarter of the members), else "cluster N"; names repeat
    only with a number after them."""
    out, seen = [], Counter()
    for c in range(int(labels.max()) + 1 if len(labels) else 0):
        members = np.flatnonzero(labels == c)
        counts = Counter(g for i in members for g in dict.fromkeys(genres_of(items[i])))
        top = [g for g, n in counts.most_common(2) if n >= max(1, 0.25 * members.size)]
        name = " / ".join(top) or f"cluster {c + 1}"
        seen[name] += 1
        out.append(name if seen[name] == 1 else f"{name} {seen[name]}")
    return out


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
    ids, titles = stable_ids(labels, [it.id for it in items]), names(labels, items)
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
