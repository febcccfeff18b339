"""Embedding during ``beet import``: ONE worker pool and one writer for the whole import.

The import stage hands each task's new items over and returns at once, so beets'
own pipeline (reading tags, asking questions, moving files) overlaps the embedding,
which runs in the same pool ``beet embed -w N`` uses, started once per import. A
thread of this process writes each result as it arrives (the sidecar's single
writer, under the writer lock from the first handed-over item to the end of the
import); the stage applies tempo/key/energy to the items, and the end of the import
(:meth:`ImportRun.finish`) waits for the rest, drops vectors of items removed
meanwhile, refits when due, and says what was done. A bad file is one failed item;
Ctrl-C keeps every result already written. Tempo/key/energy fields go onto the items at
the end, when beets' pipeline no longer holds them (no two threads store one item).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from . import indexer, runner
from .backends import Backend
from .errors import FatalError
from .runner import Outcome
from .store import Space, Store


class ImportRun:
    def __init__(self, store: Store, space: Space, backend: Backend, *, workers: int,
                 options: dict, on_wait: Callable[[], None] | None = None,
                 on_written: Callable[[Outcome, int, float], None] | None = None):
        """``on_written(outcome, results so far, seconds)`` is told by the writing thread."""
        self.store, self.backend, self._on_written = store, backend, on_written
        self._lock = store.writer_lock(on_wait=on_wait)
        self._lock.__enter__()
        try:
            self.report = indexer.Report(repaired=indexer.repair(store, space, backend))
            self.space = store.get_space(space.name) or space
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        self.start = time.monotonic()
        self._tasks = runner.Feed()
        self._done: deque[Outcome] = deque()
        self._written: list[int] = []
        self._mx = threading.Lock()
        self._pending: dict[int, bytes] = {}   # handed over, not written: id -> current path
        self._follow: dict[int, list[Callable[[], None]]] = {}  # what to do once it is written
        self._thread = threading.Thread(target=self._write, args=(workers, options),
                                        name="sonic-import-writer", daemon=True)
        self._thread.start()

    def add(self, items: list) -> int:
        """Hand over a task's items (those without a current vector are embedded)."""
        todo, current = indexer.plan(self.store, self.space, items)
        self.report.planned += len(todo)
        self.report.up_to_date += current
        with self._mx:
            self._pending.update((item.id, item.path) for item in todo)
        self._tasks.put([(item.id, item.path) for item in todo])
        return len(todo)

    def follow(self, item_id: int, path: bytes, then: Callable[[], None]) -> bool:
        """beets moved, copied or re-tagged an item (to ``path``): when its vector is not
        written yet, ``then()`` runs right after it is (False: run it now yourself). A
        task whose file moved away before it was read is computed again from ``path``."""
        with self._mx:
            if item_id not in self._pending:
                return False
            self._pending[item_id] = path
            self._follow.setdefault(item_id, []).append(then)
            return True

    def _write(self, workers: int, options: dict) -> None:
        results = runner.feed(self.backend, self._tasks, workers, options)
        try:
            for out in results:
                with self._mx:
                    path = self._pending.get(out.item_id, out.path)
                    if out.error and out.transient and path != out.path:  # moved before it was read
                        self._follow.pop(out.item_id, None)
                        self._tasks.put([(out.item_id, path)])
                        continue
                    indexer.write_outcome(self.store, self.space, self.backend, out)
                    self._pending.pop(out.item_id, None)
                    for then in self._follow.pop(out.item_id, []):
                        then()
                self._written.append(out.item_id)
                self._done.append(out)
                if self._on_written:
                    self._on_written(out, len(self._written), time.monotonic() - self.start)
        except FatalError as exc:  # a full disk, a damaged sidecar: the rest waits for `beet embed`
            self.report.fatal = exc
        except Exception as exc:  # never a traceback through beets' importer
            self.report.fatal = FatalError(f"unexpected {type(exc).__name__}: {exc}")
        finally:
            results.close()  # ends the pool's workers

    def written(self) -> list[Outcome]:
        """The outcomes written since the last call (never waits)."""
        out = []
        while self._done:
            out.append(self._done.popleft())
        for o in out:
            indexer.record(self.report, o)
        return out

    def finish(self, present: Callable[[list[int]], set[int]] | None = None) -> indexer.Report:
        """Wait for the items handed over, then settle the run and release the writer."""
        self._tasks.close()
        try:
            self._thread.join()
            indexer.settle(self.store, self.space, self.backend, self.report, self._written, present)
            if not self.report.fatal:
                self.store.mark_checked(self.space)
        finally:
            self.report.seconds = time.monotonic() - self.start
            self._lock.__exit__(None, None, None)
        return self.report
