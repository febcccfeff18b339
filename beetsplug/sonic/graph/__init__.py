"""The library as a map: a self-contained HTML page with a kNN graph on a canvas.

``build_payload`` does the numeric work in Python (neighbours, isolation,
hubs, communities, connectors, a starting layout) so the page only has to run
the force simulation and draw. ``render_html`` inlines the data, script and
style into one file that works offline and can be mailed.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from importlib import resources
from typing import Any

import numpy as np

from . import knn_graph, neighbours


def build_payload(X: np.ndarray, meta: Sequence[dict[str, Any]], *, k: int = 4,
                  space: str = "", color_by: str | None = None,
                  names_of=None) -> dict[str, Any]:
    """Everything the page draws. ``X`` ``(n, d)`` unit vectors; ``meta[i]`` the
    tags of row i (``id``, ``artist``, ``title``, ``bpm``, ``key``, and optionally
    ``album``, ``genre``, ``energy``, ``camelot``, ``placement``, ``path``, ``length``,
    ``color``); ``names_of(labels) -> [name per community]``."""
    X = np.asarray(X, np.float32)
    n = X.shape[0]
    if n != len(meta):
        raise ValueError(f"{n} vectors but {len(meta)} metadata rows")
    if n < 2:
        raise ValueError("a graph needs at least two items with vectors")
    idx, sim = neighbours.knn(X, k=k)
    labels = knn_graph.communities(idx, sim)
    indeg = knn_graph.in_degree(idx, n=n)
    xy = knn_graph.layout_seed(X)
    return {
        "space": space,
        "k": int(idx.shape[1]),
        "n": n,
        "id": [int(m["id"]) for m in meta],
        "artist": [str(m.get("artist") or "") for m in meta],
        "title": [str(m.get("title") or "") for m in meta],
        "name": [str(m.get("name") or _name(m)) for m in meta],
        "bpm": [round(float(m.get("bpm") or 0), 1) for m in meta],
        "key": [str(m.get("key") or "") for m in meta],
        "colorBy": color_by,
        "color": [str(m.get("color") or "") for m in meta] if color_by else None,
        "x": np.round(xy[:, 0], 4).tolist(),
        "y": np.round(xy[:, 1], 4).tolist(),
        "nbr": idx.ravel().tolist(),
        "sim": np.round(sim.ravel().astype(float), 3).tolist(),
        "iso": np.round(knn_graph.isolation(sim), 3).tolist(),
        "indeg": indeg.tolist(),
        "comm": labels.tolist(),
        "ncomm": int(labels.max()) + 1,
        "commName": names_of(labels) if names_of else [f"cluster {c + 1}" for c in range(int(labels.max()) + 1)],
        "album": [str(m.get("album") or "") for m in meta],
        "genre": [str(m.get("genre") or "") for m in meta],
        "energy": [None if m.get("energy") is None else round(float(m["energy"]), 1) for m in meta],
        "camelot": [str(m.get("camelot") or "") for m in meta],
        "placement": [str(m.get("placement") or "") for m in meta],
        "path": [str(m.get("path") or "") for m in meta],
        "length": [int(round(float(m.get("length") or 0))) for m in meta],
        "conn": np.round(knn_graph.connector_scores(idx, sim, labels), 3).tolist(),
    }


def _text_path(path: bytes | str) -> str:
    """A file path as text for the page: bytes that aren't UTF-8 shown as U+FFFD."""
    return os.fsdecode(path).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _name(m: dict[str, Any]) -> str:
    """``Artist - Title`` of a metadata row without a ``name`` (the file when untitled)."""
    title = str(m.get("title") or "") or os.path.basename(str(m.get("path") or "")) or f"item {m['id']}"
    return f"{m['artist']} - {title}" if m.get("artist") else title


def item_meta(item: Any, color_by: str | None, *, paths: bool = True) -> dict[str, Any]:
    """The tags of one beets item the page shows (``paths``: its file, for the play
    button and the M3U export)."""
    from ..clusters import genres_of
    from ..dj.fields import mixable
    from ..names import key_text, track_name

    m = mixable(item)
    energy = item.get("vibe_energy") or item.get("sonic_energy")
    row = {"id": item.id, "name": track_name(item), "artist": item.artist, "title": item.title, "bpm": m.bpm or 0,
           "key": key_text(m.key), "album": item.album,
           "genre": (genres_of(item) or [""])[0], "energy": energy,
           "camelot": m.key.camelot if m.key else "", "placement": item.get("vibe_placement") or "",
           "path": _text_path(item.path) if paths else "", "length": item.length}
    if color_by:
        value = item.get(color_by)
        row["color"] = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else (value or "")
    return row


def build(X: np.ndarray, items: Sequence[Any], *, k: int, space: str,
          color_by: str | None = None, paths: bool = True,
          words: dict[str, Any] | None = None) -> tuple[dict[str, Any], str]:
    """The use case of ``beet graph``: ``X`` ``(n, d)`` unit vectors of ``items`` (rows
    match). Returns ``(payload, page)``; ``payload["comm"]`` are the communities.
    ``words``: what the page's "describe" box needs (textsearch.map_words), if any."""
    from ..clusters import assign

    if len(items) < 2:
        raise ValueError("a map needs two or more tracks")
    payload = build_payload(np.asarray(X), [item_meta(it, color_by, paths=paths) for it in items],
                            k=min(k, len(items) - 1), space=space, color_by=color_by,
                            names_of=lambda labels: assign(labels, items)[1])
    payload["words"] = words
    page = render_html(payload, title=f"sonic map — {space} — {len(items)} tracks")
    return payload, page


def script_safe_json(data: Any) -> str:
    """JSON that cannot end a ``<script>`` element or start markup inside it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def render_html(payload: dict[str, Any], *, title: str = "beets-sonic map") -> str:
    template = resources.files(__package__).joinpath("template.html").read_text(encoding="utf-8")
    return (template.replace("{{TITLE}}", html.escape(title))
            .replace("{{DATA}}", script_safe_json(payload)))
