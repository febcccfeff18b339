"""``beet cohesion QUERY``: how tight a set is, track by track."""

from __future__ import annotations

import numpy as np
from beets import ui

from .. import cohesion, names, output, search
from ..errors import FatalError
from ..outfile import check_writable, write_with
from ..playlist import M3UTarget
from ..store import library
from .common import add_playlist_option, fix_for, query_items

FORMAT = "$sonic_fit  $sonic_top  $sonic_bar  $sonic_bpm_shown  $sonic_camelot_shown  $sonic_name$sonic_flag"


def make() -> ui.Subcommand:
    cmd = ui.Subcommand("cohesion", help="how well a set of tracks hangs together, track by track")
    cmd.parser.usage += (
        "\n\nCohesion is the length of the centroid of the tracks' unit vectors (1 = identical,"
        "\nabout 1/sqrt(n) = unrelated), shown against random sets of the same size from your"
        "\nlibrary. Each track's fit is its cosine to the centroid, and its standing: the share of"
        "\nyour other tracks at least as close to the rest of the set (top 3% = belongs). A track"
        "\nis flagged \"doesn't belong\" when a quarter of your library is as close, and four times"
        "\nas much as for the set's typical track; least fitting first."
    )
    cmd.parser.add_format_option(target="item")
    cmd.parser.add_option("--json", action="store_true", help="print one JSON document")
    cmd.parser.add_option("--space", metavar="NAME", help="judge in another space (e.g. vibe)")
    cmd.parser.add_option("--suggest", action="store_true",
                          help="for each flagged track, library tracks that fit the rest of the set "
                               "and its neighbours in the running order")
    cmd.parser.add_option("--worst", type="int", default=3, metavar="N",
                          help="with --suggest: replace at most N flagged tracks (default 3)")
    cmd.parser.add_option("--order", action="store_true",
                          help="print the set in an order that flows (greedy path + 2-opt)")
    cmd.parser.add_option("--m3u", metavar="FILE",
                          help="write the set as a playlist (in the flowing order with --order)")
    cmd.parser.add_option("--matrix", action="store_true",
                          help="print the similarity matrix as a Markdown table (flowing order: "
                               "similar tracks adjacent)")
    cmd.parser.add_option("--heatmap", metavar="FILE.png",
                          help="draw the similarity matrix, in flowing order (needs matplotlib)")
    add_playlist_option(cmd, "judge the tracks of an M3U playlist")
    cmd.parser.add_option("-a", "--album", action="store_true",
                          help="judge the query's albums as units (each the centroid of its tracks), "
                               "listed per album")
    cmd.parser.add_option("--transitions", action="store_true",
                          help="rate each transition of the set in its own order (sound, tempo, key) "
                               "and name the weakest with the reason")
    return cmd


def _check_outputs(opts) -> None:
    """Every output problem is reported before any work."""
    if opts.worst < 1:
        raise FatalError("--worst must be 1 or more")
    opts.m3u = M3UTarget.of(opts.m3u) if opts.m3u else None
    if opts.heatmap:
        check_writable(opts.heatmap)
    if opts.heatmap:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise FatalError("--heatmap needs matplotlib: pip install 'beets-sonic[plot]' "
                             "(or use --matrix for a text table)") from None


def run(rt, lib, opts, args) -> None:
    _check_outputs(opts)
    if opts.album:
        if opts.order or opts.transitions or opts.matrix or opts.heatmap or opts.m3u or opts.playlist:
            raise FatalError("--album judges albums: --order, --transitions, --matrix, --heatmap, "
                             "--m3u and --playlist don't apply")
        from .albums import judge

        return judge(rt, lib, opts, args)
    items = query_items(rt, lib, opts, args, at_least=2, what="cohesion needs at least two tracks")
    space = rt.read_space(opts.space)
    ids, X = search.in_library(*rt.store.matrix(space), library.ids(lib))
    by_id = {item.id: item for item in items}
    _, missing = search.rows_of(ids, list(by_id))
    if len(by_id) - len(missing) < 2:
        raise FatalError(f"only {len(by_id) - len(missing)} of the {len(by_id)} tracks have a vector "
                         f"in the {space.name} space: {fix_for(space, args)}")
    from ..dj.fields import mixable

    mixables = {iid: mixable(item) for iid, item in by_id.items()}
    result = cohesion.judge(ids, X, list(by_id), order=opts.order, suggestions=opts.suggest,
                            worst=opts.worst, mixables=mixables, transitions=opts.transitions)
    report = result.report
    if report.missing:
        rt.log.warning("{} track(s) have no vector yet and were left out (run `beet embed`)",
                       len(report.missing))
    set_items = [by_id[int(i)] for i in report.ids]
    if opts.json:
        output.print_json({"space": space.name, **result.to_json(
            lambda iid: {"id": iid, "artist": by_id[iid].artist, "title": by_id[iid].title,
                         "bpm": mixables[iid].bpm,
                         "camelot": mixables[iid].key.camelot if mixables[iid].key else None})})
    else:
        _print(rt, lib, opts, result, set_items, by_id, space.name, mixables)
    if opts.matrix or opts.heatmap:
        shown = result.display_order()
        S = result.similarity()[np.ix_(shown, shown)]
        names = [output.name(set_items[i]) for i in shown]
        if opts.matrix:
            output.line("\n" + cohesion.markdown_matrix(S, names))
        if opts.heatmap:
            write_with(opts.heatmap, lambda tmp: cohesion.heatmap(S, names, tmp))
            rt.log.info("wrote the heatmap to {}", opts.heatmap)
    if opts.m3u:
        rows = result.order if result.order is not None else range(len(set_items))
        opts.m3u.write([set_items[i] for i in rows])


def _print(rt, lib, opts, result, set_items, by_id, space_name, mixables) -> None:
    report = result.report
    m = len(set_items)
    by = f", by {space_name}" if opts.space else ""
    if report.baseline.size:
        output.line(f"cohesion {report.cohesion:.3f}{by} (1 = every track alike): tighter than "
                    f"{report.percentile:.0f}% of random {m}-track sets from this library "
                    f"(their median: {np.median(report.baseline):.3f})")
    else:
        output.line(f"cohesion {report.cohesion:.3f} of {m} tracks{by} (1 = every track alike): most of "
                    "your library, so there is nothing to compare it with; least typical tracks first")
    if report.judged:
        flagged = int(report.outlier.sum())
        output.line(f"{flagged} track(s) don't belong" if flagged else
                    "no track stands out: each is closer to the rest of the set than most of your library")
    elif report.baseline.size:
        output.line("(fewer than 10 other tracks in your library: no reference to flag tracks against)")
    output.line("")
    fmt = opts.format or FORMAT
    for i in result.worst_first:
        it = set_items[i]
        mx = mixables[it.id]
        judged = not np.isnan(report.top[i])
        output.line(output.format_item(
            it, fmt, sonic_fit=f"{report.fit[i]:6.3f}",
            sonic_top=f"top {report.top[i]:3.0f}%" if judged else "",
            sonic_bar=output.bar(1 - report.top[i] / 100 if judged else report.fit[i]),
            sonic_bpm_shown=f"{mx.bpm:6.1f} BPM" if mx.bpm else "   ? BPM",
            sonic_camelot_shown=f"{names.key_text(mx.key) or '?':<11}",
            sonic_flag="   <- doesn't belong" if report.outlier[i] else ""))
    if opts.suggest and not result.suggestions:
        output.line("\nnothing flagged: no replacements needed")
    if result.suggestions:
        output.line("\nbetter fits (close to the rest of the set and to the neighbours in the running order):")
        for worst_id, hits in result.suggestions.items():
            output.line(f"  instead of {output.name(by_id[worst_id])}:")
            for h in hits:
                item = lib.get_item(h.item_id)
                if item:
                    output.line(f"    {h.score:.3f}  {output.name(item)}")
    if result.rated:
        output.line("\ntransitions in this order (score: 0.5 sound + 0.2 tempo + 0.2 key + 0.1 energy):")
        for t in result.rated:
            a, b = set_items[t.a], set_items[t.b]
            doubt = (f"; rests on a doubtful {'/'.join(t.relation.doubts)} reading"
                     if t.relation.doubts and "doubtful" not in t.reason else "")
            output.line(f"  {t.score:.2f}  {output.name(a)}  ->  {output.name(b)}   ({t.reason}{doubt})")
        weakest = min(result.rated, key=lambda t: t.score)
        output.line(f"weakest: {output.name(set_items[weakest.a])} -> {output.name(set_items[weakest.b])}: "
                    f"{weakest.reason}")
    if result.order is not None:
        output.line("\nin an order that flows (sound, tempo and key):")
        for pos, i in enumerate(result.order):
            step = f"  -> {result.transitions[pos - 1]:.3f}" if pos else ""
            output.line(f"  {pos + 1:>2}. {output.name(set_items[i])}{step}")
