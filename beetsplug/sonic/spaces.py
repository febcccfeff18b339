"""Opening spaces: ONE policy for every kind.

* A space is opened from a :class:`~.store.SpaceSpec` built from the settings.
  When the stored space was made with other settings, that is a FatalError
  naming the difference and the command that rebuilds it -- never a silent
  drop (paid vectors) and never a silent mix.
* Reading falls back to another space only here, and only with a warning the
  user sees (:func:`for_reading`).
"""

from __future__ import annotations

from collections.abc import Callable

from .backends import Backend
from .errors import FatalError
from .store import Space, SpaceSpec, Store
from .store.records import stand_in

#: the command that rebuilds a space of each kind
REBUILD = {"audio": "beet embed --rebuild", "vibe": "beet vibe --rebuild"}


def audio_spec(backend: Backend) -> SpaceSpec:
    return SpaceSpec(name=backend.NAME, kind=backend.KIND, backend=backend.NAME,
                     model=backend.model, dims=backend.dims, params=backend.params(),
                     standardize=backend.standardize)


def open_space(store: Store, spec: SpaceSpec, *, rebuild: bool = False, dry_run: bool = False) -> Space:
    """The space ``spec`` describes (dropped and re-created first with ``rebuild``).
    ``dry_run``: nothing is written -- a space that doesn't exist (or would be rebuilt)
    is an empty stand-in."""
    if rebuild and dry_run:
        return stand_in(spec)
    if rebuild:
        store.drop_space(spec.name)
    return store.ensure_space(spec, fix=REBUILD.get(spec.kind, "beet embed --rebuild"),
                              create=not dry_run)


def how_to_build(name: str) -> str:
    if name.startswith("vibe"):
        return "run `beet vibe`"
    return f"set `sonic: backend: {name}` in your config, then run `beet embed`"


def named(store: Store, name: str) -> Space:
    """An existing space by name; an unknown name lists the spaces that exist."""
    space = store.get_space(name)
    if space is None:
        from .backends import available

        known = ", ".join(s.name for s in store.spaces()) or "none yet"
        buildable = name.startswith("vibe") or name in available()
        raise FatalError(f"there is no {name!r} space in {store.path} (spaces: {known})"
                         + (f"; to build it, {how_to_build(name)}" if buildable else ""))
    return space


def for_reading(store: Store, name: str | None, *, configured: Callable[[], Space],
                warn: Callable[[str], None]) -> Space:
    """The space a read-only command answers from.

    ``name``: an explicit space (``--space``), else ``configured()`` -- the
    configured backend's space. While that one has no vectors yet (e.g. musicnn was
    just installed) and another audio space has, answer from that one and ``warn``.
    """
    if name:
        space = named(store, name)
        if store.count(space) == 0:
            raise FatalError(f"the {name!r} space has no vectors yet: {how_to_build(name)}")
        return space
    space = configured()
    if store.count(space):
        return space
    others = [s for s in store.spaces() if s.kind == "audio" and s.id != space.id and store.count(s)]
    if others:
        warn(f"the {space.name} space has no vectors yet (run `beet embed`); "
             f"using the {others[0].name} space meanwhile")
        return others[0]
    raise FatalError(f"no vectors in the {space.name} space yet ({store.path}): run `beet embed` first")
