"""Validated, frozen settings, built once from the ``sonic:`` config view."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .backends.base import backend_class, choose_backend
from .errors import FatalError
from .gemini import SECTION, GeminiSettings, find_key
from .store import default_path
from .vibe.analyzers import choose_analyzer
from .vibe.vocabulary import CHARACTERS, GENRES, PARENT_GENRES, PLACEMENTS, TEXTURES, Vocabulary

DEFAULT_FORMAT = ("$sonic_score  $sonic_top  $sonic_name"
                  "%if{$sonic_tempo,  $sonic_tempo}%if{$sonic_keyname,  $sonic_keyname}")

#: The ``sonic:`` defaults: the ONE source of every default (docs/configuration.md
#: documents each key; a key not in here is an error naming the closest valid one).
DEFAULTS = dict(
    auto=True,
    backend="auto",
    sidecar="",
    segment=30.0,
    positions=[0.5],
    workers=0,
    format=DEFAULT_FORMAT,
    hosted_import="after",
    analysis=dict(
        write_tags=False,
    ),
    vibe=dict(
        auto=False,
        analyzer="auto",
        format="$vibe_energy  $vibe_placement  $sonic_name$vibe_tags",
        genres=GENRES + PARENT_GENRES,
        characters=CHARACTERS,
        textures=TEXTURES,
        placements=PLACEMENTS,
    ),
    gemini=dict(
        api_key="",
        model="gemini-embedding-2-preview",
        text_model="gemini-embedding-001",
        chat_model="gemini-2.5-flash",
        dims=768,
        api_version="v1beta",
        base_url="",
        segment=80.0,
        timeout=120.0,
        min_interval=3.0,
        concurrency=1,
        batch_size=4,
        retries=4,
        backoff=30.0,
        max_backoff=300.0,
        retry_wait=2.0,
    ),
)

#: Matryoshka sizes the Gemini embedding models accept.
GEMINI_DIMS = (128, 256, 512, 768, 1536, 3072)


@dataclass(frozen=True)
class Settings:
    backend: str            # resolved: never "auto"
    backend_reason: str     # why this backend (for "auto")
    sidecar: str
    segment: float
    positions: tuple[float, ...]
    workers: int
    format: str
    hosted_import: str
    gemini_segment: float
    gemini: GeminiSettings | None  # None when no key is configured
    write_tags: bool               # analysis: fill empty bpm / initial_key from the audio
    vibe_analyzer: str             # resolved: "local" or the hosted analyzer
    vibe_format: str
    vocab: Vocabulary

    def backend_options(self, name: str | None = None) -> dict:
        """Keyword arguments for the backend's constructor (the backend says which)."""
        return backend_class(name or self.backend).options(self)

    @property
    def hosted(self) -> bool:
        return backend_class(self.backend).HOSTED


def _fail(key: str, why: str) -> FatalError:
    return FatalError(f"config `sonic: {key}`: {why} (fix it in your beets config.yaml)")


def check_keys(view, defaults: dict | None = None, prefix: str = "") -> None:
    """Every key under ``sonic:`` must be one we know; the error names the closest."""
    import difflib

    defaults = DEFAULTS if defaults is None else defaults
    try:
        keys = view.keys()
    except Exception:  # confuse.ConfigTypeError: a section given as a scalar or list
        raise _fail(prefix.rstrip(": ") or "sonic", "must be a section of settings") from None
    for key in keys:
        if key not in defaults:
            close = difflib.get_close_matches(key, list(defaults), n=1, cutoff=0.5)
            hint = f"did you mean `{prefix}{close[0]}`?" if close else \
                f"valid keys here: {', '.join(sorted(defaults))}"
            raise _fail(prefix + key, f"unknown setting; {hint}")
        if isinstance(defaults[key], dict):
            check_keys(view[key], defaults[key], f"{prefix}{key}: ")


def flag(view, key: str) -> bool:
    """A yes/no setting; anything else is a FatalError naming the key."""
    value = view[key].get()
    if isinstance(value, bool):
        return value
    raise _fail(key, f"must be yes or no, not {value!r}")


def from_config(view, *, library_path: str) -> Settings:
    """Read and check the ``sonic`` view; problems are FatalErrors naming the key."""
    check_keys(view)
    flag(view, "auto")
    flag(view["vibe"], "auto")
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
    gemini = _gemini(view[SECTION])
    backend, reason = choose_backend(str(view["backend"].get()), gemini)
    analyzer = choose_analyzer(str(view["vibe"]["analyzer"].get()), gemini)
    hosted_import = str(view["hosted_import"].get())
    if hosted_import not in ("after", "later"):
        raise _fail("hosted_import", "must be `after` (embed once the import is done) or `later`")
    gsegment = _number(view[SECTION]["segment"], f"{SECTION}: segment")
    if not 1.0 <= gsegment <= 80.0:
        raise _fail("gemini: segment", "the Gemini model takes 1 to 80 s of audio")
    return Settings(
        backend=backend,
        backend_reason=reason,
        sidecar=sidecar,
        segment=segment,
        positions=positions,
        workers=workers,
        format=str(view["format"].get()),
        hosted_import=hosted_import,
        gemini_segment=gsegment,
        gemini=gemini,
        write_tags=flag(view["analysis"], "write_tags"),
        vibe_analyzer=analyzer,
        vibe_format=str(view["vibe"]["format"].get()),
        vocab=Vocabulary.from_config(view["vibe"]),
    )


def _number(view, key: str, *, integer: bool = False) -> float:
    try:
        value = view.get()
        return int(value) if integer else float(value)
    except (TypeError, ValueError):
        raise _fail(key, "must be a number") from None


def _gemini(view) -> GeminiSettings | None:
    """Gemini settings, or None when no API key is configured anywhere."""
    key = find_key(str(view["api_key"].get() or ""))
    if not key:
        return None
    dims = int(_number(view["dims"], "gemini: dims", integer=True))
    if dims not in GEMINI_DIMS:
        raise _fail("gemini: dims", f"must be one of {', '.join(map(str, GEMINI_DIMS))}")
    values = {name: _number(view[name], f"gemini: {name}")
              for name in ("timeout", "min_interval", "backoff", "max_backoff", "retry_wait")}
    ints = {name: int(_number(view[name], f"gemini: {name}", integer=True))
            for name in ("concurrency", "batch_size", "retries")}
    if values["timeout"] <= 0 or values["min_interval"] < 0:
        raise _fail("gemini: timeout", "timeout must be positive and min_interval not negative")
    if not 1 <= ints["batch_size"] <= 100 or ints["concurrency"] < 1 or ints["retries"] < 0:
        raise _fail("gemini: batch_size", "batch_size 1-100, concurrency >= 1, retries >= 0")
    return GeminiSettings(
        api_key=key, model=str(view["model"].get()), text_model=str(view["text_model"].get()),
        chat_model=str(view["chat_model"].get()), dims=dims,
        api_version=str(view["api_version"].get()), base_url=str(view["base_url"].get() or ""),
        **values, **ints)
