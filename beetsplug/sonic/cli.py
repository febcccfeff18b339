"""The ``beet`` subcommands and hooks: parse options, call one use-case function, print.

Fatal errors become beets ``UserError`` (a one-line message, no traceback).
"""

from __future__ import annotations

import json
import os
from functools import wraps
from typing import Any, Callable

import numpy as np
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
        self.deferred: list[int] = []  # items imported for a hosted backend, embedded at the end
        self.deferred_vibes: list[int] = []

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
            options = self.settings.backend_options()
            if self.settings.hosted:
                options["log"] = lambda msg: self.log.info("{}", msg)
            self._backend = get_backend(self.settings.backend, **options)
            self.log.debug("using the {} backend ({})", self.settings.backend,
                           self.settings.backend_reason)
        return self._backend

    def vibes(self):
        from .gemini import Client
        from .vibe.run import open_vibes

        st = self.settings
        client = None
        if st.vibe_analyzer == "gemini":
            client = Client(st.gemini, log=lambda msg: self.log.info("{}", msg))
        return open_vibes(self.store, st.vocab, st.vibe_analyzer, client=client,
                          chat_model=st.gemini.chat_model if st.gemini else "",
                          text_model=st.gemini.text_model if st.gemini else "",
                          dims=st.gemini.dims if st.gemini else 768,
                          log=lambda msg: self.log.warning("{}", msg))

    def audio_space(self, *, rebuild: bool = False) -> Space:
        return indexer.open_space(self.store, self.backend, rebuild=rebuild)

    def space_named(self, name: str | None) -> Space:
        """A space to read from: ``name``, or the configured backend's space.
        ``vibe`` means the vibe space of the configured analyzer."""
        if name == "vibe":
            name = f"vibe-{self.settings.vibe_analyzer}"
        if not name:
            name = self.backend.NAME
            space = self.store.get_space(name) and self.audio_space()
            if space is None or self.store.count(space) == 0:
                # e.g. musicnn was just installed: answer from the space that has vectors
                # until `beet embed` has built the new one
                others = [s for s in self.store.spaces() if s.kind == "audio" and self.store.count(s)]
                if others:
                    self.log.warning("the {} space has no vectors yet (run `beet embed`); "
                                     "using the {} space meanwhile", name, others[0].name)
                    return others[0]
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
    """The import stage: embed a task's new items; a bad file never stops the import.

    With a hosted backend nothing waits on the network here: the items are
    remembered and embedded when the import is over (``finish_import``), so the
    importer's questions are never held up by a rate limit.
    """
    if not items:
        return
    try:
        if rt.settings.hosted:
            rt.deferred.extend(item.id for item in items)
            return
        space = rt.audio_space()
        todo, _ = indexer.plan(rt.store, space, items)
        report = indexer.embed_items(rt.store, space, rt.backend, todo, workers=1)
    except FatalError as exc:
        rt.log.error("not embedding imported items: {}", exc)
        return
    _log_failures(rt, report)
    if report.embedded:
        rt.log.info("embedded {} new item(s) in the {} space", report.embedded, space.name)


def vibe_imported(rt: Runtime, items: list) -> None:
    """Import stage for `vibe: auto: yes`: the offline analyzer runs here; a hosted one
    is deferred to the end of the import like the hosted embeddings."""
    if not items:
        return
    try:
        if rt.settings.vibe_analyzer == "gemini":
            rt.deferred_vibes.extend(item.id for item in items)
            return
        from .vibe.run import run

        for r in run(rt.vibes(), items):
            if r.error:
                rt.log.info("no vibe for {}: {}", displayable_path(r.item.path), r.error)
    except FatalError as exc:
        rt.log.error("no vibes for imported items: {}", exc)


def _log_failures(rt: Runtime, report) -> None:
    for _, path, reason in report.failed:
        rt.log.warning("could not embed {}", _describe_failure(path, reason))


def finish_import(rt: Runtime, lib) -> None:
    """After ``beet import``: embed (and assess) what hosted services were handed during it."""
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
        ui.print_(f"sonic: {len(ids)} new item(s) wait for `beet embed` ({rt.settings.backend})")
        return
    items = [item for item in (lib.get_item(i) for i in ids) if item is not None]
    try:
        space = rt.audio_space()
        todo, _ = indexer.plan(rt.store, space, items)
        ui.print_(f"sonic: embedding {len(todo)} imported item(s) with {rt.settings.backend} "
                  f"(Ctrl-C leaves the rest to `beet embed`)")
        with Progress(len(todo), "embed") as bar:
            report = indexer.embed_items(rt.store, space, rt.backend, todo,
                                         on_outcome=lambda out: bar.advance(failed=bool(out.error)))
    except FatalError as exc:
        rt.log.error("not embedding imported items: {}", exc)
        return
    _log_failures(rt, report)
    ui.print_(f"sonic: embedded {report.embedded}, failed {len(report.failed)}"
              + (" (interrupted: run `beet embed` for the rest)" if report.interrupted else ""))
    if report.fatal:
        rt.log.error("{}", report.fatal)


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
    cmd.parser.add_option("--export", metavar="FILE.json",
                          help="write the vectors (with item id, path, artist, title) to a JSON file")
    cmd.parser.add_option("--space", metavar="NAME", help="with --export: which space (default: the backend's)")
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
    if opts.export:
        export_vectors(rt, lib, args, opts.export, opts.space)
        return

    space = rt.audio_space(rebuild=opts.rebuild)
    if rt.view["backend"].get() == "auto":
        ui.print_(f"using the {rt.settings.backend} backend ({rt.settings.backend_reason})")
    todo, current = indexer.plan(store, space, lib.items(args), force=opts.force)
    if opts.limit is not None:
        todo = todo[: max(opts.limit, 0)]
    workers = opts.workers if opts.workers is not None else rt.settings.workers
    workers = workers or os.cpu_count() or 1
    ui.print_(f"{space.name}: {len(todo)} to embed, {current} up to date")
    if rt.settings.hosted and todo:
        g = rt.settings.gemini
        requests = rt.backend.requests_for(len(todo))
        seconds = requests * g.min_interval / g.concurrency if g.min_interval else 0
        ui.print_(f"  {requests} request(s) to {g.model}, {rt.backend.batch_size} clip(s) each; at one "
                  f"request per {g.min_interval:g} s that is about {_duration(seconds)} "
                  "(lower `gemini: min_interval` on a paid tier)")
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
    if report.fatal:
        raise ui.UserError(f"sonic: stopped: {report.fatal}")


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 90:
        return f"{seconds} s"
    h, rest = divmod(seconds, 3600)
    return f"{h} h {rest // 60} min" if h else f"{rest // 60} min"


def show_status(rt: Runtime, lib, args, *, as_json: bool) -> None:
    items = list(lib.items(args))
    rt.audio_space()  # the configured backend's space is always listed, if only as missing
    for space in rt.store.spaces():
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
    cmd.parser.add_option("--tags", action="store_true",
                          help="also show each track's top musicnn tags (needs the musicnn space)")
    return cmd


def _top_tags(rt: Runtime, ids: list[int], n: int = 3) -> dict[int, list[tuple[str, float]]]:
    space = rt.store.get_space("musicnn")
    if space is None:
        raise FatalError("--tags needs the musicnn space: pip install --no-deps musicnn==0.1.0, "
                         "then `beet embed`")
    extras = rt.store.extras(space, ids)
    return {iid: sorted(e.get("tags", {}).items(), key=lambda kv: -kv[1])[:n] for iid, e in extras.items()}


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
    tags = _top_tags(rt, [h.item_id for h in hits]) if opts.tags else {}
    items = []
    for hit in hits:
        item = lib.get_item(hit.item_id)
        if item is None:
            continue
        items.append(item)
        if opts.json:
            extra = {"tags": tags.get(hit.item_id)} if opts.tags else {}
            ui.print_(item_json(item, score=round(hit.score, 4), **extra))
        else:
            ui.print_(format_item(item, opts.format or rt.settings.format,
                                  sonic_score=f"{hit.score:.3f}"))
            if opts.tags:
                ui.print_("        " + (", ".join(f"{t} {p:.2f}" for t, p in tags.get(hit.item_id, []))
                                         or "(no musicnn tags)"))
    if not items:
        ui.print_("no other items to compare with" + (" within that query" if within is not None else ""))
    if opts.m3u:
        write_m3u(opts.m3u, items)
        rt.log.info("wrote {} tracks to {}", len(items), opts.m3u)


# --- beet cohesion ------------------------------------------------------------------

COHESION_FORMAT = "$sonic_fit  $sonic_scaled  $sonic_bar  $artist - $title"


def _bar(frac: float, width: int = 10) -> str:
    filled = int(round(max(0.0, min(1.0, frac)) * width))
    return "█" * filled + "░" * (width - filled)


def _name(item) -> str:
    return f"{item.artist} - {item.title}"


def cohesion_command() -> ui.Subcommand:
    cmd = ui.Subcommand("cohesion", help="how well a set of tracks hangs together, track by track")
    cmd.parser.usage += (
        "\n\nCohesion is the length of the centroid of the tracks' unit vectors (1 = identical,"
        "\nabout 1/sqrt(n) = unrelated), shown against random sets of the same size from your"
        "\nlibrary. Each track's fit is its cosine to the centroid; worst fit is listed first."
    )
    cmd.parser.add_format_option(target="item")
    cmd.parser.add_option("--json", action="store_true", help="print one JSON document")
    cmd.parser.add_option("--space", metavar="NAME", help="judge in another space (e.g. vibe)")
    cmd.parser.add_option("--suggest", action="store_true",
                          help="for the worst-fitting tracks, library tracks that would fit better")
    cmd.parser.add_option("--worst", type="int", default=3, metavar="N",
                          help="with --suggest: how many of the worst tracks to replace (default 3)")
    cmd.parser.add_option("--order", action="store_true",
                          help="print the set in an order that flows (greedy path + 2-opt)")
    cmd.parser.add_option("--m3u", metavar="FILE",
                          help="write the set as a playlist (in the flowing order with --order)")
    cmd.parser.add_option("--matrix", action="store_true",
                          help="print the similarity matrix as a Markdown table")
    cmd.parser.add_option("--heatmap", metavar="FILE.png", help="draw the similarity matrix (needs matplotlib)")
    cmd.parser.add_option("--playlist", metavar="FILE|NAME",
                          help="judge the tracks of an M3U playlist (a path, or a name in the playlist "
                               "plugin's playlist_dir), in its order")
    return cmd


def read_m3u(path: str) -> list[bytes]:
    """The entries of an M3U file as normalised absolute paths, in order."""
    base = os.path.dirname(os.path.abspath(path))
    out = []
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            line = line.strip().lstrip("\ufeff")
            if line and not line.startswith("#"):
                out.append(os.fsencode(os.path.normpath(os.path.join(base, os.path.expanduser(line)))))
    return out


def playlist_items(lib, ref: str) -> list:
    """Items of an M3U playlist given by path or by name in ``playlist: playlist_dir``.

    Matched on absolute paths in our own code: beets 2.14's ``playlist:`` query
    misses items stored inside the library directory (beets issue #6784).
    """
    from beets import config

    candidates = [os.path.expanduser(ref)]
    if config["playlist"]["playlist_dir"].exists():
        folder = config["playlist"]["playlist_dir"].as_filename()
        candidates += [os.path.join(folder, ref), os.path.join(folder, ref + ".m3u")]
    path = next((c for c in candidates if os.path.isfile(c)), None)
    if path is None:
        raise FatalError(f"no playlist file {ref!r} (looked at: {', '.join(candidates)})")
    wanted = read_m3u(path)
    by_path = {os.path.normpath(item.path): item for item in lib.items()}
    found = [by_path[p] for p in wanted if p in by_path]
    if not found:
        raise FatalError(f"none of the {len(wanted)} tracks in {path} is in the beets library")
    if len(found) < len(wanted):
        ui.print_(f"note: {len(wanted) - len(found)} of {len(wanted)} playlist entries are not in the library")
    return found


def run_cohesion(rt: Runtime, lib, opts, args) -> None:
    from . import cohesion

    items = playlist_items(lib, opts.playlist) if opts.playlist else list(lib.items(args))
    if len(items) < 2:
        raise FatalError(f"cohesion needs at least two tracks; {len(items)} match "
                         f"{' '.join(args) or 'the query'!r}")
    space = rt.space_named(opts.space)
    ids, X = rt.store.matrix(space)
    by_id = {item.id: item for item in items}
    _, missing = search.rows_of(ids, list(by_id))
    if len(by_id) - len(missing) < 2:
        raise FatalError(f"only {len(by_id) - len(missing)} of the {len(by_id)} tracks have a vector "
                         f"in the {space.name} space: run `beet embed {' '.join(args)}`".rstrip())
    report = cohesion.assess(ids, X, list(by_id))
    if report.missing:
        rt.log.warning("{} track(s) have no vector yet and were left out (run `beet embed`)",
                       len(report.missing))
    set_items = [by_id[int(i)] for i in report.ids]
    worst_first = np.argsort(report.fit, kind="stable")
    result: dict[str, Any] = {
        "space": space.name, "tracks_in_set": len(set_items), "cohesion": round(report.cohesion, 4),
        "percentile": round(report.percentile, 1),
        "random_median": round(float(np.median(report.baseline)), 4),
    }
    order = transitions = suggestions = None
    if opts.order:
        order, transitions = cohesion.flow(report)
    if opts.suggest:
        suggestions = cohesion.suggest(ids, X, report, worst=opts.worst)

    if opts.json:
        result["tracks"] = [{"id": int(report.ids[i]), "artist": set_items[i].artist,
                             "title": set_items[i].title, "fit": round(float(report.fit[i]), 4),
                             "scaled": round(float(report.scaled[i]), 4)} for i in worst_first]
        if order is not None:
            result["order"] = [int(report.ids[i]) for i in order]
            result["transitions"] = [round(float(t), 4) for t in transitions]
        if suggestions is not None:
            result["suggestions"] = {str(k): [{"id": h.item_id, "score": round(h.score, 4)} for h in v]
                                     for k, v in suggestions.items()}
        ui.print_(json.dumps(result, ensure_ascii=False))
    else:
        ui.print_(f"cohesion {report.cohesion:.3f} in the {space.name} space: tighter than "
                  f"{report.percentile:.0f}% of random {len(set_items)}-track sets from this library "
                  f"(their median: {np.median(report.baseline):.3f})")
        ui.print_("")
        fmt = opts.format or COHESION_FORMAT
        for i in worst_first:
            ui.print_(format_item(set_items[i], fmt, sonic_fit=f"{report.fit[i]:6.3f}",
                                  sonic_scaled=f"{report.scaled[i] * 100:3.0f}%",
                                  sonic_bar=_bar(report.scaled[i])))
        if suggestions:
            ui.print_("\nbetter fits:")
            for worst_id, hits in suggestions.items():
                ui.print_(f"  instead of {_name(by_id[worst_id])}:")
                for h in hits:
                    item = lib.get_item(h.item_id)
                    if item:
                        ui.print_(f"    {h.score:.3f}  {_name(item)}")
        if order is not None:
            ui.print_("\nin an order that flows:")
            for pos, i in enumerate(order):
                step = f"  -> {transitions[pos - 1]:.3f}" if pos else ""
                ui.print_(f"  {pos + 1:>2}. {_name(set_items[i])}{step}")
    if opts.matrix or opts.heatmap:
        S = np.asarray(report.X @ report.X.T)
        names = [_name(it) for it in set_items]
        if opts.matrix:
            ui.print_("\n" + cohesion.markdown_matrix(S, names))
        if opts.heatmap:
            try:
                cohesion.heatmap(S, names, opts.heatmap)
            except ImportError:
                raise FatalError("--heatmap needs matplotlib: pip install 'beets-sonic[plot]' "
                                 "(or use --matrix for a text table)") from None
            rt.log.info("wrote the heatmap to {}", opts.heatmap)
    if opts.m3u:
        write_m3u(opts.m3u, [set_items[i] for i in (order if order is not None else range(len(set_items)))])


# --- beet graph ------------------------------------------------------------------------


def graph_command() -> ui.Subcommand:
    cmd = ui.Subcommand("graph", help="write the library as an interactive nearest-neighbour map (HTML)")
    cmd.parser.usage += (
        "\n\nOne self-contained HTML file (works offline, can be mailed): each track links to"
        "\nits k nearest neighbours and a force layout pulls similar tracks into clusters."
    )
    cmd.parser.add_option("-o", "--output", default="sonic-map.html", metavar="FILE",
                          help="where to write the page (default: ./sonic-map.html)")
    cmd.parser.add_option("-k", type="int", default=4, help="neighbours per track (default 4)")
    cmd.parser.add_option("--color-by", metavar="FIELD", help="also offer colouring by a beets field, e.g. genre")
    cmd.parser.add_option("--space", metavar="NAME", help="map another space (e.g. vibe)")
    cmd.parser.add_option("--open", action="store_true", help="open the page in a browser")
    return cmd


def _library_rows(lib, args, ids: np.ndarray) -> tuple[list[int], dict]:
    """Rows of a space's matrix whose items match the query, and those items by id."""
    items = {item.id: item for item in lib.items(args)}
    return [r for r, iid in enumerate(ids.tolist()) if iid in items], items


def run_graph(rt: Runtime, lib, opts, args) -> None:
    from . import graph

    if opts.k < 1:
        raise FatalError("-k must be at least 1")
    space = rt.space_named(opts.space)
    ids, X = rt.store.matrix(space)
    rows, items = _library_rows(lib, args, ids)
    if len(rows) < 2:
        raise FatalError(f"{len(rows)} matching track(s) have a vector in the {space.name} space; "
                         "a map needs two or more (run `beet embed`)")
    meta = []
    for r in rows:
        item = items[int(ids[r])]
        row = {"id": item.id, "artist": item.artist, "title": item.title, "bpm": item.bpm,
               "key": item.initial_key}
        if opts.color_by:
            value = item.get(opts.color_by)
            row["color"] = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else (value or "")
        meta.append(row)
    payload = graph.build_payload(np.asarray(X[rows]), meta, k=min(opts.k, len(rows) - 1),
                                  space=space.name, color_by=opts.color_by)
    page = graph.render_html(payload, title=f"sonic map — {space.name} — {len(rows)} tracks")
    out = os.path.abspath(opts.output)
    with open(out, "w", encoding="utf-8") as f:
        f.write(page)
    ui.print_(f"wrote {out}: {len(rows)} tracks, {len(rows) * payload['k']} links, "
              f"{payload['ncomm']} communities, {len(page.encode()) / 1e6:.1f} MB")
    if opts.open:
        import webbrowser

        webbrowser.open("file://" + out)


def export_vectors(rt: Runtime, lib, args, path: str, space_name: str | None) -> None:
    """``beet embed --export FILE.json``: vectors with id, path, artist, title."""
    space = rt.space_named(space_name)
    ids, X = rt.store.matrix(space)
    rows, items = _library_rows(lib, args, ids)
    records = [{"id": int(ids[r]), "path": displayable_path(items[int(ids[r])].path),
                "artist": items[int(ids[r])].artist, "title": items[int(ids[r])].title,
                "vector": [round(float(v), 6) for v in X[r]]} for r in rows]
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"space": space.name, "backend": space.backend, "model": space.model,
                   "dims": space.dims, "items": records}, f, ensure_ascii=False)
    ui.print_(f"exported {len(records)} vectors ({space.name}, {space.dims} dims) to {path}")


# --- beet vibe ---------------------------------------------------------------------------


def vibe_command() -> ui.Subcommand:
    cmd = ui.Subcommand("vibe", help="tag tracks with a DJ's vibe: sub-genre, character, texture, "
                                     "energy 1-10, set placement")
    cmd.parser.usage += (
        "\n\nAssesses matching items that have no current vibe (an LLM from the metadata with a"
        "\nGemini key, else offline rules from genre/style/comments/bpm) and stores the result as"
        "\nqueryable fields: beet ls vibe_placement:'Peak Time' vibe_energy:8..\n"
        "Also: --search WORDS (nearest vibes), --discrepancy (sound and vibe disagree)."
    )
    cmd.parser.add_format_option(target="item")
    cmd.parser.add_option("--json", action="store_true", help="one JSON object per line")
    cmd.parser.add_option("--force", action="store_true", help="assess again items that have a vibe")
    cmd.parser.add_option("--pretend", action="store_true", help="show the assessments, store nothing")
    cmd.parser.add_option("--search", metavar="WORDS",
                          help='list the items whose vibe is nearest to the words, e.g. "dark hypnotic peak time"')
    cmd.parser.add_option("--discrepancy", action="store_true",
                          help="list tracks whose audio neighbours and vibe neighbours disagree most")
    cmd.parser.add_option("-n", "--number", type="int", default=10,
                          help="with --search / --discrepancy: how many to list (default 10)")
    return cmd


def _vibe_json(item, a) -> str:
    return item_json(item, vibe={k: v for k, v in a.to_json().items()})


def run_vibe(rt: Runtime, lib, opts, args) -> None:
    from .vibe import run as vr

    if opts.search:
        return _vibe_search(rt, lib, opts, args)
    if opts.discrepancy:
        return _vibe_discrepancy(rt, lib, opts, args)
    v = rt.vibes()
    items = list(lib.items(args))
    if not items:
        raise FatalError(f"no items match {' '.join(args) or 'the query'!r}")
    todo = vr.pending(v, items, force=opts.force or opts.pretend)
    ui.print_(f"vibe ({v.analyzer}): {len(todo)} to assess, {len(items) - len(todo)} already have one")
    fmt = opts.format or rt.settings.vibe_format
    shown = []

    def on_result(r):
        bar.advance(failed=bool(r.error))
        shown.append(r)

    with Progress(len(todo), "vibe") as bar:
        try:
            results = vr.run(v, todo, pretend=opts.pretend, on_result=on_result)
        except FatalError as exc:
            results = shown
            rt.log.error("{}", exc)
    for r in results:
        if r.error:
            ui.print_(f"  not assessed: {displayable_path(r.item.path)}: {r.error}")
        elif opts.json:
            ui.print_(_vibe_json(r.item, r.assessment))
        else:
            ui.print_(format_item(r.item, fmt, **r.assessment.fields()))
            rt.log.debug("  evidence: {}", "; ".join(r.assessment.evidence))
    failed = sum(1 for r in results if r.error)
    ui.print_(f"vibe: {len(results) - failed} assessed{' (pretend: nothing stored)' if opts.pretend else ''}, "
              f"{failed} not assessed")
    if len(results) < len(todo):
        raise ui.UserError(f"sonic: stopped after {len(results)} of {len(todo)}; finished vibes are saved")


def _vibe_search(rt: Runtime, lib, opts, args) -> None:
    from .vibe import run as vr

    v = rt.vibes()
    if rt.store.count(v.space) == 0:
        raise FatalError("no vibes yet: run `beet vibe` first")
    within = [it.id for it in lib.items(args)] if args else None
    hits, unknown = vr.search_words(v, opts.search, n=opts.number, within=within)
    if unknown:
        ui.print_(f"not in the vibe vocabulary (ignored): {', '.join(unknown)}")
    for h in hits:
        item = lib.get_item(h.item_id)
        if item is None:
            continue
        if opts.json:
            ui.print_(item_json(item, score=round(h.score, 4)))
        else:
            ui.print_(format_item(item, opts.format or ("$sonic_score  " + rt.settings.vibe_format),
                                  sonic_score=f"{h.score:.3f}"))


def _vibe_discrepancy(rt: Runtime, lib, opts, args) -> None:
    from .vibe import run as vr

    v = rt.vibes()
    audio = rt.space_named(None)
    only = {it.id for it in lib.items(args)} if args else None
    rows = vr.discrepancy(rt.store.matrix(audio), rt.store.matrix(v.space), only=only)
    if not rows:
        raise FatalError("too few tracks with both an audio vector and a vibe: run `beet embed` "
                         "and `beet vibe` first")

    def name(iid):
        it = lib.get_item(iid)
        return f"{it.artist} - {it.title}" if it else f"#{iid}"

    def tags(iid):
        it = lib.get_item(iid)
        return (it.get("vibe_genre") or []) if it else []

    for d in rows[: opts.number]:
        if opts.json:
            ui.print_(json.dumps({"id": d.item_id, "score": d.score, "vibe": tags(d.item_id),
                                  "audio_neighbours": d.audio_neighbours,
                                  "vibe_neighbours": d.vibe_neighbours}, ensure_ascii=False))
            continue
        ui.print_(f"{d.score:.2f}  {name(d.item_id)}  [{'; '.join(tags(d.item_id)) or 'no genre'}]")
        ui.print_("      sounds like: " + ", ".join(
            f"{name(i)} [{'; '.join(tags(i)) or '-'}]" for i in d.audio_neighbours[:3]))
