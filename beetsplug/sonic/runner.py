"""Running a backend over files: in this process, on threads for a hosted service, or
in worker processes for CPU-bound backends. Every failure of one file becomes an
:class:`Outcome` with a reason; a worker that dies (``kill -9``, the OOM killer, a
crash in a native decoder) costs only its in-flight tracks; workers of a killed parent
exit quietly. Results go back to the caller, the sidecar's single writer."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from .backends import Backend, HostedBackend, get_backend
from .errors import FatalError, ItemError, item_reason


def file_state(path: bytes | str) -> tuple[float, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime, st.st_size



@dataclass
class Outcome:
    item_id: int
    path: bytes
    raw: np.ndarray | None = None
    extra: dict | None = None
    error: str | None = None
    state: tuple[float, int] | None = None
    detail: str | None = None  # traceback of an unexpected failure, for -v
    transient: bool = False    # the file is missing / a worker died: keep any finished vector



_BACKEND: Backend | None = None


def _exit_with_parent(parent: int) -> None:
    """A worker whose parent died (kill -9, OOM) ends quietly: nothing else would tell it
    (it holds both ends of the pool's queues, so it never sees EOF)."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def _init_worker(name: str, options: dict, parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    global _BACKEND
    _BACKEND = get_backend(name, **options)


def compute(backend: Backend, item_id: int, path: bytes) -> Outcome:
    """Run the backend on one file; every failure becomes ``Outcome.error``."""
    out = Outcome(item_id, path, state=file_state(path))
    if out.state is None:
        return Outcome(item_id, path, error="file not found (moved, deleted, or on a drive that "
                       "is not mounted); its vector, if any, is kept", transient=True)
    try:
        result = backend.embed(os.fsdecode(path))
        out.raw = np.asarray(result.vector, np.float32).ravel()
        out.extra = result.extras or None
        if out.raw.size != backend.raw_dims or not np.all(np.isfinite(out.raw)):
            raise ItemError(f"backend returned a bad vector ({out.raw.size} values, "
                            f"expected {backend.raw_dims} finite)")
    except FatalError:
        raise
    except Exception as exc:  # ItemError, or a bug / an unforeseen file: one track, not the run
        return _failure(item_id, path, out.state, exc)
    return out


def _compute_in_worker(task: tuple[int, bytes]) -> Outcome:
    assert _BACKEND is not None
    return compute(_BACKEND, *task)


def _failure(item_id: int, path: bytes, state, exc: BaseException) -> Outcome:
    if isinstance(exc, ItemError):
        return Outcome(item_id, path, error=str(exc), state=state)
    return Outcome(item_id, path, error=item_reason(exc), state=state,
                   detail="".join(traceback.format_exception(exc)))


def _in_daemon_thread(fn, *args) -> Future:
    """Run ``fn(*args)`` in a daemon thread: a request still in flight when the user
    presses Ctrl-C must not keep the process alive (its answer would be lost anyway)."""
    fut: Future = Future()

    def run():
        try:
            fut.set_result(fn(*args))
        except BaseException as exc:  # delivered to the caller through the future
            fut.set_exception(exc)

    threading.Thread(target=run, name="sonic-send", daemon=True).start()
    return fut


def _hosted_outcomes(backend: HostedBackend, tasks: list[tuple[int, bytes]], workers: int):
    """Prepare clips ahead in threads while rate-limited requests are in flight.

    Up to ``concurrency`` requests of ``tracks_per_request`` tracks each; the
    preparation runs at most a few batches ahead so memory stays bounded. A
    FatalError from a request stops the run after the other requests in flight
    have been collected (they are paid for).
    """
    per_request = backend.tracks_per_request
    lookahead = per_request * backend.concurrency * 2 + max(workers, 1)
    todo = iter(tasks)
    prepping: deque = deque()
    batch: list = []
    sending: dict = {}
    fatal: FatalError | None = None
    prep_pool = ThreadPoolExecutor(max(workers, 1), thread_name_prefix="sonic-prepare")
    try:
        while True:
            while fatal is None and len(prepping) < lookahead:
                task = next(todo, None)
                if task is None:
                    break
                state = file_state(task[1])
                prepping.append((task, state, prep_pool.submit(backend.prepare, os.fsdecode(task[1]))))
            while prepping and prepping[0][2].done():
                task, state, fut = prepping.popleft()
                if fut.exception() is not None:
                    yield _failure(*task, state, fut.exception())
                else:
                    batch.append((task, state, fut.result()))
            full = len(batch) >= per_request or (batch and not prepping)
            if fatal is None and full and len(sending) < backend.concurrency:
                chunk, batch = batch[:per_request], batch[per_request:]
                sending[_in_daemon_thread(backend.send, [c for _, _, c in chunk])] = chunk
                continue
            if not sending and (fatal is not None or not prepping):
                break
            waitable = list(sending) + ([prepping[0][2]] if prepping and fatal is None else [])
            done, _ = wait(waitable, timeout=0.5, return_when=FIRST_COMPLETED)
            for fut in done:
                chunk = sending.pop(fut, None)
                if chunk is None:
                    continue
                try:
                    results = fut.result()
                except FatalError as exc:
                    fatal = fatal or exc
                    continue
                except Exception as exc:
                    results = [exc] * len(chunk)
                for (task, state, _), result in zip(chunk, results):
                    if isinstance(result, BaseException):
                        yield _failure(*task, state, result)
                    else:
                        yield Outcome(task[0], task[1], raw=np.asarray(result, np.float32), state=state)
        if fatal is not None:
            raise fatal
    finally:
        prep_pool.shutdown(wait=False, cancel_futures=True)


#: the BLAS/OpenMP thread pools a worker process would otherwise start (one per core)
_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextmanager
def _single_threaded_children():
    """Worker processes each use ONE BLAS thread: N workers x N threads on N cores would
    oversubscribe them (measured: -w 2 was slower than -w 1 while workers, which start
    when tasks are submitted, escaped this by starting after it ended)."""
    saved = {k: os.environ.get(k) for k in _THREAD_VARS}
    os.environ.update({k: "1" for k in _THREAD_VARS})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def outcomes(backend: Backend, tasks: list[tuple[int, bytes]], workers: int, options: dict):
    if isinstance(backend, HostedBackend):
        yield from _hosted_outcomes(backend, tasks, workers)
        return
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield compute(backend, *task)
        return
    yield from _pool_outcomes(backend, tasks, min(workers, len(tasks)), options)


_QUIET_TRACKER = "ignore:resource_tracker:UserWarning"
#: how a task lost with a dead worker is reported (it is tried again on the next run)
WORKER_DIED = ("a worker process died while this track was in flight (killed, out of memory, "
               "or a crash in a native decoder); it will be tried again")


def _pool_outcomes(backend: Backend, tasks: list[tuple[int, bytes]], workers: int, options: dict):
    """Worker processes, at most ``2 * workers`` tasks in flight. A worker that dies
    (``kill -9``, the OOM killer, a segfault) breaks the pool: its in-flight tasks are
    reported as failed (vectors kept, tried again next run) and a new pool takes the
    rest -- the run never hangs."""
    ctx = multiprocessing.get_context("spawn")
    # if this process is killed, the resource tracker frees the pool's semaphores: quietly
    if _QUIET_TRACKER not in sys.warnoptions:
        sys.warnoptions.append(_QUIET_TRACKER)
    # workers start on demand, at submit time: the whole pool's life runs single-threaded
    with _single_threaded_children():
        yield from _pool_rounds(_Tasks(tasks), ctx, backend, workers, options)


class _Tasks(deque):
    """The tasks of a run known up front (``beet embed``)."""

    poll = None  # wait for results only

    def more(self, *, block: bool) -> bool:
        return bool(self)

    def rest(self) -> list:
        out = list(self)
        self.clear()
        return out


class Feed:
    """Tasks that arrive while the pool runs (an import hands over each task's items):
    ONE pool for the whole import, outcomes collected as they finish (see :func:`feed`)."""

    poll = 0.2  # how often a wait for results looks for newly arrived tasks

    def __init__(self) -> None:
        self._q: deque = deque()
        self._cv = threading.Condition()
        self._closed = False

    def put(self, tasks) -> None:
        with self._cv:
            self._q.extend(tasks)
            self._cv.notify_all()

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify_all()

    def more(self, *, block: bool) -> bool:
        with self._cv:
            while block and not self._q and not self._closed:
                self._cv.wait()
            return bool(self._q)

    def __bool__(self) -> bool:
        return self.more(block=True)

    def popleft(self):
        with self._cv:
            return self._q.popleft()

    def appendleft(self, task) -> None:
        with self._cv:
            self._q.appendleft(task)

    def rest(self) -> list:
        with self._cv:
            out = list(self._q)
            self._q.clear()
            return out


def feed(backend: Backend, tasks: Feed, workers: int, options: dict):
    """Outcomes of the tasks put into ``tasks`` until it is closed, by one pool of
    ``workers`` processes (renewed only if a worker dies) -- the import's runner."""
    ctx = multiprocessing.get_context("spawn")
    if _QUIET_TRACKER not in sys.warnoptions:
        sys.warnoptions.append(_QUIET_TRACKER)
    with _single_threaded_children():
        yield from _pool_rounds(tasks, ctx, backend, max(workers, 1), options)


def _pool_rounds(todo, ctx, backend: Backend, workers: int, options: dict):
    strikes = 0  # pools in a row that broke before finishing a single track
    while todo.more(block=True):
        if strikes >= 3:  # workers can't even start (a crash on import?): stop, don't spin
            for task in todo.rest():
                yield Outcome(*task, error=WORKER_DIED, state=file_state(task[1]), transient=True)
            continue
        pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                   initargs=(backend.NAME, options, os.getpid()))
        flight: dict[Future, tuple[int, bytes]] = {}
        broken = finished = False
        try:
            while flight or todo.more(block=True):
                while len(flight) < 2 * workers and not broken and todo.more(block=not flight):
                    task = todo.popleft()
                    try:
                        flight[pool.submit(_compute_in_worker, task)] = task
                    except Exception:  # the pool broke (or closed) under us: a new one takes it
                        todo.appendleft(task)
                        broken = True
                if not flight:
                    break
                done, _ = wait(list(flight), timeout=todo.poll, return_when=FIRST_COMPLETED)
                for fut in done:
                    task = flight.pop(fut)
                    try:
                        result = fut.result()
                        strikes = 0
                        yield result
                    except BrokenProcessPool:
                        broken = True
                        yield Outcome(*task, error=WORKER_DIED, state=file_state(task[1]), transient=True)
                if broken:
                    for fut, task in flight.items():
                        yield Outcome(*task, error=WORKER_DIED, state=file_state(task[1]), transient=True)
                    flight.clear()
                    break
            strikes += broken
            finished = True
        finally:
            procs = list((getattr(pool, "_processes", None) or {}).values())
            if not finished:  # Ctrl-C or an error in the caller: don't wait for the workers
                for proc in procs:
                    proc.terminate()
            elif broken:
                # CPython (3.11) terminates a broken pool's workers, then joins them; a
                # worker it started while that was under way is never signalled, and the
                # join -- then the interpreter's exit -- waits for it forever. End them all.
                for proc in procs:
                    if proc.is_alive():
                        proc.kill()
            pool.shutdown(wait=finished and not broken, cancel_futures=True)
