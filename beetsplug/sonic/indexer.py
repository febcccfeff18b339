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
from .store import Entry, Space, Store, bulk

# --- what needs doing ---------------------------------------------------------


def is_current(entry: Entry | None, path: bytes, state: tuple[float, int] | None) -> bool:
    """An entry is current when it holds a vector computed from this very file, and no
    recomputation of it has failed since (a vector kept after a failure is retried)."""
    return (entry is not None and entry.ok and entry.error is None and state is not None
            and entry.path == path and (entry.mtime, entry.size) == state)


#: below this many items a plan reads their own entries, not the whole space's
FEW = 2000


def plan(store: Store, space: Space, items: Iterable[Any], *, force: bool = False) -> tuple[list, int]:
    """``(items that need a vector, number already up to date)``."""
    items = list(items)
    if len(items) < FEW:
        entries = bulk.entries_of(store, space, [item.id for item in items])
    else:  # the file states alone, read from the covering index (no row of raw outputs)
        entries = {iid: Entry(iid, p, m, sz, "", ok, "failed" if failed else None)
                   for iid, (p, m, sz, ok, failed) in bulk.file_states(store, space).items()}
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
    refit: tuple[int, float] | None = None  # (tracks, seconds) when the library was refitted
    dropped: int = 0       # vectors written for items removed meanwhile, deleted again


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


def record(report: Report, out: Outcome) -> None:
    if out.error is None:
        report.embedded += 1
    else:
        report.failed.append((out.item_id, out.path, out.error))


def settle(store: Store, space: Space, backend: Backend, report: Report, written: Iterable[int],
           present: Callable[[list[int]], set[int]] | None) -> None:
    """The end of every writing run: drop the vectors it wrote for items removed meanwhile
    (``present(ids)``: those still in the library), then refit if the library changed
    enough. A failure here leaves the old, consistent statistics."""
    try:
        if present is not None:
            report.dropped = bulk.drop_absent(store, present, written)
        report.refit = restandardize(store, space, backend)
    except FatalError as exc:
        report.fatal = report.fatal or exc


def embed_items(store: Store, space: Space, backend: Backend, items: Sequence[Any], *,
                workers: int = 1, options: dict | None = None,
                on_outcome: Callable[[Outcome], None] | None = None,
                present: Callable[[list[int]], set[int]] | None = None) -> Report:
    """Compute and store vectors for ``items`` (already planned). Ctrl-C keeps finished work."""
    report = Report()
    start = time.monotonic()
    space = store.get_space(space.name) or space  # current statistics
    tasks = [(item.id, item.path) for item in items]
    written: list[int] = []
    try:
        for out in outcomes(backend, tasks, workers, options or {}):
            write_outcome(store, space, backend, out)
            written.append(out.item_id)
            record(report, out)
            if on_outcome:
                on_outcome(out)
    except KeyboardInterrupt:
        report.interrupted = True
    except FatalError as exc:
        report.fatal = exc
    finally:
        report.seconds = time.monotonic() - start
        # after Ctrl-C the beets library may be mid-transaction (its lock held): leave it
        # alone; orphans count nowhere, and `beet embed --prune` deletes them
        settle(store, space, backend, report, written, None if report.interrupted else present)
    return report


def restandardize(store: Store, space: Space, backend: Backend, *,
                  force: bool = False) -> tuple[int, float] | None:
    """Refit what the backend learns from the library (statistics, projection) and
    re-derive every vector, when the library has changed enough (grown or shrunk).
    Block by block: memory follows the block, not the library. ``(tracks, seconds)``
    when it ran."""
    if not space.standardize:
        return None
    space = store.get_space(space.name) or space
    n = store.count(space)
    if n < 2 or (not force and not analysis.needs_restandardize(stats_n=space.stats_n, n=n)):
        return None
    if sum(len(ids) for ids, _ in bulk.raw_blocks(store, space, block=2, limit=1)) < 2:
        return None  # raw outputs of fewer than two tracks (vectors loaded from elsewhere)
    start = time.monotonic()
    rows = [0]

    def blocks():
        rows[0] = 0
        for _, R in bulk.raw_blocks(store, space):
            rows[0] += len(R)
            yield R

    state = backend.fit_blocks(blocks)
    derived = ((ids, backend.derive(R, state)) for ids, R in bulk.raw_blocks(store, space))
    written = bulk.write_refit(store, space, n=rows[0], state=state, blocks=derived)
    return written, time.monotonic() - start


def repair(store: Store, space: Space, backend: Backend) -> int:
    """Re-derive every vector that isn't what the space's fitted state makes of its raw
    output (left by writers of versions before the writer lock, or by hand). Checked
    under the writer lock, once per change made outside a checked run: a run records
    the generation it leaves behind."""
    space = store.get_space(space.name) or space
    if not space.standardize or store.checked_generation(space) == space.generation:
        return 0
    vids, X = store.matrix(space)
    fixed = 0
    for ids, R in bulk.raw_blocks(store, space):  # block by block: bounded memory
        expected = backend.derive(R, space.state)
        bad = np.ones(len(ids), bool)
        if len(vids):
            rows = np.minimum(np.searchsorted(vids, ids), len(vids) - 1)
            bad = (vids[rows] != ids) | (np.abs(np.asarray(X)[rows] - expected).max(axis=1) > 1e-4)
        if bad.any():
            store.set_state_and_vectors(space, n=space.stats_n, state=None, ids=ids[bad],
                                        vectors=expected[bad])
            fixed += int(bad.sum())
    return fixed


def embed_now(store: Store, space: Space, backend: Backend, items: Iterable[Any], *,
              force: bool = False, limit: int | None = None, dry_run: bool = False,
              workers: int = 1, options: dict | None = None,
              on_plan: Callable[[int, int], None] | None = None,
              on_outcome: Callable[[Outcome], None] | None = None,
              on_wait: Callable[[], None] | None = None,
              present: Callable[[list[int]], set[int]] | None = None) -> Report:
    """THE use case "embed these items now", for ``beet embed`` and the import hooks.

    Plans (skipping current items), tells ``on_plan(to_do, up_to_date)``, then
    computes and stores; a dry run only plans. Runs under the sidecar's writer lock
    (``on_wait()`` is told when another run holds it). ``present(ids)``: which of these
    item ids are still in the library -- vectors of items removed while they were being
    computed are dropped at the end. A library that changed enough since its last fit
    (grown, or shrunk by ``beet rm``) is refitted even when nothing needs embedding.
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
                                 on_outcome=on_outcome, present=present)
        else:
            settle(store, space, backend, report, (), None)
        if not report.fatal:
            store.mark_checked(space)  # what this run wrote is consistent by construction
    report.planned, report.up_to_date, report.repaired = len(todo), current, repaired
    return report
