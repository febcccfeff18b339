"""What several commands share: the query (or ``--playlist``) that picks their items."""

from __future__ import annotations

from beets import ui

from .. import output, playlist
from ..errors import FatalError


def add_playlist_option(cmd: ui.Subcommand, help_text: str) -> None:
    cmd.parser.add_option("--playlist", metavar="FILE|NAME",
                          help=f"{help_text} (a path, or a name in the playlist plugin's "
                               "playlist_dir), in its order")


def query_items(rt, lib, opts, args, *, at_least: int = 1, what: str = "") -> list:
    """The items a command works on: ``--playlist``'s tracks, or the query's."""
    if opts.playlist:
        if args:
            raise FatalError("give either --playlist or a query, not both")
        items, absent = playlist.items_of(lib, opts.playlist)
        if absent:
            output.line(f"note: {absent} of {len(items) + absent} playlist entries are not in the library")
    else:
        items = list(lib.items(args))
    if len(items) < at_least:
        need = what or ("at least one track" if at_least == 1 else f"at least {at_least} tracks")
        raise FatalError(f"{need}; {len(items)} match {' '.join(args) or opts.playlist or 'the query'!r}"
                         if len(items) else
                         f"no items match {' '.join(args) or opts.playlist or 'the query'!r}")
    return items
