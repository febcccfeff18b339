"""Embedding backends, looked up by ``NAME`` (see :mod:`.base`)."""

from .base import Backend, available, get_backend

__all__ = ["Backend", "available", "get_backend"]
