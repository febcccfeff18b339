"""The import stage and the library listeners. They call the same use cases as the
commands (``indexer.embed_now``, ``vibe.run.run``) and never stop a beets operation:
a problem is logged and ``beet embed --status`` / ``--prune`` reconcile later."""

from __future__ import annotations

import os

from beets.util import displayable_path

from . import indexer, output
from .dj.run import store_outcome
from .errors import FatalError
from .progress import Progress
from .runtime import Runtime
from .store import library

#: during an import, a progress line after every this many embedded items
PROGRESS_EVERY = 10


def _prompting() -> bool:
    """Whether beets may be asking the user something right now: an import that is not
    quiet shows its prompts while the stages (ours) work on earlier tasks. Nothing of ours
    may print into an open prompt: such lines wait for the end of the import."""
    from beets import config

    return not config["import"]["quiet"].get(bool)


def _log_failures(rt: Runtime, report: indexer.Report) -> None:
    for _, path, reason in report.failed:
        if _prompting():
            rt.held.append(f"could not embed {output.failure(path, reason)}")
        else:
            rt.log.warning("could not embed {}", output.failure(path, reason))


def _import_error(rt: Runtime, what: str, exc: FatalError, count: int) -> None:
    """A problem that stops the import stage is said once per import, not once per task."""
    rt.import_tally[3] += count
    rt.warn_once(exc, f"{what}: {exc}")


def embed_imported(rt: Runtime, items: list) -> None:
    """The import stage: hand a task's new items to the import's worker pool (started
    with the first task, see :mod:`.import_run`) and return; a bad file never stops
    the import. Their tempo/key/energy fields are stored at the end of the import
    (:func:`finish_import`), when beets' pipeline no longer holds the items.

    With a hosted backend nothing waits on the network here: the items are
    remembered and embedded when the import is over (:func:`finish_import`), so the
    importer's questions are never held up by a rate limit.
    """
    if not items:
        return
    try:
        if rt.settings.hosted:
            rt.deferred.extend(item.id for item in items)
            return
        if rt.import_run is None:
            from .import_run import ImportRun

            rt.import_run = ImportRun(
                rt.store, rt.audio_space(), rt.backend,
                workers=rt.settings.workers or os.cpu_count() or 1,
                options=rt.settings.backend_options(),
                on_wait=lambda: output.line("sonic: another run is writing to this sidecar; the "
                                            "import's embedding waits for it to finish"),
                on_written=lambda out, done, seconds: _progress(rt, out, done, seconds))
        rt.import_items.update((item.id, item) for item in items)
        rt.import_run.add(items)
    except FatalError as exc:
        _import_error(rt, "not embedding imported items", exc, len(items))


def _progress(rt: Runtime, out, done: int, seconds: float) -> None:
    """Told by the import's writing thread as each result is stored: a failure is said
    at once, and a long import says how it goes."""
    if out.error:
        if _prompting():  # beets may be asking something: said after the import
            rt.held.append(f"could not embed {output.failure(out.path, out.error)}")
        else:
            rt.log.warning("could not embed {}", output.failure(out.path, out.error))
    if done % PROGRESS_EVERY == 0 and not _prompting():
        output.line(f"sonic: {done} new item(s) embedded so far ({done / max(seconds, 1e-9):.1f} "
                    "per second)")


def _collect(rt: Runtime, lib, outcomes: list) -> None:
    """Tempo/key/energy onto the imported items whose vectors were written (not onto
    items beets removed meanwhile, e.g. a duplicate replaced)."""
    alive = library.existing(lib, [out.item_id for out in outcomes if out.extra]) if outcomes else set()
    for out in outcomes:
        item = rt.import_items.pop(out.item_id, None)
        if out.item_id in alive:
            store_outcome(item, out.extra, write_tags=rt.settings.write_tags,
                          bpm_range=rt.settings.bpm_range)


def _finish_run(rt: Runtime, lib) -> None:
    """The end of an import: the rest of the pool's work, then what it did."""
    run, rt.import_run = rt.import_run, None
    if run is None:
        return
    try:
        report = run.finish(present=lambda ids: library.existing(lib, ids))
    except FatalError as exc:
        report = run.report
        report.fatal = report.fatal or exc
    _collect(rt, lib, run.written())
    rt.import_items.clear()
    if report.fatal:
        _import_error(rt, "not embedding imported items", report.fatal,
                      report.planned - report.embedded - len(report.failed))
    rt.import_tally[0] += report.embedded
    rt.import_tally[1] += len(report.failed)
    rt.import_tally[2] += report.seconds
    if report.refit:
        output.line("sonic: " + output.refit_line(run.space.name, *report.refit))


def vibe_imported(rt: Runtime, items: list) -> None:
    """Import stage for `vibe: auto: yes`: the offline analyzer runs here; a hosted one
    is deferred to the end of the import like the hosted embeddings."""
    if not items:
        return
    try:
        v = rt.vibes()
        if v.hosted:
            rt.deferred_vibes.extend(item.id for item in items)
            return
        from .vibe.run import run

        for r in run(v, items):
            if r.error:
                rt.log.info("no vibe for {}: {}", displayable_path(r.item.path), r.error)
    except FatalError as exc:
        _import_error(rt, "no vibes for imported items", exc, 0)


def finish_import(rt: Runtime, lib) -> None:
    """After ``beet import``: say what the import stage embedded, then embed (and assess)
    what hosted services were handed during the import."""
    _finish_run(rt, lib)
    embedded, failed, seconds, skipped = rt.import_tally
    held, rt.held = rt.held, []
    for message in held:  # what could not be said while beets was prompting
        rt.log.warning("{}", message)
    if embedded or failed:
        output.line(f"sonic: embedded {embedded} new item(s) in {seconds:.1f} s"
                    + (f", {failed} failed (reasons: `beet embed --status`)" if failed else ""))
    if skipped:
        output.line(f"sonic: {skipped} new item(s) not embedded (see above): `beet embed` "
                    "catches up once that is fixed")
    rt.import_tally = [0, 0, 0.0, 0]
    if rt.deferred_vibes:
        from .vibe.run import run

        ids, rt.deferred_vibes = rt.deferred_vibes, []
        items = [it for it in (lib.get_item(i) for i in ids) if it is not None]
        try:
            with Progress(len(items), "vibe") as bar:
                run(rt.vibes(), items, on_result=lambda r: bar.advance(failed=bool(r.error)))
        except FatalError as exc:
            rt.log.error("no vibes for imported items: {}", exc)
    if not rt.deferred:
        return
    ids, rt.deferred = rt.deferred, []
    if rt.settings.hosted_import == "later":
        output.line(f"sonic: {len(ids)} new item(s) wait for `beet embed` ({rt.settings.backend})")
        return
    items = [item for item in (lib.get_item(i) for i in ids) if item is not None]
    bar = None

    def on_plan(todo: int, current: int) -> None:
        nonlocal bar
        output.line(f"sonic: embedding {todo} imported item(s) with {rt.settings.backend} "
                    f"(Ctrl-C leaves the rest to `beet embed`)")
        bar = Progress(todo, "embed").__enter__()

    by_id = {item.id: item for item in items}

    def on_outcome(out) -> None:
        bar.advance(failed=bool(out.error))
        store_outcome(by_id.get(out.item_id), out.extra, write_tags=rt.settings.write_tags,
                      bpm_range=rt.settings.bpm_range)

    try:
        report = indexer.embed_now(rt.store, rt.audio_space(), rt.backend, items, on_plan=on_plan,
                                   on_outcome=on_outcome, present=lambda ids: library.existing(lib, ids),
                                   on_wait=lambda: output.line("sonic: another run is writing to this "
                                                               "sidecar; waiting for it to finish"))
    except FatalError as exc:
        rt.log.error("not embedding imported items: {}", exc)
        return
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    _log_failures(rt, report)
    output.line(f"sonic: embedded {report.embedded}, failed {len(report.failed)}"
                + (" (interrupted: run `beet embed` for the rest)" if report.interrupted else ""))
    if report.fatal:
        rt.log.error("{}", report.fatal)


def forget_item(rt: Runtime, item) -> None:
    try:
        rt.store.delete_items([item.id])
    except FatalError as exc:  # never abort `beet rm`: `beet embed --prune` cleans up later
        rt.warn_once(exc, f"could not remove vectors of removed items ({exc}); `beet embed --prune` will")


def follow_file(rt: Runtime, item, source: bytes | None, destination: bytes, *,
                same_mtime: bool) -> None:
    """A file beets moved or copied keeps its vectors -- the audio is the same -- but only
    vectors that were current: for a move, the moved file has the mtime and size
    recorded; for a copy (new mtime), the source it was copied from still has them, as
    for a tag write -- a same-size file put in place of the audio is never re-blessed."""
    state = indexer.file_state(destination)
    if state is None:
        return
    was = state if same_mtime else indexer.file_state(source) if source else None
    if was is None or was[1] != state[1]:
        return  # nothing to tell the copy by: the next `beet embed` looks at it

    def relocate() -> None:
        try:
            rt.store.relocate(item.id, destination, *state, old_path=source,
                              old_mtime=was[0], old_size=was[1])
        except FatalError as exc:
            rt.warn_once(exc, f"could not follow moved files ({exc}); `beet embed` re-embeds them later")

    _now_or_once_written(rt, item, destination, relocate)


def _now_or_once_written(rt: Runtime, item, path: bytes, then) -> None:
    """During an import, an item still in the worker pool is followed once its vector is
    written (:meth:`.import_run.ImportRun.follow`); otherwise now."""
    if rt.import_run is None or not rt.import_run.follow(item.id, path, then):
        then()


def before_write(rt: Runtime, item, path: bytes) -> None:
    """beets is about to re-tag a file: remember its state, to tell afterwards whether the
    vector was current before the write."""
    rt.before_write[item.id] = indexer.file_state(path)


def after_write(rt: Runtime, item, path: bytes) -> None:
    """After a tag write the vector stays current only if it was current before it (same
    path, size and mtime as recorded before beets touched the file)."""
    before = rt.before_write.pop(item.id, None)
    state = indexer.file_state(path)
    if before is None or state is None:
        return

    def relocate() -> None:
        try:
            rt.store.relocate(item.id, path, *state, old_path=path, old_mtime=before[0],
                              old_size=before[1])
        except FatalError as exc:
            rt.warn_once(exc, f"could not follow re-tagged files ({exc}); `beet embed` re-embeds them later")

    _now_or_once_written(rt, item, path, relocate)
