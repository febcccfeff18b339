"""beets-sonic: what else in my library sounds like this?

The plugin class only wires: config defaults, field types, the import stages,
listeners and the subcommands of :mod:`.commands`. The work is done in the use
cases they call (see docs/how-it-works.md for the map).
"""

from __future__ import annotations

from beets.dbcore import types
from beets.plugins import BeetsPlugin

from . import hooks, names
from .commands import REGISTRY
from .errors import FatalError
from .names import ALBUM_TEMPLATE_FIELDS, TEMPLATE_FIELDS
from .output import user_errors
from .runtime import Runtime
from .settings import DEFAULTS, flag, shape_problem

#: events of files beets relocated, and whether the relocated file keeps its mtime
#: load-time problems already said in this process
_SAID: set[str] = set()

RELOCATED = {"item_moved": True, "item_copied": False, "item_linked": True,
             "item_hardlinked": True, "item_reflinked": False}


#: confidences print as stored, three decimals: beets' FLOAT prints one, which shows 0.75
#: as 0.8 to anyone reading ``beet ls -f '$sonic_bpm_conf'`` against a threshold
CONFIDENCE = types.Float(3)


class SonicPlugin(BeetsPlugin):
    item_types = {
        "vibe_genre": types.SEMICOLON_SPACE_DSV,
        "vibe_character": types.SEMICOLON_SPACE_DSV,
        "vibe_texture": types.SEMICOLON_SPACE_DSV,
        "vibe_energy": types.FLOAT,
        "vibe_placement": types.STRING,
        "vibe_source": types.STRING,
        "vibe_energy_basis": types.STRING,
        "sonic_bpm": types.FLOAT,
        "sonic_bpm_conf": CONFIDENCE,
        "sonic_key": types.STRING,
        "sonic_camelot": types.STRING,
        "sonic_key_conf": CONFIDENCE,
        "sonic_energy": types.FLOAT,
        "sonic_analysis": types.INTEGER,
        "sonic_cluster": types.INTEGER,
        "sonic_cluster_name": types.STRING,
        names.FILE_FIELD: types.STRING,
    }

    def __init__(self, name: str = "sonic"):
        super().__init__(name)
        self.config.add(DEFAULTS)
        self.config["gemini"]["api_key"].redact = True
        self.template_fields.update(TEMPLATE_FIELDS)
        self.album_template_fields.update(ALBUM_TEMPLATE_FIELDS)
        self._runtime: Runtime | None = None
        self.import_stages = []
        # a `sonic:` (or `vibe:`...) that isn't a section: said once; beets keeps working,
        # the sonic commands exist and point at it, nothing else of sonic runs
        self._problem = shape_problem(self.config)
        if self._problem:
            if str(self._problem) not in _SAID:  # beets may load a plugin class twice
                _SAID.add(str(self._problem))
                self._log.error("{}; sonic is off until then", self._problem)
            return
        if self._flag(self.config, "auto"):
            self.import_stages.append(self.imported)
        if self._flag(self.config["vibe"], "auto"):
            self.import_stages.append(self.vibe_imported)
        self.register_listener("item_removed", self.item_removed)
        for event, same_mtime in RELOCATED.items():
            self.register_listener(event, self._relocated(same_mtime))
        self.register_listener("write", self.before_write)
        self.register_listener("after_write", self.after_write)
        self.register_listener("import", self.import_done)
        self.register_listener("import_task_created", self.import_task_created)
        self.register_listener("cli_exit", self.cli_exit)

    def _flag(self, view, key: str) -> bool:
        """A yes/no switch read at load time: a bad value is logged (commands still load,
        and report it as an error when they run)."""
        try:
            return flag(view, key)
        except FatalError as exc:
            self._log.error("{}", exc)
            return False

    def runtime(self, lib) -> Runtime:
        if self._runtime is None or self._runtime.library_path != lib.path:
            self._runtime = Runtime(self.config, self._log, lib.path)
        return self._runtime

    # import stages and listeners

    def imported(self, session, task) -> None:
        hooks.embed_imported(self.runtime(session.lib), list(task.imported_items()))

    def vibe_imported(self, session, task) -> None:
        hooks.vibe_imported(self.runtime(session.lib), list(task.imported_items()))

    def item_removed(self, item) -> None:
        hooks.forget_item(self.runtime(item.db), item)

    def _relocated(self, same_mtime: bool):
        def listener(item, source, destination) -> None:
            hooks.follow_file(self.runtime(item.db), item, source, destination, same_mtime=same_mtime)

        return listener

    def before_write(self, item, path, tags) -> None:
        hooks.before_write(self.runtime(item.db), item, path)

    def after_write(self, item, path) -> None:
        hooks.after_write(self.runtime(item.db), item, path)

    def import_task_created(self, session, task) -> None:
        names.remember_file_names(task.items)

    def import_done(self, lib, paths) -> None:
        hooks.finish_import(self.runtime(lib), lib)

    def cli_exit(self, lib) -> None:
        if self._runtime is not None:
            self._runtime.close()

    # subcommands

    def commands(self):
        return [self._wire(module) for module in REGISTRY]

    def _wire(self, module):
        cmd = module.make()
        cmd.func = user_errors(lambda lib, opts, args: self._run(module, lib, opts, args))
        return cmd

    def _run(self, module, lib, opts, args) -> None:
        if self._problem:
            raise FatalError("the sonic config has a problem (said above): fix it in your beets "
                             "config.yaml")
        module.run(self.runtime(lib), lib, opts, args)
