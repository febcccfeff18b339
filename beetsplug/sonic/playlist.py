"""M3U playlists: read them (for ``--playlist`` and ``playlist:NAME`` terms) and write
them (``--m3u``), by the playlist plugin's conventions (``playlist_dir``, ``relative_to``).

Matched on absolute paths in our own code: beets 2.12+'s ``playlist:`` query misses
items stored inside the library directory (beets issue #6784), so :func:`matching`
resolves ``playlist:`` terms itself when beets' own query returns nothing.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
from dataclasses import dataclass

from .errors import FatalError
from .names import track_name
from .outfile import check_writable, write_bytes

log = logging.getLogger("beets.sonic")

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def _plugin_setting(key: str):
    from beets import config

    view = config["playlist"][key]
    return view.get() if view.exists() else None


def relative_base(m3u_path: str) -> str:
    """The folder relative entries of ``m3u_path`` are relative to: the playlist plugin's
    ``relative_to`` (``library``: beets' directory; ``playlist``; a folder), else the
    playlist's own folder (plain M3U)."""
    rel = _plugin_setting("relative_to")
    if rel == "library":
        from beets import config

        return config["directory"].as_filename()
    if rel in (None, "playlist"):
        return os.path.dirname(os.path.abspath(m3u_path))
    return os.path.abspath(os.path.expanduser(str(rel)))


def read_m3u(path: str) -> list[tuple[bytes, ...]]:
    """Each entry of an M3U file, in order, as the normalised absolute paths it may mean:
    relative to the ``relative_to`` base, and to the playlist's own folder."""
    bases = dict.fromkeys([relative_base(path), os.path.dirname(os.path.abspath(path))])
    out = []
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            line = line.strip().lstrip("\ufeff")
            if line and not line.startswith("#"):
                line = os.path.expanduser(line)
                out.append(tuple(os.fsencode(os.path.normpath(os.path.join(b, line))) for b in bases))
    return out


def _text(value) -> str:
    """Metadata as one line of text: a newline in a tag must not become an M3U entry."""
    return _CONTROL.sub(" ", str(value or "")).strip()


def m3u_text(items: list, base: str | None = None) -> str:
    """``base``: write entries relative to this folder; else absolute paths. A path's
    bytes are written as they are (read back with :func:`read_m3u`, any player finds
    the file, whatever its encoding); a path holding a line break can't be an M3U entry
    and is left out with a warning (written raw, it would split into two entries)."""
    lines = ["#EXTM3U"]
    for item in items:
        path = os.path.abspath(os.fsdecode(item.path))
        if "\n" in path or "\r" in path:
            log.warning("sonic: left out of the playlist (its file name holds a line break, "
                        "which M3U can't hold): {!r}", path)
            continue
        lines.append(f"#EXTINF:{int(round(item.length or 0))},{_text(track_name(item))}")
        lines.append(os.path.relpath(path, base) if base else path)
    return "\n".join(lines) + "\n"


def _is_m3u(name: str) -> bool:
    return name.lower().endswith((".m3u", ".m3u8"))


@dataclass
class M3UTarget:
    """Where ``--m3u`` writes: a bare NAME goes into the playlist plugin's
    ``playlist_dir`` as NAME.m3u with entries as its ``relative_to`` says (so
    ``playlist:NAME`` finds it); an explicit path is written where it says, with
    absolute entries any player can read."""

    path: str
    base: str | None

    @classmethod
    def of(cls, ref: str) -> "M3UTarget":
        folder = playlist_dir()
        if folder and not os.path.dirname(ref):
            path = check_writable(os.path.join(folder, ref if _is_m3u(ref) else ref + ".m3u"))
            return cls(path, relative_base(path))
        return cls(check_writable(ref), None)

    def write(self, items: list) -> None:
        write_bytes(self.path, m3u_text(items, self.base).encode("utf-8", "surrogateescape"))


def playlist_dir() -> str | None:
    from beets import config

    view = config["playlist"]["playlist_dir"]
    return view.as_filename() if view.exists() else None


def find(ref: str) -> str:
    """The M3U file for ``ref``: a path, or a name in the playlist plugin's playlist_dir."""
    candidates = [os.path.expanduser(ref)]
    folder = playlist_dir()
    if folder:
        candidates += [os.path.join(folder, ref), os.path.join(folder, ref + ".m3u")]
    path = next((c for c in candidates if os.path.isfile(c)), None)
    if path is None:
        raise FatalError(f"no playlist file {ref!r} (looked at: {', '.join(candidates)})")
    return path


def _listed(lib, path: str) -> tuple[list, int]:
    wanted = read_m3u(path)
    by_path = {os.path.normpath(item.path): item for item in lib.items()}
    found = [next(by_path[c] for c in entry if c in by_path) for entry in wanted
             if any(c in by_path for c in entry)]
    return found, len(wanted) - len(found)


def items_of(lib, ref: str) -> tuple[list, int]:
    """``(library items of the playlist in its order, entries not in the library)``."""
    path = find(ref)
    found, absent = _listed(lib, path)
    if not found:
        raise FatalError(f"none of the {absent} tracks in {path} is in the beets library")
    return found, absent


def matching(lib, query, log=None) -> list:
    """``lib.items(query)``; when that is empty and the query has ``playlist:NAME`` terms
    whose files exist and have entries, those terms are resolved here (beets #6784):
    the first playlist's tracks in its order, kept if they are in every other named
    playlist and match the rest of the query."""
    try:
        terms = shlex.split(query) if isinstance(query, str) else list(query or [])
    except ValueError:  # an unbalanced quote: beets parses (and reports) it its own way
        return list(lib.items(query))
    items = list(lib.items(terms))
    names = [t.split(":", 1)[1] for t in terms if t.startswith("playlist:")]
    if items or not names:
        return items
    lists = []
    for name in names:
        try:
            path = find(name)
        except FatalError:
            return items  # no such file: beets' answer stands
        lists.append((path, _listed(lib, path)[0]))
    if not lists[0][1]:
        return items
    rest = [t for t in terms if not t.startswith("playlist:")]
    keep = {it.id for it in lib.items(rest)} if rest else None
    for _, listed in lists[1:]:
        ids = {it.id for it in listed}
        keep = ids if keep is None else keep & ids
    if log:
        log.debug("beets' playlist: query matched nothing (beets issue #6784); read {} here",
                  ", ".join(p for p, _ in lists))
    return [it for it in lists[0][1] if keep is None or it.id in keep]
