"""The backend contract and the registry by name.

A backend turns one audio file into one vector. It never touches the store or
the terminal: it returns numbers or raises :class:`~beetsplug.sonic.errors.ItemError`.

``embed(path)`` returns the *raw* vector, float32 of shape ``(dims,)``. When
``standardize`` is true the indexer keeps that raw vector and derives the stored
vector by standardising each dimension against library statistics, weighting by
``dim_weights`` and L2-normalising; otherwise it only L2-normalises.

``params()`` returns everything that determines the vectors (model, rate,
segment plan, feature version...). Two runs whose params differ must never share
a space; the store compares them on every open.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from ..errors import FatalError

#: NAME -> module that defines it (imported on first use, so optional
#: dependencies of one backend never burden another).
_MODULES = {
    "spectral": "beetsplug.sonic.backends.spectral",
    "gemini": "beetsplug.sonic.backends.gemini",
    "musicnn": "beetsplug.sonic.backends.musicnn",
}


class Backend(ABC):
    NAME: ClassVar[str]
    KIND: ClassVar[str] = "audio"
    #: "process": CPU-bound, run in worker processes. "hosted": ``prepare(path)``
    #: runs ahead in threads and ``send(batch)`` makes one rate-limited request
    #: for several tracks (see backends/gemini.py).
    PARALLEL: ClassVar[str] = "process"
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
    def dim_weights(self) -> np.ndarray | None:
        """Per-dimension weights applied after standardisation, shape ``(dims,)``."""
        return None

    @abstractmethod
    def embed(self, path: str) -> np.ndarray:
        """The raw vector of one file, float32 ``(dims,)``; ItemError on failure."""


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
