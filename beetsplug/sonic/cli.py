"""The ``beet`` subcommands and hooks: parse options, call one use-case function, print.

Fatal errors become beets ``UserError`` (a one-line message, no traceback).
"""

from __future__ import annotations

import json
import os
from functools import wraps
from typing import Any, Callable

from beets import ui
from beets.util import displayable_path

from . import indexer, search
from .backends import get_backend
from .errors import FatalError
from .progress import Progress
from .settings import Settings, from_config
from .store import Space, Store


class Runtime:
    """What the commands and hooks of one beets process share, opened lazily."""

    def __init__(self, view, log, library_path: str):
        self.view = view
        self.log = log
        self.library_path = library_path
        self._settings: Settings | None = None
        self._store: Store | None = None
        self._backend = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = from_config(self.view, library_path=self.library_path)
        return self._settings

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.settings.sidecar)
            self.log.debug("sidecar {} (SQLite via {})", self._store.path, self._store.driver)
        return self._store

    @property
    def backend(self):
        if self._backend is None:
            self._backend = get_backend(self.settings.backend, **self.settings.backend_options())
        return self._backend

    def audio_space(self, *, rebuild: bool = False) -> Space:
        return indexer.open_space(self.store, self.backend, rebuild=rebuild)

    def space_named(self, name: str | None) -> Space:
        """A space to read from: ``name``, or the configured backend's space."""
        if not name:
            space = self.store.get_space(self.backend.NAME) and self.audio_space()
            name = self.backend.NAME
        else:
            space = self.store.get_space(name)
        if space is None:
            known = ", ".join(s.name for s in self.store.spaces()) or "none yet"
            raise FatalError(f"no {name!r} vectors in {self.store.path} (spaces: {known}). "
                             f"Run `beet embed` first.")
        return space

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def user_errors(func: Callable) -> Callable:
    """Turn FatalError into beets' UserError: one line, no traceback."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except FatalError as exc:
            raise ui.UserError(f"sonic: {exc}") from None

    return wrapper


# --- formatting ---------------------------------------------------------------


def format_item(item, fmt: str, **extra: Any) -> str:
    """Evaluate a beets template with extra ``$name`` values (e.g. ``$sonic_score``)."""
    view = item.copy()
    for key, value in extra.items():
        view[key] = value
    return view.evaluate_template(fmt)


def item_json(item, **extra: Any) -> str:
    record = {"id": item.id, "path": displayable_path(item.path), "artist": item.artist,
              "title": item.title, "album": item.album, "genres": list(item.get("genres") or []),
              "bpm": item.bpm, "key": item.initial_key, "length": round(item.length, 2)}
    record.update(extra)
    return json.dumps(record, ensure_ascii=False)


def write_m3u(path: str, items: list) -> None:
    lines = ["#EXTM3U"]
    for item in items:
        lines.append(f"#EXTINF:{int(round(item.length or 0))},{item.artist} - {item.title}")
        lines.append(os.path.abspath(displayable_path(item.path)))
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def _describe_failure(path: bytes, reason: str) -> str:
    return f"{displayable_path(path)}: {reason}"


# --- import stage and hooks ---------------------------------------------------------


def embed_imported(rt: Runtime, items: list) -> None:
    """The import stage: embed a task's new items; a bad file never stops the import."""
    if not items:
        return
    try:
        space = rt.audio_space()
        todo, _ = indexer.plan(rt.store, space, items)
        report = indexer.embed_items(rt.store, space, rt.backend, todo, workers=1)
    except FatalError as exc:
        rt.log.error("not embedding imported items: {}", exc)
        return
    for _, path, reason in report.failed:
        rt.log.warning("could not embed {}", _describe_failure(path, reason))
    if report.embedded:
        rt.log.info("embedded {} new item(s) in the {} space", report.embedded, space.name)


def forget_item(rt: Runtime, item) -> None:
    try:
        rt.store.delete_items([item.id])
    except FatalError as exc:
        rt.log.warning("could not remove vectors of item {}: {}", item.id, exc)


def follow_file(rt: Runtime, item, source: bytes | None, destination: bytes) -> None:
    """A file beets moved, copied or re-tagged keeps its vectors: the audio is the same."""
    state = indexer.file_state(destination)
    if state is None:
        return
    try:
        rt.store.relocate(item.id, destination, *state, old_path=source)
    except FatalError as exc:
        rt.log.warning("could not follow {}: {}", displayable_path(destination), exc)


# --- beet embed ---------------------------------------------------------------------


def embed_command() -> ui.Subcommand:
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
    cmd.parser.add_option("--json", action="store_true", help="with --status: one JSON object per space")
    return cmd


def run_embed(rt: Runtime, lib, opts, args) -> None:
    store = rt.store
    if opts.drop_space:
        if not store.drop_space(opts.drop_space):
            raise FatalError(f"there is no space named {opts.drop_space!r}")
        ui.print_(f"dropped the {opts.drop_space} space")
        return
    if opts.prune:
        library_ids = {item.id for item in lib.items()}
        gone = store.item_ids() - library_ids
        removed = store.delete_items(sorted(gone))
        ui.print_(f"pruned {removed} vector(s) of {len(gone)} item(s) no longer in the library")
        return
    if opts.status:
        show_status(rt, lib, args, as_json=opts.json)
        return

    space = rt.audio_space(rebuild=opts.rebuild)
    todo, current = indexer.plan(store, space, lib.items(args), force=opts.force)
    if opts.limit is not None:
        todo = todo[: max(opts.limit, 0)]
    workers = opts.workers if opts.workers is not None else rt.settings.workers
    workers = workers or os.cpu_count() or 1
    ui.print_(f"{space.name}: {len(todo)} to embed, {current} up to date")
    if opts.dry_run or not todo:
        return
    with Progress(len(todo), "embed") as bar:
        def on_outcome(out):
            if out.error:  # listed in the summary below
                rt.log.debug("could not embed {}", _describe_failure(out.path, out.error))
                if out.detail:
                    rt.log.debug("{}", out.detail)
            bar.advance(failed=out.error is not None)

        report = indexer.embed_items(store, space, rt.backend, todo, workers=workers,
                                     options=rt.settings.backend_options(), on_outcome=on_outcome)
    rate = report.embedded / report.seconds if report.seconds else 0.0
    ui.print_(f"{space.name}: embedded {report.embedded}, up to date {current}, "
              f"failed {len(report.failed)} ({report.seconds:.1f} s, {rate:.1f} items/s)")
    for _, path, reason in report.failed[:20]:
        ui.print_(f"  failed: {_describe_failure(path, reason)}")
    if len(report.failed) > 20:
        ui.print_(f"  ... and {len(report.failed) - 20} more (see `beet embed --status`)")
    if report.interrupted:
        raise ui.UserError(f"sonic: interrupted; {report.embedded} finished item(s) are saved. "
                           "Run `beet embed` again to continue.")


def show_status(rt: Runtime, lib, args, *, as_json: bool) -> None:
    items = list(lib.items(args))
    spaces = rt.store.spaces()
    if not spaces:
        ui.print_(f"no spaces yet in {rt.store.path}: run `beet embed`")
        return
    for space in spaces:
        st = indexer.status(rt.store, space, items)
        if as_json:
            ui.print_(json.dumps({"space": space.name, "backend": space.backend, "dims": space.dims,
                                  "embedded": st.embedded, "stale": st.stale, "missing": st.missing,
                                  "failed": st.failed, "orphaned": st.orphaned, "errors": st.errors}))
            continue
        ui.print_(f"{space.name} ({space.kind}, {space.backend}, {space.dims} dims): "
                  f"{st.embedded} embedded, {st.stale} stale, {st.missing} missing, {st.failed} failed"
                  + (f", {st.orphaned} of removed items (beet embed --prune)" if st.orphaned else ""))
        for reason, n in sorted(st.errors.items(), key=lambda kv: -kv[1])[:10]:
            ui.print_(f"  {n} x {reason}")


# --- beet similar -------------------------------------------------------------------


def similar_command() -> ui.Subcommand:
    cmd = ui.Subcommand("similar", help="list the items that sound most like the query's items")
    cmd.parser.usage += (
        "\n\nOne matching item is the seed; several are combined into their centroid"
        "\n(\"more like these\", e.g. a whole playlist). Scores are cosine similarities."
    )
    cmd.parser.add_option("-n", "--number", type="int", default=10, help="how many to list (default 10)")
    cmd.parser.add_format_option(target="item")
    cmd.parser.add_option("--json", action="store_true", help="one JSON object per line")
    cmd.parser.add_option("--within", metavar="QUERY",
                          help="only consider items matching this beets query, e.g. 'bpm:120..130'")
    cmd.parser.add_option("--max-per-artist", type="int", metavar="N",
                          help="at most N results by the same artist")
    cmd.parser.add_option("--m3u", metavar="FILE", help="also write the result as an M3U playlist")
    cmd.parser.add_option("--space", metavar="NAME",
                          help="search another space (e.g. vibe); default: the configured backend's")
    return cmd


def run_similar(rt: Runtime, lib, opts, args) -> None:
    seeds = list(lib.items(args))
    if not seeds:
        raise FatalError(f"no items match {' '.join(args) or 'the query'!r}")
    space = rt.space_named(opts.space)
    within = None
    if opts.within:
        within = [item.id for item in lib.items(opts.within)]
    artists: dict[int, str] = {}

    def artist_of(item_id: int) -> str:
        if item_id not in artists:
            item = lib.get_item(item_id)
            artists[item_id] = (item.artist if item else "").casefold()
        return artists[item_id]

    query, hits = search.similar(rt.store, space, [s.id for s in seeds], n=opts.number,
                                 within=within, max_per_group=opts.max_per_artist,
                                 group_of=artist_of)
    if query.vector is None:
        raise FatalError(f"none of the {len(seeds)} matching item(s) has a vector in the "
                         f"{space.name} space yet: run `beet embed {' '.join(args)}`".rstrip())
    if query.missing:
        rt.log.info("{} of the {} matching items have no vector yet and were left out "
                    "(run `beet embed`)", len(query.missing), len(seeds))
    items = []
    for hit in hits:
        item = lib.get_item(hit.item_id)
        if item is None:
            continue
        items.append(item)
        if opts.json:
            ui.print_(item_json(item, score=round(hit.score, 4)))
        else:
            ui.print_(format_item(item, opts.format or rt.settings.format,
                                  sonic_score=f"{hit.score:.3f}"))
    if not items:
        ui.print_("no other items to compare with" + (" within that query" if within is not None else ""))
    if opts.m3u:
        write_m3u(opts.m3u, items)
        rt.log.info("wrote {} tracks to {}", len(items), opts.m3u)
