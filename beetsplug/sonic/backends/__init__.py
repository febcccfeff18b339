"""Embedding backends, looked up by ``NAME`` (see :mod:`.base`)."""

from .base import Backend, Embedding, HostedBackend, available, backend_class, get_backend

__all__ = ["Backend", "Embedding", "HostedBackend", "available", "backend_class", "get_backend"]
