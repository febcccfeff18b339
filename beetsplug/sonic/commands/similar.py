"""``beet similar QUERY``: the items that sound most like the query's items."""

from __future__ import annotations

from beets import ui

from .. import output, search
from ..errors import FatalError
from ..playlist import check_writable, write_m3u
from .common import add_playlist_option, query_items


def make() -> ui.Subcommand:
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
    add_playlist_option(cmd, "seed from the tracks of an M3U playlist")
    return cmd


def _top_tags(rt, ids: list[int], n: int = 3) -> dict[int, list[tuple[str, float]]]:
    space = rt.store.get_space("musicnn")
    if space is None:
        raise FatalError("--tags needs the musicnn space: pip install --no-deps musicnn==0.1.0, "
                         "then `beet embed`")
    extras = rt.store.extras(space, ids)
    return {iid: sorted(e.get("tags", {}).items(), key=lambda kv: -kv[1])[:n] for iid, e in extras.items()}


def run(rt, lib, opts, args) -> None:
    if opts.number < 1:
        raise FatalError(f"-n/--number must be 1 or more, not {opts.number}")
    if opts.max_per_artist is not None and opts.max_per_artist < 1:
        raise FatalError("--max-per-artist must be 1 or more")
    m3u = check_writable(opts.m3u) if opts.m3u else None
    seeds = query_items(rt, lib, opts, args)
    space = rt.read_space(opts.space)
    within = [item.id for item in lib.items(opts.within)] if opts.within else None
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
            output.line(output.item_json(item, score=round(hit.score, 4), **extra))
        else:
            output.line(output.format_item(item, opts.format or rt.settings.format,
                                           sonic_score=f"{hit.score:.3f}"))
            if opts.tags:
                output.line("        " + (", ".join(f"{t} {p:.2f}" for t, p in tags.get(hit.item_id, []))
                                          or "(no musicnn tags)"))
    if not items:
        output.line("no other items to compare with" + (" within that query" if within is not None else ""))
    if m3u:
        write_m3u(m3u, items)
        rt.log.info("wrote {} tracks to {}", len(items), m3u)
