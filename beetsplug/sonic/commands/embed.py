"""``beet embed``: compute vectors for items that lack a current one, and keep the
sidecar in step (``--status``, ``--prune``, ``--export``, ``--drop-space``, ``--rebuild``)."""

from __future__ import annotations

import json
import os
import signal

from beets import ui

from .. import indexer, library_ops, output
from ..dj.run import store_outcome
from ..errors import FatalError
from ..outfile import check_writable, text_path, write_text
from ..progress import Progress
from ..spaces import named
from ..store import library
from ..store.connection import DAMAGED_FIX
from . import common


def make() -> ui.Subcommand:
    cmd = ui.Subcommand("embed", help="compute audio embeddings for items that lack a current one")
    cmd.parser.usage += (
        "\n\nEmbeds every matching item without a current vector (new, failed before,"
        "\nor whose file changed). Finished items are saved one by one: Ctrl-C or a"
        "\ncrash loses nothing finished, and the next run picks up where this one stopped."
    )
    cmd.parser.add_option("--force", action="store_true", help="re-embed items that are up to date")
    cmd.parser.add_option("-w", "--workers", type="int", default=None,
                          help="parallel worker processes (default: config workers, 0 = one per core)")
    cmd.parser.add_option("--limit", type="int", default=None, metavar="N",
                          help="embed at most N items this run")
    cmd.parser.add_option("--dry-run", action="store_true",
                          help="only say how many items would be embedded")
    cmd.parser.add_option("--status", action="store_true",
                          help="per space: how many items are embedded, stale, missing and failed")
    cmd.parser.add_option("--prune", action="store_true",
                          help="delete vectors of items that are no longer in the library")
    cmd.parser.add_option("--rebuild", action="store_true",
                          help="drop the configured backend's space (e.g. after changing its "
                               "settings) and embed again")
    cmd.parser.add_option("--drop-space", metavar="NAME", help="delete one space and all its vectors")
    cmd.parser.add_option("-y", "--yes", action="store_true",
                          help="with --rebuild / --drop-space: do not ask for confirmation")
    cmd.parser.add_option("--json", action="store_true", help="with --status: one JSON object per space; with --tag-check: one per track")
    cmd.parser.add_option("--export", metavar="FILE.json",
                          help="write the vectors (with item id, path, artist, title) to a JSON file")
    cmd.parser.add_option("--space", metavar="NAME", help="with --export: which space (default: the backend's)")
    cmd.parser.add_option("--analysis", action="store_true",
                          help="fill tempo and key (sonic_bpm, sonic_camelot, ...) for items that "
                               "lack them or were analysed by an older version of the analysis, "
                               "without recomputing vectors (with --force: all)")
    cmd.parser.add_option("--tag-check", action="store_true",
                          help="list tracks whose bpm or initial_key tag disagrees with the audio's "
                               "own reading (a tempo more than 4 %% off, e.g. tagged at half; a key "
                               "neither the same nor relative)")
    cmd.parser.add_format_option()
    cmd.parser.add_option("--clusters", action="store_true",
                          help="store the sonic clusters of the whole library (sonic_cluster, "
                               "sonic_cluster_name), as `beet graph` does, without a page")
    common.add_playlist_option(cmd, "the tracks of an M3U playlist")
    return cmd


def _confirm(opts, question: str) -> None:
    if not opts.yes and not ui.input_yn(f"{question} (y/n)", require=True):
        raise FatalError("nothing changed")


def drop_space(rt, lib, opts, args) -> None:
    space = named(rt.store, opts.drop_space)
    _confirm(opts, f"delete the {space.name} space and its {rt.store.count(space)} vector(s)?")
    rt.store.drop_space(space.name)
    output.line(f"dropped the {space.name} space")


def prune(rt, lib, opts, args) -> None:
    removed, gone = library_ops.prune(rt.store, library.ids(lib))
    output.line(f"pruned {removed} vector(s) of {gone} item(s) no longer in the library")


def status(rt, lib, opts, args) -> None:
    items = common.rows(rt, lib, opts, args)
    library_ids = library.ids(lib)
    store = rt.store  # a sidecar that can't be opened is said once, as the error it is
    damage = store.damage()
    if damage:
        raise FatalError(f"the sonic sidecar {store.path} failed its check ({damage}). {DAMAGED_FIX}")
    try:
        rt.audio_space()  # the configured backend's space is always listed, if only as missing
    except FatalError as exc:
        output.line(f"note: {exc}")
    for space in store.spaces():
        st = library_ops.status(rt.store, space, items, library_ids=library_ids)
        if opts.json:
            output.print_json(st.to_json())
            continue
        output.line(f"{space.name} ({space.kind}, {space.backend}, {space.dims} dims): "
                    f"{st.embedded} embedded, {st.stale} stale, {st.missing} missing, {st.failed} failed"
                    + (f" ({st.kept} of them keep their earlier vector; `beet embed` retries)"
                       if st.kept else "")
                    + (f", {st.unreachable} with the file out of reach (vectors kept)" if st.unreachable else "")
                    + (f", {st.orphaned} of removed items (beet embed --prune)" if st.orphaned else ""))
        for reason, n in sorted(st.errors.items(), key=lambda kv: -kv[1])[:10]:
            output.line(f"  {n} x {reason}")


def export(rt, lib, opts, args) -> None:
    path = check_writable(opts.export)
    space = rt.read_space(opts.space)
    doc = library_ops.export(rt.store, space, common.items(rt, lib, opts, args),
                             path_of=lambda item: text_path(item.path))
    write_text(path, json.dumps(doc, ensure_ascii=False))
    output.line(f"exported {len(doc['items'])} vectors ({space.name}, {space.dims} dims) to {path}")


def embed(rt, lib, opts, args) -> None:
    if opts.dry_run and not os.path.exists(rt.settings.sidecar):  # a dry run writes nothing
        todo = len(common.items(rt, lib, opts, args))
        todo = min(todo, max(opts.limit, 0)) if opts.limit is not None else todo
        output.line(f"{rt.settings.backend}: {todo} to embed, 0 up to date (no sidecar yet)")
        return
    if opts.rebuild and not opts.dry_run:
        _confirm(opts, f"drop the {rt.settings.backend} space and embed everything again?")
    space = rt.audio_space(rebuild=opts.rebuild, dry_run=opts.dry_run)
    if rt.view["backend"].get() == "auto":
        output.line(f"using the {rt.settings.backend} backend ({rt.settings.backend_reason})")
    workers = opts.workers if opts.workers is not None else rt.settings.workers
    if workers < 0:
        raise FatalError("-w/--workers must be 0 (one per core) or more")
    workers = workers or os.cpu_count() or 1
    bar = None

    def on_plan(todo: int, current: int) -> None:
        nonlocal bar
        output.line(f"{space.name}: {todo} to embed, {current} up to date")
        if rt.settings.hosted and todo:
            b = rt.backend
            output.line(f"  {b.requests_for(todo)} request(s) to {b.model}, {b.batch_size} clip(s) "
                        f"each: about {output.duration(b.estimate_seconds(todo))} at the configured "
                        "pace (lower `gemini: min_interval` on a paid tier)")
        if todo and not opts.dry_run:
            bar = Progress(todo, "embed").__enter__()

    def on_outcome(out) -> None:
        store_outcome(lib.get_item(out.item_id), out.extra, write_tags=rt.settings.write_tags,
                      bpm_range=rt.settings.bpm_range)
        if out.error:  # listed in the summary below
            rt.log.debug("could not embed {}", output.failure(out.path, out.error))
            if out.detail:
                rt.log.debug("{}", out.detail)
        bar.advance(failed=out.error is not None)

    def terminated(signum, frame):  # SIGTERM ends the run like Ctrl-C: finished work is saved
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        report = indexer.embed_now(rt.store, space, rt.backend, common.rows(rt, lib, opts, args), force=opts.force,
                                   limit=opts.limit, dry_run=opts.dry_run, workers=workers,
                                   options=rt.settings.backend_options(), on_plan=on_plan,
                                   on_outcome=on_outcome, present=lambda ids: library.existing(lib, ids),
                                   on_wait=lambda: output.line("another run is writing to this "
                                                               "sidecar; waiting for it to finish"))
    finally:
        signal.signal(signal.SIGTERM, previous)
        if bar is not None:
            bar.__exit__(None, None, None)
    if report.repaired:
        output.line(f"{space.name}: repaired {report.repaired} vector(s) that did not match the "
                    "space's statistics")
    if report.refit:
        output.line(output.refit_line(space.name, *report.refit))
    if opts.dry_run or not report.planned:
        return
    rate = report.embedded / report.seconds if report.seconds else 0.0
    output.line(f"{space.name}: embedded {report.embedded}, up to date {report.up_to_date}, "
                f"failed {len(report.failed)} ({report.seconds:.1f} s, {rate:.1f} items/s)")
    for _, path, reason in report.failed[:20]:
        output.line(f"  failed: {output.failure(path, reason)}")
    if len(report.failed) > 20:
        output.line(f"  ... and {len(report.failed) - 20} more (see `beet embed --status`)")
    if report.interrupted:
        raise ui.UserError(f"sonic: interrupted; {report.embedded} finished item(s) are saved. "
                           "Run `beet embed` again to continue.")
    if report.fatal:
        raise ui.UserError(f"sonic: stopped: {report.fatal}")
    if report.failed and not report.embedded:
        raise ui.UserError(f"sonic: all {len(report.failed)} item(s) failed (reasons above); "
                           "any earlier vectors are kept")
    if report.failed:  # the run goes on past a bad track, but it did not do all it was asked
        raise ui.UserError(f"sonic: {len(report.failed)} item(s) could not be embedded (listed "
                           "above); the others are saved")


def analysis(rt, lib, opts, args) -> None:
    from ..dj import run as dj

    todo = dj.pending(common.items(rt, lib, opts, args), force=opts.force,
                      bpm_range=rt.settings.bpm_range)
    output.line(f"tempo, key and energy: {len(todo)} to analyse")
    if not todo or opts.dry_run:
        return
    with Progress(len(todo), "analyse") as bar:
        done, failed = dj.analyse(todo, write_tags=rt.settings.write_tags,
                                  bpm_range=rt.settings.bpm_range,
                                  on_item=lambda item, err: bar.advance(failed=err is not None))
    output.line(f"tempo, key and energy: {done} analysed, {len(failed)} failed")
    for item, reason in failed[:20]:
        output.line(f"  failed: {output.failure(item.path, reason)}")
    if failed:
        raise ui.UserError(f"sonic: {len(failed)} item(s) could not be analysed (listed above)")


TAG_CHECK_FORMAT = "$artist - $title: $sonic_disagreement"


def tag_check(rt, lib, opts, args) -> None:
    from ..dj.tagcheck import check

    items = common.items(rt, lib, opts, args)
    found = [(item, d) for item in items if (d := check(item)) is not None]
    for item, d in found:
        if opts.json:
            output.line(output.item_json(item, **d.to_json()))
        else:
            output.line(output.format_item(item, opts.format or TAG_CHECK_FORMAT,
                                           sonic_disagreement=d.describe()))
    if not opts.json and not opts.format:
        tempo = sum(d.tempo is not None for _, d in found)
        key = sum(d.key is not None for _, d in found)
        output.line(f"tags vs audio: {tempo} tempo and {key} key disagreement(s) in {len(items)} "
                    "track(s); fix a tag with e.g. "
                    "`beet modify bpm=174 id:N` or `beet modify initial_key=Am id:N`")


def store_clusters(rt, lib, opts, args) -> None:
    import numpy as np

    from .. import clusters
    from ..library_ops import query_rows

    if args or opts.playlist:
        raise FatalError("--clusters works on the whole library: give no query")
    space = rt.read_space(opts.space)
    ids, X = rt.store.matrix(space)
    rows, by_id = query_rows(ids, lib.items())
    if len(rows) < 2:
        raise FatalError("clusters need two or more embedded tracks: run `beet embed`")
    items = [by_id[int(ids[r])] for r in rows]
    changed, n = clusters.store(lib, items, clusters.communities(np.asarray(X[rows])))
    output.line(f"sonic_cluster: {n} clusters over {len(items)} tracks ({changed} changed)")


#: option -> what it does instead of embedding (checked in this order)
MODES = (("drop_space", drop_space), ("prune", prune), ("status", status), ("export", export),
         ("analysis", analysis), ("tag_check", tag_check), ("clusters", store_clusters))


def run(rt, lib, opts, args) -> None:
    chosen = [name for name, _ in MODES if getattr(opts, name)]
    if len(chosen) > 1:
        raise FatalError("choose one of " + ", ".join(f"--{n.replace('_', '-')}" for n in chosen))
    handler = dict(MODES).get(chosen[0]) if chosen else embed
    handler(rt, lib, opts, args)
