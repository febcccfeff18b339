"""Validated, frozen settings, built once from the ``sonic:`` config view."""

from __future__ import annotations

import math
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
        bpm_range="",
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
    bpm_range: tuple[float, float] | None  # analysis: audio tempi moved by octaves into it
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


def shape_problem(view, defaults: dict | None = None, prefix: str = "") -> FatalError | None:
    """Whether ``sonic:`` or one of its sections is given as something other than a
    section (a list, a string, empty): nothing of the plugin can be read then."""
    import confuse

    defaults = DEFAULTS if defaults is None else defaults
    try:
        view.keys()
    except confuse.ConfigError:
        where = f"`sonic: {prefix.rstrip(': ')}`" if prefix else "`sonic:`"
        return FatalError(f"config {where} must be a section of settings (indented `key: value` "
                          "lines), or left out: fix it in your beets config.yaml")
    for key, value in defaults.items():
        if isinstance(value, dict):
            problem = shape_problem(view[key], value, f"{prefix}{key}: ")
            if problem:
                return problem
    return None


def flag(view, key: str) -> bool:
    """A yes/no setting; anything else is a FatalError naming the key."""
    import confuse

    try:
        value = view[key].get()
    except confuse.ConfigError:
        raise _fail(key, "must be yes or no") from None
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
    sidecar = _sidecar(view["sidecar"].get(), library_path)
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
        bpm_range=_bpm_range(view["analysis"]["bpm_range"].get()),
        vibe_analyzer=analyzer,
        vibe_format=str(view["vibe"]["format"].get()),
        vocab=Vocabulary.from_config(view["vibe"]),
    )


def _bpm_range(value) -> tuple[float, float] | None:
    """``analysis: bpm_range``: ``88-175`` or ``[88, 175]``; empty for none."""
    if value is None or value == "" or value == []:
        return None
    parts = value.replace(" ", "").split("-") if isinstance(value, str) else value
    try:
        low, high = (float(x) for x in parts)
    except (TypeError, ValueError):
        raise _fail("analysis: bpm_range", f"{value!r} is not a range like 88-175") from None
    if not (30.0 <= low and high <= 300.0 and high >= 1.9 * low):
        raise _fail("analysis: bpm_range", f"{value!r} must span about an octave within 30-300 BPM "
                    "(the high end at least 1.9 times the low: 88-175, 70-140)")
    return low, high


def _sidecar(value, library_path: str) -> str:
    """The sidecar's absolute path: beside the library by default; a relative path is
    taken from the beets library's folder (never from the current directory, which
    would give every folder its own empty sidecar)."""
    if value is None or value == "":
        return default_path(os.path.abspath(library_path))
    if not isinstance(value, str):
        raise _fail("sidecar", f"must be a file path, not {value!r}")
    path = os.path.expanduser(value.strip())
    full = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(library_path)), path))
    if not path or path.endswith(("/", os.sep)) or os.path.isdir(full):
        raise _fail("sidecar", f"{value!r} must name a file, not a folder (e.g. "
                    "~/music/library.sonic.db)")
    return full


def _number(view, key: str, *, integer: bool = False) -> float:
    try:
        value = view.get()
        return int(value) if integer else float(value)
    except (TypeError, ValueError):
        raise _fail(key, "must be a number") from None


#: ``sonic: gemini:`` numbers: (lowest allowed, whether it may equal it, what it is)
_GEMINI_NUMBERS = {
    "timeout": (0.0, False, "seconds per request"),
    "min_interval": (0.0, True, "seconds between requests"),
    "backoff": (0.0, True, "seconds"),
    "max_backoff": (0.0, True, "seconds"),
    "retry_wait": (0.0, True, "seconds"),
}
_GEMINI_INTS = {"concurrency": (1, 64), "batch_size": (1, 100), "retries": (0, 100)}


def _text(view, key: str, *, empty: bool = False) -> str:
    value = view.get()
    if value is None and empty:
        return ""
    if not isinstance(value, str) or not (value.strip() or empty):
        raise _fail(key, "must be text" + ("" if empty else ", not empty"))
    return value.strip()


def _gemini(view) -> GeminiSettings | None:
    """Gemini settings, or None when no API key is configured anywhere. Every key is
    checked (even without a key: a bad value is found before it is needed), and every
    message names the key at fault."""
    dims = int(_number(view["dims"], "gemini: dims", integer=True))
    if dims not in GEMINI_DIMS:
        raise _fail("gemini: dims", f"must be one of {', '.join(map(str, GEMINI_DIMS))}")
    values = {}
    for name, (low, inclusive, what) in _GEMINI_NUMBERS.items():
        value = values[name] = _number(view[name], f"gemini: {name}")
        if not (value >= low if inclusive else value > low) or not math.isfinite(value):
            raise _fail(f"gemini: {name}", f"{value:g} is not allowed: {what}, "
                        + ("0 or more" if inclusive else f"more than {low:g}"))
    if values["max_backoff"] < values["backoff"] or values["max_backoff"] < values["retry_wait"]:
        raise _fail("gemini: max_backoff", f"{values['max_backoff']:g} is below backoff or "
                    "retry_wait: it caps them, so it must be at least as large")
    ints = {}
    for name, (low, high) in _GEMINI_INTS.items():
        value = ints[name] = int(_number(view[name], f"gemini: {name}", integer=True))
        if not low <= value <= high:
            raise _fail(f"gemini: {name}", f"{value} is out of range ({low}-{high})")
    base_url = _text(view["base_url"], "gemini: base_url", empty=True)
    if base_url:
        from urllib.parse import urlparse

        url = urlparse(base_url)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise _fail("gemini: base_url", f"{base_url!r} is not a URL (like "
                        "https://generativelanguage.googleapis.com); leave it out for Google's")
    names = {k: _text(view[k], f"gemini: {k}") for k in ("model", "text_model", "chat_model", "api_version")}
    api_key = view["api_key"].get()
    if api_key is not None and not isinstance(api_key, str):
        raise _fail("gemini: api_key", "must be text (quote it)")
    key = find_key(str(api_key or ""))
    if not key:
        return None
    return GeminiSettings(api_key=key, dims=dims, base_url=base_url, **names, **values, **ints)
