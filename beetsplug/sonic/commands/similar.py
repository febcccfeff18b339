"""``beet similar QUERY``: the items that sound most like the query's items."""

from __future__ import annotations

from beets import ui

from .. import names, output, search
from ..errors import FatalError
from ..playlist import M3UTarget, matching
from ..store import library
from .common import add_playlist_option, fix_for, query_items


def make() -> ui.Subcommand:
    cmd = ui.Subcommand("similar", help="list the items that sound most like the query's items")
    cmd.parser.usage += (
        "\n\nOne matching item is the seed; several are combined into their centroid"
        "\n(\"more like these\", e.g. a whole playlist). Scores are cosine similarities"
        "\n(1 = the same sound); \"top 2%\" is the share of your library at least as close."
        "\nGive a query, --playlist or --file: without one there is nothing to start from."
    )
    cmd.parser.add_option("-n", "--number", type="int", default=10, help="how many to list (default 10)")
    cmd.parser.add_format_option(target="item")
    cmd.parser.add_option("--json", action="store_true", help="one JSON object per line")
    cmd.parser.add_option("--within", metavar="QUERY",
                          help="only consider items matching this beets query, e.g. 'bpm:120..130'")
    cmd.parser.add_option("--max-per-artist", type="int", metavar="N",
                          help="at most N results by the same artist")
    cmd.parser.add_option("--m3u", metavar="FILE", help="also write the result as an M3U playlist (a bare NAME goes into the "
                               "playlist plugin's playlist_dir)")
    cmd.parser.add_option("--space", metavar="NAME",
                          help="search another space (e.g. vibe); default: the configured backend's")
    cmd.parser.add_option("--tags", action="store_true",
                          help="also show each track's top musicnn tags (needs the musicnn space)")
    add_playlist_option(cmd, "seed from the tracks of an M3U playlist")
    cmd.parser.add_option("--mix", action="store_true",
                          help="only tracks you can mix into the seed: tempo within --bpm-range "
                               "(half/double time count) and a compatible key; ranked by sound. With "
                               "several seeds (a playlist), judged against the LAST track in order")
    cmd.parser.add_option("--bpm-range", type="float", default=6.0, metavar="PCT",
                          help="with --mix: the largest tempo change in percent (default 6)")
    cmd.parser.add_option("--key", choices=("any", "compatible", "same"), default="compatible",
                          help="with --mix: any | compatible (same, +-1, relative, +2 boost; "
                               "default) | same")
    cmd.parser.add_option("--loose", action="store_true",
                          help="with --mix: list tracks of unknown tempo or key after the compatible ones")
    cmd.parser.add_option("-a", "--album", action="store_true",
                          help="albums that sound like the query's albums (each album is the "
                               "centroid of its tracks), listed per album")
    cmd.parser.add_option("--file", metavar="PATH",
                          help="seed from an audio file that is not in the library (embedded now "
                               "with the configured backend; nothing is stored)")
    cmd.parser.add_option("--text", metavar="WORDS",
                          help='the tracks these words describe, e.g. "ambient pads, no vocals" '
                               "(musicnn: its tags; gemini: the model reads the words, one cached "
                               "request; --space vibe: the vibe vocabulary)")
    return cmd


def _file_vector(rt, opts):
    """The unit vector of ``--file`` in the configured backend's space."""
    import os

    from ..errors import ItemError

    if opts.space:
        raise FatalError("--file is embedded with the configured backend: it does not combine with --space")
    if not os.path.isfile(opts.file):
        raise FatalError(f"--file: no such file: {opts.file}")
    space = rt.audio_space()
    try:
        raw = rt.backend.embed(opts.file).vector
    except ItemError as exc:
        raise FatalError(f"--file: cannot embed {opts.file}: {exc}") from None
    return rt.backend.derive(raw[None, :].astype("float32"), space.state)[0]


def _check_modes(opts, args) -> None:
    if not args and not opts.playlist and not opts.file:
        raise FatalError("similar to what? give a query (beet similar artist:Armando), "
                         "--playlist NAME or --file PATH")
    if opts.file and (args or opts.playlist):
        raise FatalError("--file is the seed: give no query or --playlist with it")
    if opts.album and (opts.mix or opts.tags or opts.max_per_artist or opts.within or opts.playlist):
        raise FatalError("--album lists albums: --mix, --tags, --max-per-artist, --within and "
                         "--playlist don't apply")
    if opts.file and opts.mix:
        raise FatalError("--mix needs a library track to mix into (with a tempo and key): not --file")


def _file_in_library(rt, lib, opts) -> list:
    """``--file`` of a file the library already holds: that item is the seed (so the
    file does not list itself as its own best match), and the user is told."""
    import os

    path = os.path.realpath(os.path.expanduser(opts.file))
    if not os.path.isfile(path):
        return []
    found = [it for it in lib.items([f"path:{path}"])
             if os.path.realpath(os.fsdecode(it.path)) == path]
    if found and not opts.json:
        output.line(f"note: {opts.file} is already in your library ({output.name(found[0])}, "
                    f"id {found[0].id}): searching from it")
    return found[:1]


MIX_FORMAT = ("$sonic_score  $sonic_bpm_shown $sonic_change  $sonic_camelot_shown $sonic_relation  "
              "$sonic_name$sonic_far")
#: the mark of a mixable track that sounds no closer than a typical track of the library
FAR = "   (far in sound: mixable, but no closer than a typical track)"


def _top_tags(rt, ids: list[int], n: int = 3) -> dict[int, list[tuple[str, float]]]:
    space = rt.store.get_space("musicnn")
    if space is None:
        raise FatalError("--tags needs the musicnn space: pip install --no-deps musicnn==0.1.0, "
                         "then `beet embed`")
    extras = rt.store.extras(space, ids)
    return {iid: sorted(e.get("tags", {}).items(), key=lambda kv: -kv[1])[:n] for iid, e in extras.items()}


def _check_mix_options(opts) -> None:
    if not opts.mix and (opts.loose or opts.bpm_range != 6.0 or opts.key != "compatible"):
        raise FatalError("--bpm-range, --key and --loose only apply with --mix")
    if opts.mix and not 0 < opts.bpm_range <= 50:
        raise FatalError("--bpm-range must be a percentage between 0 and 50")
    if opts.mix and opts.max_per_artist:
        raise FatalError("--max-per-artist does not combine with --mix yet; use --within")


def run(rt, lib, opts, args) -> None:
    _check_mix_options(opts)
    if opts.text is not None:
        from .similar_text import run as by_text

        if opts.number < 1:
            raise FatalError(f"-n/--number must be 1 or more, not {opts.number}")
        if opts.max_per_artist is not None and opts.max_per_artist < 1:
            raise FatalError("--max-per-artist must be 1 or more")
        return by_text(rt, lib, opts, args)
    if opts.number < 1:
        raise FatalError(f"-n/--number must be 1 or more, not {opts.number}")
    if opts.max_per_artist is not None and opts.max_per_artist < 1:
        raise FatalError("--max-per-artist must be 1 or more")
    _check_modes(opts, args)
    known = _file_in_library(rt, lib, opts) if opts.file and not opts.space and not opts.album else []
    vector = _file_vector(rt, opts) if opts.file and not known else None
    if opts.album:
        from .albums import similar as similar_albums

        if opts.m3u:
            M3UTarget.of(opts.m3u)  # checked before any work
        return similar_albums(rt, lib, opts, args, vector)
    m3u = M3UTarget.of(opts.m3u) if opts.m3u else None
    seeds = known or (query_items(rt, lib, opts, args) if vector is None else [])
    space = rt.read_space(opts.space)
    within = [item.id for item in matching(lib, opts.within, rt.log)] if opts.within else None
    artist_of = artist_lookup(lib)

    query, hits = search.similar(rt.store, space, [s.id for s in seeds], vector=vector,
                                 n=opts.number if not opts.mix else 100_000,
                                 within=within, max_per_group=opts.max_per_artist,
                                 group_of=artist_of, library_ids=library.ids(lib))
    if query.vector is None:
        raise FatalError(f"none of the {len(seeds)} matching item(s) has a vector in the "
                         f"{space.name} space yet: {fix_for(space, args)}")
    if query.missing:
        rt.log.info("{} of the {} matching items have no vector yet and were left out "
                    "(run `beet embed`)", len(query.missing), len(seeds))
    if opts.mix:
        return _print_mixes(rt, lib, opts, seeds, hits, m3u, query)
    tags = _top_tags(rt, [h.item_id for h in hits]) if opts.tags else {}
    if not opts.json and not opts.format:
        found = [s for s in seeds if s.id in set(query.found)]
        source = (f"{opts.file} (not in the library)" if vector is not None else
                  output.name(found[0]) if len(found) == 1 else
                  f"these {len(found)} tracks together ({' '.join(args) or opts.playlist})")
        by = f", by {space.name}" if opts.space else ""
        output.line(f"sounds like {source}{by} (score 1 = the same sound; top N% = the share of "
                    f"your {query.library_size} tracks at least as close):")
        if len(found) > 1:
            for s in found:
                rt.log.info("  seed: {}", output.name(s))
    items, below = print_hits(rt, lib, opts, query, hits, tags)
    if not items and not below and not opts.json:
        output.line("no other items to compare with" + (" within that query" if within is not None else ""))
    if m3u:
        output.write_playlist(rt.log, m3u, items)


def artist_lookup(lib):
    """``item id -> its artist, case-folded`` (each read once): what ``--max-per-artist``
    groups by."""
    artists: dict[int, str] = {}

    def artist_of(item_id: int) -> str:
        if item_id not in artists:
            item = lib.get_item(item_id)
            artists[item_id] = (item.artist if item else "").casefold()
        return artists[item_id]

    return artist_of


def print_hits(rt, lib, opts, query, hits, tags: dict) -> tuple[list, int]:
    """The hits that are matches (``search.standing``), a line or a JSON record each, with
    their musicnn ``tags`` when ``--tags`` asked; then how many more were no match.
    Returns ``(the listed items, how many were no match)``."""
    items, below = [], 0
    for hit in hits:
        item = lib.get_item(hit.item_id)
        if item is None:
            continue
        stand = search.standing(query, hit.score)
        if not stand.match:
            below += 1
            continue
        items.append(item)
        if opts.json:
            extra = {"tags": tags.get(hit.item_id)} if opts.tags else {}
            output.line(output.item_json(item, score=round(hit.score, 4),
                                         top_percent=round(stand.top_percent, 2), **extra))
            continue
        output.line(output.format_item(item, opts.format or rt.settings.format,
                                       sonic_score=f"{hit.score:.3f}",
                                       sonic_top=f"top {stand.top_percent:.1f}%"))
        if opts.tags:
            output.line("        " + (", ".join(f"{t} {p:.2f}" for t, p in tags.get(hit.item_id, []))
                                      or "(no musicnn tags)"))
    if below and not opts.json:
        output.line(f"({below} more no closer than a typical track of your library: not shown as matches)")
    return items, below


def _source(m, what: str) -> str:
    """``tag``, or ``audio, confidence 0.42`` for an audio reading."""
    src, conf = (m.bpm_source, m.bpm_conf) if what == "bpm" else (m.key_source, m.key_conf)
    return f"{src}, confidence {conf:.2f}" if src == "audio" and conf is not None else str(src)


def _print_mixes(rt, lib, opts, seeds, hits, m3u, query) -> None:
    from ..dj import mixing
    from ..dj.fields import mixable

    current = mixable(seeds[-1])
    if current.bpm is None or current.key is None:
        raise FatalError(f"the seed {output.name(seeds[-1])} has no known tempo and key: tag bpm and "
                         "initial_key, or run `beet embed --analysis`")
    items = {}

    def lookup(item_id):
        item = lib.get_item(item_id)
        if item is None:
            return None
        items[item_id] = item
        return mixable(item)

    mixes = mixing.mix_candidates(hits, current, lookup, n=opts.number, bpm_range=opts.bpm_range,
                                  key_mode=opts.key, loose=opts.loose)
    if not opts.json and not opts.format:
        output.line(f"mixing into {output.name(seeds[-1])}: {names.bpm_text(current.bpm)} "
                    f"({_source(current, 'bpm')}), {names.key_text(current.key)} ({_source(current, 'key')})")
        if current.doubts:
            output.line(f"  its {' and '.join(current.doubts)} reading is doubtful: only --loose lists "
                        "tracks; tag bpm/initial_key to settle it")
    far = 0
    for h in mixes:
        item, rel = items[h.item_id], h.relation
        near = search.standing(query, h.score).match
        far += not near
        change = f"{rel.tempo.change:+.1f}%" + (f" {rel.tempo.flag}" if rel.tempo and rel.tempo.flag
                                                 else "") if rel.tempo else "?"
        if opts.json:
            output.line(output.item_json(
                item, score=round(h.score, 4), bpm=h.mixable.bpm, bpm_source=h.mixable.bpm_source,
                bpm_conf=h.mixable.bpm_conf, camelot=h.mixable.key.camelot if h.mixable.key else None,
                key_source=h.mixable.key_source, key_conf=h.mixable.key_conf,
                doubtful=list(rel.doubts),
                tempo_change=rel.tempo.change if rel.tempo else None,
                tempo_factor=rel.tempo.factor if rel.tempo else None,
                key_relation=rel.key, compatible=h.compatible, match=near))
        else:
            output.line(output.format_item(
                item, opts.format or MIX_FORMAT, sonic_score=f"{h.score:.3f}",
                sonic_bpm_shown=(f"{h.mixable.bpm:6.1f} BPM" if h.mixable.bpm else "   ? BPM")
                + ("?" if "tempo" in h.mixable.doubts else " "),
                sonic_change=f"{change:>7}",
                sonic_camelot_shown=(names.key_text(h.mixable.key) or "?")
                + ("?" if "key" in h.mixable.doubts else ""),
                sonic_relation=rel.key or "?", sonic_far="" if near else FAR))
    if not mixes and not opts.json:  # JSON output stays JSON: an empty list is no lines
        output.line(f"no track within {opts.bpm_range:g}% and a {opts.key} key: try --bpm-range 8, "
                    "--key any, or --loose")
    if far and not opts.json:
        output.line(f"({far} of these sound no closer to the seed than a typical track of your "
                    "library: mixable, but marked far in sound)")
    if m3u:
        output.write_playlist(rt.log, m3u, [items[h.item_id] for h in mixes])
