"""The composition root of one beets process: settings, store, backend and spaces,
opened lazily and shared by the commands and the hooks. No fallbacks hide here:
which space a command reads is decided in :mod:`.spaces`."""

from __future__ import annotations

import os

from .backends import Backend, get_backend
from .settings import Settings, from_config
from .spaces import audio_spec, for_reading, open_space
from .store import Space, Store


class Runtime:
    def __init__(self, view, log, library_path: str):
        self.view = view
        self.log = log
        self.library_path = library_path
        self._settings: Settings | None = None
        self._store: Store | None = None
        self._backend: Backend | None = None
        self.deferred: list[int] = []         # items imported for a hosted backend
        self.deferred_vibes: list[int] = []   # items imported for a hosted vibe analyzer
        self.before_write: dict[int, tuple[float, int] | None] = {}  # file state before a tag write
        self.import_tally: list = [0, 0, 0.0, 0]  # embedded, failed, seconds, skipped: this import
        self.held: list[str] = []  # warnings held back while beets prompts (said after the import)
        self.import_run = None                # the import's worker pool and writer (import_run.py)
        self.import_items: dict = {}          # items handed to it, by id, until their result
        self._said: set[str] = set()

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = from_config(self.view, library_path=self.library_path)
        return self._settings

    @property
    def store(self) -> Store:
        if self._store is None:
            path = self.settings.sidecar
            if os.path.isfile(path) and os.path.getsize(path) == 0:
                self.warn(f"the sonic sidecar {path} is an empty file (0 bytes): starting a new "
                          "one there. If it should hold your vectors (a copy cut short?), "
                          "restore it from a backup before running `beet embed`")
            self._store = Store(path)
            self.log.debug("sidecar {} (SQLite via {})", self._store.path, self._store.driver)
        return self._store

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            options = self.settings.backend_options()
            if self.settings.hosted:
                options["log"] = self.info
            self._backend = get_backend(self.settings.backend, **options)
            self.log.debug("using the {} backend ({})", self.settings.backend,
                           self.settings.backend_reason)
        return self._backend

    def info(self, message: str) -> None:
        self.log.info("{}", message)

    def warn(self, message: str) -> None:
        self.log.warning("{}", message)

    def warn_once(self, cause: Exception, message: str) -> None:
        """For the import stage and the listeners: one broken sidecar is said once per
        process, not once per item or per listener."""
        if str(cause) not in self._said:
            self._said.add(str(cause))
            self.warn(message)

    def audio_space(self, *, rebuild: bool = False, dry_run: bool = False) -> Space:
        """The configured backend's space (created if new, unless ``dry_run``; a settings
        mismatch is an error)."""
        return open_space(self.store, audio_spec(self.backend), rebuild=rebuild, dry_run=dry_run)

    def vibes(self, *, rebuild: bool = False):
        from .vibe.run import open_from_settings

        return open_from_settings(self.store, self.settings, rebuild=rebuild, log=self.info)

    def read_space(self, name: str | None) -> Space:
        """The space a read-only command answers from: ``--space NAME`` (``vibe`` = the
        configured analyzer's), else the configured backend's (see spaces.for_reading)."""
        if name == "vibe":
            name = self.vibes().space.name
        # a reader never creates the configured space (an empty stand-in while it is new)
        return for_reading(self.store, name, configured=lambda: self.audio_space(dry_run=True),
                           warn=self.warn)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
