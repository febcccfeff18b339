"""How a track is named in every line the plugin prints or writes.

``Artist - Title`` where both are tagged; the title alone without an artist; and a track
without a title is named by its file, as beets users know it (``promo_03.mp3``, with the
artist in front when there is one): the file it was imported from, when beets renamed
its copy. No output line names a track as a blank `` - ``.
"""

from __future__ import annotations

import os
from typing import Any

from beets.util import displayable_path

#: the flexible field that keeps the file name an untitled track was imported from
FILE_FIELD = "sonic_filename"


def _tag(item: Any, field: str) -> str:
    return str(item.get(field) or "").strip()


def remember_file_names(items: Any) -> None:
    """At import, before beets copies or moves the files, keep each untitled item's own
    file name (``promo_03.mp3``) in :data:`FILE_FIELD`: under beets' default paths the copy
    of an untagged file is ``Non-Album.3.mp3``, which names nothing."""
    for item in items:
        if not _tag(item, "title") and not _tag(item, FILE_FIELD) and item.path:
            item[FILE_FIELD] = os.path.basename(displayable_path(item.path))


def track_name(item: Any) -> str:
    """The name of one beets item (or anything with ``get`` and ``path``)."""
    artist, title = _tag(item, "artist"), _tag(item, "title") or _tag(item, FILE_FIELD)
    if not title:
        path = getattr(item, "path", None) or item.get("path")
        title = os.path.basename(displayable_path(path)) if path else f"item {item.get('id')}"
    return f"{artist} - {title}" if artist else title


def bpm_text(bpm: float | None) -> str:
    """A tempo in the one notation of every command: ``124.0 BPM`` (empty when unknown)."""
    return f"{float(bpm):.1f} BPM" if bpm else ""


def key_text(key: Any) -> str:
    """A key (``dj.keys.Key``) in the one notation: Camelot and name, ``8A A minor``."""
    return f"{key.camelot} {key.name}" if key is not None else ""


def tempo_of(item: Any) -> str:
    """``$sonic_tempo``: the tempo the plugin uses (the ``bpm`` tag, else the audio's)."""
    from .dj.fields import mixable

    return bpm_text(mixable(item).bpm)


def key_of(item: Any) -> str:
    """``$sonic_keyname``: the key the plugin uses (``initial_key``, else the audio's)."""
    from .dj.fields import mixable

    return key_text(mixable(item).key)


def album_name(album: Any) -> str:
    """``Album Artist - Album``; an untitled album by its folder, as beets users know it."""
    artist, title = _tag(album, "albumartist"), _tag(album, "album")
    if not title:
        try:
            folder = displayable_path(album.item_dir())
        except Exception:  # an album whose items are gone: its id is all there is
            folder = ""
        title = os.path.basename(folder.rstrip(os.sep)) or f"album {album.id}"
    return f"{artist} - {title}" if artist else title


#: album template fields (``beet similar -a``, ``beet ls -a -f``)
ALBUM_TEMPLATE_FIELDS = {"sonic_name": album_name}

#: template fields for ``-f`` formats (and ``beet ls -f``), registered by the plugin
TEMPLATE_FIELDS = {"sonic_name": track_name, "sonic_tempo": tempo_of, "sonic_keyname": key_of}
