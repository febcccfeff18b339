"""Printing: ``-f`` templates, JSON lines, text bars, durations. Only commands and
hooks print, and they print through here (``ui.print_``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from beets import ui
from beets.util import displayable_path

from .errors import FatalError
from .names import key_text, track_name


def user_errors(func: Callable) -> Callable:
    """Turn FatalError into beets' UserError: one line, no traceback."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except FatalError as exc:
            raise ui.UserError(f"sonic: {exc}") from None

    return wrapper


def line(text: str = "") -> None:
    ui.print_(text)


def format_item(item, fmt: str, **extra: Any) -> str:
    """Evaluate a beets template on an item (or album) with extra ``$name`` values
    (e.g. ``$sonic_score``)."""
    view = item.copy()
    for key, value in extra.items():
        view[key] = value
    return view.evaluate_template(fmt)


def item_record(item, **extra: Any) -> dict[str, Any]:
    """One track as JSON: tempo and key as the plugin uses them (the tags, else the audio:
    ``bpm_source``/``key_source`` say which), the key as Camelot plus name."""
    from .dj.fields import mixable

    m = mixable(item)
    record = {"id": item.id, "name": track_name(item), "path": displayable_path(item.path),
              "artist": item.artist,
              "title": item.title, "album": item.album, "genres": list(item.get("genres") or []),
              "bpm": m.bpm, "bpm_source": m.bpm_source, "key": key_text(m.key) or None,
              "camelot": m.key.camelot if m.key else None, "key_source": m.key_source,
              "length": round(item.length, 2)}
    record.update(extra)
    return record


def item_json(item, **extra: Any) -> str:
    return json.dumps(item_record(item, **extra), ensure_ascii=False)


def print_json(data: Any) -> None:
    ui.print_(json.dumps(data, ensure_ascii=False))


def name(item) -> str:
    """``Artist - Title``, or the file for an untagged track (see names.py)."""
    return track_name(item)


def write_playlist(log, target, items: list) -> None:
    """Write an M3U (``playlist.M3UTarget``); an empty one is written with a warning."""
    target.write(items)
    if items:
        log.info("wrote {} tracks to {}", len(items), target.path)
    else:
        log.warning("wrote an EMPTY playlist {}: nothing matched", target.path)


def bar(frac: float, width: int = 10) -> str:
    filled = int(round(max(0.0, min(1.0, frac)) * width))
    return "█" * filled + "░" * (width - filled)


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 90:
        return f"{seconds} s"
    h, rest = divmod(seconds, 3600)
    return f"{h} h {rest // 60} min" if h else f"{rest // 60} min"


def failure(path: bytes, reason: str) -> str:
    return f"{displayable_path(path)}: {reason}"


def refit_line(space: str, tracks: int, seconds: float) -> str:
    return (f"{space}: the library changed enough to refit its statistics: {tracks} vector(s) "
            f"re-derived in {seconds:.1f} s")
