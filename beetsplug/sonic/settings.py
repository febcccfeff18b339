"""Validated, frozen settings, built once from the ``sonic:`` config view."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import FatalError
from .store import default_path

DEFAULT_FORMAT = "$sonic_score  $artist - $title  [$bpm BPM, $initial_key]"

#: The ``sonic:`` defaults; every key is documented in docs/configuration.md.
DEFAULTS = {
    "auto": True,
    "backend": "spectral",
    "sidecar": "",
    "segment": 30.0,
    "positions": [0.5],
    "workers": 0,
    "format": DEFAULT_FORMAT,
}


@dataclass(frozen=True)
class Settings:
    auto: bool
    backend: str
    sidecar: str
    segment: float
    positions: tuple[float, ...]
    workers: int
    format: str

    def backend_options(self) -> dict:
        return {"segment": self.segment, "positions": self.positions}


def _fail(key: str, why: str) -> FatalError:
    return FatalError(f"sonic: {key}: {why} (fix it in your beets config.yaml)")


def from_config(view, *, library_path: str) -> Settings:
    """Read and check the ``sonic`` view; problems are FatalErrors naming the key."""
    try:
        segment = float(view["segment"].get())
    except (TypeError, ValueError):
        raise _fail("segment", "must be a number of seconds") from None
    if not 1.0 <= segment <= 600.0:
        raise _fail("segment", f"{segment:g} s is out of range (1-600)")
    raw_positions = view["positions"].get()
    if not isinstance(raw_positions, (list, tuple)):
        raw_positions = [raw_positions]
    try:
        positions = tuple(float(p) for p in raw_positions)
    except (TypeError, ValueError):
        raise _fail("positions", "must be a list of fractions like [0.25, 0.5, 0.75]") from None
    if not positions or not all(0.0 < p < 1.0 for p in positions):
        raise _fail("positions", "each must be between 0 and 1 (0.5 = the midpoint)")
    try:
        workers = int(view["workers"].get())
    except (TypeError, ValueError):
        raise _fail("workers", "must be a whole number (0 = one per CPU core)") from None
    if workers < 0:
        raise _fail("workers", "must be 0 (one per core) or more")
    sidecar = str(view["sidecar"].get() or "") or default_path(library_path)
    sidecar = os.path.abspath(os.path.expanduser(sidecar))
    return Settings(
        auto=bool(view["auto"].get()),
        backend=str(view["backend"].get()),
        sidecar=sidecar,
        segment=segment,
        positions=positions,
        workers=workers,
        format=str(view["format"].get()),
    )
