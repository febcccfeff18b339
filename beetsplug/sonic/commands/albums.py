"""``beet similar -a`` and ``beet cohesion -a``: albums as the centroids of their tracks."""

from __future__ import annotations

import json

import numpy as np

from .. import cohesion, output, search
from ..errors import FatalError
from ..names import album_name
from ..playlist import M3UTarget

FORMAT = "$sonic_score  $sonic_top  $sonic_name ($sonic_tracks tracks)"
COHESION_FORMAT = "$sonic_fit  $sonic_top  $sonic_bar  $sonic_name$sonic_flag"


def _albums(rt, lib, space):
    """``(album ids, unit centroids, {album id: Album})`` of every album with a vector."""
    ids, X = rt.store.matrix(space)
    album_of = {item.id: item.album_id for item in lib.items() if item.album_id is not None}
    album_ids, A = search.album_matrix(ids, X, album_of)
    return album_ids, A, ids, X, album_of


def _record(album, **extra) -> dict:
    return {"album_id": album.id, "name": album_name(album), "albumartist": album.albumartist, "album": album.album,
            "year": album.year, **extra}


def _seed_albums(lib, args) -> list:
    albums = list(lib.albums(args))
    if not albums:
        raise FatalError(f"no albums match {' '.join(args) or 'the query'!r}")
    return albums


def similar(rt, lib, opts, args, vector=None) -> None:
    """Albums that sound like the query's albums (or ``vector``: a file's)."""
    space = rt.read_space(opts.space)
    album_ids, A, ids, X, album_of = _albums(rt, lib, space)
    if album_ids.size == 0:
        raise FatalError(f"no album has a vector in the {space.name} space: run `beet embed`")
    seeds = []
    if vector is None:
        seeds = [a.id for a in _seed_albums(lib, args)]
        seed_items = [iid for iid, a in album_of.items() if a in set(seeds)]
        q = search.seed_vector(ids, X, seed_items).vector
        if q is None:
            raise FatalError(f"no track of the {len(seeds)} matching album(s) has a vector yet: "
                             "run `beet embed`")
    else:
        q = vector
    scores = np.asarray(A @ q, np.float32)
    hits = search.rank(album_ids, A, q, n=opts.number, exclude=seeds, scores=scores)
    others = np.sort(scores[~np.isin(album_ids, seeds)])
    counts = dict(zip(*np.unique(list(album_of.values()), return_counts=True)))
    if not opts.json and not opts.format:
        source = f"{len(seeds)} album(s) matching {' '.join(args)!r}" if vector is None else opts.file
        by = f", by {space.name}" if opts.space else ""
        output.line(f"albums that sound like {source}{by} (each album as all its tracks together; "
                    f"top N% = the share of your {others.size} albums at least as close):")
    shown = []
    for h in hits:
        album = lib.get_album(h.item_id)
        if album is None:
            continue
        top = 100.0 * (others.size - np.searchsorted(others, h.score, side="left")) / max(others.size, 1)
        shown.append(album)
        n = int(counts.get(h.item_id, 0))
        if opts.json:
            output.line(json.dumps(_record(album, score=round(h.score, 4), top_percent=round(top, 2),
                                           tracks=n), ensure_ascii=False))
        else:
            output.line(output.format_item(album, opts.format or FORMAT, sonic_score=f"{h.score:.3f}",
                              sonic_top=f"top {top:.1f}%", sonic_tracks=str(n)))
    if opts.m3u:
        M3UTarget.of(opts.m3u).write([it for album in shown for it in album.items()])


def judge(rt, lib, opts, args) -> None:
    """How well the query's albums hang together, album by album."""
    space = rt.read_space(opts.space)
    album_ids, A, *_ = _albums(rt, lib, space)
    wanted = [a.id for a in _seed_albums(lib, args)]
    result = cohesion.judge(album_ids, A, wanted, suggestions=opts.suggest, worst=opts.worst)
    r = result.report
    if r.ids.size < 2:
        raise FatalError(f"cohesion needs at least two albums with a vector; {r.ids.size} of "
                         f"{len(wanted)} have one (run `beet embed`)")
    albums = {int(a): lib.get_album(int(a)) for a in r.ids}
    if opts.json:
        output.print_json({"space": space.name, "albums": True, **result.to_json(
            lambda aid: {"album_id": aid, "albumartist": albums[aid].albumartist,
                         "album": albums[aid].album})})
        return
    output.line(f"cohesion {r.cohesion:.3f} of {r.ids.size} albums"
                + (f", by {space.name}" if opts.space else "") + " (1 = every album alike)"
                + (f": tighter than {r.percentile:.0f}% of random {r.ids.size}-album sets"
                   if r.baseline.size else ""))
    output.line("")
    for i in result.worst_first:
        judged = not np.isnan(r.top[i])
        output.line(output.format_item(albums[int(r.ids[i])], opts.format or COHESION_FORMAT,
                          sonic_fit=f"{r.fit[i]:6.3f}",
                          sonic_top=f"top {r.top[i]:3.0f}%" if judged else "",
                          sonic_bar=output.bar(1 - r.top[i] / 100 if judged else r.fit[i]),
                          sonic_flag="   <- doesn't belong" if r.outlier[i] else ""))
    for aid, hits in (result.suggestions or {}).items():
        output.line(f"\ninstead of {album_name(albums[aid])}:")
        for h in hits:
            other = lib.get_album(h.item_id)
            if other:
                output.line(f"    {h.score:.3f}  {album_name(other)}")
