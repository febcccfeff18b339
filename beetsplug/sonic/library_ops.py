"""Use cases that keep the sidecar in step with the library: status, prune, export."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .indexer import file_state
from .store import Space, Store, bulk


@dataclass
class Status:
    """Per-space counts for ``beet embed --status``."""

    space: Space
    embedded: int = 0
    stale: int = 0
    failed: int = 0
    missing: int = 0
    orphaned: int = 0
    unreachable: int = 0   # embedded, but the file is not there now (vector kept)
    kept: int = 0          # a recomputation failed; the earlier vector is kept (next run retries)
    errors: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        s = self.space
        return {"space": s.name, "backend": s.backend, "dims": s.dims, "embedded": self.embedded,
                "stale": self.stale, "missing": self.missing, "failed": self.failed,
                "orphaned": self.orphaned, "unreachable": self.unreachable, "kept": self.kept,
                "errors": self.errors}


def status(store: Store, space: Space, items: Iterable[Any], *, library_ids: set[int]) -> Status:
    """Counts over ``items`` (the query; anything with ``id`` and ``path``); orphans are
    counted against the whole library. Reads four columns of the space, never a vector."""
    states = bulk.file_states(store, space)
    failed = any(not s[3] or s[4] for s in states.values())
    errors = bulk.error_counts(store, space) if failed else {}
    st = Status(space)
    for item in items:
        entry = states.get(item.id)
        if entry is None:
            st.missing += 1
        elif not entry[3] or entry[4]:
            st.failed += 1
            st.kept += entry[3]
            reason = errors.get(item.id) or "?"
            st.errors[reason] = st.errors.get(reason, 0) + 1
        elif space.kind != "audio":
            st.embedded += 1  # a vibe comes from tags, not from the file
        elif (state := file_state(item.path)) is None:
            st.unreachable += 1
        elif entry[0] == item.path and (entry[1], entry[2]) == state:
            st.embedded += 1
        else:
            st.stale += 1
    st.orphaned = len(set(states) - library_ids)
    return st


def prune(store: Store, library_ids: set[int]) -> tuple[int, int]:
    """Delete the vectors of items no longer in the library: ``(vectors, items)``."""
    gone = store.item_ids() - library_ids
    return store.delete_items(sorted(gone)), len(gone)


def query_rows(ids: np.ndarray, items: Iterable[Any]) -> tuple[list[int], dict[int, Any]]:
    """Rows of a space's matrix (ids ascending) whose items are given, and those items by id."""
    by_id = {item.id: item for item in items}
    return [r for r, iid in enumerate(ids.tolist()) if iid in by_id], by_id


def export(store: Store, space: Space, items: Iterable[Any], *, path_of) -> dict[str, Any]:
    """The document ``beet embed --export`` writes: vectors with id, path, artist, title."""
    ids, X = store.matrix(space)
    rows, by_id = query_rows(ids, items)
    records = [{"id": int(ids[r]), "path": path_of(by_id[int(ids[r])]),
                "artist": by_id[int(ids[r])].artist, "title": by_id[int(ids[r])].title,
                "vector": [round(float(v), 6) for v in X[r]]} for r in rows]
    return {"space": space.name, "backend": space.backend, "model": space.model,
            "dims": space.dims, "items": records}
