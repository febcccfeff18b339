"""beets-sonic: what else in my library sounds like this?

The plugin class only wires: config defaults, the import stage, listeners and
subcommands. The work is done in :mod:`.cli` and the modules it calls.
"""

from __future__ import annotations

from beets.dbcore import types
from beets.plugins import BeetsPlugin

from . import cli
from .settings import DEFAULTS


class SonicPlugin(BeetsPlugin):
    item_types = {
        "vibe_genre": types.SEMICOLON_SPACE_DSV,
        "vibe_character": types.SEMICOLON_SPACE_DSV,
        "vibe_texture": types.SEMICOLON_SPACE_DSV,
        "vibe_energy": types.FLOAT,
        "vibe_placement": types.STRING,
        "vibe_source": types.STRING,
    }

    def __init__(self, name: str = "sonic"):
        super().__init__(name)
        self.config.add(DEFAULTS)
        self.config["gemini"]["api_key"].redact = True
        self._runtime: cli.Runtime | None = None
        self.import_stages = []
        if self.config["auto"].get(bool):
            self.import_stages.append(self.imported)
        if self.config["vibe"]["auto"].get(bool):
            self.import_stages.append(self.vibe_imported)
        self.register_listener("item_removed", self.item_removed)
        for event in ("item_moved", "item_copied", "item_linked", "item_hardlinked",
                      "item_reflinked"):
            self.register_listener(event, self.item_relocated)
        self.register_listener("after_write", self.after_write)
        self.register_listener("import", self.import_done)
        self.register_listener("cli_exit", self.cli_exit)

    def runtime(self, lib) -> cli.Runtime:
        if self._runtime is None or self._runtime.library_path != lib.path:
            self._runtime = cli.Runtime(self.config, self._log, lib.path)
        return self._runtime

    # import stage and listeners

    def imported(self, session, task) -> None:
        cli.embed_imported(self.runtime(session.lib), list(task.imported_items()))

    def vibe_imported(self, session, task) -> None:
        cli.vibe_imported(self.runtime(session.lib), list(task.imported_items()))

    def item_removed(self, item) -> None:
        cli.forget_item(self.runtime(item.db), item)

    def item_relocated(self, item, source, destination) -> None:
        cli.follow_file(self.runtime(item.db), item, source, destination)

    def after_write(self, item, path) -> None:
        cli.follow_file(self.runtime(item.db), item, path, path)

    def import_done(self, lib, paths) -> None:
        cli.finish_import(self.runtime(lib), lib)

    def cli_exit(self, lib) -> None:
        if self._runtime is not None:
            self._runtime.close()

    # subcommands

    def commands(self):
        pairs = [
            (cli.embed_command, cli.run_embed),
            (cli.similar_command, cli.run_similar),
            (cli.cohesion_command, cli.run_cohesion),
            (cli.graph_command, cli.run_graph),
            (cli.vibe_command, cli.run_vibe),
        ]
        return [self._wire(make, run) for make, run in pairs]

    def _wire(self, make, run):
        cmd = make()
        cmd.func = cli.user_errors(lambda lib, opts, args: run(self.runtime(lib), lib, opts, args))
        return cmd
