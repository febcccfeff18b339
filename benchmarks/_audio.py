"""Shared benchmark audio: generated families, cached under benchmarks/.cache."""

from __future__ import annotations

import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)
CACHE = os.path.join(ROOT, "benchmarks", ".cache")

from beetsplug.sonic import synth  # noqa: E402


def tracks(name: str, *, per_family: int, seconds: float, formats=("mp3",)) -> list[str]:
    """Generate once, then reuse: ``per_family`` tracks of ``seconds`` for every family."""
    folder = os.path.join(CACHE, f"{name}-{per_family}x{int(seconds)}s-{'-'.join(formats)}")
    done = os.path.join(folder, ".complete")
    if not os.path.exists(done):
        print(f"generating {per_family * len(synth.FAMILIES)} tracks of {seconds:g} s in {folder} ...",
              file=sys.stderr, flush=True)
        synth.make_library(folder, per_family=per_family, seconds=seconds, formats=formats)
        open(done, "w").close()
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if not f.startswith("."))
