"""The ``beet`` subcommands: one module each, a ``make()``/``run()`` pair.

``make()`` builds the :class:`beets.ui.Subcommand`; ``run(rt, lib, opts, args)``
parses, calls ONE use-case function and prints through :mod:`..output`. No SQL and
no maths here. A new command = a module + one line in :data:`REGISTRY`.
"""

from __future__ import annotations

from . import cohesion, dj_path, dj_set, embed, graph, similar, vibe

REGISTRY = (embed, similar, cohesion, graph, vibe, dj_set, dj_path)
