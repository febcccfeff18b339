"""What the store hands out: spaces, their specs, entries; and the BLOB encoding."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np


@dataclass(frozen=True)
class SpaceSpec:
    """What a space is made of; compared with the stored space on every open."""

    name: str
    kind: str
    backend: str
    model: str
    dims: int
    params: dict[str, Any] = field(default_factory=dict)
    standardize: bool = False


@dataclass(frozen=True)
class Space:
    id: int
    name: str
    kind: str
    backend: str
    model: str
    dims: int
    params: dict[str, Any]
    standardize: bool
    created: str
    generation: int
    stats_n: int                       # library size the state was fitted on
    state: dict[str, np.ndarray]       # what the backend fitted on the library ({} = nothing yet)

    @property
    def table(self) -> str:
        return f"vec_{self.id}"


def stand_in(spec: SpaceSpec) -> Space:
    """A space that doesn't exist yet, as a dry run sees it: no vectors (id 0 is never a
    stored space's)."""
    return Space(0, spec.name, spec.kind, spec.backend, spec.model, spec.dims, dict(spec.params),
                 spec.standardize, "", 0, 0, {})


@dataclass(frozen=True)
class Entry:
    """The state of one (space, item) without its vectors."""

    item_id: int
    path: bytes | None
    mtime: float | None
    size: int | None
    computed_at: str
    ok: bool
    error: str | None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _blob(v: np.ndarray) -> bytes:
    return np.ascontiguousarray(v, dtype=np.float32).tobytes()


def _vec(b: bytes | None) -> np.ndarray | None:
    return None if b is None else np.frombuffer(b, dtype=np.float32)


def _describe(diff: dict[str, tuple[Any, Any]]) -> str:
    return ", ".join(f"{k} {old!r} -> {new!r}" for k, (old, new) in diff.items())


def default_path(library_path: str) -> str:
    """The sidecar beside a beets library file: ``library.db`` -> ``library.sonic.db``."""
    base, _ = os.path.splitext(library_path)
    return base + ".sonic.db"


def pack_state(state: dict[str, np.ndarray]) -> bytes | None:
    """A space's fitted state as one BLOB (``.npz`` bytes, no pickles)."""
    if not state:
        return None
    import io

    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in state.items()})
    return buf.getvalue()


def unpack_state(blob: bytes | None) -> dict[str, np.ndarray]:
    if not blob:
        return {}
    import io

    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _stack(rows: list[tuple], dims: int) -> tuple[np.ndarray, np.ndarray]:
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    X = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), dims)
    return ids, X


def _chunks(seq: list, size: int) -> Iterator[list]:
    for i in range(0, len(seq), size):
        yield seq[i: i + size]
