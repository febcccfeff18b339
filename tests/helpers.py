"""Test helpers: a real beets configuration driven through the real ``beet`` CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

BEET = [sys.executable, "-m", "beets"]
FORMATS = ("mp3", "flac", "ogg", "m4a", "wav")
PER_FAMILY = 5
#: the documented SQL interface (docs/how-it-works.md): top-k of one space through vec0
VEC0_TOP_K = ("SELECT v.item_id, 1 - v.distance FROM vec_{space_id} AS v "
              "WHERE v.embedding MATCH ? AND k = ? ORDER BY v.distance")


def mono_22k(spec, seconds: float = 30.0):
    """A generated track (``synth.TrackSpec``) rendered as mono at 22.05 kHz, the rate the
    analysis reads (pairs of 44.1 kHz samples averaged)."""
    from beetsplug.sonic import synth

    y = synth.render(spec, seconds).mean(axis=0)
    return y[: y.size // 2 * 2].reshape(-1, 2).mean(axis=1)


def family_of(title: str) -> str:
    return title.split()[0].lower()


def vec0_top_k(conn, space_name: str, query, k: int) -> list[tuple[int, float]]:
    """Top-k through sqlite-vec alone, as any SQL client would ask it."""
    import numpy as np

    (space_id,) = conn.execute("SELECT id FROM spaces WHERE name = ?", (space_name,)).fetchone()
    blob = np.asarray(query, np.float32).tobytes()
    return [(int(i), float(s)) for i, s in conn.execute(VEC0_TOP_K.format(space_id=space_id), (blob, k))]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class Beet:
    """One throwaway beets home: config, library and music folder, run as ``beet``."""

    def __init__(self, home: Path, **sonic):
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.library = self.home / "library.db"
        self.sidecar = self.home / "library.sonic.db"
        self.config = {
            "directory": str(self.home / "music"),
            "library": str(self.library),
            "plugins": ["sonic"],
            "import": {"copy": True, "autotag": False, "quiet": True, "singletons": True,
                       "log": str(self.home / "import.log")},
            # spectral unless a test says otherwise: `auto` would follow what is installed
            "sonic": {"workers": 1, "backend": "spectral", **sonic},
        }
        self.write_config()

    def write_config(self) -> None:
        (self.home / "config.yaml").write_text(yaml.safe_dump(self.config))

    def set(self, **sonic) -> None:
        self.config["sonic"].update(sonic)
        self.write_config()

    def env(self) -> dict:
        env = dict(os.environ, BEETSDIR=str(self.home), PYTHONUNBUFFERED="1")
        env.pop("GEMINI_API_KEY", None)
        env.pop("GOOGLE_API_KEY", None)
        return env

    def __call__(self, *args: str, check: bool = True, timeout: float = 600,
                 input: str | None = None) -> Result:
        """Run ``beet ARGS``; ``input`` is typed at its prompts (none: stdin is closed)."""
        proc = subprocess.run([*BEET, *map(str, args)], env=self.env(), capture_output=True,
                              text=True, timeout=timeout, input=input,
                              stdin=subprocess.DEVNULL if input is None else None)
        res = Result(proc.returncode, proc.stdout, proc.stderr)
        if check and proc.returncode != 0:
            raise AssertionError(f"beet {' '.join(map(str, args))} failed ({proc.returncode}):\n{res.output}")
        return res

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([*BEET, *map(str, args)], env=self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)

    def ids(self, *query: str) -> dict[str, int]:
        """title -> item id for the query."""
        out = self("ls", "-f", "$id\t$title", *query).stdout
        return {line.split("\t", 1)[1]: int(line.split("\t", 1)[0]) for line in out.splitlines() if line}

    def similar_titles(self, *args: str) -> list[str]:
        out = self("similar", "-f", "$title", *args).stdout
        return [line for line in out.splitlines() if line]

    def store(self):
        from beetsplug.sonic.store import Store

        return Store(str(self.sidecar))
