"""What several commands share: the query (or ``--playlist``) that picks their items."""

from __future__ import annotations

from beets import ui

from .. import playlist
from ..errors import FatalError
from ..store import library


def add_playlist_option(cmd: ui.Subcommand, help_text: str) -> None:
    cmd.parser.add_option("--playlist", metavar="FILE|NAME",
                          help=f"{help_text} (a path, or a name in the playlist plugin's "
                               "playlist_dir), in its order")


def items(rt, lib, opts, args) -> list:
    """The items a command works on: ``--playlist``'s tracks in its order, or the query's
    (``playlist:NAME`` terms resolved here when beets' own query misses them)."""
    if getattr(opts, "playlist", None):
        if args:
            raise FatalError("give either --playlist or a query, not both")
        found, absent = playlist.items_of(lib, opts.playlist)
        if absent:
            # a warning (stderr), so that --json output stays only JSON
            rt.log.warning("{} of {} playlist entries are not in the library", absent, len(found) + absent)
        return found
    return playlist.matching(lib, args, rt.log)


def query_items(rt, lib, opts, args, *, at_least: int = 1, what: str = "") -> list:
    """:func:`items`, and an error naming the query when fewer than ``at_least`` match."""
    found = items(rt, lib, opts, args)
    if not found:
        for term in args:  # `playlist:NAME` of a file that is not there: say so, as --playlist does
            if term.startswith("playlist:") and term != "playlist:":
                playlist.find(term.split(":", 1)[1])
    if len(found) < at_least:
        asked = " ".join(args) or getattr(opts, "playlist", None) or "the query"
        need = what or ("at least one track" if at_least == 1 else f"at least {at_least} tracks")
        raise FatalError(f"{need}; {len(found)} match {asked!r}" if found else f"no items match {asked!r}")
    return found


def fix_for(space, args) -> str:
    """The command that gives ``args``' tracks a vector in ``space``: `beet vibe` for a
    vibe space (a track it could not assess has none), else `beet embed`."""
    query = " ".join(args)
    if space.kind == "vibe":
        return (f"run `beet vibe {query}`".rstrip() + " (it names the tracks it could not "
                "assess, and why)")
    return f"run `beet embed {query}`".rstrip()
def whole_library(opts, args) -> bool:
    return not args and not getattr(opts, "playlist", None)


def rows(rt, lib, opts, args, *, columns=("path",), flex=()) -> list:
    """:func:`items`, but the whole library (no query) as rows of a few
    columns (:class:`~..store.library.Row`): what a command over 50,000 tracks can afford."""
    if whole_library(opts, args):
        return library.rows(lib, columns, flex)
    return items(rt, lib, opts, args)
