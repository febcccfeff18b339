"""The backend contract and the registry by name.

A backend turns one audio file into one vector. It never touches the store or
the terminal: it returns numbers or raises :class:`~beetsplug.sonic.errors.ItemError`.

``embed(path)`` returns an :class:`Embedding`: the *raw* vector, float32 of shape
``(dims,)``, and optional JSON-able extras (e.g. tag probabilities). When
``standardize`` is true the indexer keeps that raw vector and derives the stored
vector by standardising each dimension against library statistics, weighting by
``dim_weights`` and L2-normalising; otherwise it only L2-normalises.

``params()`` returns everything that determines the vectors (model, rate,
segment plan, feature version...). Two runs whose params differ must never share
a space; the store compares them on every open.

A :class:`HostedBackend` calls a rate-limited service: the indexer runs
``prepare(path)`` ahead in threads and ``send(batch)`` for ``batch_size`` clips
per request, ``concurrency`` requests at a time.

Adding a backend = one module defining ``BACKEND = MyBackend`` + one line in
:data:`_MODULES` (see docs/how-it-works.md, "Adding a backend").
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .. import analysis
from ..errors import FatalError, ItemError

#: NAME -> module that defines it (imported on first use, so optional
#: dependencies of one backend never burden another).
_MODULES = {
    "spectral": "beetsplug.sonic.backends.spectral",
    "gemini": "beetsplug.sonic.backends.gemini",
    "musicnn": "beetsplug.sonic.backends.musicnn",
}


@dataclass
class Embedding:
    """What a backend computed for one track."""

    vector: np.ndarray                    # raw, float32 (dims,)
    extras: dict[str, Any] = field(default_factory=dict)


class Backend(ABC):
    NAME: ClassVar[str]
    KIND: ClassVar[str] = "audio"
    #: a hosted backend is a :class:`HostedBackend`; local ones run in worker processes
    HOSTED: ClassVar[bool] = False
    standardize: ClassVar[bool] = True

    def __init__(self, *, segment: float, positions: tuple[float, ...], **options: Any):
        self.segment = float(segment)
        self.positions = tuple(float(p) for p in positions)
        self.options = options

    @property
    @abstractmethod
    def dims(self) -> int:
        """Length of the vectors ``embed`` returns."""

    @property
    def model(self) -> str:
        return self.NAME

    def params(self) -> dict[str, Any]:
        """What made the vectors; stored with the space and compared on open."""
        return {"segment": self.segment, "positions": list(self.positions)}

    @property
    def raw_dims(self) -> int:
        """Length of the raw output of ``embed`` (default: the stored ``dims``)."""
        return self.dims

    @property
    def dim_weights(self) -> np.ndarray | None:
        """Per-dimension weights applied after standardisation, shape ``(dims,)``."""
        return None

    def fit(self, R: np.ndarray) -> dict[str, np.ndarray]:
        """What to learn from the library's raw outputs ``R`` ``(n, raw_dims)``, n >= 2;
        kept with the space and refitted as the library grows. Default: per-dimension
        standardisation statistics."""
        mean, scale = analysis.fit_standardizer(R)
        return {"mean": mean, "scale": scale}

    def fit_blocks(self, blocks: Callable[[], Iterable[np.ndarray]]) -> dict[str, np.ndarray]:
        """:meth:`fit` from the raw outputs given a block of rows at a time (``blocks()``
        iterates them from the start each time it is called): memory follows the block,
        not the library. A backend that overrides ``fit`` alone is given every row at once."""
        if type(self).fit is not Backend.fit:
            return self.fit(np.concatenate(list(blocks())))
        from ..streaming import Moments

        acc = Moments()
        for R in blocks():
            acc.add(R)
        mean, scale = acc.standardizer(dims=self.raw_dims)
        return {"mean": mean, "scale": scale}

    def derive(self, R: np.ndarray, state: dict[str, np.ndarray]) -> np.ndarray:
        """Stored unit vectors ``(n, dims)`` from raw outputs ``(n, raw_dims)`` and the
        fitted ``state`` (``{}`` before anything was fitted)."""
        if self.standardize and state:
            return analysis.standardize(R, mean=state["mean"], scale=state["scale"],
                                        weights=self.dim_weights)
        return analysis.normalize(R)

    @abstractmethod
    def embed(self, path: str) -> Embedding:
        """The raw vector of one file; ItemError on failure."""

    @classmethod
    def options(cls, settings: Any) -> dict[str, Any]:
        """Constructor arguments from the plugin's Settings; FatalError naming the fix
        when something the backend needs is missing."""
        return {"segment": settings.segment, "positions": settings.positions}

    @classmethod
    def unavailable(cls, gemini: Any) -> str | None:
        """Why ``backend: auto`` can't pick this backend here (None: it can)."""
        return None


class HostedBackend(Backend):
    """A backend behind a rate-limited service (see the module docstring)."""

    HOSTED: ClassVar[bool] = True

    @property
    @abstractmethod
    def batch_size(self) -> int:
        """Clips per request."""

    @property
    @abstractmethod
    def concurrency(self) -> int:
        """Requests in flight at once."""

    @property
    def tracks_per_request(self) -> int:
        return max(1, self.batch_size // len(self.positions))

    def requests_for(self, n_tracks: int) -> int:
        """How many requests ``n_tracks`` tracks cost."""
        return -(-n_tracks // self.tracks_per_request)

    @abstractmethod
    def estimate_seconds(self, n_tracks: int) -> float:
        """How long ``n_tracks`` take at the configured pace (for the user, before a run)."""

    @abstractmethod
    def prepare(self, path: str) -> Any:
        """Local work for one track (decode, encode a clip); ItemError on failure."""

    @abstractmethod
    def send(self, batch: list[Any]) -> list[np.ndarray | ItemError]:
        """One request for several prepared tracks: a raw vector or an ItemError per track.
        FatalError stops the run."""

    def embed(self, path: str) -> Embedding:
        result = self.send([self.prepare(path)])[0]
        if isinstance(result, ItemError):
            raise result
        return Embedding(np.asarray(result, np.float32))


#: ``backend: auto`` takes the first of these that is available
AUTO_ORDER = ("gemini", "musicnn", "spectral")


def choose_backend(name: str, gemini: Any) -> tuple[str, str]:
    """``(backend name, why)``: ``name`` itself, or for ``auto`` the best available."""
    if name != "auto":
        backend_class(name)  # an unknown name is an error listing the choices
        return name, f"backend: {name} in the config"
    skipped = []
    for candidate in AUTO_ORDER:
        why_not = backend_class(candidate).unavailable(gemini)
        if why_not is None:
            return candidate, "auto: " + ("; ".join(skipped) if skipped else f"{candidate} is available")
        skipped.append(f"{candidate}: {why_not}")
    raise FatalError("no sonic backend is available: " + "; ".join(skipped))


def available() -> list[str]:
    return sorted(_MODULES)


def backend_class(name: str) -> type[Backend]:
    if name not in _MODULES:
        raise FatalError(
            f"unknown sonic backend {name!r}; choose one of: {', '.join(available())}"
        )
    module = importlib.import_module(_MODULES[name])
    return module.BACKEND


def get_backend(name: str, **settings: Any) -> Backend:
    return backend_class(name)(**settings)
