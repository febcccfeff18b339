"""``beet graph``: the library as a self-contained interactive nearest-neighbour map."""

from __future__ import annotations

import numpy as np
from beets import ui

from .. import clusters, graph, output
from ..errors import FatalError
from ..library_ops import query_rows
from ..names import FILE_FIELD
from ..outfile import check_writable, write_text
from ..store import library
from . import common


def make() -> ui.Subcommand:
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
    cmd.parser.add_option("--no-paths", action="store_true",
                          help="leave file paths out of the page (to share it); no play button, "
                               "no M3U export")
    common.add_playlist_option(cmd, "map the tracks of an M3U playlist")
    return cmd


#: tracks a browser draws and lays out smoothly (docs/performance.md, `beet graph`)
DRAWS_SMOOTHLY = 20_000
#: what the page shows of each track (the whole library is read as these columns only)
COLUMNS = ("artist", "title", "bpm", "initial_key", "album", "genres", "length", "path")
FLEX = ("genre", "vibe_genre", "sonic_bpm", "sonic_bpm_conf", "sonic_camelot", "sonic_key", "sonic_key_conf",
        "vibe_energy", "sonic_energy", "vibe_placement", "sonic_cluster", "sonic_cluster_name", FILE_FIELD)


def _tracks(rt, lib, opts, args) -> list:
    if not common.whole_library(opts, args):
        return common.query_items(rt, lib, opts, args, at_least=2, what="a map needs two or more tracks")
    columns, flex = list(COLUMNS), list(FLEX)
    if opts.color_by:
        (columns if library.is_fixed(opts.color_by) else flex).append(opts.color_by)
    return library.rows(lib, columns, flex)


def run(rt, lib, opts, args) -> None:
    if opts.k < 1:
        raise FatalError("-k must be at least 1")
    out = check_writable(opts.output)
    space = rt.read_space(opts.space)
    ids, X = rt.store.matrix(space)
    rows, by_id = query_rows(ids, _tracks(rt, lib, opts, args))
    if len(rows) < 2:
        raise FatalError(f"{len(rows)} matching track(s) have a vector in the {space.name} space; "
                         f"a map needs two or more: {common.fix_for(space, args)}")
    items = [by_id[int(ids[r])] for r in rows]
    from ..textsearch import map_words

    words = map_words(rt.store, space, [int(ids[r]) for r in rows])
    payload, page = graph.build(np.asarray(X[rows]), items, k=opts.k, space=space.name,
                               color_by=opts.color_by, paths=not opts.no_paths, words=words)
    write_text(out, page)  # a file name that isn't UTF-8 shows "?" for its odd bytes
    output.line(f"wrote {out}: {len(rows)} tracks, {len(rows) * payload['k']} links, "
                f"{payload['ncomm']} communities, {len(page.encode()) / 1e6:.1f} MB")
    if len(rows) > DRAWS_SMOOTHLY:
        output.line(f"note: a browser draws about {DRAWS_SMOOTHLY:,} tracks smoothly; this page "
                    f"settles slowly: map a query (e.g. `beet graph genre:techno`) to explore")
    if not args and not opts.playlist and opts.space is None and opts.k == 4:
        # the whole library in the audio space: its communities become the sonic_cluster fields
        changed, n = clusters.store(lib, items, np.asarray(payload["comm"]))
        output.line(f"sonic_cluster: {n} clusters over {len(items)} tracks ({changed} changed)")
    if opts.open:
        import webbrowser

        webbrowser.open("file://" + out)
