"""M3U playlists: read them (for ``--playlist``) and write them (``--m3u``).

Matched on absolute paths in our own code: beets 2.12+'s ``playlist:`` query misses
items stored inside the library directory (beets issue #6784).
"""

from __future__ import annotations

import os
import re

from beets.util import displayable_path

from .errors import FatalError

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


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


def _text(value) -> str:
    """Metadata as one line of text: a newline in a tag must not become an M3U entry."""
    return _CONTROL.sub(" ", str(value or "")).strip()


def m3u_text(items: list) -> str:
    lines = ["#EXTM3U"]
    for item in items:
        lines.append(f"#EXTINF:{int(round(item.length or 0))},{_text(item.artist)} - {_text(item.title)}")
        lines.append(os.path.abspath(displayable_path(item.path)))
    return "\n".join(lines) + "\n"


def check_writable(path: str) -> str:
    """The absolute path an output file will be written to; a FatalError before any
    work when its folder does not exist or can't be written."""
    out = os.path.abspath(os.path.expanduser(path))
    folder = os.path.dirname(out)
    if not os.path.isdir(folder):
        raise FatalError(f"cannot write {out}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise FatalError(f"cannot write {out}: the folder {folder} is not writable")
    return out


def write_m3u(path: str, items: list) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(m3u_text(items))


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


def items_of(lib, ref: str) -> tuple[list, int]:
    """``(library items of the playlist in its order, entries not in the library)``."""
    path = find(ref)
    wanted = read_m3u(path)
    by_path = {os.path.normpath(item.path): item for item in lib.items()}
    found = [by_path[p] for p in wanted if p in by_path]
    if not found:
        raise FatalError(f"none of the {len(wanted)} tracks in {path} is in the beets library")
    return found, len(wanted) - len(found)
