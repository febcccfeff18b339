"""Use cases: keep tempo/key fields in step with embedding, and fill them afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..audio import load_ending, load_middle
from ..errors import FatalError, item_reason
from . import ending, estimate
from .fields import apply, out_of_range

SR = 22050


def store_outcome(item: Any, extra: dict | None, *, write_tags: bool,
                  bpm_range: tuple[float, float] | None = None) -> bool:
    """After a vector was computed: its tempo/key (``extra["dj"]``) onto the item."""
    if item is None or not extra or "dj" not in extra:
        return False
    if apply(item, extra["dj"], write_tags=write_tags, bpm_range=bpm_range):
        item.store()
        if write_tags:
            item.try_write()
        return True
    return False


def pending(items: Iterable[Any], *, force: bool = False,
            bpm_range: tuple[float, float] | None = None) -> list:
    """Items without an audio tempo/key/energy estimate yet, with one made by an older
    version of the analysis, or with a tempo outside ``bpm_range`` (set after it was read)."""
    return [it for it in items if force or it.get("sonic_energy") is None
            or it.get("sonic_analysis") != estimate.ANALYSIS_VERSION or out_of_range(it, bpm_range)]


def analysis_span(path: str | bytes) -> np.ndarray:
    """The middle :data:`estimate.SPAN` seconds of a track's music (all of a shorter one;
    :func:`.audio.load_middle`), which tempo, key and energy read (:class:`ItemError` for
    what can't be decoded)."""
    return load_middle(path, sr=SR, length=estimate.SPAN)


def analyse_file(path: str | bytes, *, span: np.ndarray | None = None) -> estimate.TempoKey:
    """Tempo, key and energy of a track: its :func:`analysis_span` (``span``, when the caller
    decoded it already) and, where its key and the relative key nearly tie, the end of its
    music (:mod:`.ending`); :class:`ItemError` for what can't be decoded."""
    span = analysis_span(path) if span is None else span
    return estimate.analyse(span, SR, read_ending=lambda: load_ending(path, sr=SR, length=ending.SECONDS))


def analyse(items: list, *, write_tags: bool, bpm_range: tuple[float, float] | None = None,
            on_item: Callable[[Any, str | None], None] | None = None) -> tuple[int, list]:
    """``beet embed --analysis``: tempo and key for items embedded before this existed,
    without touching vectors. Each item is stored as soon as it is done (resumable).
    Returns ``(done, [(item, reason)])``."""
    done, failed = 0, []
    for item in items:
        try:
            result = analyse_file(item.path).to_json()
        except FatalError:
            raise
        except Exception as exc:  # ItemError, or a bug / an unforeseen file: one track, not the run
            reason = item_reason(exc)
            failed.append((item, reason))
            if on_item:
                on_item(item, reason)
            continue
        store_outcome(item, {"dj": result}, write_tags=write_tags, bpm_range=bpm_range)
        done += 1
        if on_item:
            on_item(item, None)
    return done, failed
