"""Which items need a vector in a space, computing them, and writing them.

The run is resumable by construction: every item's result is committed on its
own as soon as it arrives, and the next run skips every item whose entry is
current (same path, mtime and size). A process killed mid-run loses at most
the items in flight.

The backend runs through :mod:`.runner` (worker processes for CPU-bound backends);
results are written by the calling process only, so the sidecar has a single writer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import analysis
from .backends import Backend
from .errors import FatalError
from .runner import Outcome, file_state, outcomes
from .store import Entry, Space, Store

# --- what needs doing ---------------------------------------------------------


def is_current(entry: Entry | None, path: bytes, state: tuple[float, int] | None) -> bool:
    """An entry is current when it holds a vector computed from this very file, and no
    recomputation of it has failed since (a vector kept after a failure is retried)."""
    return (entry is not None and entry.ok and entry.error is None and state is not None
            and entry.path == path and (entry.mtime, entry.size) == state)


def plan(store: Store, space: Space, items: Iterable[Any], *, force: bool = False) -> tuple[list, int]:
    """``(items that need a vector, number already up to date)``."""
    entries = store.entries(space)
    todo, current = [], 0
    for item in items:
        if not force and is_current(entries.get(item.id), item.path, file_state(item.path)):
            current += 1
        else:
            todo.append(item)
    return todo, current


# --- writing ----------------------------------------------------------------


def _sound(vector: np.ndarray) -> bool:
    """A stored vector must be finite and not zero (a raw output whose norm overflows
    normalises to zeros or NaN)."""
    with np.errstate(all="ignore"):
        norm = float(np.linalg.norm(np.asarray(vector, np.float64)))
    return bool(np.all(np.isfinite(vector))) and np.isfinite(norm) and norm > 1e-3


@dataclass
class Report:
    planned: int = 0       # items that needed a vector
    embedded: int = 0
    up_to_date: int = 0
    failed: list[tuple[int, bytes, str]] = field(default_factory=list)
    interrupted: bool = False
    fatal: FatalError | None = None  # the run stopped early (bad key, daily quota...)
    seconds: float = 0.0
    repaired: int = 0      # vectors that didn't match their space's state, re-derived


def write_outcome(store: Store, space: Space, backend: Backend, out: Outcome) -> None:
    """Store one result. A failure never destroys a finished vector: a recomputation that
    fails (a service outage, an unreadable file...) keeps the vector it would have replaced,
    marked with the reason so the next run tries again; a transient one (the file is not
    there now, a worker died) leaves the entry as it was -- current again once the same
    file is back."""
    mtime, size = out.state if out.state else (None, None)
    if out.error is None:
        vector = backend.derive(out.raw[None, :], space.state)[0]
        if not _sound(vector):
            out.error = ("the backend returned values too large or too small to make a vector "
                         "of (it could not be normalised)")
            out.raw = None
    if out.error is not None:
        if store.keep_vector_after_failure(space, out.item_id, None if out.transient else out.error):
            return
        store.put_error(space, out.item_id, out.error, path=out.path, mtime=mtime, size=size)
        return
    store.put_vector(space, out.item_id, vector=vector, raw=out.raw, path=out.path,
                     mtime=mtime, size=size, extra=out.extra)


def embed_items(store: Store, space: Space, backend: Backend, items: Sequence[Any], *,
                workers: int = 1, options: dict | None = None,
                on_outcome: Callable[[Outcome], None] | None = None) -> Report:
    """Compute and store vectors for ``items`` (already planned). Ctrl-C keeps finished work."""
    report = Report()
    start = time.monotonic()
    space = store.get_space(space.name) or space  # current statistics
    tasks = [(item.id, item.path) for item in items]
    try:
        for out in outcomes(backend, tasks, workers, options or {}):
            write_outcome(store, space, backend, out)
            if out.error is None:
                report.embedded += 1
            else:
                report.failed.append((out.item_id, out.path, out.error))
            if on_outcome:
                on_outcome(out)
    except KeyboardInterrupt:
        report.interrupted = True
    except FatalError as exc:
        report.fatal = exc
    finally:
        report.seconds = time.monotonic() - start
        try:  # a refit that can't be written leaves the old, consistent statistics
            restandardize(store, space, backend)
        except FatalError as exc:
            report.fatal = report.fatal or exc
    return report


def restandardize(store: Store, space: Space, backend: Backend, *, force: bool = False) -> bool:
    """Refit what the backend learns from the library (statistics, projection) and
    re-derive every vector, when the library has changed enough."""
    if not space.standardize:
        return False
    space = store.get_space(space.name) or space
    n = store.count(space)
    if not force and not analysis.needs_restandardize(stats_n=space.stats_n, n=n):
        return False
    ids, R = store.raw_matrix(space)
    if ids.size < 2:
        return False
    state = backend.fit(R)
    store.set_state_and_vectors(space, n=int(ids.size), state=state, ids=ids,
                                vectors=backend.derive(R, state))
    return True


def repair(store: Store, space: Space, backend: Backend) -> int:
    """Re-derive every vector that isn't what the space's fitted state makes of its raw
    output (left by writers of versions before the writer lock, or by hand). Checked
    under the writer lock, once per change made outside a checked run: a run records
    the generation it leaves behind."""
    space = store.get_space(space.name) or space
    if not space.standardize or store.checked_generation(space) == space.generation:
        return 0
    ids, R = store.raw_matrix(space)
    if not ids.size:
        return 0
    vids, X = store.matrix(space)
    expected = backend.derive(R, space.state)
    bad = np.abs(np.asarray(X)[np.searchsorted(vids, ids)] - expected).max(axis=1) > 1e-4
    if bad.any():
        store.set_state_and_vectors(space, n=space.stats_n, state=None, ids=ids[bad],
                                    vectors=expected[bad])
    return int(bad.sum())


def embed_now(store: Store, space: Space, backend: Backend, items: Iterable[Any], *,
              force: bool = False, limit: int | None = None, dry_run: bool = False,
              workers: int = 1, options: dict | None = None,
              on_plan: Callable[[int, int], None] | None = None,
              on_outcome: Callable[[Outcome], None] | None = None,
              on_wait: Callable[[], None] | None = None) -> Report:
    """THE use case "embed these items now", for ``beet embed`` and the import hooks.

    Plans (skipping current items), tells ``on_plan(to_do, up_to_date)``, then
    computes and stores; a dry run only plans. Runs under the sidecar's writer lock
    (``on_wait()`` is told when another run holds it).
    """
    items = list(items)

    def planned() -> tuple[list, int]:
        todo, current = plan(store, space, items, force=force)
        todo = todo[: max(limit, 0)] if limit is not None else todo
        if on_plan:
            on_plan(len(todo), current)
        return todo, current

    if dry_run:
        todo, current = planned()
        return Report(planned=len(todo), up_to_date=current)
    with store.writer_lock(on_wait=on_wait):
        repaired = repair(store, space, backend)
        todo, current = planned()  # planned inside the lock: nothing is computed twice
        report = Report(planned=0, up_to_date=current)
        if todo:
            report = embed_items(store, space, backend, todo, workers=workers, options=options,
                                 on_outcome=on_outcome)
        if not report.fatal:
            store.mark_checked(space)  # what this run wrote is consistent by construction
    report.planned, report.up_to_date, report.repaired = len(todo), current, repaired
    return report
