"""``beet similar --text WORDS``: the tracks that words describe (see :mod:`..textsearch`)."""

from __future__ import annotations

from .. import output, textsearch
from ..errors import FatalError
from ..playlist import M3UTarget, matching

#: what a score means, per method (the header line)
MEANING = {
    "tags": "score = how much more probable those tags are than for your average track",
    "gemini": "score = cosine between the words and each track's audio in the Gemini model's space",
    "vibe": "score = cosine between the words' vibe and each track's vibe",
}


def check(opts, args) -> None:
    """``--text`` replaces the seed: the options about a seed don't apply."""
    if not opts.text.strip():
        raise FatalError('--text needs words, e.g. --text "ambient pads, no vocals"')
    if args or opts.playlist or opts.file:
        raise FatalError("--text is the query: give no seed query, --playlist or --file with it "
                         "(narrow the search with --within QUERY)")
    if opts.mix:
        raise FatalError("--mix needs a seed track to mix into (its tempo and key); words have "
                         "neither: use --text alone, or --within 'bpm:120..130' to narrow by tempo")
    if opts.album:
        raise FatalError("--album does not combine with --text")


def _space(rt, opts):
    """The space that answers and how it reads words."""
    if opts.space == "vibe":
        return None, "vibe"
    space = rt.read_space(opts.space)
    if space.kind == "vibe":
        return None, "vibe"
    if space.backend == "musicnn":
        return space, "tags"
    if space.backend == "gemini":
        return space, "gemini"
    raise FatalError(f"the {space.name} space cannot read words: --text works in the musicnn space "
                     "(offline: pip install --no-deps musicnn==0.1.0, then `beet embed`), the gemini "
                     "space, or --space vibe")


def _gemini_client(rt):
    if rt.settings.backend == "gemini":
        return rt.backend.client
    from ..gemini import Client, missing_key_error, missing_sdk_error, sdk_installed

    if rt.settings.gemini is None:
        raise missing_key_error()
    if not sdk_installed():
        raise missing_sdk_error()
    return Client(rt.settings.gemini, log=rt.info)


def run(rt, lib, opts, args) -> None:
    check(opts, args)
    m3u = M3UTarget.of(opts.m3u) if opts.m3u else None
    within = [item.id for item in matching(lib, opts.within, rt.log)] if opts.within else None
    from .similar import artist_lookup

    artist_of = artist_lookup(lib)

    ranking = dict(n=opts.number, within=within, max_per_group=opts.max_per_artist, group_of=artist_of)
    space, method = _space(rt, opts)
    if method == "tags":
        result = textsearch.by_tags(rt.store, space, opts.text, **ranking)
    elif method == "gemini":
        result = textsearch.by_gemini(rt.store, space, opts.text, client_of=lambda: _gemini_client(rt),
                                      announce=rt.info, **ranking)
    else:
        result = textsearch.by_vibe(rt.vibes(), opts.text, announce=rt.info, **ranking)
    _report(rt, opts, result)
    items = _print_hits(rt, lib, opts, result)
    if m3u:
        output.write_playlist(rt.log, m3u, items)


def _report(rt, opts, result) -> None:
    """Which words were understood and which were not: a line on the terminal, or the
    log (stderr) with --json / -f so the listing stays machine-readable."""
    lines = []
    if result.parsed is not None:
        tags = ", ".join(f"{t} {w:+g}" for t, w in sorted(result.parsed.weights().items(),
                                                            key=lambda kv: -abs(kv[1])))
        lines.append(f"words understood: {', '.join(t.describe() for t in result.parsed.terms)} "
                     f"(musicnn tags: {tags})")
        if result.parsed.ignored:
            lines.append(f"ignored as filler: {', '.join(result.parsed.ignored)}")
    if result.unknown:
        lines.append(f"not understood (left out of the search): {', '.join(result.unknown)}")
    if opts.json or opts.format:
        for text in lines:
            rt.log.info("{}", text)
        return
    for text in lines:
        output.line(text)
    output.line(f"described by {result.text!r} ({result.space} space; {MEANING[result.method]}; "
                f"top % = the share of your {result.query.library_size} tracks scoring at least as high):")


def _print_hits(rt, lib, opts, result) -> list:
    from .similar import print_hits

    tags = _tags(rt, [h.item_id for h in result.hits]) if opts.tags else {}
    items, below = print_hits(rt, lib, opts, result.query, result.hits, tags)
    if not items and not below and not opts.json:
        output.line("no tracks to list" + (" within that query" if opts.within else ""))
    return items


def _tags(rt, ids):
    from .similar import _top_tags

    return _top_tags(rt, ids)
